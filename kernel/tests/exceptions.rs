//! CPU exceptions: a breakpoint returns, a page fault is reported with CR2,
//! a stack overflow is reported as a double fault, and other faults carry a
//! report with vector, error code and RIP. A panic in the middle of a
//! console message does not leave the console locked.
#![no_std]
#![no_main]

use kernel::arch::x86_64::exceptions;
use kernel::ktest;

kernel::test_kernel!();

ktest!(
    fn breakpoint_returns() {
        let before = exceptions::breakpoint_count();
        x86_64::instructions::interrupts::int3();
        x86_64::instructions::interrupts::int3();
        assert_eq!(exceptions::breakpoint_count(), before + 2);
    }
);

ktest!(
    #[should_panic(expected = "CR2=0xdeadbeef000")]
    fn page_fault_reports_cr2() {
        // SAFETY: deliberately faulting: nothing is mapped there (the lower
        // half holds only the identity map of the first 4 GiB), so the read
        // never completes.
        unsafe { core::ptr::read_volatile(0x0dea_dbee_f000 as *const u64) };
    }
);

ktest!(
    #[should_panic(expected = "(not present, write, kernel)")]
    fn page_fault_decodes_error_code() {
        // SAFETY: deliberately faulting: the top 16 TiB of the higher half
        // are never mapped (heap and stacks live far below), so the write
        // never completes.
        unsafe { core::ptr::write_volatile(0xffff_f000_0000_0000u64 as *mut u64, 1) };
    }
);

ktest!(
    #[should_panic(expected = "#DF double fault (vector 8): kernel stack overflow")]
    fn stack_overflow_is_a_double_fault() {
        core::hint::black_box(kernel::testing::overflow_stack(0));
    }
);

ktest!(
    #[should_panic(expected = "#UD invalid opcode (vector 6)")]
    fn invalid_opcode_is_reported() {
        // SAFETY: deliberately executing ud2, which only raises #UD.
        unsafe { core::arch::asm!("ud2") };
    }
);

ktest!(
    #[should_panic(expected = "#GP general protection fault (vector 13)")]
    fn general_protection_is_reported() {
        // A non-canonical address raises #GP, not #PF.
        // SAFETY: deliberately faulting: a non-canonical address always
        // raises #GP, so the read never happens.
        unsafe { core::ptr::read_volatile(0x8000_0000_0000_0000u64 as *const u64) };
    }
);

ktest!(
    #[should_panic(expected = "RIP=")]
    fn divide_error_reports_rip() {
        let zero = core::hint::black_box(0u64);
        let mut out: u64 = 1;
        // SAFETY: deliberately dividing by zero with `div` (Rust's `/` would
        // panic before reaching the CPU).
        unsafe {
            core::arch::asm!("xor edx, edx", "div {0}", in(reg) zero, inout("rax") out, out("rdx") _)
        };
        core::hint::black_box(out);
    }
);

ktest!(
    fn survives_earlier_faults() {
        // Runs after the faulting tests (alphabetical order): interrupts and
        // the timer still work after the runner resumed from each fault.
        let t = kernel::time::ticks();
        while kernel::time::ticks() == t {
            kernel::arch::x86_64::cpu::halt();
        }
        assert!(x86_64::instructions::interrupts::are_enabled());
    }
);

/// Panics when printed.
struct PanicsWhenPrinted;

impl core::fmt::Display for PanicsWhenPrinted {
    fn fmt(&self, _: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        panic!("a panic while printing");
    }
}

ktest!(
    #[should_panic(expected = "a panic while printing")]
    fn a_panic_while_printing_leaves_the_console_usable() {
        // The panic comes while this message holds the console; the runner
        // printing this test's result afterwards (and the tests after it)
        // shows the console was not left locked.
        kernel::kprintln!("{}", PanicsWhenPrinted);
    }
);
