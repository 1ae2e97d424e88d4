//! Kernel threads: spawn, exit, join, yield, sleep, and wait queues.
//!
//! The kernel owns the mechanism: every thread has a stack with an unmapped
//! guard page, a saved register frame while it is not running, and an
//! owner (the module that started it, if any). The policy (which thread
//! runs where, and for how long) belongs to the scheduler module, reached
//! through the [`Scheduler`](helix_modules::services::scheduler::Scheduler)
//! service installed with [`start`]; the kernel never decides on its own.
//!
//! Switches happen in two places, both producing the same saved frame:
//! the timer interrupt (`sched::on_timer_tick`) when the policy asks to
//! preempt, and [`context_switch`](crate::arch::x86_64::switch) when a
//! thread yields, blocks, sleeps or exits. A thread that panics (including
//! a CPU fault such as a stack overflow) is reported and ends; the other
//! threads go on. Threads owned by a module are killed by
//! [`kill_owned_by`] when that module stops. A CPU can be taken out of
//! service and back ([`park`]).
//!
//! Threads sit above memory and time and below the module wiring: the
//! CPU layer reaches them through hooks [`start`] installs (the timer's
//! tick hook, the switch's finish-switch hook), and what they need from
//! modules is installed by the wiring (`set_owned_fault_hook`).

mod event_count;
pub mod exec;
mod exit;
pub(crate) mod idle;
pub mod park;
pub(crate) mod sched;
mod sleep;
mod table;
mod wait;

pub use event_count::EventCount;
pub use exit::{OwnedFaultHook, kill_owned_by, on_thread_panic, set_owned_fault_hook};
pub use helix_modules::services::scheduler::{Priority, ThreadId};
pub use idle::run_idle;
pub use sched::{
    current_id, current_stack, is_running, main_thread_id, scheduler, start, yield_now,
};
pub use sleep::{sleep_ms, sleep_ns};
pub use table::{ExitStatus, ThreadInfo, ThreadState, list};
pub use wait::WaitQueue;

use alloc::boxed::Box;
use alloc::string::String;
use core::fmt;

/// Stack size of a thread unless [`Builder::stack_pages`] says otherwise.
pub const DEFAULT_STACK_PAGES: usize = 8;

/// Why a thread could not be spawned or joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ThreadError {
    /// No scheduler is installed yet.
    NoScheduler,
    /// The stack could not be created.
    Stack(crate::mm::stack::StackError),
    /// The scheduler refused the thread.
    Scheduler(helix_modules::services::scheduler::SchedError),
    /// No such thread (never existed, or already joined).
    NoSuchThread(ThreadId),
    /// A thread cannot join itself.
    JoinSelf,
}

impl fmt::Display for ThreadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoScheduler => f.write_str("no scheduler is running"),
            Self::Stack(e) => write!(f, "cannot create thread stack: {e}"),
            Self::Scheduler(e) => write!(f, "scheduler refused the thread: {e}"),
            Self::NoSuchThread(t) => write!(f, "no thread {t}"),
            Self::JoinSelf => f.write_str("a thread cannot join itself"),
        }
    }
}

/// Configures a new kernel thread: name, owning module, stack size and
/// priority. Module code (a driver's worker, a service's background task)
/// starts its threads this way, with `owner` set to the module's name so
/// that the kernel kills them when the module stops, fails or is replaced.
///
/// ```ignore
/// use kernel::thread::{self, Builder, Priority};
/// let worker = Builder::new("rx_worker")
///     .owner("serial_console")
///     .stack_pages(8)
///     .priority(Priority::NORMAL)
///     .spawn(|| {
///         // ... runs until the module stops; `thread::exit(0)` ends it early
///     })?;
/// assert_eq!(worker.join(), Ok(thread::ExitStatus::Exited(0)));
/// # Ok::<(), thread::ThreadError>(())
/// ```
///
/// Spawning needs a running scheduler module ([`ThreadError::NoScheduler`]
/// before `kernel::bring_up::run`); a thread that panics or faults ends
/// alone, with [`ExitStatus::Panicked`] for its joiner.
pub struct Builder {
    name: String,
    owner: Option<String>,
    stack_pages: usize,
    priority: Priority,
}

impl Builder {
    /// A thread called `name`.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.into(),
            owner: None,
            stack_pages: DEFAULT_STACK_PAGES,
            priority: Priority::NORMAL,
        }
    }

    /// Records `module` as the owner: the thread is killed when it stops.
    pub fn owner(mut self, module: &str) -> Self {
        self.owner = Some(module.into());
        self
    }

    /// Stack size in 4 KiB pages (a guard page is added below).
    pub fn stack_pages(mut self, pages: usize) -> Self {
        self.stack_pages = pages;
        self
    }

    /// Scheduling priority.
    pub fn priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// Creates the thread and hands it to the scheduler.
    pub fn spawn(self, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle, ThreadError> {
        sched::spawn(
            self.name,
            self.owner,
            self.stack_pages,
            self.priority,
            Box::new(f),
        )
    }
}

/// Spawns an unowned thread with default settings.
pub fn spawn(name: &str, f: impl FnOnce() + Send + 'static) -> Result<JoinHandle, ThreadError> {
    Builder::new(name).spawn(f)
}

/// Ends the calling thread with `code`.
pub fn exit(code: i64) -> ! {
    exit::exit_current(ExitStatus::Exited(code))
}

/// Waits for thread `id` to end and returns how it ended. The thread's
/// [`JoinHandle`] does the same; this form is for code that only has the id.
pub fn join(id: ThreadId) -> Result<ExitStatus, ThreadError> {
    exit::join(id)
}

/// A spawned thread, to wait for. Dropping it detaches the thread.
#[derive(Debug)]
pub struct JoinHandle {
    id: ThreadId,
}

impl JoinHandle {
    /// The thread's id.
    pub fn id(&self) -> ThreadId {
        self.id
    }

    /// Waits for the thread to end and returns how it ended.
    pub fn join(self) -> Result<ExitStatus, ThreadError> {
        let id = self.id;
        core::mem::forget(self);
        exit::join(id)
    }
}

impl Drop for JoinHandle {
    fn drop(&mut self) {
        table::detach(self.id);
    }
}
