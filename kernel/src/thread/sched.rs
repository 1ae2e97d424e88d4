//! The scheduling mechanism: per-CPU current/idle threads, the switch
//! protocol, and the calls into the scheduler module's policy.
//!
//! Every function here that touches a CPU's current thread runs with
//! interrupts disabled. The protocol around a switch from `prev` to `next`:
//! wait until `next` is off every CPU (its stack is free), mark it on this
//! CPU, record `prev` in the CPU's slot, switch stacks, and then, on the
//! new stack, [`finish_switch`] marks `prev` off-CPU, charges it its run
//! time and, if it has exited, frees its stack.

use super::table::{self, ExitStatus, Thread, ThreadState};
use super::{JoinHandle, ThreadError, ThreadId, sleep};
use crate::arch::x86_64::entry::InterruptFrame;
use crate::arch::x86_64::percpu::{MAX_CPUS, cpu_index};
use crate::arch::x86_64::{cpu, interrupts, switch};
use crate::mm::stack::KernelStack;
use crate::time;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::scheduler::{CpuId, Priority, Scheduler};
use spin::{Mutex, Once};

/// What the thread layer keeps per CPU.
pub(super) struct CpuSlot {
    pub(super) current: AtomicU64,
    pub(super) idle: Once<Arc<Thread>>,
    prev: Mutex<Option<Arc<Thread>>>,
    pub(super) switched_at: AtomicU64,
    /// The running thread's CPU time as of its last charge (see `exec`).
    pub(super) charged: AtomicU64,
    /// The running thread's innermost contained call (see `exec`).
    pub(super) guard: AtomicU64,
    /// The running thread's open kernel sections (see `exec`).
    pub(super) sections: AtomicU64,
    /// The stack device interrupts run on (see `percpu::set_irq_stack`).
    pub(super) irq_stack: Once<KernelStack>,
}

pub(super) static CPUS: [CpuSlot; MAX_CPUS] = [const {
    CpuSlot {
        current: AtomicU64::new(0),
        idle: Once::new(),
        prev: Mutex::new(None),
        switched_at: AtomicU64::new(0),
        charged: AtomicU64::new(0),
        guard: AtomicU64::new(0),
        sections: AtomicU64::new(0),
        irq_stack: Once::new(),
    }
}; MAX_CPUS];
pub(super) static SCHED: Once<Arc<dyn Scheduler>> = Once::new();
pub(super) static MAIN_ID: AtomicU64 = AtomicU64::new(0);

/// The installed scheduler, if [`start`] ran.
pub fn scheduler() -> Option<&'static Arc<dyn Scheduler>> {
    SCHED.get()
}

/// Whether threads are up.
pub fn is_running() -> bool {
    SCHED.get().is_some()
}

pub(super) fn this_cpu() -> (CpuId, &'static CpuSlot) {
    let i = cpu_index();
    (i as CpuId, &CPUS[i])
}

/// The id of the calling thread (`ThreadId(0)` before threads are up).
pub fn current_id() -> ThreadId {
    cpu::without_interrupts(|| ThreadId(this_cpu().1.current.load(Ordering::Relaxed)))
}

/// The calling thread's stack, lowest to highest address (`None` for a
/// thread on a stack the thread layer did not make, such as the boot
/// stack).
pub fn current_stack() -> Option<core::ops::Range<u64>> {
    cpu::without_interrupts(|| {
        let thread = current()?;
        let stack = thread.stack.try_lock()?;
        stack.as_ref().map(|s| s.bottom()..s.top())
    })
}

pub(super) fn current() -> Option<Arc<Thread>> {
    table::get(ThreadId(this_cpu().1.current.load(Ordering::Relaxed)))
}

/// Installs `scheduler`, turns the calling context into the `main` thread
/// and gives this CPU its idle thread, and installs the thread layer's
/// hooks in the CPU layer: `finish_switch` after every switch, the
/// scheduler's tick in the timer interrupt. Called once, by the boot CPU.
pub fn start(scheduler: Arc<dyn Scheduler>) -> Result<ThreadId, ThreadError> {
    if SCHED.get().is_some() {
        return Ok(ThreadId(MAIN_ID.load(Ordering::Relaxed)));
    }
    let (cpu_id, slot) = this_cpu();
    super::idle::create_idle(cpu_id)?;
    let main = Arc::new(Thread::new(table::next_id(), "main".into(), None, false));
    main.on_cpu.store(true, Ordering::Release);
    main.set_state(ThreadState::Running);
    let id = main.id;
    table::insert(main);
    cpu::without_interrupts(|| {
        scheduler
            .add(id, Priority::NORMAL)
            .map_err(ThreadError::Scheduler)?;
        // The policy queued `main`; picking now makes it this CPU's
        // running thread, which it already is.
        let picked = scheduler.pick_next(cpu_id);
        debug_assert_eq!(picked, Some(id));
        slot.current.store(id.0, Ordering::Relaxed);
        slot.switched_at.store(time::now_ns(), Ordering::Relaxed);
        MAIN_ID.store(id.0, Ordering::Relaxed);
        SCHED.call_once(|| scheduler);
        switch::set_finish_switch_hook(finish_switch);
        interrupts::set_tick_hook(on_timer_tick);
        Ok(id)
    })
}

