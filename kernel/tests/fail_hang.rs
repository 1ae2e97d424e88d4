//! Must fail: the test hangs with interrupts disabled, so not even the
//! in-kernel time limit can end it. Only the runner's QEMU timeout can, and
//! it must report a failure.
#![no_std]
#![no_main]

use kernel::ktest;

kernel::test_kernel!();

ktest!(
    fn hangs_forever() {
        kernel::arch::x86_64::cpu::halt_forever();
    }
);
