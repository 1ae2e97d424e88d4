//! The Helix kernel binary: boots, prints the banner, and either powers off
//! (`helix.poweroff` on the command line, as `scripts/run.sh` passes by
//! default) or idles, waking for interrupts.
#![no_std]
#![no_main]

kernel::entry_point!(kernel_main);

fn kernel_main() -> ! {
    kernel::boot::print_banner();
    log::info!("boot complete in {} ms", kernel::time::now_ns() / 1_000_000);
    if kernel::boot::cmdline().flag("helix.poweroff") {
        kernel::power_off();
    }
    loop {
        kernel::arch::x86_64::cpu::halt();
    }
}