extern "C" fn thread_entry(id: u64) -> ! {
    let body = table::get(ThreadId(id)).and_then(|t| t.entry.lock().take());
    if let Some(body) = body {
        body();
    }
    super::exit::exit_current(ExitStatus::Exited(0))
}

pub(super) fn spawn(
    name: String,
    owner: Option<String>,
    stack_pages: usize,
    priority: Priority,
    body: Box<dyn FnOnce() + Send>,
) -> Result<JoinHandle, ThreadError> {
    let sched = SCHED.get().ok_or(ThreadError::NoScheduler)?;
    let stack = KernelStack::new(stack_pages).map_err(ThreadError::Stack)?;
    let id = table::next_id();
    let t = Arc::new(Thread::new(id, name, owner, false));
    // A thread charges its allocations to whoever spawned it (a module
    // starting a worker: that module).
    let charge = cpu::without_interrupts(crate::arch::x86_64::percpu::charge);
    t.charge.store(
        charge & !crate::arch::x86_64::percpu::CHARGE_KERNEL_WORK,
        Ordering::Relaxed,
    );
    // SAFETY: as in `create_idle`: a page-aligned top of a stack just
    // mapped for this thread alone, which keeps it until it is reaped (off
    // every CPU).
    let rsp = unsafe { switch::initial_frame(stack.top(), thread_entry, id.0) };
    t.saved_rsp.store(rsp, Ordering::Release);
    *t.stack.lock() = Some(stack);
    *t.entry.lock() = Some(body);
    table::insert(t);
    if let Err(e) = cpu::without_interrupts(|| sched.add(id, priority)) {
        table::remove(id);
        return Err(ThreadError::Scheduler(e));
    }
    Ok(JoinHandle { id })
}

/// Records the switch from `prev` to `next` on this CPU. Interrupts off.
fn prepare_switch(slot: &CpuSlot, prev: &Arc<Thread>, next: &Arc<Thread>) {
    // Another CPU may still be on `next`'s stack, between saving its frame
    // and finishing its own switch; wait until it has let go.
    while next.on_cpu.load(Ordering::Acquire) {
        core::hint::spin_loop();
    }
    next.on_cpu.store(true, Ordering::Release);
    super::exec::switch_words(slot, prev, next);
    next.set_state(ThreadState::Running);
    next.switches_in.fetch_add(1, Ordering::Relaxed);
    if prev.state() == ThreadState::Running {
        prev.set_state(ThreadState::Ready);
    }
    slot.current.store(next.id.0, Ordering::Relaxed);
    *slot.prev.lock() = Some(prev.clone());
}

/// Switches this CPU from its current thread to `next` (its idle thread
/// for `None`). Interrupts must be off. Returns when the calling thread is
/// resumed, immediately if `next` is the calling thread.
pub(super) fn switch_to(next: Option<ThreadId>) {
    assert!(
        !cpu::interrupts_enabled(),
        "a thread switch with interrupts on"
    );
    let (cpu_id, slot) = this_cpu();
    let Some(prev) = current() else { return };
    let next = next
        .and_then(table::get)
        .unwrap_or_else(|| super::idle::idle_thread(cpu_id));
    if Arc::ptr_eq(&prev, &next) {
        prev.set_state(ThreadState::Running);
        return;
    }
    prepare_switch(slot, &prev, &next);
    let save = prev.saved_rsp.as_ptr();
    let target = next.saved_rsp.load(Ordering::Acquire);
    // `prev` stays alive in the slot until `finish_switch`, so `save`
    // remains valid through the switch.
    drop((prev, next));
    // SAFETY: interrupts are off (asserted above). `target` is the frame
    // `next` saved when it last left a CPU, on its own stack, and no CPU
    // runs it: `prepare_switch` waited for its `on_cpu` flag to clear and
    // set it for this CPU. `save` points into `prev`, which the slot keeps
    // alive until `finish_switch` runs on `next`'s side.
    unsafe { switch::context_switch(save, target) };
}

/// Runs on the new stack right after every switch (and after every
/// interrupt return), as the switch's finish-switch hook: releases the
/// previous thread.
extern "C" fn finish_switch() {
    let (_, slot) = this_cpu();
    let Some(prev) = slot.prev.lock().take() else {
        return;
    };
    let now = time::now_ns();
    let since = slot.switched_at.swap(now, Ordering::Relaxed);
    prev.run_ns
        .fetch_add(now.saturating_sub(since), Ordering::Relaxed);
    prev.on_cpu.store(false, Ordering::Release);
    if prev.state() == ThreadState::Exited {
        reap(&prev);
    }
}

