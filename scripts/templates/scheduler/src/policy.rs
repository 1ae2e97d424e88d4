//! [`__Type__Policy`]: what runs where, and for how long.
//!
//! Each CPU has a FIFO run queue. New and woken threads join the tail of
//! the queue of the online CPU with the fewest runnable threads.
//! `pick_next` puts the running thread (if still runnable) at the tail of
//! its CPU's queue and takes the head, so the runnable threads of a CPU
//! take turns in a fixed order; `tick` asks for a preemption once a thread
//! has run a full time slice while another one waits. A CPU going offline
//! hands its threads to the others. Threads never migrate otherwise.
//!
//! One [`IrqMutex`] guards all of the state: the kernel calls the policy
//! from the timer interrupt, and the module's own handlers take the lock
//! from thread context. Removing a queued thread scans its queue, which is
//! fine for the tens of threads a kernel runs.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::fmt;
use helix_modules::services::scheduler::{
    CpuId, CpuSchedStats, Priority, SchedError, SchedStats, Scheduler, ThreadId,
};
use helix_modules::sync::IrqMutex;

/// Time slice when none is configured.
pub const DEFAULT_TIME_SLICE_MS: u64 = 10;

/// A time slice outside 1..=1000 ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceError {
    /// The rejected value in milliseconds.
    pub ms: u64,
}

impl fmt::Display for SliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "time slice {} ms is outside 1..=1000 ms", self.ms)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Queued(usize),
    Running(usize),
    Blocked,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    priority: Priority,
    place: Place,
}

#[derive(Debug, Default)]
struct Cpu {
    queue: VecDeque<ThreadId>,
    running: Option<ThreadId>,
    online: bool,
    slice_start_ns: u64,
    last_tick_ns: u64,
    switches: u64,
    ticks: u64,
    preemptions: u64,
}

#[derive(Debug)]
struct State {
    threads: BTreeMap<ThreadId, Entry>,
    cpus: Vec<Cpu>,
    slice_ns: u64,
    yields: u64,
}

/// The FIFO policy.
pub struct __Type__Policy {
    state: IrqMutex<State>,
}

impl __Type__Policy {
    /// A policy for up to `cpus` CPUs (at least one), of which CPU 0
    /// starts online.
    pub fn new(cpus: usize) -> Self {
        let mut list: Vec<Cpu> = (0..cpus.max(1)).map(|_| Cpu::default()).collect();
        list[0].online = true;
        Self {
            state: IrqMutex::new(State {
                threads: BTreeMap::new(),
                cpus: list,
                slice_ns: DEFAULT_TIME_SLICE_MS * 1_000_000,
                yields: 0,
            }),
        }
    }

    /// The time slice in milliseconds.
    pub fn time_slice_ms(&self) -> u64 {
        self.state.lock().slice_ns / 1_000_000
    }

    /// Changes the time slice (1..=1000 ms); takes effect at each CPU's
    /// next tick.
    pub fn set_time_slice_ms(&self, ms: u64) -> Result<(), SliceError> {
        if !(1..=1000).contains(&ms) {
            return Err(SliceError { ms });
        }
        self.state.lock().slice_ns = ms * 1_000_000;
        Ok(())
    }
}

impl State {
    fn cpu_index(&self, cpu: CpuId) -> Result<usize, SchedError> {
        let i = cpu as usize;
        if i < self.cpus.len() {
            Ok(i)
        } else {
            Err(SchedError::NoSuchCpu(cpu))
        }
    }

    /// The online CPU with the fewest runnable threads.
    fn least_loaded(&self) -> Result<usize, SchedError> {
        self.cpus
            .iter()
            .enumerate()
            .filter(|(_, c)| c.online)
            .min_by_key(|(_, c)| c.queue.len() + usize::from(c.running.is_some()))
            .map(|(i, _)| i)
            .ok_or(SchedError::NoCpuOnline)
    }

    fn enqueue(&mut self, t: ThreadId, cpu: usize) {
        if let Some(e) = self.threads.get_mut(&t) {
            e.place = Place::Queued(cpu);
        }
        self.cpus[cpu].queue.push_back(t);
    }

    fn pick(&mut self, cpu: usize) -> Option<ThreadId> {
        let prev = self.cpus[cpu].running.take();
        if let Some(p) = prev {
            if self.cpus[cpu].online {
                self.enqueue(p, cpu);
            } else if let Ok(other) = self.least_loaded() {
                self.enqueue(p, other);
            } else {
                self.cpus[cpu].running = Some(p);
                return Some(p);
            }
        }
        if !self.cpus[cpu].online {
            return None;
        }
        let next = self.cpus[cpu].queue.pop_front()?;
        if let Some(e) = self.threads.get_mut(&next) {
            e.place = Place::Running(cpu);
        }
        let c = &mut self.cpus[cpu];
        c.running = Some(next);
        if prev != Some(next) {
            c.switches += 1;
            c.slice_start_ns = c.last_tick_ns;
        }
        Some(next)
    }
}

