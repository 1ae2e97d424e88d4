//! Time: the periodic timer interrupt and a monotonic clock in nanoseconds.
//!
//! At boot the local APIC timer and the TSC are both calibrated against the
//! PIT. The clock ([`now_ns`]) is the TSC scaled to nanoseconds since
//! calibration: fine-grained and cheap to read. The timer interrupt runs
//! the tick work [`init`] installs in the CPU layer: it counts ticks at the
//! configured rate (`timer.hz`, default [`DEFAULT_TIMER_HZ`]) and runs the
//! callbacks the layers above added with [`add_tick_callback`] (the events
//! thread's tick countdown; in a test kernel, the test runner's time
//! limit). The clock knows nothing of them.

use crate::arch::x86_64::{apic, cpu, interrupts, percpu};
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};

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

/// Work every CPU's timer interrupt runs after the tick count, with
/// interrupts off: `cpu` is the CPU's index (the system tick is CPU 0's).
/// It must not block or allocate.
pub type TickCallback = fn(cpu: usize);

/// Most tick callbacks (the kernel adds two at most).
pub const MAX_TICK_CALLBACKS: usize = 4;

/// The callbacks as `usize`s, in the order added; the first 0 ends them.
static TICK_CALLBACKS: [AtomicUsize; MAX_TICK_CALLBACKS] =
    [const { AtomicUsize::new(0) }; MAX_TICK_CALLBACKS];

/// Adds `callback` to the work of every timer tick, after those added
/// before it. Adding one that is already there does nothing. Panics when
/// [`MAX_TICK_CALLBACKS`] are there: the list is fixed, so the interrupt
/// path never locks or allocates.
pub fn add_tick_callback(callback: TickCallback) {
    let new = callback as usize;
    for slot in &TICK_CALLBACKS {
        match slot.compare_exchange(0, new, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => return,
            Err(old) if old == new => return,
            Err(_) => {}
        }
    }
    panic!("more than {MAX_TICK_CALLBACKS} timer tick callbacks");
}

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
    interrupts::set_timer_hook(on_timer_tick);
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

/// The timer interrupt's tick work (installed by [`init`]), after the EOI:
/// the tick count, then the callbacks.
fn on_timer_tick() {
    let cpu = percpu::cpu_index();
    // The system tick count follows the boot CPU only, so it advances at
    // `timer_hz` however many CPUs are online.
    if cpu == 0 {
        TICKS.fetch_add(1, Ordering::Relaxed);
    }
    for slot in &TICK_CALLBACKS {
        match slot.load(Ordering::Acquire) {
            0 => break,
            callback => {
                // SAFETY: only `add_tick_callback` stores here, always a
                // `TickCallback` cast to `usize` (never 0, handled above),
                // so this turns it back into that function pointer.
                let callback = unsafe { core::mem::transmute::<usize, TickCallback>(callback) };
                callback(cpu);
            }
        }
    }
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
