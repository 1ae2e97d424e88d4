//! Ending the run: the shutdown sequence (modules told and stopped in
//! order) and powering the machine off. Both are re-exported at the crate
//! root, as `kernel::shutdown` and `kernel::power_off`.

use crate::arch::x86_64::{acpi_power, cpu, qemu};
use crate::{modules, time};

/// The shutdown sequence: modules get `Shutdown`, then stop in reverse
/// dependency order (each reported), then the machine powers off.
pub fn shutdown() -> ! {
    log::info!("shutting down");
    if let Some(r) = modules::registry() {
        // Before anything stops: the modules' state, for the next boot.
        match crate::persist::save_all(r) {
            Ok(n) => log::info!("persist: saved the state of {n} module(s)"),
            Err(e) => log::info!("persist: nothing saved: {e}"),
        }
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
    qemu::try_exit(qemu::ExitCode::Success);
    log::info!("no QEMU exit device: entering ACPI S5");
    acpi_power::power_off();
    // The machine goes off when the hypervisor gets to the write, which on
    // a loaded host may take a while: give it a second before saying the
    // write did not work.
    let deadline = time::now_ns().saturating_add(1_000_000_000);
    while time::now_ns() < deadline {
        core::hint::spin_loop();
    }
    log::error!("ACPI S5 failed; halting");
    cpu::halt_forever()
}
