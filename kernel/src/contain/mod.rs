//! The kernel's guard around every call into module code: a panic, a CPU
//! exception or an exhausted time budget inside the call ends that call
//! only (see `helix_modules::contain` for what the registry then does).
//!
//! Each contained call pushes a `GuardFrame` on the calling thread's
//! stack: a jump buffer filled by `catch_call`, the budget's end in the
//! thread's CPU time, and room for the fault report. The innermost frame's
//! address is the thread's guard word (`thread::exec`), which follows the
//! thread across CPUs. Three ways lead back to the frame:
//!
//! - the panic handler calls [`on_panic`] first; CPU exceptions in kernel
//!   mode panic with their report, so they arrive the same way (a stack
//!   overflow through the double-fault handler on its own stack);
//! - the timer interrupt, once the call has used its budget, rewrites the
//!   interrupted frame to continue in `abort_expired`, which jumps back
//!   from ordinary thread context after the interrupt has returned;
//! - leaving a kernel section ([`KernelContainment::leave_section`]) in a
//!   call whose budget ran out inside the section.
//!
//! Frames of the abandoned call are not unwound (the kernel builds with
//! `panic = "abort"`); what the registry took out for the call is put back
//! by the registry itself, which sits outside the frame. Kernel locks are
//! interrupt-off sections and registry calls made by module code are kernel
//! sections, so the timer never stops a call while it holds either.
//!
//! Faults in a module's own threads and interrupt handlers, which no
//! caller waits for, are queued for the events thread (`thread_faults`);
//! the budgets come from the command line (`budget`).

use crate::arch::x86_64::catch::{JumpBuffer, catch_call, resume};
use crate::arch::x86_64::cpu;
use crate::arch::x86_64::entry::InterruptFrame;
use crate::thread::{self, exec};
use crate::time;
use alloc::sync::Arc;
use core::fmt::Write;
use helix_modules::contain::{CallInfo, CallKind, Containment, Fault, FaultKind};

mod budget;
mod thread_faults;

pub use budget::{BudgetError, budgets};
use thread_faults::on_owned_thread_fault;
pub use thread_faults::{queue_irq_fault, report_thread_faults};

/// Bytes of a fault report kept (the rest is cut): written from the panic
/// handler, so it must not allocate.
pub(super) const REPORT_CAPACITY: usize = 640;

/// One contained call in progress, on its thread's stack.
#[repr(C)]
struct GuardFrame {
    buf: JumpBuffer,
    /// The enclosing frame (0: none).
    prev: u64,
    /// The budget's end, in the thread's CPU time.
    deadline_ns: u64,
    budget_ns: u64,
    /// The timer found the budget used up.
    expired: bool,
    fault: Option<FaultKind>,
    report: heapless::String<REPORT_CAPACITY>,
    /// The call is an interrupt handler's: interrupts are masked by design,
    /// and the dispatcher holds no kernel lock around it, so a fault in it
    /// is resumed like any other.
    in_interrupt: bool,
}

/// The containment the kernel installs in its registry.
#[derive(Debug, Default)]
pub struct KernelContainment;

/// The containment, and the timer check that enforces budgets.
pub fn containment() -> Arc<KernelContainment> {
    exec::set_tick_check(on_tick);
    thread::set_owned_fault_hook(on_owned_thread_fault);
    Arc::new(KernelContainment)
}

extern "C" fn trampoline(arg: *mut u8) {
    // SAFETY: `run` (the only caller, through `catch_call`) passes a pointer
    // to its `&mut dyn FnMut()`, which lives until `catch_call` returns,
    // and nothing else uses it meanwhile.
    let call = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
    call();
    // Return with interrupts off: until `run` takes its guard frame down,
    // the timer must not find it and stop a call that already returned
    // (`run` restores the flag).
    cpu::disable_interrupts();
}

impl Containment for KernelContainment {
    fn run(&self, info: &CallInfo, call: &mut dyn FnMut()) -> Result<(), Fault> {
        run_frame(info, call, false)
    }

    /// A short wait yields (the module is usually busy for microseconds);
    /// a long one sleeps, so a caller of a stuck module does not burn a CPU
    /// until its budget ends it.
    fn pause(&self, attempt: u32) {
        if !thread::is_running() || !cpu::interrupts_enabled() {
            core::hint::spin_loop();
        } else if attempt < 64 {
            thread::yield_now();
        } else {
            thread::sleep_ms(1);
        }
    }

    fn now_ns(&self) -> u64 {
        time::now_ns()
    }

    fn enter_section(&self) {
        enter_section();
    }

    fn leave_section(&self) {
        leave_section();
    }
}

