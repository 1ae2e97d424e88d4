//! Host tests of the round-robin policy: rotation order, slice accounting,
//! removal of running and queued threads, placement, CPU hotplug, and a
//! property test that no thread is ever lost or duplicated.

use helix_modules::services::scheduler::{Priority, SchedError, Scheduler, ThreadId};
use round_robin::{RoundRobin, SliceError};

const MS: u64 = 1_000_000;

fn t(n: u64) -> ThreadId {
    ThreadId(n)
}

fn with_threads(n: u64) -> RoundRobin {
    let rr = RoundRobin::new(1);
    for i in 1..=n {
        assert_eq!(rr.add(t(i), Priority::NORMAL), Ok(0));
    }
    rr
}

#[test]
fn rotation_is_fifo_and_fair() {
    let rr = with_threads(3);
    let order: Vec<_> = (0..7).map(|_| rr.pick_next(0).unwrap().0).collect();
    assert_eq!(order, [1, 2, 3, 1, 2, 3, 1]);
}

#[test]
fn yield_rotates_and_is_counted() {
    let rr = with_threads(2);
    assert_eq!(rr.pick_next(0), Some(t(1)));
    assert_eq!(rr.yield_now(0), Some(t(2)));
    assert_eq!(rr.yield_now(0), Some(t(1)));
    assert_eq!(rr.stats().yields, 2);
}

#[test]
fn lone_thread_keeps_running_without_a_switch() {
    let rr = with_threads(1);
    assert_eq!(rr.pick_next(0), Some(t(1)));
    assert_eq!(rr.yield_now(0), Some(t(1)));
    assert_eq!(rr.stats().switches(), 1);
    assert!(!rr.tick(0, 100 * MS), "nobody waits: no preemption");
}

#[test]
fn slice_accounting_preempts_after_the_slice() {
    let rr = with_threads(2);
    rr.set_time_slice_ms(5).unwrap();
    assert!(rr.tick(0, 0), "idle CPU with queued work asks to switch");
    assert_eq!(rr.pick_next(0), Some(t(1)));
    for now in 1..5 {
        assert!(!rr.tick(0, now * MS), "preempted early at {now} ms");
    }
    assert!(rr.tick(0, 5 * MS));
    assert_eq!(rr.pick_next(0), Some(t(2)));
    assert!(!rr.tick(0, 6 * MS));
    assert!(rr.tick(0, 10 * MS));
    assert_eq!(rr.stats().cpus[0].preemptions, 2);
    assert_eq!(rr.stats().cpus[0].ticks, 8);
}

#[test]
fn slice_changes_take_effect() {
    let rr = with_threads(2);
    rr.tick(0, 0);
    rr.pick_next(0);
    rr.set_time_slice_ms(20).unwrap();
    assert!(!rr.tick(0, 10 * MS));
    assert!(rr.tick(0, 20 * MS));
    assert_eq!(rr.time_slice_ms(), 20);
    assert_eq!(rr.set_time_slice_ms(0), Err(SliceError { ms: 0 }));
    assert_eq!(rr.set_time_slice_ms(1001), Err(SliceError { ms: 1001 }));
    assert_eq!(rr.time_slice_ms(), 20);
}

#[test]
fn removing_the_running_thread() {
    let rr = with_threads(3);
    assert_eq!(rr.pick_next(0), Some(t(1)));
    rr.remove(t(1)).unwrap();
    assert_eq!(rr.pick_next(0), Some(t(2)));
    assert_eq!(rr.pick_next(0), Some(t(3)));
    assert_eq!(rr.pick_next(0), Some(t(2)));
    assert_eq!(rr.stats().threads, 2);
}

#[test]
fn removing_a_queued_thread() {
    let rr = with_threads(3);
    rr.remove(t(2)).unwrap();
    let order: Vec<_> = (0..4).map(|_| rr.pick_next(0).unwrap().0).collect();
    assert_eq!(order, [1, 3, 1, 3]);
    assert_eq!(rr.stats().cpus[0].queued, 1);
}

