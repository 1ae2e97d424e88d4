//! `cmos_rtc` as a loadable module binary (`scripts/build-module
//! cmos_rtc`): the driver, unchanged, behind the kernel's binary interface.
#![no_std]
#![no_main]

helix_abi::export_module!(cmos_rtc::CmosRtc);
