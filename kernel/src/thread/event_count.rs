//! [`EventCount`]: how many times something happened (an interrupt line
//! fired), with a queue of threads sleeping until it happens again. The
//! interrupt handlers of ISA lines, MSI-X entries and INTx pins count
//! their deliveries in one of these; drivers and kernel threads take a
//! count before they tell the device to work, then sleep until it grows.

use core::sync::atomic::{AtomicU64, Ordering};

use super::WaitQueue;

/// A counter threads can wait on (see the module docs).
pub struct EventCount {
    count: AtomicU64,
    waiters: WaitQueue,
}

impl EventCount {
    /// Zero, nobody waiting.
    pub const fn new() -> Self {
        Self {
            count: AtomicU64::new(0),
            waiters: WaitQueue::new(),
        }
    }

    /// Counts one more and wakes the waiters; callable from an interrupt.
    pub fn record(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
        self.waiters.wake_all();
    }

    /// The count now.
    pub fn get(&self) -> u64 {
        self.count.load(Ordering::SeqCst)
    }

    /// Starts counting again from zero (a new claim of the line).
    pub fn reset(&self) {
        self.count.store(0, Ordering::SeqCst);
    }

    /// Blocks the calling thread until the count is past `seen`, or, with a
    /// deadline (`time::now_ns` scale), at most until then; returns the
    /// count (still `seen` after a timeout). Interrupts must be on.
    pub fn wait_past(&self, seen: u64, deadline_ns: Option<u64>) -> u64 {
        match deadline_ns {
            Some(deadline) => {
                self.waiters
                    .wait_until_deadline(|| self.get() > seen, deadline);
            }
            None => self.waiters.wait_until(|| self.get() > seen),
        }
        self.get()
    }
}

impl Default for EventCount {
    fn default() -> Self {
        Self::new()
    }
}