#[test]
fn block_and_ready() {
    let rr = with_threads(2);
    assert_eq!(rr.pick_next(0), Some(t(1)));
    rr.block(0, t(1)).unwrap();
    assert_eq!(rr.pick_next(0), Some(t(2)));
    assert_eq!(rr.pick_next(0), Some(t(2)), "blocked thread must not run");
    rr.ready(t(1)).unwrap();
    assert_eq!(rr.pick_next(0), Some(t(1)));
    rr.block(0, t(1)).unwrap();
    rr.pick_next(0);
    rr.block(0, t(2)).unwrap();
    assert_eq!(rr.pick_next(0), None, "everything blocked: idle");
}

#[test]
fn errors_are_typed() {
    let rr = with_threads(1);
    assert_eq!(
        rr.add(t(1), Priority::NORMAL),
        Err(SchedError::AlreadyAdded(t(1)))
    );
    assert_eq!(rr.remove(t(9)), Err(SchedError::UnknownThread(t(9))));
    assert_eq!(rr.ready(t(1)), Err(SchedError::WrongState(t(1))));
    assert_eq!(
        rr.block(0, t(1)),
        Err(SchedError::WrongState(t(1))),
        "queued, not running"
    );
    assert_eq!(rr.block(7, t(1)), Err(SchedError::NoSuchCpu(7)));
    assert_eq!(rr.set_cpu_online(0, false), Err(SchedError::LastCpu(0)));
    assert_eq!(rr.pick_next(5), None);
    assert_eq!(rr.priority(t(4)), Err(SchedError::UnknownThread(t(4))));
}

#[test]
fn priority_is_stored() {
    let rr = with_threads(1);
    rr.set_priority(t(1), Priority(7)).unwrap();
    assert_eq!(rr.priority(t(1)), Ok(Priority(7)));
}

#[test]
fn placement_prefers_the_least_loaded_cpu() {
    let rr = RoundRobin::new(4);
    for cpu in 1..4 {
        rr.set_cpu_online(cpu, true).unwrap();
    }
    let cpus: Vec<_> = (1..=8)
        .map(|i| rr.add(t(i), Priority::NORMAL).unwrap())
        .collect();
    assert_eq!(cpus, [0, 1, 2, 3, 0, 1, 2, 3]);
    let s = rr.stats();
    assert!(s.cpus.iter().all(|c| c.queued == 2));
}

#[test]
fn offline_cpu_hands_its_threads_over() {
    let rr = RoundRobin::new(2);
    rr.set_cpu_online(1, true).unwrap();
    for i in 1..=4 {
        rr.add(t(i), Priority::NORMAL).unwrap();
    }
    assert_eq!(rr.pick_next(1), Some(t(2)));
    rr.set_cpu_online(1, false).unwrap();
    let s = rr.stats();
    assert_eq!(s.cpus[1].queued, 0);
    assert_eq!(s.cpus[1].running, None);
    assert_eq!(s.cpus[0].queued, 4);
    assert_eq!(rr.pick_next(1), None, "offline CPU gets nothing");
    let mut seen: Vec<_> = (0..4).map(|_| rr.pick_next(0).unwrap().0).collect();
    seen.sort();
    assert_eq!(seen, [1, 2, 3, 4]);
}

#[test]
fn cpu_coming_online_gets_work() {
    let rr = RoundRobin::new(2);
    for i in 1..=6 {
        rr.add(t(i), Priority::NORMAL).unwrap();
    }
    rr.set_cpu_online(1, true).unwrap();
    let s = rr.stats();
    assert_eq!((s.cpus[0].queued, s.cpus[1].queued), (3, 3));
}

