//! How threads end: exiting, being joined, being killed with their owning
//! module, and dying of a panic or CPU fault.
//!
//! An exiting thread records its status, leaves the policy, wakes its
//! joiners and switches away for good; the next thread to run on that CPU
//! frees its stack (a thread cannot free the stack it runs on). Killing
//! sets a kill flag; the thread ends itself the same way at its next safe
//! point (a timer tick or a block outside every contained call and kernel
//! section).

use super::sched::{MAIN_ID, SCHED, current, current_id, switch_to, this_cpu};
use super::table::{self, ExitStatus, Thread, ThreadState};
use super::{ThreadError, ThreadId, sleep};
use crate::arch::x86_64::cpu;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
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

/// Threads with a kill flag that have not ended yet: while there are none,
/// a safe point costs one load to rule out (see [`die_if_killed`]).
static KILLS_PENDING: AtomicU64 = AtomicU64::new(0);

pub(super) fn mark_exited(sched: &dyn Scheduler, t: &Arc<Thread>, status: ExitStatus) {
    if t.kill.load(Ordering::Acquire) {
        KILLS_PENDING.fetch_sub(1, Ordering::AcqRel);
    }
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

/// Kills every thread owned by `module`. Each gets a kill flag and ends
/// itself at its next safe point, outside every contained call and kernel
/// section: at a timer tick, or when it would block. A blocked thread is
/// woken to get there. Nothing is ended from another CPU, so a thread never
/// dies holding a lock or half way through a registry call, and its stack
/// is never freed while a CPU may still switch to it. Returns how many were
/// found alive.
pub fn kill_owned_by(module: &str) -> usize {
    if SCHED.get().is_none() {
        return 0;
    }
    let victims =
        table::select(|t| t.owner.as_deref() == Some(module) && t.state() != ThreadState::Exited);
    for t in &victims {
        cpu::without_interrupts(|| {
            if !t.kill.swap(true, Ordering::SeqCst) {
                KILLS_PENDING.fetch_add(1, Ordering::AcqRel);
                // It may have ended between the selection and the flag: then
                // nothing will count it down.
                if t.state() == ThreadState::Exited {
                    KILLS_PENDING.fetch_sub(1, Ordering::AcqRel);
                }
            }
            core::sync::atomic::fence(Ordering::SeqCst);
            if t.state() == ThreadState::Blocked {
                sleep::cancel(t.id);
                super::sched::wake(t.id);
            }
        });
    }
    victims.len()
}

/// A safe point reached in thread context (the end of the outermost kernel
/// section outside any contained call): if the running thread was asked to
/// die, it ends here. Cheap while no kill is pending.
pub(super) fn die_if_killed() {
    if KILLS_PENDING.load(Ordering::Acquire) == 0 {
        return;
    }
    let Some(me) = current() else { return };
    if me.kill.load(Ordering::Acquire) && !me.idle {
        drop(me);
        exit_current(ExitStatus::Killed);
    }
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
