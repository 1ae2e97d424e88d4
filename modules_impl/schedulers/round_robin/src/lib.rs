//! The round-robin scheduler module: Helix's default scheduling policy.
//!
//! [`RoundRobin`] is the policy: per-CPU FIFO run queues, a fixed time
//! slice, new and woken threads placed on the least-loaded online CPU. It
//! implements the framework's
//! [`Scheduler`](helix_modules::services::scheduler::Scheduler) service,
//! which the kernel calls for every decision. [`RoundRobinModule`] wraps it
//! as a v2 module (flags SCHEDULER and ESSENTIAL, provides `"scheduler"`)
//! with a `time_slice_ms` parameter, IPC (`stats`, `set_time_slice`)
//! and event handling (Tick, CpuHotplug, Shutdown).
//!
//! Pure policy, no hardware: everything here is tested on the host.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod module;
mod policy;
mod queues;

pub use module::{MAX_TIME_SLICE_MS, MIN_TIME_SLICE_MS, RoundRobinModule};
pub use policy::{DEFAULT_TIME_SLICE_MS, RoundRobin, SliceError};
