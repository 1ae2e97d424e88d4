//! The Rust side of interrupt entry: routes a saved frame to its handler.
//!
//! Exceptions (vectors 0..32) go to [`super::exceptions`]. The timer vector
//! acknowledges the APIC first, then runs the two pieces of tick work the
//! layers above installed: the clock's ([`set_timer_hook`], from
//! `time::init`) and then the scheduler's ([`set_tick_hook`], from
//! `thread::start`), which may hand back a different frame to switch
//! threads. Other vectors run the handler registered for them with
//! [`set_handler`]; an unregistered vector is counted and logged once,
//! never fatal.

use super::entry::InterruptFrame;
use super::idt::{FIRST_IRQ_VECTOR, SPURIOUS_VECTOR, TIMER_VECTOR};
use super::{apic, exceptions};
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// A handler for a device interrupt or IPI. Runs with interrupts disabled;
/// the dispatcher sends the end-of-interrupt after it returns.
pub type Handler = fn(&mut InterruptFrame);

/// What the timer tick wants done with the interrupted context.
pub type TickHook = fn(&mut InterruptFrame) -> *mut InterruptFrame;

/// Tick work that does not switch threads (the clock's).
pub type TimerHook = fn();

static HANDLERS: [AtomicUsize; 256] = [const { AtomicUsize::new(0) }; 256];
static TIMER_HOOK: AtomicUsize = AtomicUsize::new(0);
static TICK_HOOK: AtomicUsize = AtomicUsize::new(0);
static UNHANDLED: AtomicU64 = AtomicU64::new(0);

/// Why a handler could not be installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerError {
    /// The vector is an exception or the timer/spurious vector, which the
    /// kernel itself owns.
    Reserved(u8),
    /// Another handler is installed on the vector.
    InUse(u8),
}

impl core::fmt::Display for HandlerError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Reserved(v) => write!(f, "vector {v:#x} is reserved by the kernel"),
            Self::InUse(v) => write!(f, "vector {v:#x} already has a handler"),
        }
    }
}

/// Installs `handler` for `vector`.
pub fn set_handler(vector: u8, handler: Handler) -> Result<(), HandlerError> {
    if vector < FIRST_IRQ_VECTOR || vector == TIMER_VECTOR || vector == SPURIOUS_VECTOR {
        return Err(HandlerError::Reserved(vector));
    }
    HANDLERS[usize::from(vector)]
        .compare_exchange(0, handler as usize, Ordering::AcqRel, Ordering::Acquire)
        .map(|_| ())
        .map_err(|_| HandlerError::InUse(vector))
}

/// Removes the handler of `vector`, if any.
pub fn clear_handler(vector: u8) {
    HANDLERS[usize::from(vector)].store(0, Ordering::Release);
}

/// Installs the function every timer interrupt runs first, after the EOI:
/// `time::init` installs the clock's tick (its count and callbacks).
pub fn set_timer_hook(hook: TimerHook) {
    TIMER_HOOK.store(hook as usize, Ordering::Release);
}

/// Installs the function the timer interrupt calls after the
/// [`set_timer_hook`] work; the scheduler uses it to preempt.
pub fn set_tick_hook(hook: TickHook) {
    TICK_HOOK.store(hook as usize, Ordering::Release);
}

/// How many interrupts arrived on vectors nobody handles.
pub fn unhandled_count() -> u64 {
    UNHANDLED.load(Ordering::Relaxed)
}

/// Entry from [`super::entry`]: handles the interrupt described by `frame`
/// and returns the frame to resume.
///
/// # Safety
/// `frame` must point at a complete [`InterruptFrame`] on the current
/// stack that nothing else uses while this runs: only `interrupt_common`
/// calls it, with the frame it just built.
pub(super) unsafe extern "C" fn dispatch(frame: *mut InterruptFrame) -> *mut InterruptFrame {
    // SAFETY: the caller guarantees `frame` is a valid, unaliased frame on
    // this stack, which outlives this call.
    let f = unsafe { &mut *frame };
    let vector = f.vector as u8;
    match vector {
        0..32 => {
            exceptions::handle(f);
            frame
        }
        TIMER_VECTOR => {
            // Acknowledge first: the tick work may switch to another thread
            // or unwind a timed-out test, and must not leave the APIC
            // waiting for an EOI that never comes.
            apic::end_of_interrupt();
            let timer = TIMER_HOOK.load(Ordering::Acquire);
            if timer != 0 {
                // SAFETY: only `set_timer_hook` stores here, always a
                // `TimerHook` cast to `usize` (never 0, checked above), so
                // this turns it back into that function pointer.
                let timer = unsafe { core::mem::transmute::<usize, TimerHook>(timer) };
                timer();
            }
            match TICK_HOOK.load(Ordering::Acquire) {
                0 => frame,
                hook => {
                    // SAFETY: only `set_tick_hook` stores here, always a
                    // `TickHook` cast to `usize` (never 0, handled above), so
                    // this turns it back into that function pointer.
                    let hook = unsafe { core::mem::transmute::<usize, TickHook>(hook) };
                    hook(f)
                }
            }
        }
        SPURIOUS_VECTOR => frame,
        _ => {
            match HANDLERS[usize::from(vector)].load(Ordering::Acquire) {
                0 => {
                    if UNHANDLED.fetch_add(1, Ordering::Relaxed) == 0 {
                        log::warn!("unhandled interrupt on vector {vector:#x}");
                    }
                }
                h => {
                    // SAFETY: only `set_handler` stores here, always a
                    // `Handler` cast to `usize` (`clear_handler` stores 0,
                    // handled above), so this turns it back into that
                    // function pointer.
                    let handler = unsafe { core::mem::transmute::<usize, Handler>(h) };
                    handler(f);
                }
            }
            apic::end_of_interrupt();
            frame
        }
    }
}
