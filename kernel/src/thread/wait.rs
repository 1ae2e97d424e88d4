//! Wait queues: block until a condition holds, woken by whoever changes it.
//!
//! The condition is checked with the queue locked and interrupts off, and
//! the thread is enqueued and blocked under the same lock, so a wake-up
//! between the check and the block cannot be lost.

use super::{ThreadId, sched, sleep};
use crate::arch::x86_64::cpu;
use alloc::collections::VecDeque;
use spin::Mutex;

/// Threads waiting for something.
pub struct WaitQueue {
    waiters: Mutex<VecDeque<ThreadId>>,
}

impl Default for WaitQueue {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        Self {
            waiters: Mutex::new(VecDeque::new()),
        }
    }

    /// Blocks the calling thread until `condition` returns true. The
    /// condition runs with interrupts off and must not block.
    pub fn wait_until(&self, mut condition: impl FnMut() -> bool) {
        loop {
            let done = cpu::without_interrupts(|| {
                let mut q = self.waiters.lock();
                if condition() {
                    return true;
                }
                let me = sched::current_id();
                q.push_back(me);
                sched::block_current_then(move || drop(q));
                false
            });
            if done {
                return;
            }
        }
    }

    /// Blocks the calling thread until `condition` returns true (then
    /// returns true) or the clock reaches `deadline_ns` (then false),
    /// whichever comes first. The condition runs with interrupts off and
    /// must not block.
    pub fn wait_until_deadline(
        &self,
        mut condition: impl FnMut() -> bool,
        deadline_ns: u64,
    ) -> bool {
        let me = sched::current_id();
        loop {
            let decided = cpu::without_interrupts(|| {
                let mut q = self.waiters.lock();
                if condition() {
                    return Some(true);
                }
                if crate::time::now_ns() >= deadline_ns {
                    return Some(false);
                }
                q.push_back(me);
                // Both registrations are made, and both locks held, until
                // the thread is blocked: neither a waker nor the timer can
                // wake it before (see `sleep::sleepers`).
                let mut sleepers = sleep::sleepers();
                sleepers.insert((deadline_ns, me));
                sched::block_current_then(move || {
                    drop(sleepers);
                    drop(q);
                });
                None
            });
            if let Some(done) = decided {
                return done;
            }
            // Woken by one of the two: forget the other, so it does not
            // wake this thread later, in the middle of something else.
            cpu::without_interrupts(|| self.waiters.lock().retain(|&t| t != me));
            sleep::forget(deadline_ns, me);
        }
    }

    /// Wakes the longest-waiting thread; returns whether there was one.
    pub fn wake_one(&self) -> bool {
        cpu::without_interrupts(|| {
            let mut q = self.waiters.lock();
            while let Some(t) = q.pop_front() {
                if sched::wake(t) {
                    return true;
                }
            }
            false
        })
    }

    /// Wakes every waiting thread; returns how many.
    pub fn wake_all(&self) -> usize {
        cpu::without_interrupts(|| {
            let mut q = self.waiters.lock();
            q.drain(..).filter(|&t| sched::wake(t)).count()
        })
    }

    /// How many threads are waiting.
    pub fn len(&self) -> usize {
        cpu::without_interrupts(|| self.waiters.lock().len())
    }

    /// Whether no thread is waiting.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
