//! Time: the periodic timer interrupt and a monotonic clock in nanoseconds.
//!
//! At boot the local APIC timer and the TSC are both calibrated against the
//! PIT. The clock ([`now_ns`]) is the TSC scaled to nanoseconds since
//! calibration: fine-grained and cheap to read. The timer interrupt
//! ([`on_timer_tick`]) counts ticks at the configured rate (`timer.hz`,
//! default [`DEFAULT_TIMER_HZ`]) and gives the test runner its chance to
//! enforce a per-test time limit.

use crate::arch::x86_64::{apic, cpu};
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Timer rate used when the command line does not set `timer.hz`.
pub const DEFAULT_TIMER_HZ: u32 = 1000;
/// Accepted range for `timer.hz`.
pub const TIMER_HZ_RANGE: core::ops::RangeInclusive<u32> = 10..=10_000;
/// PIT window used for calibration.
const CALIBRATION_MS: u32 = 10;

static TSC_HZ: AtomicU64 = AtomicU64::new(0);
static TSC_BASE: AtomicU64 = AtomicU64::new(0);
static APIC_HZ: AtomicU64 = AtomicU64::new(0);
static TIMER_HZ: AtomicU32 = AtomicU32::new(0);
static TICKS: AtomicU64 = AtomicU64::new(0);

/// Why a timer rate was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimerRateError {
    /// Not a number.
    NotANumber,
    /// Outside [`TIMER_HZ_RANGE`].
    OutOfRange(u32),
}

impl core::fmt::Display for TimerRateError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NotANumber => write!(f, "timer.hz must be a whole number"),
            Self::OutOfRange(hz) => write!(
                f,
                "timer.hz={hz} is outside {}..={}",
                TIMER_HZ_RANGE.start(),
                TIMER_HZ_RANGE.end()
            ),
        }
    }
}

/// Validates a `timer.hz` value from the command line.
pub fn parse_timer_hz(text: &str) -> Result<u32, TimerRateError> {
    let hz: u32 = text.parse().map_err(|_| TimerRateError::NotANumber)?;
    if TIMER_HZ_RANGE.contains(&hz) {
        Ok(hz)
    } else {
        Err(TimerRateError::OutOfRange(hz))
    }
}

/// Enables the local APIC, calibrates it and the TSC, and starts the
/// periodic timer at `hz`. Interrupts are enabled separately, by the caller.
pub fn init(hz: u32) {
    apic::init();
    let (apic_hz, tsc_hz) = apic::calibrate(CALIBRATION_MS);
    TSC_BASE.store(cpu::rdtsc(), Ordering::Relaxed);
    TSC_HZ.store(tsc_hz.max(1), Ordering::Relaxed);
    APIC_HZ.store(apic_hz, Ordering::Relaxed);
    TIMER_HZ.store(hz, Ordering::Relaxed);
    apic::start_periodic(apic_hz, hz);
}

/// Nanoseconds since the clock was calibrated; 0 before that.
pub fn now_ns() -> u64 {
    let hz = TSC_HZ.load(Ordering::Relaxed);
    if hz == 0 {
        return 0;
    }
    let cycles = cpu::rdtsc().saturating_sub(TSC_BASE.load(Ordering::Relaxed));
    (u128::from(cycles) * 1_000_000_000 / u128::from(hz)) as u64
}

/// Timer interrupts handled since boot.
pub fn ticks() -> u64 {
    TICKS.load(Ordering::Relaxed)
}

/// The configured timer rate in Hz (0 before [`init`]).
pub fn timer_hz() -> u32 {
    TIMER_HZ.load(Ordering::Relaxed)
}

/// The measured TSC frequency in Hz (0 before [`init`]).
pub fn tsc_hz() -> u64 {
    TSC_HZ.load(Ordering::Relaxed)
}

/// The measured APIC timer input clock in Hz (after its divider).
pub fn apic_timer_hz() -> u64 {
    APIC_HZ.load(Ordering::Relaxed)
}

/// Converts TSC cycles to nanoseconds with the calibrated frequency.
pub fn cycles_to_ns(cycles: u64) -> u64 {
    (u128::from(cycles) * 1_000_000_000 / u128::from(tsc_hz().max(1))) as u64
}

/// Called from the timer interrupt, after the EOI.
pub fn on_timer_tick() {
    // The system tick count follows the boot CPU only, so it advances at
    // `timer_hz` however many CPUs are online.
    if crate::arch::x86_64::percpu::cpu_index() == 0 {
        TICKS.fetch_add(1, Ordering::Relaxed);
        crate::events::on_timer_tick(now_ns());
    }
    crate::testing::check_deadline();
}

/// Busy-waits (halting between ticks) until `ns` nanoseconds have passed.
/// Needs interrupts enabled to make progress without burning the CPU.
pub fn delay_ns(ns: u64) {
    let end = now_ns().saturating_add(ns);
    while now_ns() < end {
        if cpu::interrupts_enabled() {
            cpu::halt();
        } else {
            core::hint::spin_loop();
        }
    }
}
