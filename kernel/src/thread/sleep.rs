//! Sleeping: a thread blocks until a deadline, and the timer interrupt
//! wakes it. Sleepers are kept ordered by deadline so each tick only looks
//! at the ones that are due.

use super::{ThreadId, sched};
use crate::arch::x86_64::cpu;
use crate::time;
use alloc::collections::BTreeSet;
use spin::Mutex;

static SLEEPERS: Mutex<BTreeSet<(u64, ThreadId)>> = Mutex::new(BTreeSet::new());

/// Blocks the calling thread for at least `ns` nanoseconds.
pub fn sleep_ns(ns: u64) {
    let deadline = time::now_ns().saturating_add(ns);
    cpu::without_interrupts(|| {
        let me = sched::current_id();
        let mut s = SLEEPERS.lock();
        s.insert((deadline, me));
        sched::block_current_then(move || drop(s));
    });
}

/// Blocks the calling thread for at least `ms` milliseconds.
pub fn sleep_ms(ms: u64) {
    sleep_ns(ms.saturating_mul(1_000_000));
}

/// Wakes every sleeper whose deadline is at or before `now`. Called from
/// the timer interrupt.
pub(super) fn wake_due(now: u64) {
    let mut s = SLEEPERS.lock();
    while let Some(&(deadline, t)) = s.first() {
        if deadline > now {
            break;
        }
        s.pop_first();
        sched::wake(t);
    }
}

/// The sleepers, locked: a timed wait registers its deadline under this
/// lock and blocks before releasing it, as [`sleep_ns`] does, so the
/// timer cannot wake it before it is blocked. Interrupts must be off.
pub(super) fn sleepers() -> spin::MutexGuard<'static, BTreeSet<(u64, ThreadId)>> {
    SLEEPERS.lock()
}

/// Forgets a thread's deadline `deadline` (a timed wait that ended
/// otherwise, so the timer does not wake it later, in the middle of
/// something else).
pub(super) fn forget(deadline: u64, id: ThreadId) {
    cpu::without_interrupts(|| SLEEPERS.lock().remove(&(deadline, id)));
}

/// Forgets a thread that sleeps (it was killed).
pub(super) fn cancel(id: ThreadId) {
    cpu::without_interrupts(|| SLEEPERS.lock().retain(|&(_, t)| t != id));
}
