//! Memory pressure: watermarks over available memory, with hysteresis.
//!
//! Available memory is what the heap could still hand out: its free bytes
//! plus every free physical frame (the heap grows into those). Three
//! watermarks, as percentages of managed memory, define the levels Low,
//! Medium and Critical. A level is entered as soon as availability falls
//! below its watermark, and left only once availability is back above the
//! watermark plus a hysteresis margin, so a workload hovering at a
//! boundary does not produce a storm of events. Entering a level marks a
//! `MemoryPressure` event pending; the events thread delivers it.
//!
//! The allocator calls [`observe`] while it holds the heap lock, so that
//! path only updates atomics; it never wakes threads or allocates.

use core::fmt;
use core::sync::atomic::{AtomicU8, Ordering};
use helix_modules::v2::PressureLevel;

/// Watermarks as percentages of managed memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Watermarks {
    /// Below this much available: Low.
    pub low_pct: u8,
    /// Below this: Medium.
    pub medium_pct: u8,
    /// Below this: Critical.
    pub critical_pct: u8,
    /// How far above a watermark availability must climb to leave a level.
    pub hysteresis_pct: u8,
}

impl Watermarks {
    /// The defaults: 20 / 10 / 5 percent, 5 points of hysteresis.
    pub const DEFAULT: Self = Self {
        low_pct: 20,
        medium_pct: 10,
        critical_pct: 5,
        hysteresis_pct: 5,
    };

    /// Parses `low,medium,critical[,hysteresis]` (percentages, strictly
    /// decreasing, below 100), as given by `mem.watermarks=`.
    pub fn parse(text: &str) -> Result<Self, WatermarkError> {
        let mut v = [0u8; 4];
        let mut n = 0;
        for part in text.split(',') {
            if n == 4 {
                return Err(WatermarkError::WrongCount);
            }
            v[n] = part
                .trim()
                .parse()
                .map_err(|_| WatermarkError::NotANumber)?;
            n += 1;
        }
        if n < 3 {
            return Err(WatermarkError::WrongCount);
        }
        let marks = Self {
            low_pct: v[0],
            medium_pct: v[1],
            critical_pct: v[2],
            hysteresis_pct: if n == 4 {
                v[3]
            } else {
                Self::DEFAULT.hysteresis_pct
            },
        };
        if marks.low_pct >= 100
            || marks.low_pct <= marks.medium_pct
            || marks.medium_pct <= marks.critical_pct
        {
            return Err(WatermarkError::NotDecreasing);
        }
        Ok(marks)
    }

    fn threshold(&self, level: u8) -> u64 {
        u64::from(match level {
            1 => self.low_pct,
            2 => self.medium_pct,
            _ => self.critical_pct,
        })
    }
}

/// Why `mem.watermarks=` was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatermarkError {
    /// Not three or four comma-separated values.
    WrongCount,
    /// A value is not a whole number 0..=255.
    NotANumber,
    /// Values must be below 100 and strictly decreasing.
    NotDecreasing,
}

impl fmt::Display for WatermarkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::WrongCount => {
                f.write_str("mem.watermarks needs low,medium,critical[,hysteresis]")
            }
            Self::NotANumber => f.write_str("mem.watermarks values must be whole percentages"),
            Self::NotDecreasing => {
                f.write_str("mem.watermarks must satisfy 100 > low > medium > critical")
            }
        }
    }
}

/// Levels as numbers: 0 none, 1 Low, 2 Medium, 3 Critical.
fn to_level(n: u8) -> Option<PressureLevel> {
    match n {
        1 => Some(PressureLevel::Low),
        2 => Some(PressureLevel::Medium),
        3 => Some(PressureLevel::Critical),
        _ => None,
    }
}

/// The level after observing `available` of `total` bytes while at
/// `current` (0..=3). Pure, so it is tested directly.
pub fn next_level(available: u64, total: u64, current: u8, marks: &Watermarks) -> u8 {
    if total == 0 {
        return current;
    }
    let pct = available.saturating_mul(100) / total;
    // Entering: the deepest level whose watermark we are below.
    let mut entered = 0;
    for level in 1..=3u8 {
        if pct < marks.threshold(level) {
            entered = level;
        }
    }
    if entered >= current {
        return entered;
    }
    // Leaving: step down only past the watermark plus the margin.
    let mut level = current;
    while level > entered && pct >= marks.threshold(level) + u64::from(marks.hysteresis_pct) {
        level -= 1;
    }
    level
}

static CURRENT: AtomicU8 = AtomicU8::new(0);
static PENDING: AtomicU8 = AtomicU8::new(0);
static MARKS: spin::Once<Watermarks> = spin::Once::new();

/// Sets the watermarks (once, at boot).
pub fn configure(marks: Watermarks) {
    MARKS.call_once(|| marks);
}

fn marks() -> &'static Watermarks {
    MARKS.call_once(|| Watermarks::DEFAULT)
}

/// Records the memory situation; entering a deeper level marks an event
/// pending. Safe to call with the heap lock held: atomics only.
pub fn observe(available: u64, total: u64) {
    let current = CURRENT.load(Ordering::Acquire);
    let next = next_level(available, total, current, marks());
    if next != current
        && CURRENT
            .compare_exchange(current, next, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        && next > current
    {
        PENDING.fetch_max(next, Ordering::AcqRel);
    }
}

/// Marks a Critical event pending regardless of watermarks (an allocation
/// just failed).
pub fn raise_critical() {
    CURRENT.store(3, Ordering::Release);
    PENDING.store(3, Ordering::Release);
}

/// Takes the pending event, if any.
pub fn take_pending() -> Option<PressureLevel> {
    to_level(PENDING.swap(0, Ordering::AcqRel))
}

/// The current level, if under pressure.
pub fn current() -> Option<PressureLevel> {
    to_level(CURRENT.load(Ordering::Acquire))
}

/// Available and total managed bytes right now (takes the heap lock: not
/// for the allocator itself).
pub fn snapshot() -> (u64, u64) {
    let heap = super::heap::stats();
    let frames = super::frame::stats();
    let page = super::PAGE_SIZE;
    (
        heap.free as u64 + frames.free as u64 * page,
        frames.total as u64 * page,
    )
}

/// Re-evaluates the level from a fresh snapshot.
pub fn check() {
    let (available, total) = snapshot();
    observe(available, total);
}
