//! The CMOS real-time clock driver: wall-clock time for the kernel and
//! other modules.
//!
//! A v2 module flagged DRIVER that claims the CMOS index/data ports
//! (0x70-0x71) through the kernel's hardware service and provides the
//! `"clock"` capability. Requests: `get_time` answers an ISO 8601 UTC time
//! (`2026-11-22T15:06:28Z`), `get_unix` the seconds since 1970, `stats`
//! the reads made and how many failed. Reading
//! follows the usual protocol: wait out an update in progress, read twice
//! until both reads agree, decode BCD or binary and 12- or 24-hour formats
//! as status register B says. The decoding is plain logic over a
//! [`PortRange`](helix_modules::services::hw::PortRange), tested on the host
//! against a modelled CMOS (a register file behind the index/data ports).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod civil;
mod cmos;
mod module;

pub use civil::DateTime;
pub use cmos::{RtcError, read_time};
pub use module::CmosRtc;
