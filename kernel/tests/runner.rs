//! The test runner itself: passing, `should_panic` with and without an
//! expected message, the per-test time limit, and recovery after each.
#![no_std]
#![no_main]

use kernel::ktest;
use kernel::testing::runner::set_current_test_limit_ms;

kernel::test_kernel!();

ktest!(
    fn a_plain_test_passes() {
        assert_eq!(core::hint::black_box(2) + 2, 4);
    }
);

ktest!(
    #[should_panic]
    fn should_panic_catches_a_panic() {
        panic!("expected");
    }
);

ktest!(
    #[should_panic(expected = "needle")]
    fn should_panic_matches_the_message() {
        panic!("hay needle hay");
    }
);

ktest!(
    #[should_panic(expected = "left: 1")]
    fn assertion_messages_reach_the_runner() {
        assert_eq!(core::hint::black_box(1), 2);
    }
);

ktest!(
    #[should_panic(expected = "test timed out")]
    fn time_limit_ends_a_spinning_test() {
        set_current_test_limit_ms(50);
        loop {
            core::hint::spin_loop();
        }
    }
);

ktest!(
    fn zz_state_is_sane_after_caught_panics() {
        // Runs last (alphabetical): interrupts are back on after the runner
        // resumed from panics raised in test code and in the timer interrupt.
        assert!(x86_64::instructions::interrupts::are_enabled());
        let t = kernel::time::ticks();
        while kernel::time::ticks() == t {
            kernel::arch::x86_64::cpu::halt();
        }
    }
);
