//! Contained calls: module code is untrusted, so every call the registry
//! makes into a module can end in a fault that stops that call only.
//!
//! The registry calls module code (init, start, stop, every event, every
//! request, parameter changes, health polls, state save and restore, the
//! instance's drop) through [`Registry::contained`](crate::Registry). Without
//! a [`Containment`] the call simply runs. With one (the kernel installs
//! its own with [`RegistryBuilder::containment`](crate::RegistryBuilder)),
//! a panic, a CPU exception, an exhausted [`Budgets`] time budget or an
//! allocation over the module's memory limit inside the call ends the call
//! and comes back as a [`Fault`]; the registry then gives everything back
//! (the module's slot, the busy mark of its call chain, its subscriptions;
//! the kernel's stop hook releases its threads and hardware claims), marks
//! the module Failed with [`ModuleError::Faulted`](crate::ModuleError), and
//! the caller gets that typed error. The supervisor restarts it like any
//! other failed module.
//!
//! This crate stays free of `unsafe` and of x86: how a call is guarded is
//! the containment's business. The kernel uses a catch frame per call that
//! its panic handler, exception handlers and timer interrupt return to; a
//! host test can use `std::panic::catch_unwind`.

use alloc::string::String;
use core::fmt;

/// Which entry point of a module a contained call runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallKind {
    /// `init`.
    Init,
    /// `start`.
    Start,
    /// `stop`.
    Stop,
    /// An event handler.
    Event,
    /// A request handler.
    Request,
    /// `on_param_change`.
    ParamChange,
    /// `is_healthy`.
    Health,
    /// `save_state` (hot reload, old instance).
    SaveState,
    /// `restore_state` (hot reload, new instance).
    RestoreState,
    /// Dropping an instance (unload, reload).
    Drop,
    /// A kernel thread the module started (reported by the kernel with
    /// [`Registry::report_fault`](crate::Registry::report_fault)).
    Thread,
    /// One of its interrupt handlers (reported likewise).
    Irq,
}

impl CallKind {
    /// The entry point's name, as module authors know it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Init => "init",
            Self::Start => "start",
            Self::Stop => "stop",
            Self::Event => "handle_event",
            Self::Request => "handle_request",
            Self::ParamChange => "on_param_change",
            Self::Health => "is_healthy",
            Self::SaveState => "save_state",
            Self::RestoreState => "restore_state",
            Self::Drop => "drop",
            Self::Thread => "a thread of its own",
            Self::Irq => "its interrupt handler",
        }
    }
}

impl fmt::Display for CallKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What ended a contained call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FaultKind {
    /// The module's code panicked.
    Panic,
    /// A CPU exception (page fault, general protection, invalid opcode,
    /// divide error, stack overflow...).
    Exception,
    /// The call ran past its time budget and was stopped.
    Timeout,
    /// An allocation failed: over the module's memory limit, or the heap
    /// was exhausted.
    OutOfMemory,
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Panic => "panic",
            Self::Exception => "CPU exception",
            Self::Timeout => "time budget exhausted",
            Self::OutOfMemory => "out of memory",
        })
    }
}

/// A fault that ended a contained call: its kind and the report (the panic
/// message and location, the exception report, the budget).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fault {
    /// What happened.
    pub kind: FaultKind,
    /// The details, for `lsmod`, `modinfo`, `health` and the log.
    pub report: String,
}

impl Fault {
    /// A fault of `kind` described by `report`.
    pub fn new(kind: FaultKind, report: impl Into<String>) -> Self {
        Self {
            kind,
            report: report.into(),
        }
    }
}

impl fmt::Display for Fault {
    /// `KIND: REPORT`; an exception's report names itself ("CPU exception
    /// #PF page fault ...") and is shown alone.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == FaultKind::Exception && self.report.starts_with("CPU exception") {
            f.write_str(&self.report)
        } else {
            write!(f, "{}: {}", self.kind, self.report)
        }
    }
}

