//! The Helix kernel: the mechanisms under the module framework, and the
//! wiring that loads and runs the modules (docs/architecture.md §2).
//!
//! This library is linked into the kernel binary (`src/main.rs`) and into
//! every in-QEMU test kernel (`tests/*.rs`); each of them names its `main`
//! with [`entry_point!`] or [`test_kernel!`] and shares everything else:
//!
//! - [`startup`]: bring-up from the boot stub to `main`, start info and
//!   command line;
//! - [`arch`]: CPU tables, interrupt entry, exceptions, APICs, PIT, paging,
//!   ACPI, AP start-up, the context switch;
//! - [`serial`] and [`logger`]: COM1 output and the `log` backend (the
//!   panic handler is the private `panic` module);
//! - [`mm`] (frames, heap, guarded stacks, memory pressure) and [`time`]
//!   (the timer interrupt and the TSC clock);
//! - [`thread`]: kernel threads, the switch, wait queues and sleep, driven
//!   by the scheduler module's policy;
//! - [`smp`]: application processors and CPU hotplug;
//! - [`modules`]: the module table and boot-time bring-up; [`hw`]: the
//!   hardware service for DRIVER modules; [`events`]: the events thread;
//!   [`supervisor`]: supervisor limits from the command line; [`shell`]:
//!   the console module;
//! - [`testing`]: in-kernel test registration and the test runner;
//!
//! and [`shutdown`] and [`power_off`]. It builds only for
//! `x86_64-unknown-none`.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]

extern crate alloc;

pub mod arch;
pub mod contain;
pub mod crashtest;
pub mod events;
pub mod hw;
pub mod logger;
pub mod mm;
pub mod modules;
mod panic;
pub mod serial;
pub mod shell;
pub mod smp;
pub mod startup;
pub mod supervisor;
pub mod testing;
pub mod thread;
pub mod time;

pub use arch::x86_64::qemu::{ExitCode, exit};

/// The shutdown sequence: modules get `Shutdown`, then stop in reverse
/// dependency order (each reported), then the machine powers off.
pub fn shutdown() -> ! {
    log::info!("shutting down");
    if let Some(r) = modules::registry() {
        for (name, result) in r.shutdown() {
            match result {
                Ok(()) => log::info!("stopped module {name}"),
                Err(e) => log::warn!("module {name} did not stop cleanly: {e}"),
            }
        }
    }
    power_off()
}

/// Ends the run normally: powers the machine off.
///
/// Under QEMU with the `isa-debug-exit` device (as every Helix run script
/// boots it) this exits with status 33, which the runner reports as 0.
/// Without that device the kernel enters ACPI S5 (soft-off); if even that
/// is not possible it halts.
pub fn power_off() -> ! {
    log::info!("powering off");
    arch::x86_64::qemu::try_exit(ExitCode::Success);
    log::info!("no QEMU exit device: entering ACPI S5");
    arch::x86_64::acpi_power::power_off();
    // The machine goes off when the hypervisor gets to the write, which on
    // a loaded host may take a while: give it a second before saying the
    // write did not work.
    let deadline = time::now_ns().saturating_add(1_000_000_000);
    while time::now_ns() < deadline {
        core::hint::spin_loop();
    }
    log::error!("ACPI S5 failed; halting");
    arch::x86_64::cpu::halt_forever()
}