/// Frees an exited thread's stack, and its table entry if detached.
/// The thread must be off every CPU.
pub(super) fn reap(t: &Arc<Thread>) {
    let stack = t.stack.lock().take();
    drop(stack);
    if t.detached.load(Ordering::Acquire) {
        table::remove(t.id);
    }
}

/// The running thread stops being runnable: tells the policy, runs
/// `release` (dropping the lock that guards the wake-up condition), and
/// switches to whatever runs next. Returns once woken and scheduled again.
/// Interrupts must be off.
pub(super) fn block_current_then(release: impl FnOnce()) {
    let Some(sched) = SCHED.get() else {
        release();
        return;
    };
    let (cpu_id, slot) = this_cpu();
    let Some(me) = current() else {
        release();
        return;
    };
    me.set_state(ThreadState::Blocked);
    // Blocking is a safe point: a thread asked to die does so here rather
    // than sleep (it could otherwise wait for a wake-up that never comes).
    // The state is Blocked first and the flag read after, and the killer
    // does the reverse (both SeqCst): so either this sees the flag, or the
    // killer sees Blocked and wakes the thread.
    core::sync::atomic::fence(Ordering::SeqCst);
    if me.kill.load(Ordering::SeqCst) && !me.idle && super::exec::at_safe_point(slot) {
        me.set_state(ThreadState::Running);
        release();
        drop(me);
        super::exit::exit_current(ExitStatus::Killed);
    }
    let _ = sched.block(cpu_id, me.id);
    release();
    let next = sched.pick_next(cpu_id);
    drop(me);
    switch_to(next);
}

/// Makes a blocked thread runnable. Returns false if it is not blocked
/// (already woken, exited, or unknown).
pub(super) fn wake(id: ThreadId) -> bool {
    let (Some(sched), Some(t)) = (SCHED.get(), table::get(id)) else {
        return false;
    };
    if t.state() != ThreadState::Blocked {
        return false;
    }
    t.set_state(ThreadState::Ready);
    let ready = sched.ready(id).is_ok();
    WOKEN.store(true, Ordering::Release);
    ready
}

/// Set when a thread is made ready: an idle CPU woken by an interrupt
/// asks the scheduler for work only then (see `idle`), not after every
/// interrupt (the timer's tick has just asked).
pub(super) static WOKEN: core::sync::atomic::AtomicBool =
    core::sync::atomic::AtomicBool::new(false);

/// Gives the CPU to the next runnable thread, if any.
pub fn yield_now() {
    let Some(sched) = SCHED.get() else { return };
    cpu::without_interrupts(|| {
        let (cpu_id, _) = this_cpu();
        let next = sched.yield_now(cpu_id);
        switch_to(next);
    });
}

/// The timer-interrupt hook: wakes sleepers, charges the tick to the
/// policy, and switches when it asks to (or when this CPU idles and work
/// has arrived).
fn on_timer_tick(frame: &mut InterruptFrame) -> *mut InterruptFrame {
    let Some(sched) = SCHED.get() else {
        return frame;
    };
    let (cpu_id, slot) = this_cpu();
    let now = time::now_ns();
    sleep::wake_due(now);
    let Some(cur) = current() else { return frame };
    // Charge run time on every tick, not only at switch-out: a thread that
    // keeps its CPU (an idle thread on a quiet CPU, a long computation)
    // shows its time as it runs. `finish_switch` charges the rest.
    let since = slot.switched_at.swap(now, Ordering::Relaxed);
    let run = cur
        .run_ns
        .fetch_add(now.saturating_sub(since), Ordering::Relaxed)
        .saturating_add(now.saturating_sub(since));
    slot.charged.store(run, Ordering::Relaxed);
    super::exec::run_tick_check(frame, slot);
    // A killed thread dies here only at a safe point: outside every
    // contained call and kernel section, so it leaves nothing held.
    let next = if cur.kill.load(Ordering::Acquire) && !cur.idle && super::exec::at_safe_point(slot)
    {
        super::exit::mark_exited(sched.as_ref(), &cur, ExitStatus::Killed);
        sched.pick_next(cpu_id)
    } else if sched.tick(cpu_id, now) || cur.idle || super::park::is_requested(cpu_id as usize) {
        // A CPU asked to park gives its thread back to the policy (which
        // already queued it elsewhere) and switches to its idle thread.
        sched.pick_next(cpu_id)
    } else {
        return frame;
    };
    let next = next
        .and_then(table::get)
        .unwrap_or_else(|| super::idle::idle_thread(cpu_id));
    if Arc::ptr_eq(&cur, &next) {
        return frame;
    }
    cur.saved_rsp
        .store(frame as *mut InterruptFrame as u64, Ordering::Release);
    prepare_switch(slot, &cur, &next);
    next.saved_rsp.load(Ordering::Acquire) as *mut InterruptFrame
}

/// The id of the `main` thread (the one that booted the kernel).
pub fn main_thread_id() -> ThreadId {
    ThreadId(MAIN_ID.load(Ordering::Relaxed))
}
