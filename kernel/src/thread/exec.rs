//! Per-thread execution state that must follow a thread across CPUs: the
//! innermost contained call it is in (an opaque word the containment layer
//! owns, see `crate::contain`), how many kernel sections it is inside, whom
//! its heap allocations are charged to (`crate::mm::account`), and its CPU
//! time.
//!
//! Each CPU slot holds the running thread's words; a context switch saves
//! them into the outgoing thread and loads the incoming one's
//! (`switch_words`), so reading them is a per-CPU load, cheap enough for
//! every contained call. Before threads start, CPU 0's slot serves the boot
//! context. Everything here runs with interrupts off, so the running thread
//! cannot move to another CPU between reading and writing its words.

use super::sched::{CpuSlot, this_cpu};
use super::table::Thread;
use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::{cpu, percpu};
use crate::time;
use core::sync::atomic::Ordering;
use spin::Once;

/// What the timer interrupt runs for the running thread after charging its
/// CPU time: it may redirect `frame` (see `crate::contain`).
pub type TickCheck = fn(frame: &mut InterruptFrame, cpu_time_ns: u64);

static TICK_CHECK: Once<TickCheck> = Once::new();

/// Installs the timer-interrupt check (once; later calls are ignored).
pub fn set_tick_check(check: TickCheck) {
    TICK_CHECK.call_once(|| check);
}

pub(super) fn run_tick_check(frame: &mut InterruptFrame, slot: &CpuSlot) {
    if let Some(check) = TICK_CHECK.get() {
        let cpu_ns = slot.charged.load(Ordering::Relaxed);
        check(frame, cpu_ns);
    }
}

/// The running thread's innermost contained call (0: none).
pub fn guard() -> u64 {
    cpu::without_interrupts(|| this_cpu().1.guard.load(Ordering::Relaxed))
}

/// Sets the running thread's innermost contained call.
///
/// # Safety
/// `frame` must be 0 or the address of a live guard frame of
/// `crate::contain` on the running thread's stack, which stays there until
/// the guard word is set to something else: the timer interrupt and the
/// panic handler dereference a non-zero guard word as that frame.
pub unsafe fn set_guard(frame: u64) {
    cpu::without_interrupts(|| this_cpu().1.guard.store(frame, Ordering::Relaxed));
}

/// Enters a kernel section: until the matching [`leave_section`], the
/// running thread is not killed and its contained call is not stopped
/// from the timer interrupt (both wait for the section to end).
pub fn enter_section() {
    cpu::without_interrupts(|| {
        this_cpu().1.sections.fetch_add(1, Ordering::Relaxed);
        // The registry's work for a module is not held to the module's
        // memory limit: failing there would fail the kernel's own code.
        percpu::set_kernel_work(true);
    });
}

/// Leaves a kernel section; returns how many are still open. Leaving the
/// outermost one outside any contained call is a safe point: a thread that
/// was asked to die (see `kill_owned_by`) ends there.
pub fn leave_section() -> u64 {
    let (n, safe) = cpu::without_interrupts(|| {
        let slot = this_cpu().1;
        let n = slot.sections.load(Ordering::Relaxed).saturating_sub(1);
        slot.sections.store(n, Ordering::Relaxed);
        if n == 0 {
            percpu::set_kernel_work(false);
        }
        (n, at_safe_point(slot))
    });
    if safe && super::is_running() {
        super::exit::die_if_killed();
    }
    n
}

/// Kernel sections the running thread is in.
pub fn sections() -> u64 {
    cpu::without_interrupts(|| this_cpu().1.sections.load(Ordering::Relaxed))
}

/// Whether the running thread may be ended where it is: no contained call
/// and no kernel section open. Interrupts must be off.
pub(super) fn at_safe_point(slot: &CpuSlot) -> bool {
    slot.guard.load(Ordering::Relaxed) == 0 && slot.sections.load(Ordering::Relaxed) == 0
}

