//! The round-robin policy: what runs where, and for how long.
//!
//! Each CPU has a FIFO run queue. `pick_next` puts the running thread (if
//! still runnable) at the tail and takes the head, so runnable threads on a
//! CPU take turns in a fixed order. `tick` preempts a thread once it has
//! run for a full time slice and another thread is waiting. New and woken
//! threads go to the online CPU with the fewest runnable threads.
//!
//! Queues hold `(thread, ticket)` pairs and the thread map records the
//! ticket of the thread's current queue entry. Removing or moving a queued
//! thread only updates the map; the stale entry is skipped when it reaches
//! the head. Enqueue and `pick_next` are therefore O(1) amortised whatever
//! the number of threads, and removal is O(1) too.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::hash::BuildHasherDefault;
use hashbrown::HashMap;
use helix_modules::services::scheduler::{
    CpuId, CpuSchedStats, Priority, SchedError, SchedStats, Scheduler, ThreadId,
};
use helix_modules::sync::IrqMutex;

/// Time slice when none is configured.
pub const DEFAULT_TIME_SLICE_MS: u64 = 10;

/// A fast, deterministic hasher for thread ids (sequential integers); the
/// map needs no DoS resistance, the ids come from the kernel.
#[derive(Default, Clone, Copy)]
struct IdHasher(u64);

impl core::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type ThreadMap = HashMap<ThreadId, Entry, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Queued { cpu: usize, ticket: u64 },
    Running { cpu: usize },
    Blocked,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    priority: Priority,
    place: Place,
}

#[derive(Debug, Default)]
struct Cpu {
    queue: VecDeque<(ThreadId, u64)>,
    /// Queue entries that are still valid.
    queued: usize,
    running: Option<ThreadId>,
    online: bool,
    slice_start_ns: u64,
    last_tick_ns: u64,
    switches: u64,
    ticks: u64,
    preemptions: u64,
}

impl Cpu {
    fn load(&self) -> usize {
        self.queued + usize::from(self.running.is_some())
    }
}

struct State {
    threads: ThreadMap,
    cpus: Vec<Cpu>,
    next_ticket: u64,
    slice_ns: u64,
    yields: u64,
}

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

impl State {
    fn least_loaded(&self) -> Option<usize> {
        self.cpus
            .iter()
            .enumerate()
            .filter(|(_, c)| c.online)
            .min_by_key(|(_, c)| c.load())
            .map(|(i, _)| i)
    }

    /// Appends `t` to `cpu`'s queue and records where it is.
    fn enqueue(&mut self, t: ThreadId, cpu: usize) {
        let ticket = self.next_ticket;
        self.next_ticket += 1;
        if let Some(e) = self.threads.get_mut(&t) {
            e.place = Place::Queued { cpu, ticket };
        }
        let c = &mut self.cpus[cpu];
        c.queue.push_back((t, ticket));
        c.queued += 1;
    }

    /// Takes the first still-valid entry off `cpu`'s queue.
    fn pop_valid(&mut self, cpu: usize) -> Option<ThreadId> {
        while let Some((t, ticket)) = self.cpus[cpu].queue.pop_front() {
            if self
                .threads
                .get(&t)
                .is_some_and(|e| e.place == Place::Queued { cpu, ticket })
            {
                self.cpus[cpu].queued -= 1;
                return Some(t);
            }
        }
        None
    }

    /// Forgets where `t` is: unqueues or unruns it.
    fn vacate(&mut self, place: Place) {
        match place {
            Place::Queued { cpu, .. } => self.cpus[cpu].queued -= 1,
            Place::Running { cpu } => self.cpus[cpu].running = None,
            Place::Blocked => {}
        }
    }

    fn cpu_index(&self, cpu: CpuId) -> Result<usize, SchedError> {
        let i = cpu as usize;
        if i < self.cpus.len() {
            Ok(i)
        } else {
            Err(SchedError::NoSuchCpu(cpu))
        }
    }

    fn pick(&mut self, cpu: usize) -> Option<ThreadId> {
        let prev = self.cpus[cpu].running.take();
        if let Some(p) = prev {
            if self.cpus[cpu].online {
                self.enqueue(p, cpu);
            } else if let Some(other) = self.least_loaded() {
                self.enqueue(p, other);
            } else {
                self.cpus[cpu].running = Some(p);
                return Some(p);
            }
        }
        if !self.cpus[cpu].online {
            return None;
        }
        let next = self.pop_valid(cpu)?;
        if let Some(e) = self.threads.get_mut(&next) {
            e.place = Place::Running { cpu };
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