mod properties {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, BTreeSet};

    #[derive(Debug, Clone)]
    enum Op {
        Add,
        Remove(usize),
        Pick(u32),
        Yield(u32),
        Block(u32),
        Ready(usize),
        Tick(u32),
        Online(u32, bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Add),
            1 => any::<usize>().prop_map(Op::Remove),
            3 => (0..3u32).prop_map(Op::Pick),
            1 => (0..3u32).prop_map(Op::Yield),
            1 => (0..3u32).prop_map(Op::Block),
            2 => any::<usize>().prop_map(Op::Ready),
            1 => (0..3u32).prop_map(Op::Tick),
            1 => ((0..3u32), any::<bool>()).prop_map(|(c, o)| Op::Online(c, o)),
        ]
    }

    /// What the model knows about a thread.
    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Model {
        Runnable,
        Running(u32),
        Blocked,
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn no_thread_lost_or_duplicated(ops in proptest::collection::vec(op(), 1..200)) {
            let rr = RoundRobin::new(3);
            let mut model: BTreeMap<u64, Model> = BTreeMap::new();
            let mut next = 1u64;
            let mut now = 0u64;
            for op in ops {
                match op {
                    Op::Add => {
                        rr.add(t(next), Priority::NORMAL).unwrap();
                        model.insert(next, Model::Runnable);
                        next += 1;
                    }
                    Op::Remove(k) if !model.is_empty() => {
                        let id = *model.keys().nth(k % model.len()).unwrap();
                        rr.remove(t(id)).unwrap();
                        model.remove(&id);
                    }
                    Op::Pick(c) | Op::Yield(c) => {
                        let r = if matches!(op, Op::Pick(_)) { rr.pick_next(c) } else { rr.yield_now(c) };
                        let was = model.iter().find(|(_, m)| **m == Model::Running(c)).map(|(id, _)| *id);
                        if let Some(w) = was { model.insert(w, Model::Runnable); }
                        if let Some(id) = r {
                            prop_assert_eq!(model.get(&id.0), Some(&Model::Runnable), "picked a thread that was not runnable");
                            model.insert(id.0, Model::Running(c));
                        }
                    }
                    Op::Block(c) => {
                        if let Some((&id, _)) = model.iter().find(|(_, m)| **m == Model::Running(c)) {
                            rr.block(c, t(id)).unwrap();
                            model.insert(id, Model::Blocked);
                        }
                    }
                    Op::Ready(k) => {
                        let blocked: Vec<u64> = model.iter().filter(|(_, m)| **m == Model::Blocked).map(|(id, _)| *id).collect();
                        if !blocked.is_empty() {
                            let id = blocked[k % blocked.len()];
                            rr.ready(t(id)).unwrap();
                            model.insert(id, Model::Runnable);
                        }
                    }
                    Op::Tick(c) => {
                        now += MS;
                        rr.tick(c, now);
                    }
                    Op::Online(c, online) => {
                        if rr.set_cpu_online(c, online).is_ok()
                            && !online
                            && let Some((&id, _)) = model.iter().find(|(_, m)| **m == Model::Running(c))
                        {
                            model.insert(id, Model::Runnable);
                        }
                    }
                    Op::Remove(_) => {}
                }
                // Invariants after every step.
                let s = rr.stats();
                prop_assert_eq!(s.threads, model.len());
                let queued: usize = s.cpus.iter().map(|c| c.queued).sum();
                let runnable = model.values().filter(|m| **m == Model::Runnable).count();
                prop_assert_eq!(queued, runnable, "queued entries != runnable threads");
                let running: BTreeSet<u64> = s.cpus.iter().filter_map(|c| c.running.map(|t| t.0)).collect();
                let model_running: BTreeSet<u64> = model.iter().filter(|(_, m)| matches!(m, Model::Running(_))).map(|(id, _)| *id).collect();
                prop_assert_eq!(running, model_running);
            }
            // Drain: every runnable thread comes out exactly once per round.
            let mut all = BTreeSet::new();
            for (id, m) in &model {
                if *m != Model::Blocked { all.insert(*id); }
            }
            let mut seen = BTreeSet::new();
            for c in 0..3 {
                for _ in 0..(model.len() * 2 + 2) {
                    if let Some(id) = rr.pick_next(c) { seen.insert(id.0); }
                }
            }
            prop_assert_eq!(seen, all);
        }
    }
}