/// The running thread's CPU time in nanoseconds: what it has been charged
/// plus the time since its last charge. Before threads start, the time
/// since boot.
pub fn cpu_time_ns() -> u64 {
    if !super::is_running() {
        return time::now_ns();
    }
    cpu::without_interrupts(|| {
        let slot = this_cpu().1;
        let since = slot.switched_at.load(Ordering::Relaxed);
        slot.charged
            .load(Ordering::Relaxed)
            .saturating_add(time::now_ns().saturating_sub(since))
    })
}

/// Forgets every contained call and kernel section of the running thread:
/// for a panic that cannot be contained, after which none of them will be
/// returned to (the thread ends, the kernel stops, or a test kernel's
/// runner resumes outside all of them). Charges go back to the kernel.
pub fn abandon_all_calls() {
    cpu::without_interrupts(|| {
        let slot = this_cpu().1;
        slot.guard.store(0, Ordering::Relaxed);
        slot.sections.store(0, Ordering::Relaxed);
        percpu::set_charge(0);
    });
}

/// What [`enter_call`] replaced, for [`leave_call`] to put back.
#[derive(Debug, Clone, Copy)]
pub struct CallWords {
    guard: u64,
    sections: u64,
    charge: u32,
}

impl CallWords {
    /// The guard word before the call: the enclosing call's frame, or 0.
    pub fn guard(&self) -> u64 {
        self.guard
    }
}

/// Enters a contained call in one step (it is on every call into module
/// code): makes `frame` the running thread's guard word, starts a fresh
/// section count, charges allocations to `charge`, and returns what it
/// replaced with the thread's CPU time now. Interrupts must be off.
///
/// # Safety
/// As for [`set_guard`]: `frame` must be a live guard frame on the running
/// thread's stack until [`leave_call`] (or `set_guard`) replaces it.
pub unsafe fn enter_call(frame: u64, charge: u32) -> (CallWords, u64) {
    let slot = this_cpu().1;
    let saved = CallWords {
        guard: slot.guard.swap(frame, Ordering::Relaxed),
        sections: slot.sections.swap(0, Ordering::Relaxed),
        charge: percpu::set_charge(charge),
    };
    let cpu_ns = if super::is_running() {
        let since = slot.switched_at.load(Ordering::Relaxed);
        slot.charged
            .load(Ordering::Relaxed)
            .saturating_add(time::now_ns().saturating_sub(since))
    } else {
        time::now_ns()
    };
    (saved, cpu_ns)
}

/// Leaves a contained call: puts back what [`enter_call`] replaced.
///
/// # Safety
/// `words` must come from the matching `enter_call` of the running thread,
/// whose enclosing frames are therefore still live.
pub unsafe fn leave_call(words: CallWords) {
    cpu::without_interrupts(|| {
        let slot = this_cpu().1;
        slot.guard.store(words.guard, Ordering::Relaxed);
        slot.sections.store(words.sections, Ordering::Relaxed);
        percpu::set_charge(words.charge);
    });
}

/// Moves the words at a switch: `prev` keeps what it had on this CPU,
/// `next` brings its own. Interrupts off.
pub(super) fn switch_words(slot: &CpuSlot, prev: &Thread, next: &Thread) {
    prev.guard
        .store(slot.guard.load(Ordering::Relaxed), Ordering::Release);
    prev.sections
        .store(slot.sections.load(Ordering::Relaxed), Ordering::Release);
    slot.guard
        .store(next.guard.load(Ordering::Acquire), Ordering::Relaxed);
    slot.sections
        .store(next.sections.load(Ordering::Acquire), Ordering::Relaxed);
    slot.charged
        .store(next.run_ns.load(Ordering::Relaxed), Ordering::Relaxed);
    prev.charge.store(percpu::charge(), Ordering::Release);
    percpu::set_charge(next.charge.load(Ordering::Acquire));
}
