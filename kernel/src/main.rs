//! The Helix kernel binary: boots, loads every module, starts threads on
//! the scheduler module, and then either powers off (`helix.poweroff` on
//! the command line, as `scripts/run.sh` passes by default) or keeps
//! running.
#![no_std]
#![no_main]

use kernel::{ExitCode, exit, thread};

kernel::entry_point!(kernel_main);

fn kernel_main() -> ! {
    kernel::startup::print_banner();
    match kernel::modules::bring_up() {
        Ok(registry) => kernel::modules::print_table(registry),
        Err(e) => {
            if let Some(registry) = kernel::modules::registry() {
                kernel::modules::print_table(registry);
            }
            log::error!("{e}; stopping");
            exit(ExitCode::Failure);
        }
    }
    log::info!("boot complete in {} ms", kernel::time::now_ns() / 1_000_000);
    kernel::startup::mark_complete();
    if kernel::startup::cmdline().flag("helix.poweroff") {
        kernel::power_off();
    }
    loop {
        thread::sleep_ms(1000);
    }
}