/// Runs a driver's interrupt handler `call` contained: a panic or CPU
/// exception in it ends the handler and is returned, instead of ending the
/// kernel; the caller then hands it to [`queue_irq_fault`] with the
/// driver's name. Called from interrupt context, with no kernel lock
/// held. An endless loop in a handler is not caught: no timer interrupt
/// reaches a CPU running one.
pub fn run_in_interrupt(call: &mut dyn FnMut()) -> Result<(), Fault> {
    let info = CallInfo {
        module_index: u32::MAX - 1,
        kind: CallKind::Irq,
        budget_ns: u64::MAX,
    };
    run_frame(&info, call, true)
}

/// The guarded call itself (see [`KernelContainment::run`]).
fn run_frame(info: &CallInfo, call: &mut dyn FnMut(), in_interrupt: bool) -> Result<(), Fault> {
    let mut frame = GuardFrame {
        buf: JumpBuffer::default(),
        prev: 0,
        deadline_ns: 0,
        budget_ns: info.budget_ns,
        expired: false,
        fault: None,
        report: heapless::String::new(),
        in_interrupt,
    };
    let frame_addr = &raw mut frame as u64;
    let interrupts_were_on = cpu::disable_interrupts();
    // SAFETY: interrupts are off. `frame` is a `GuardFrame` on this
    // thread's stack, in this function's frame, which outlives the guard
    // word: it is set back to the enclosing frame before `catch_call`
    // returns, with interrupts off from there until `leave_call`, on
    // both paths (by `abort_top` or `on_panic` before they resume, or
    // after `trampoline` returns with interrupts off).
    let (words, cpu_ns) =
        unsafe { exec::enter_call(frame_addr, info.module_index.saturating_add(1)) };
    frame.prev = words.guard();
    frame.deadline_ns = cpu_ns.saturating_add(info.budget_ns);
    cpu::restore_interrupts(interrupts_were_on);
    let mut call = call;
    // SAFETY: `frame.buf` and `call` live in this frame until after
    // `catch_call` returns, and `trampoline` is safe to call with a
    // pointer to `call`. The guard word names `frame` (so `resume` can
    // be called with `frame.buf`) only while `catch_call` is running:
    // `abort_top` and `on_panic` take it down, interrupts off, before
    // they `resume`, and after a normal return `trampoline` leaves
    // interrupts off until `leave_call` takes it down. The frames
    // `resume` abandons are the module call's: see `catch` for what
    // that costs.
    let caught =
        unsafe { catch_call(&raw mut frame.buf, trampoline, (&raw mut call).cast::<u8>()) };
    // SAFETY: `words` is what `enter_call` replaced on this thread: 0 or
    // the enclosing call's frame, further up this thread's stack and
    // still live (its `run` is waiting for this one).
    unsafe { exec::leave_call(words) };
    cpu::restore_interrupts(interrupts_were_on);
    if caught == 0 {
        return Ok(());
    }
    let kind = frame.fault.unwrap_or(FaultKind::Panic);
    Err(Fault::new(kind, frame.report.as_str()))
}

/// Enters a kernel section (see `Containment::enter_section`): until the
/// matching [`leave_section`] the running thread is neither stopped by its
/// budget nor killed, and its allocations are not held to its module's
/// limit. For kernel code that may run inside a module's call and must not
/// be abandoned half way (the registry's work for a module, reclaim).
pub fn enter_section() {
    exec::enter_section();
}

/// Leaves a kernel section; at the outermost one, ends the running
/// contained call if its budget ran out meanwhile (never returning then).
pub fn leave_section() {
    if exec::leave_section() == 0 {
        // The budget may have run out while the section was open.
        let expired = cpu::without_interrupts(|| {
            let top = exec::guard();
            // SAFETY: a non-zero guard word is the address of a live
            // `GuardFrame` on this thread's stack (`exec::set_guard`'s
            // contract); with interrupts off, the timer cannot write it
            // while it is read.
            top != 0 && unsafe { (*(top as *const GuardFrame)).expired }
        });
        if expired {
            abort_top(FaultKind::Timeout);
        }
    }
}

/// The timer-interrupt check: stops the running thread's innermost
/// contained call once its CPU time passes the budget, by making the
/// interrupted code continue in `abort_expired`; inside a kernel section
/// it only marks the call, and leaving the section stops it.
fn on_tick(frame: &mut InterruptFrame, cpu_time_ns: u64) {
    let top = exec::guard();
    if top == 0 {
        return;
    }
    // SAFETY: a non-zero guard word is a live `GuardFrame` on the stack of
    // the thread this interrupt interrupted (`exec::set_guard`'s contract);
    // that thread is stopped on this CPU under us and no other thread uses
    // its frame, so this is the only reference while the handler runs.
    let guard = unsafe { &mut *(top as *mut GuardFrame) };
    if guard.expired || cpu_time_ns < guard.deadline_ns {
        return;
    }
    guard.expired = true;
    if exec::sections() > 0 {
        return;
    }
    // Continue in `abort_expired` as if the interrupted code had called
    // it, on its own stack below what it was using, aligned as at a call.
    frame.rip = abort_expired as *const () as u64;
    frame.rsp = ((frame.rsp - 128) & !0xf) - 8;
}

