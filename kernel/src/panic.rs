//! The panic handler: report, then end the run with a failure status.
//!
//! Inside a test the runner may be waiting to catch the panic (to check a
//! `should_panic` test, or to report a failure and carry on with the next
//! test); then the handler hands over to it and never prints here. Only a
//! test kernel asks the runner. A panic
//! while already panicking exits at once, so a broken console cannot loop.

use crate::arch::x86_64::{cpu, qemu};
use core::panic::PanicInfo;
use core::sync::atomic::{AtomicBool, Ordering};

static PANICKING: AtomicBool = AtomicBool::new(false);

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let interrupts_were_on = x86_64::instructions::interrupts::are_enabled();
    x86_64::instructions::interrupts::disable();
    // Innermost first: a contained call into module code, then the thread,
    // then the test runner.
    crate::contain::on_panic(info, interrupts_were_on);
    crate::thread::on_thread_panic(info);
    if crate::bootinfo::is_test_kernel() {
        crate::testing::on_panic(info);
    }
    if PANICKING.swap(true, Ordering::SeqCst) {
        qemu::exit(qemu::ExitCode::Failure);
    }
    let (file, line) = info
        .location()
        .map_or(("<unknown>", 0), |l| (l.file(), l.line()));
    crate::serial::write_fmt_panicking(format_args!(
        "\n!!! KERNEL PANIC: {}\n    at {file}:{line}\n",
        info.message()
    ));
    qemu::exit(qemu::ExitCode::Failure);
    #[allow(unreachable_code)]
    cpu::halt_forever()
}
