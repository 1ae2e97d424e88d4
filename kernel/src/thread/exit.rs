//! How threads end: exiting, being joined, being killed with their owning
//! module, and dying of a panic or CPU fault.
//!
//! An exiting thread records its status, leaves the policy, wakes its
//! joiners and switches away for good; the next thread to run on that CPU
//! frees its stack (a thread cannot free the stack it runs on). Killing
//! works the same way for a thread that is not on a CPU; one that is gets a
//! kill flag and dies at its CPU's next timer tick.

use super::sched::{MAIN_ID, SCHED, current, current_id, reap, switch_to, this_cpu};
use super::table::{self, ExitStatus, Thread, ThreadState};
use super::{ThreadError, ThreadId, sleep};
use crate::arch::x86_64::cpu;
use alloc::sync::Arc;
use core::sync::atomic::Ordering;
use helix_modules::services::scheduler::Scheduler;

/// Ends the calling thread with `status`.
pub(crate) fn exit_current(status: ExitStatus) -> ! {
    x86_64::instructions::interrupts::disable();
    if let (Some(sched), Some(me)) = (SCHED.get(), current()) {
        let (cpu_id, _) = this_cpu();
        mark_exited(sched.as_ref(), &me, status);
        let next = sched.pick_next(cpu_id);
        drop(me);
        switch_to(next);
    }
    // Only reached without threads (nothing to switch to) or if an exited
    // thread were resumed, which the protocol never does.
    panic!("thread exit outside the scheduler");
}

pub(super) fn mark_exited(sched: &dyn Scheduler, t: &Arc<Thread>, status: ExitStatus) {
    *t.exit.lock() = Some(status);
    t.set_state(ThreadState::Exited);
    let _ = sched.remove(t.id);
    sleep::cancel(t.id);
    t.joiners.wake_all();
}

pub(super) fn join(id: ThreadId) -> Result<ExitStatus, ThreadError> {
    if id == current_id() {
        return Err(ThreadError::JoinSelf);
    }
    let t = table::get(id).ok_or(ThreadError::NoSuchThread(id))?;
    t.joiners.wait_until(|| t.state() == ThreadState::Exited);
    let status = t.exit.lock().take().unwrap_or(ExitStatus::Killed);
    t.detached.store(true, Ordering::Release);
    if !t.on_cpu.load(Ordering::Acquire) {
        table::remove(id);
    }
    Ok(status)
}

/// Kills every thread owned by `module`: queued, sleeping and waiting ones
/// at once, a running one (or one stopped inside a contained call or a
/// kernel section) at a timer tick once it is at a safe point. Returns how
/// many were found alive.
pub fn kill_owned_by(module: &str) -> usize {
    let Some(sched) = SCHED.get() else { return 0 };
    let victims =
        table::select(|t| t.owner.as_deref() == Some(module) && t.state() != ThreadState::Exited);
    for t in &victims {
        cpu::without_interrupts(|| {
            if t.on_cpu.load(Ordering::Acquire) || !super::exec::parked_at_safe_point(t) {
                // Running, or stopped inside a contained call or a kernel
                // section: it dies at a timer tick once it is at a safe
                // point, so it never leaves a call or a lock half done.
                t.kill.store(true, Ordering::Release);
            } else {
                // Remove first: once the policy forgets it, no CPU can pick it.
                let _ = sched.remove(t.id);
                mark_exited(sched.as_ref(), t, ExitStatus::Killed);
                reap(t);
            }
        });
    }
    victims.len()
}

/// Told when a thread owned by a module panics or faults, from the panic
/// handler (so it must not allocate or take locks that the panicking code
/// may hold): the owning module's name and the panic.
pub type OwnedFaultHook = fn(owner: &str, info: &core::panic::PanicInfo<'_>);

static OWNED_FAULT: spin::Once<OwnedFaultHook> = spin::Once::new();

/// Installs the hook told of faults in module-owned threads (once).
pub fn set_owned_fault_hook(hook: OwnedFaultHook) {
    OWNED_FAULT.call_once(|| hook);
}

/// Panic policy for threads: a panic (or CPU fault) in any thread but
/// `main` and the idle threads ends that thread only. Returns if the panic
/// is not a thread's to absorb.
pub fn on_thread_panic(info: &core::panic::PanicInfo<'_>) {
    if SCHED.get().is_none() {
        return;
    }
    let Some(me) = current() else { return };
    if me.idle || me.id.0 == MAIN_ID.load(Ordering::Relaxed) {
        return;
    }
    let (file, line) = info
        .location()
        .map_or(("<unknown>", 0), |l| (l.file(), l.line()));
    crate::serial::write_fmt_panicking(format_args!(
        "thread '{}' ({}) panicked: {}\n  at {file}:{line}\n",
        me.name,
        me.id,
        info.message()
    ));
    if let (Some(owner), Some(hook)) = (me.owner.as_deref(), OWNED_FAULT.get()) {
        hook(owner, info);
    }
    drop(me);
    exit_current(ExitStatus::Panicked)
}
