//! Must fail: the test triple-faults the CPU (an empty IDT, then an
//! exception), QEMU resets, and with `-no-reboot` exits with status 0. The
//! runner must call that a failure, never a pass.
#![no_std]
#![no_main]

use kernel::ktest;
use x86_64::VirtAddr;
use x86_64::structures::DescriptorTablePointer;

kernel::test_kernel!();

ktest!(
    fn triple_fault() {
        let empty = DescriptorTablePointer {
            limit: 0,
            base: VirtAddr::new(0),
        };
        // SAFETY: deliberately destroying the machine: with no IDT, the
        // breakpoint cannot be delivered, nor can the resulting faults.
        unsafe {
            x86_64::instructions::tables::lidt(&empty);
            core::arch::asm!("int3");
        }
    }
);
