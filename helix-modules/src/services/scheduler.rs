//! The scheduler service: the interface between the kernel's thread
//! mechanism and a scheduling policy module.
//!
//! The kernel owns threads (stacks, saved registers, the switch itself) and
//! decides nothing; every decision goes through [`Scheduler`]. A module
//! flagged [`ModuleFlags::SCHEDULER`](crate::ModuleFlags::SCHEDULER) that
//! provides the `"scheduler"` capability hands the kernel its policy object
//! from [`ModuleTrait::scheduler`](crate::v2::ModuleTrait::scheduler); the
//! registry refuses to start a SCHEDULER module that does not.
//!
//! # The model
//!
//! The policy tracks, per CPU, the thread *running* there (if any) and the
//! threads *queued* to run there; a thread that is neither is *blocked*
//! (sleeping, waiting) and the policy only needs to remember that it
//! exists. The kernel calls:
//!
//! - [`add`](Scheduler::add) for a new runnable thread; the policy picks
//!   its CPU;
//! - [`pick_next`](Scheduler::pick_next) whenever a CPU must choose: the
//!   running thread, if it is still runnable, goes back to the queue first,
//!   so calling it after a timer preemption rotates, and after
//!   [`block`](Scheduler::block) or [`remove`](Scheduler::remove) moves on;
//!   `None` means run the idle loop;
//! - [`tick`](Scheduler::tick) from each CPU's timer interrupt; `true`
//!   asks the kernel to preempt (it then calls `pick_next`);
//! - [`yield_now`](Scheduler::yield_now) when the running thread gives the
//!   CPU up voluntarily;
//! - [`ready`](Scheduler::ready) when a blocked thread may run again.
//!
//! The kernel calls every method with interrupts disabled on the calling
//! CPU, possibly from several CPUs at once; implementations synchronise
//! internally and never block or allocate on the `tick`/`pick_next` path
//! beyond what their run queues need.
//!
//! # Picking a thread queued on another CPU (work stealing)
//!
//! `pick_next(cpu)` may return any runnable thread, including one the
//! policy had queued for another CPU: per-CPU queues are the policy's
//! bookkeeping, not a rule of the kernel. The policy must then forget the
//! thread in that other queue (as it would after picking it locally), so
//! that no two CPUs are handed the same thread by two `pick_next` calls.
//! What the kernel guarantees whatever the policy does: a thread never runs
//! on two CPUs at once. A thread that was just switched away from on
//! another CPU is still on that CPU's stack until its switch finishes; a
//! CPU that picks it waits for that hand-off (the thread's `on_cpu` mark)
//! before switching to it, which takes at most the few instructions of the
//! other CPU's switch. Returning a thread that is *running* elsewhere (not
//! merely queued there) is a policy bug: the picking CPU would wait until
//! that thread is switched out on its own CPU. Pinning (a thread that must
//! stay on one CPU) is the policy's to enforce; the kernel does not.

use alloc::vec::Vec;
use core::fmt;

/// The capability a scheduler module lists in `provides`.
pub const CAPABILITY: &str = "scheduler";

/// A kernel thread's identity. Ids are never reused while the kernel runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ThreadId(pub u64);

impl fmt::Display for ThreadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A CPU's index (0 is the bootstrap processor).
pub type CpuId = u32;

/// A thread's priority: larger is more important. Policies may ignore it
/// (round robin does) but must store and report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Priority(pub u8);

impl Priority {
    /// The priority of threads that do not ask for one.
    pub const NORMAL: Priority = Priority(128);
}

impl Default for Priority {
    fn default() -> Self {
        Self::NORMAL
    }
}

/// Why a scheduler call was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedError {
    /// The thread is not known to the scheduler.
    UnknownThread(ThreadId),
    /// The thread was already added.
    AlreadyAdded(ThreadId),
    /// The CPU index is out of range.
    NoSuchCpu(CpuId),
    /// The operation needs the thread in another state (e.g. `ready` on a
    /// thread that is not blocked, `block` of a thread not running there).
    WrongState(ThreadId),
    /// No CPU is online to take the thread.
    NoCpuOnline,
    /// Taking this CPU offline would leave no CPU online.
    LastCpu(CpuId),
}

