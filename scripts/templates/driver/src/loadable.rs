//! `__name__` as a loadable module binary (`scripts/build-module
//! __name__`, then `insmod __name__` in the console): the crate's module,
//! unchanged, behind the kernel's binary interface.
#![no_std]
#![no_main]

helix_abi::export_module!(__name__::__Type__);