extern "C" fn abort_expired() -> ! {
    abort_top(FaultKind::Timeout)
}

/// Ends the innermost contained call with a fault of `kind`.
fn abort_top(kind: FaultKind) -> ! {
    cpu::disable_interrupts();
    let top = exec::guard();
    // SAFETY: only called while a contained call is running on this thread
    // (`abort_expired`, where `on_tick` sent it, and `leave_section` both
    // found a non-zero guard word), from thread context; the guard word is
    // a live `GuardFrame` on this thread's stack (`exec::set_guard`'s
    // contract), and with interrupts off nothing else touches it.
    let guard = unsafe { &mut *(top as *mut GuardFrame) };
    guard.fault = Some(kind);
    guard.report.clear();
    let _ = write!(
        guard.report,
        "stopped after its {} ms budget",
        guard.budget_ns / 1_000_000
    );
    // SAFETY: `guard.prev` is 0 or the enclosing call's frame, live further
    // up this thread's stack. Taking this frame down before resuming means
    // the timer never finds it once its `catch_call` has returned.
    unsafe { exec::set_guard(guard.prev) };
    // SAFETY: the buffer was filled by the `catch_call` in `run`, which is
    // still running on this thread's stack (the guard word named this
    // frame, and `run` takes it down before `catch_call` returns); the
    // frames in between are the module call's, abandoned (see `catch`).
    unsafe { resume(&raw const guard.buf) }
}

/// Called first by the panic handler: if the panic happened inside a
/// contained call, records it and returns to that call's guard (never
/// returns then). Otherwise returns and the panic goes on.
///
/// A fault with interrupts masked is not resumed: kernel locks are
/// interrupt-off sections, so the faulting code may hold one (the heap's,
/// the registry's), and resuming past it would leave it held for good. It
/// goes on as a kernel panic, with a line saying why. (`interrupts_were_on`
/// is the flag when `panic!` was called; for a CPU exception, the flag of
/// the code it interrupted counts.)
pub fn on_panic(info: &core::panic::PanicInfo<'_>, interrupts_were_on: bool) {
    let top = exec::guard();
    if top == 0 {
        return;
    }
    // SAFETY: a non-zero guard word is a live `GuardFrame` of the running
    // thread (`exec::set_guard`'s contract); the panic handler runs with
    // interrupts off, so nothing else touches it.
    let guard = unsafe { &mut *(top as *mut GuardFrame) };
    guard.report.clear();
    let _ = write!(guard.report, "{}", info.message());
    let kind = classify(guard.report.as_str());
    let masked = if kind == FaultKind::Exception {
        !crate::arch::x86_64::exceptions::last_fault_had_interrupts_on()
    } else {
        !interrupts_were_on
    };
    if masked && !guard.in_interrupt {
        crate::serial::write_fmt_panicking(format_args!(
            "\n!!! fault inside a contained call with interrupts masked: a kernel lock may be held, so it cannot be contained\n"
        ));
        // No guard frame of this thread will be returned to now.
        exec::abandon_all_calls();
        return;
    }
    // Where the exception handler panicked says nothing; the report has RIP.
    if kind != FaultKind::Exception
        && let Some(l) = info.location()
    {
        let _ = write!(guard.report, " at {}:{}", l.file(), l.line());
    }
    guard.fault = Some(kind);
    if !guard.in_interrupt {
        // Back to thread context, where no interrupt is in service: one
        // that is was abandoned by this fault (its delivery or entry ran
        // off the exhausted stack) and must be acknowledged, or its vector
        // and every lower one stay blocked.
        crate::arch::x86_64::apic::end_all_in_service();
    }
    // SAFETY: as in `abort_top`: `guard.prev` is 0 or a live enclosing frame.
    unsafe { exec::set_guard(guard.prev) };
    // SAFETY: as in `abort_top`: the frame's `catch_call` is still running
    // on this thread's stack (the panic happened inside it, on this thread,
    // and `PanicInfo` cannot be made outside the panic machinery, so only
    // the panic handler gets here).
    unsafe { resume(&raw const guard.buf) }
}

/// What kind of fault a panic report describes: CPU exceptions panic with
/// their report, and a failed allocation with Rust's "memory allocation of
/// N bytes failed".
pub(super) fn classify(report: &str) -> FaultKind {
    if report.starts_with("CPU exception") {
        FaultKind::Exception
    } else if report.starts_with("memory allocation of") {
        FaultKind::OutOfMemory
    } else {
        FaultKind::Panic
    }
}