impl fmt::Display for SchedError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::UnknownThread(t) => write!(f, "thread {t} is not known to the scheduler"),
            Self::AlreadyAdded(t) => write!(f, "thread {t} was already added"),
            Self::NoSuchCpu(c) => write!(f, "no CPU {c}"),
            Self::WrongState(t) => write!(f, "thread {t} is not in a state that allows this"),
            Self::NoCpuOnline => write!(f, "no CPU is online"),
            Self::LastCpu(c) => write!(f, "CPU {c} is the last one online"),
        }
    }
}

/// Per-CPU counters reported by [`Scheduler::stats`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CpuSchedStats {
    /// The CPU.
    pub cpu: CpuId,
    /// Whether it takes threads.
    pub online: bool,
    /// Threads waiting in its run queue.
    pub queued: usize,
    /// The thread running there, if any.
    pub running: Option<ThreadId>,
    /// Times `pick_next`/`yield_now` put a different thread on it.
    pub switches: u64,
    /// Timer ticks it reported.
    pub ticks: u64,
    /// Ticks that ended in a preemption request.
    pub preemptions: u64,
}

/// A snapshot of the policy's state, for IPC and the console.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SchedStats {
    /// Threads the policy knows (running, queued and blocked).
    pub threads: usize,
    /// Voluntary yields.
    pub yields: u64,
    /// One entry per CPU the policy was configured with.
    pub cpus: Vec<CpuSchedStats>,
}

impl SchedStats {
    /// Switches summed over CPUs.
    pub fn switches(&self) -> u64 {
        self.cpus.iter().map(|c| c.switches).sum()
    }

    /// Ticks summed over CPUs.
    pub fn ticks(&self) -> u64 {
        self.cpus.iter().map(|c| c.ticks).sum()
    }
}

/// A scheduling policy, as the kernel drives it. See the module docs for
/// the call protocol.
pub trait Scheduler: Send + Sync {
    /// The policy's name, for the boot log.
    fn name(&self) -> &'static str;

    /// Registers a new runnable thread and queues it on a CPU of the
    /// policy's choice, which is returned.
    fn add(&self, thread: ThreadId, priority: Priority) -> Result<CpuId, SchedError>;

    /// Forgets a thread (it exited or was killed) wherever it is: running,
    /// queued or blocked.
    fn remove(&self, thread: ThreadId) -> Result<(), SchedError>;

    /// Makes a blocked thread runnable again.
    fn ready(&self, thread: ThreadId) -> Result<(), SchedError>;

    /// The thread running on `cpu` stops being runnable (it sleeps or
    /// waits) until [`ready`](Scheduler::ready).
    fn block(&self, cpu: CpuId, thread: ThreadId) -> Result<(), SchedError>;

    /// Chooses what `cpu` runs next; `None` means nothing is runnable.
    fn pick_next(&self, cpu: CpuId) -> Option<ThreadId>;

    /// A timer tick on `cpu` at `now_ns`; returns whether the running thread
    /// should be preempted.
    fn tick(&self, cpu: CpuId, now_ns: u64) -> bool;

    /// The running thread on `cpu` yields; returns what runs next (as
    /// `pick_next` would).
    fn yield_now(&self, cpu: CpuId) -> Option<ThreadId>;

    /// Sets a thread's priority.
    fn set_priority(&self, thread: ThreadId, priority: Priority) -> Result<(), SchedError>;

    /// A thread's priority.
    fn priority(&self, thread: ThreadId) -> Result<Priority, SchedError>;

    /// Brings `cpu` online (it may take threads) or takes it offline (its
    /// queued threads move to other online CPUs; the kernel has already
    /// moved its running thread off).
    fn set_cpu_online(&self, cpu: CpuId, online: bool) -> Result<(), SchedError>;

    /// Counters and queue lengths.
    fn stats(&self) -> SchedStats;
}
