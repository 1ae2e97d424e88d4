//! The round-robin policy: what runs where, and for how long.
//!
//! Each CPU has a FIFO run queue. `pick_next` puts the running thread (if
//! still runnable) at the tail and takes the head, so runnable threads on a
//! CPU take turns in a fixed order. `tick` preempts a thread once it has
//! run for a full time slice and another thread is waiting. New and woken
//! threads go to the online CPU with the fewest runnable threads.
//!
//! The queues themselves are in [`crate::queues`]: enqueue and `pick_next`
//! are O(1) amortised whatever the number of threads.

use crate::queues::{Cpu, Entry, Place, State, ThreadMap};
use alloc::vec::Vec;
use core::fmt;
use helix_modules::services::scheduler::{
    CpuId, CpuSchedStats, Priority, SchedError, SchedStats, Scheduler, ThreadId,
};
use helix_modules::sync::IrqMutex;

/// Time slice when none is configured.
pub const DEFAULT_TIME_SLICE_MS: u64 = 10;

/// A time slice outside the accepted range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SliceError {
    /// The rejected value in milliseconds.
    pub ms: u64,
}

impl fmt::Display for SliceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "time slice {} ms is outside {}..={} ms",
            self.ms,
            crate::MIN_TIME_SLICE_MS,
            crate::MAX_TIME_SLICE_MS
        )
    }
}

/// The round-robin policy. Thread-safe: one lock guards all of its state.
/// It is an [`IrqMutex`] because the module's own handlers (IPC, events)
/// take it from thread context, and the timer interrupt must never find it
/// held by the code it interrupted.
pub struct RoundRobin {
    state: IrqMutex<State>,
}

impl RoundRobin {
    /// A policy for up to `cpus` CPUs, of which CPU 0 starts online.
    pub fn new(cpus: usize) -> Self {
        let mut list: Vec<Cpu> = (0..cpus.max(1)).map(|_| Cpu::default()).collect();
        list[0].online = true;
        Self {
            state: IrqMutex::new(State {
                threads: ThreadMap::default(),
                cpus: list,
                next_ticket: 0,
                slice_ns: DEFAULT_TIME_SLICE_MS * 1_000_000,
                yields: 0,
            }),
        }
    }

    /// The current time slice in milliseconds.
    pub fn time_slice_ms(&self) -> u64 {
        self.state.lock().slice_ns / 1_000_000
    }

    /// Changes the time slice; takes effect at each CPU's next tick.
    pub fn set_time_slice_ms(&self, ms: u64) -> Result<(), SliceError> {
        if !(crate::MIN_TIME_SLICE_MS..=crate::MAX_TIME_SLICE_MS).contains(&ms) {
            return Err(SliceError { ms });
        }
        self.state.lock().slice_ns = ms * 1_000_000;
        Ok(())
    }

    /// Evens out run queues: moves queued threads from the busiest online
    /// CPU to the idlest until their loads differ by at most one. Returns
    /// how many threads moved.
    pub fn rebalance(&self) -> usize {
        let mut s = self.state.lock();
        let mut moved = 0;
        loop {
            let online = || s.cpus.iter().enumerate().filter(|(_, c)| c.online);
            let (Some((busy, _)), Some((idle, _))) = (
                online().max_by_key(|(_, c)| c.load()),
                online().min_by_key(|(_, c)| c.load()),
            ) else {
                return moved;
            };
            if s.cpus[busy].load() <= s.cpus[idle].load() + 1 || s.cpus[busy].queued == 0 {
                return moved;
            }
            match s.pop_valid(busy) {
                Some(t) => {
                    s.enqueue(t, idle);
                    moved += 1;
                }
                None => return moved,
            }
        }
    }
}

impl Scheduler for RoundRobin {
    fn name(&self) -> &'static str {
        "round_robin"
    }

    fn add(&self, thread: ThreadId, priority: Priority) -> Result<CpuId, SchedError> {
        let mut s = self.state.lock();
        if s.threads.contains_key(&thread) {
            return Err(SchedError::AlreadyAdded(thread));
        }
        let cpu = s.least_loaded().ok_or(SchedError::NoCpuOnline)?;
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
        s.vacate(e.place);
        Ok(())
    }

    fn ready(&self, thread: ThreadId) -> Result<(), SchedError> {
        let mut s = self.state.lock();
        let e = s
            .threads
            .get(&thread)
            .ok_or(SchedError::UnknownThread(thread))?;
        if e.place != Place::Blocked {
            return Err(SchedError::WrongState(thread));
        }
        let cpu = s.least_loaded().ok_or(SchedError::NoCpuOnline)?;
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
        if e.place != (Place::Running { cpu: i }) {
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
        if c.queued == 0 {
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
        // Round robin gives every thread the same share; the priority is
        // kept for reporting and for policies that replace this one.
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
            drop(s);
            self.rebalance();
            return Ok(());
        }
        if !s.cpus.iter().enumerate().any(|(j, c)| j != i && c.online) {
            return Err(SchedError::LastCpu(cpu));
        }
        s.cpus[i].online = false;
        if let Some(t) = s.cpus[i].running.take() {
            let to = s.least_loaded().ok_or(SchedError::NoCpuOnline)?;
            s.enqueue(t, to);
        }
        while let Some(t) = s.pop_valid(i) {
            let to = s.least_loaded().ok_or(SchedError::NoCpuOnline)?;
            s.enqueue(t, to);
        }
        s.cpus[i].queue.clear();
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
                    queued: c.queued,
                    running: c.running,
                    switches: c.switches,
                    ticks: c.ticks,
                    preemptions: c.preemptions,
                })
                .collect(),
        }
    }
}
