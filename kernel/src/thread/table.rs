//! The thread table: every thread's identity, state and resources.
//!
//! Threads are reference-counted and looked up by [`ThreadId`]; ids come
//! from a counter that never wraps in practice, so an id is never reused.
//! An exited thread stays in the table (as a zombie holding only its exit
//! status) until it is joined, or at once if it was detached.

use super::ThreadId;
use super::wait::WaitQueue;
use crate::arch::x86_64::cpu;
use crate::mm::stack::KernelStack;
use alloc::boxed::Box;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU8, AtomicU32, AtomicU64, Ordering};
use spin::Mutex;

/// Where a thread is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum ThreadState {
    /// Waiting in a run queue.
    Ready = 0,
    /// On a CPU.
    Running = 1,
    /// Sleeping or waiting on a wait queue.
    Blocked = 2,
    /// Finished; its exit status waits to be collected.
    Exited = 3,
}

impl ThreadState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => Self::Ready,
            1 => Self::Running,
            2 => Self::Blocked,
            _ => Self::Exited,
        }
    }
}

/// How a thread ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ExitStatus {
    /// It returned (code 0) or called `exit(code)`.
    Exited(i64),
    /// It panicked or faulted; the message was printed.
    Panicked,
    /// It was killed because its owning module stopped.
    Killed,
}

/// A kernel thread.
pub struct Thread {
    pub(super) id: ThreadId,
    pub(super) name: String,
    pub(super) owner: Option<String>,
    pub(super) idle: bool,
    state: AtomicU8,
    /// Address of the saved frame while the thread is not running.
    pub(super) saved_rsp: AtomicU64,
    /// Set while a CPU is using the thread's stack.
    pub(super) on_cpu: AtomicBool,
    /// Asks the thread to die at its next preemption point.
    pub(super) kill: AtomicBool,
    pub(super) detached: AtomicBool,
    /// Time spent on a CPU, in nanoseconds.
    pub(super) run_ns: AtomicU64,
    /// Its innermost contained call while it is off its CPU (see `exec`).
    pub(super) guard: AtomicU64,
    /// Its open kernel sections while it is off its CPU (see `exec`).
    pub(super) sections: AtomicU64,
    /// Whom its allocations are charged to while it is off its CPU; set at
    /// spawn to the spawner's, so a module's threads charge the module.
    pub(super) charge: AtomicU32,
    pub(super) switches_in: AtomicU64,
    pub(super) stack: Mutex<Option<KernelStack>>,
    pub(super) entry: Mutex<Option<Box<dyn FnOnce() + Send>>>,
    pub(super) exit: Mutex<Option<ExitStatus>>,
    pub(super) joiners: WaitQueue,
}

impl Thread {
    pub(super) fn new(id: ThreadId, name: String, owner: Option<String>, idle: bool) -> Self {
        Self {
            id,
            name,
            owner,
            idle,
            state: AtomicU8::new(ThreadState::Ready as u8),
            saved_rsp: AtomicU64::new(0),
            on_cpu: AtomicBool::new(false),
            kill: AtomicBool::new(false),
            detached: AtomicBool::new(false),
            run_ns: AtomicU64::new(0),
            guard: AtomicU64::new(0),
            sections: AtomicU64::new(0),
            charge: AtomicU32::new(0),
            switches_in: AtomicU64::new(0),
            stack: Mutex::new(None),
            entry: Mutex::new(None),
            exit: Mutex::new(None),
            joiners: WaitQueue::new(),
        }
    }

    pub(super) fn state(&self) -> ThreadState {
        ThreadState::from_u8(self.state.load(Ordering::Acquire))
    }

    pub(super) fn set_state(&self, s: ThreadState) {
        self.state.store(s as u8, Ordering::Release);
    }
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
static THREADS: Mutex<BTreeMap<ThreadId, Arc<Thread>>> = Mutex::new(BTreeMap::new());

pub(super) fn next_id() -> ThreadId {
    ThreadId(NEXT_ID.fetch_add(1, Ordering::Relaxed))
}

pub(super) fn insert(t: Arc<Thread>) {
    cpu::without_interrupts(|| THREADS.lock().insert(t.id, t));
}

pub(super) fn get(id: ThreadId) -> Option<Arc<Thread>> {
    cpu::without_interrupts(|| THREADS.lock().get(&id).cloned())
}

pub(super) fn remove(id: ThreadId) -> Option<Arc<Thread>> {
    cpu::without_interrupts(|| THREADS.lock().remove(&id))
}

/// Threads matching `f`, e.g. those of one owner.
pub(super) fn select(f: impl Fn(&Thread) -> bool) -> Vec<Arc<Thread>> {
    cpu::without_interrupts(|| THREADS.lock().values().filter(|t| f(t)).cloned().collect())
}

/// Marks a thread as nobody's to join: dropped from the table once exited.
pub(super) fn detach(id: ThreadId) {
    if let Some(t) = get(id) {
        t.detached.store(true, Ordering::Release);
        if t.state() == ThreadState::Exited && !t.on_cpu.load(Ordering::Acquire) {
            remove(id);
        }
    }
}

/// What `threads` on the console shows about one thread.
#[derive(Debug, Clone)]
pub struct ThreadInfo {
    /// Its id.
    pub id: ThreadId,
    /// Its name.
    pub name: String,
    /// The module that owns it, if any.
    pub owner: Option<String>,
    /// Its state.
    pub state: ThreadState,
    /// Whether it is a CPU's idle thread.
    pub idle: bool,
    /// Nanoseconds it has run.
    pub run_ns: u64,
    /// Times it was switched in.
    pub switches: u64,
}

/// A snapshot of every thread, in id order.
pub fn list() -> Vec<ThreadInfo> {
    select(|_| true)
        .iter()
        .map(|t| ThreadInfo {
            id: t.id,
            name: t.name.clone(),
            owner: t.owner.clone(),
            state: t.state(),
            idle: t.idle,
            run_ns: t.run_ns.load(Ordering::Relaxed),
            switches: t.switches_in.load(Ordering::Relaxed),
        })
        .collect()
}
