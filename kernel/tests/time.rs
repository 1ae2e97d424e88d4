//! Timer and clock: ticks arrive at the configured rate, the clock is
//! monotonic and agrees with the tick count.
#![no_std]
#![no_main]

use kernel::ktest;
use kernel::time;

kernel::test_kernel!();

ktest!(
    fn timer_ticks_advance() {
        let start = time::ticks();
        while time::ticks() < start + 5 {
            kernel::arch::x86_64::cpu::halt();
        }
        assert!(time::ticks() >= start + 5);
    }
);

ktest!(
    fn clock_is_monotonic() {
        let mut last = time::now_ns();
        for _ in 0..100_000 {
            let now = time::now_ns();
            assert!(now >= last, "clock went backwards: {last} -> {now}");
            last = now;
        }
    }
);

ktest!(
    fn clock_and_ticks_agree() {
        // 50 ticks at the configured rate, measured with the TSC clock. The
        // bound is loose (TCG timing jitters) but catches a miscalibration by
        // a factor of two either way.
        let hz = u64::from(time::timer_hz());
        let t0 = time::ticks();
        while time::ticks() == t0 {
            kernel::arch::x86_64::cpu::halt();
        }
        let (start_ticks, start_ns) = (time::ticks(), time::now_ns());
        while time::ticks() < start_ticks + 50 {
            kernel::arch::x86_64::cpu::halt();
        }
        let elapsed = time::now_ns() - start_ns;
        let expected = 50 * 1_000_000_000 / hz;
        assert!(
            elapsed > expected / 2 && elapsed < expected * 2,
            "50 ticks took {elapsed} ns, expected ~{expected}"
        );
    }
);

ktest!(
    fn delay_waits_at_least_the_duration() {
        let start = time::now_ns();
        time::delay_ns(5_000_000);
        assert!(time::now_ns() - start >= 5_000_000);
    }
);

ktest!(
    fn timer_rate_is_validated() {
        assert_eq!(time::parse_timer_hz("250"), Ok(250));
        assert_eq!(
            time::parse_timer_hz("5"),
            Err(time::TimerRateError::OutOfRange(5))
        );
        assert_eq!(
            time::parse_timer_hz("fast"),
            Err(time::TimerRateError::NotANumber)
        );
    }
);