impl Scheduler for __Type__Policy {
    fn name(&self) -> &'static str {
        crate::NAME
    }

    fn add(&self, thread: ThreadId, priority: Priority) -> Result<CpuId, SchedError> {
        let mut s = self.state.lock();
        if s.threads.contains_key(&thread) {
            return Err(SchedError::AlreadyAdded(thread));
        }
        let cpu = s.least_loaded()?;
        s.threads.insert(
            thread,
            Entry {
                priority,
                place: Place::Blocked,
            },
        );
        s.enqueue(thread, cpu);
        Ok(cpu as CpuId)
    }

    fn remove(&self, thread: ThreadId) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let e = s
            .threads
            .remove(&thread)
            .ok_or(SchedError::UnknownThread(thread))?;
        match e.place {
            Place::Queued(cpu) => s.cpus[cpu].queue.retain(|&t| t != thread),
            Place::Running(cpu) => s.cpus[cpu].running = None,
            Place::Blocked => {}
        }
        Ok(())
    }

    fn ready(&self, thread: ThreadId) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let place = s
            .threads
            .get(&thread)
            .map(|e| e.place)
            .ok_or(SchedError::UnknownThread(thread))?;
        if place != Place::Blocked {
            return Err(SchedError::WrongState(thread));
        }
        let cpu = s.least_loaded()?;
        s.enqueue(thread, cpu);
        Ok(())
    }

    fn block(&self, cpu: CpuId, thread: ThreadId) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let i = s.cpu_index(cpu)?;
        let e = s
            .threads
            .get_mut(&thread)
            .ok_or(SchedError::UnknownThread(thread))?;
        if e.place != Place::Running(i) {
            return Err(SchedError::WrongState(thread));
        }
        e.place = Place::Blocked;
        s.cpus[i].running = None;
        Ok(())
    }

    fn pick_next(&self, cpu: CpuId) -> Option<ThreadId> {
        let mut s = self.state.lock();
        let i = s.cpu_index(cpu).ok()?;
        s.pick(i)
    }

    fn tick(&self, cpu: CpuId, now_ns: u64) -> bool {
        let mut s = self.state.lock();
        let Ok(i) = s.cpu_index(cpu) else {
            return false;
        };
        let slice = s.slice_ns;
        let c = &mut s.cpus[i];
        c.ticks += 1;
        c.last_tick_ns = now_ns;
        if c.queue.is_empty() {
            return false;
        }
        if c.running.is_none() {
            return true;
        }
        let expired = now_ns.saturating_sub(c.slice_start_ns) >= slice;
        if expired {
            c.preemptions += 1;
        }
        expired
    }

    fn yield_now(&self, cpu: CpuId) -> Option<ThreadId> {
        let mut s = self.state.lock();
        let i = s.cpu_index(cpu).ok()?;
        s.yields += 1;
        s.pick(i)
    }

    fn set_priority(&self, thread: ThreadId, priority: Priority) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let e = s
            .threads
            .get_mut(&thread)
            .ok_or(SchedError::UnknownThread(thread))?;
        // FIFO order ignores priorities; they are kept for reporting.
        e.priority = priority;
        Ok(())
    }

    fn priority(&self, thread: ThreadId) -> Result<Priority, SchedError> {
        let s = self.state.lock();
        s.threads
            .get(&thread)
            .map(|e| e.priority)
            .ok_or(SchedError::UnknownThread(thread))
    }

    fn set_cpu_online(&self, cpu: CpuId, online: bool) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let i = s.cpu_index(cpu)?;
        if s.cpus[i].online == online {
            return Ok(());
        }
        if online {
            s.cpus[i].online = true;
            return Ok(());
        }
        if !s.cpus.iter().enumerate().any(|(j, c)| j != i && c.online) {
            return Err(SchedError::LastCpu(cpu));
        }
        s.cpus[i].online = false;
        if let Some(t) = s.cpus[i].running.take() {
            let to = s.least_loaded()?;
            s.enqueue(t, to);
        }
        while let Some(t) = s.cpus[i].queue.pop_front() {
            let to = s.least_loaded()?;
            s.enqueue(t, to);
        }
        Ok(())
    }

    fn stats(&self) -> SchedStats {
        let s = self.state.lock();
        SchedStats {
            threads: s.threads.len(),
            yields: s.yields,
            cpus: s
                .cpus
                .iter()
                .enumerate()
                .map(|(i, c)| CpuSchedStats {
                    cpu: i as CpuId,
                    online: c.online,
                    queued: c.queue.len(),
                    running: c.running,
                    switches: c.switches,
                    ticks: c.ticks,
                    preemptions: c.preemptions,
                })
                .collect(),
        }
    }
}
