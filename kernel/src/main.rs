//! The Helix kernel binary: boots, loads every module, starts threads on
//! the scheduler module, and then either powers off (`helix.poweroff` on
//! the command line, as `scripts/run.sh` passes by default) or keeps
//! running.
#![no_std]
#![no_main]

use kernel::{ExitCode, bootinfo, bring_up, exit, modules, startup, thread};

kernel::entry_point!(kernel_main);

fn kernel_main() -> ! {
    startup::print_banner();
    // CPUs, modules, threads, events: each a step of `bring_up::run`.
    match bring_up::run() {
        Ok(registry) => modules::print_table(registry),
        Err(e) => {
            if let Some(registry) = modules::registry() {
                modules::print_table(registry);
            }
            log::error!("{e}; stopping");
            exit(ExitCode::Failure);
        }
    }
    log::info!("boot complete in {} ms", kernel::time::now_ns() / 1_000_000);
    bring_up::mark_complete();
    if bootinfo::cmdline().flag("helix.poweroff") {
        kernel::power_off();
    }
    loop {
        thread::sleep_ms(1000);
    }
}