/// Time budgets per kind of call, in nanoseconds of the calling thread's
/// CPU time. A call that runs longer is stopped and counts as a fault.
///
/// ```
/// use helix_modules::contain::{Budgets, CallKind};
/// let b = Budgets::default();
/// assert_eq!(b.for_call(CallKind::Event), 250_000_000);
/// assert!(b.for_call(CallKind::Init) > b.for_call(CallKind::Event));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Budgets {
    /// init, start, stop.
    pub lifecycle_ns: u64,
    /// Event handlers.
    pub event_ns: u64,
    /// Request handlers.
    pub request_ns: u64,
    /// Health polls, parameter changes and drops.
    pub quick_ns: u64,
    /// save_state and restore_state.
    pub state_ns: u64,
}

impl Default for Budgets {
    /// Far above what any real handler needs (well under a millisecond), so
    /// that only a stuck call reaches them, even on a loaded, emulated
    /// machine.
    fn default() -> Self {
        Self {
            lifecycle_ns: 2_000_000_000,
            event_ns: 250_000_000,
            request_ns: 1_000_000_000,
            quick_ns: 250_000_000,
            state_ns: 1_000_000_000,
        }
    }
}

impl Budgets {
    /// The budget of a call of `kind`.
    pub const fn for_call(&self, kind: CallKind) -> u64 {
        match kind {
            CallKind::Init | CallKind::Start | CallKind::Stop => self.lifecycle_ns,
            CallKind::Event => self.event_ns,
            CallKind::Request => self.request_ns,
            CallKind::ParamChange | CallKind::Health | CallKind::Drop => self.quick_ns,
            // A module's own threads have no budget; they run until they end.
            // Interrupt handlers run with interrupts masked: no timer can
            // stop them, so no budget applies either.
            CallKind::Thread | CallKind::Irq => u64::MAX,
            CallKind::SaveState | CallKind::RestoreState => self.state_ns,
        }
    }

    /// The longest budget of any kind: how long a caller may have to wait
    /// for a busy module before the call in it must have ended.
    pub const fn longest(&self) -> u64 {
        let mut m = self.lifecycle_ns;
        if self.event_ns > m {
            m = self.event_ns;
        }
        if self.request_ns > m {
            m = self.request_ns;
        }
        if self.quick_ns > m {
            m = self.quick_ns;
        }
        if self.state_ns > m {
            m = self.state_ns;
        }
        m
    }
}

/// What a contained call needs to know about itself.
#[derive(Clone, Copy, Debug)]
pub struct CallInfo {
    /// The module called: its registry id as a number (a small index,
    /// stable while the module is registered), for memory accounting.
    pub module_index: u32,
    /// Which entry point.
    pub kind: CallKind,
    /// Its time budget in nanoseconds.
    pub budget_ns: u64,
}

/// How calls into module code are guarded; implemented by the kernel.
///
/// `run` calls `call` exactly once and returns `Ok(())` when it returned,
/// or the [`Fault`] that ended it. After a fault, `call`'s frames are gone
/// (the kernel does not unwind them), so the registry treats whatever the
/// call was working on as lost.
pub trait Containment: Send + Sync + fmt::Debug {
    /// Runs `call` as a contained call described by `info`.
    fn run(&self, info: &CallInfo, call: &mut dyn FnMut()) -> Result<(), Fault>;

    /// Waits a little while a module the caller needs is busy in another
    /// call; `attempt` counts the pauses of this wait from 0, so a short
    /// wait can spin or yield and a long one sleep (the kernel's does). The
    /// default spins once.
    fn pause(&self, attempt: u32) {
        let _ = attempt;
        core::hint::spin_loop();
    }

    /// A monotonic clock in nanoseconds, for deadlines on waits. The
    /// default never advances, so a waiter relies on the callee's budget.
    fn now_ns(&self) -> u64 {
        0
    }

    /// Module code called into the registry (a request, a publish): until
    /// the matching [`Containment::leave_section`] the calling thread is in
    /// the framework's code, which must not be abandoned half way (it may
    /// hold other modules out of their slots), so a budget that runs out
    /// meanwhile is enforced only when the section ends. Sections nest.
    fn enter_section(&self) {}

    /// Ends a section begun with [`Containment::enter_section`]. May end the
    /// enclosing contained call (never returning) if its budget ran out
    /// while the section was open.
    fn leave_section(&self) {}
}
