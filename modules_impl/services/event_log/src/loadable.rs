//! `event_log` as a loadable module binary (`scripts/build-module
//! event_log`): the crate's module, unchanged, behind the kernel's binary
//! interface.
#![no_std]
#![no_main]

helix_abi::export_module!(event_log::EventLog);
