//! Run-queue bookkeeping of the round-robin policy.
//!
//! Queues hold `(thread, ticket)` pairs and the thread map records the
//! ticket of the thread's current queue entry. Removing or moving a queued
//! thread only updates the map; the stale entry is skipped when it reaches
//! the head. Enqueue and pick are therefore O(1) amortised whatever the
//! number of threads, and removal is O(1) too.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::hash::BuildHasherDefault;
use hashbrown::HashMap;
use helix_modules::services::scheduler::{CpuId, Priority, SchedError, ThreadId};

/// A fast, deterministic hasher for thread ids (sequential integers); the
/// map needs no DoS resistance, the ids come from the kernel.
#[derive(Default, Clone, Copy)]
pub(crate) struct IdHasher(u64);

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

pub(crate) type ThreadMap = HashMap<ThreadId, Entry, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Place {
    Queued { cpu: usize, ticket: u64 },
    Running { cpu: usize },
    Blocked,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) priority: Priority,
    pub(crate) place: Place,
}

#[derive(Debug, Default)]
pub(crate) struct Cpu {
    pub(crate) queue: VecDeque<(ThreadId, u64)>,
    /// Queue entries that are still valid.
    pub(crate) queued: usize,
    pub(crate) running: Option<ThreadId>,
    pub(crate) online: bool,
    pub(crate) slice_start_ns: u64,
    pub(crate) last_tick_ns: u64,
    pub(crate) switches: u64,
    pub(crate) ticks: u64,
    pub(crate) preemptions: u64,
}

impl Cpu {
    pub(crate) fn load(&self) -> usize {
        self.queued + usize::from(self.running.is_some())
    }
}

pub(crate) struct State {
    pub(crate) threads: ThreadMap,
    pub(crate) cpus: Vec<Cpu>,
    pub(crate) next_ticket: u64,
    pub(crate) slice_ns: u64,
    pub(crate) yields: u64,
}

impl State {
    pub(crate) fn least_loaded(&self) -> Option<usize> {
        self.cpus
            .iter()
            .enumerate()
            .filter(|(_, c)| c.online)
            .min_by_key(|(_, c)| c.load())
            .map(|(i, _)| i)
    }

    /// Appends `t` to `cpu`'s queue and records where it is.
    pub(crate) fn enqueue(&mut self, t: ThreadId, cpu: usize) {
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
    pub(crate) fn pop_valid(&mut self, cpu: usize) -> Option<ThreadId> {
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
    pub(crate) fn vacate(&mut self, place: Place) {
        match place {
            Place::Queued { cpu, .. } => self.cpus[cpu].queued -= 1,
            Place::Running { cpu } => self.cpus[cpu].running = None,
            Place::Blocked => {}
        }
    }

    pub(crate) fn cpu_index(&self, cpu: CpuId) -> Result<usize, SchedError> {
        let i = cpu as usize;
        if i < self.cpus.len() {
            Ok(i)
        } else {
            Err(SchedError::NoSuchCpu(cpu))
        }
    }

    pub(crate) fn pick(&mut self, cpu: usize) -> Option<ThreadId> {
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
