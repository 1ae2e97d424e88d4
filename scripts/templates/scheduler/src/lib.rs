//! The `__name__` scheduler: per-CPU FIFO run queues, a fixed time slice.
//!
//! [`__Type__Policy`] is the policy: it implements the framework's
//! [`Scheduler`](helix_modules::services::scheduler::Scheduler) service,
//! which the kernel calls for every scheduling decision. [`__Type__`] wraps
//! it as a v2 module flagged SCHEDULER (and ESSENTIAL: the kernel's threads
//! cannot run without it once it schedules them), providing the
//! `"scheduler"` capability, with a `time_slice_ms` parameter, a `stats`
//! request and CpuHotplug handling.
//!
//! Only one SCHEDULER module runs at a time: the kernel starts the one
//! named by `scheduler=NAME` on its command line, else the first in its
//! module table, and the registry refuses to start a second one
//! (`ModuleError::Conflict`). The others wait in standby, a normal state
//! that `lsmod` shows. Boot with `scheduler=__name__` (its test kernel
//! does) to schedule the kernel with this module.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod module;
mod policy;

pub use module::{__Type__, NAME};
pub use policy::{__Type__Policy, DEFAULT_TIME_SLICE_MS, SliceError};
