//! `ich9_smbus` as a loadable module binary (`scripts/build-module
//! ich9_smbus`): the driver, unchanged, behind the kernel's binary
//! interface.
#![no_std]
#![no_main]

helix_abi::export_module!(ich9_smbus::Ich9Smbus);
