//! The Helix kernel: the mechanisms under the module framework, and the
//! wiring that loads and runs the modules (docs/architecture.md §2, §15).
//!
//! This library is linked into the kernel binary (`src/main.rs`) and into
//! every in-QEMU test kernel (`tests/*.rs`); each of them names its `main`
//! with [`entry_point!`] or [`test_kernel!`] and shares everything else.
//! Its modules form layers, bottom up; a layer calls only its own and
//! those below, and reaches a higher one only through a hook that one
//! installs (`harness/tests/layering.rs` checks it):
//!
//! - [`arch`]: CPU tables, interrupt entry, exceptions, APICs, PIT, paging,
//!   ACPI, AP start-up, the context switch;
//! - mechanism: [`mm`] (frames, heap, guarded stacks, memory pressure),
//!   [`time`] (the timer tick and the TSC clock), [`serial`] and
//!   [`logger`] (COM1 output and the `log` backend), [`bootinfo`] (the
//!   start info, the command line, the test-kernel mark), [`pci`] (the PCI
//!   functions, enumerated at boot, and which module holds each);
//! - [`thread`]: kernel threads, the switch, wait queues, sleep and CPU
//!   parking, driven by the scheduler module's policy;
//! - module wiring: [`modules`] (the module table, loading and starting
//!   them), [`hw`] (the hardware service for DRIVER modules), [`events`]
//!   (the events thread), [`smp`] (application processors and hotplug),
//!   [`supervisor`] (supervisor limits from the command line), [`contain`]
//!   (faults in module code), [`shell`] (the console module), [`fs`] (the
//!   `fs` capability: the `initrd_fs` module and its kernel-side client),
//!   [`crashtest`] (faults on purpose), [`power`] ([`shutdown`] and
//!   [`power_off`]);
//! - top: [`startup`] (from the boot stub to `main`), [`bring_up`] (the
//!   boot sequence: CPUs, modules, threads, events), the panic handler
//!   (the private `panic` module), [`testing`] (in-kernel test
//!   registration and the test runner).
//!
//! It builds only for `x86_64-unknown-none`.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod arch;
pub mod bootinfo;
pub mod bring_up;
pub mod contain;
pub mod crashtest;
pub mod dma;
pub mod events;
pub mod fs;
pub mod hw;
pub mod intx;
pub mod loadable;
pub mod logger;
pub mod mm;
pub mod mmio;
pub mod modules;
pub mod msi;
mod panic;
pub mod pci;
pub mod persist;
pub mod power;
pub mod random;
pub mod serial;
pub mod shell;
pub mod smp;
pub mod startup;
pub mod supervisor;
pub mod testing;
pub mod thread;
pub mod time;

pub use arch::x86_64::qemu::{ExitCode, exit};
pub use power::{power_off, shutdown};
