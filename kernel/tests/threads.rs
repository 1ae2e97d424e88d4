//! Kernel threads under the round-robin scheduler module: fair shares,
//! yield rotation, sleep, block/wake, exit/join, a stack overflow confined
//! to its thread, and `set_time_slice` over IPC changing the observed slice.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use helix_modules::{Caller, Registry};
use kernel::ktest;
use kernel::thread::{self, ExitStatus, ThreadError, ThreadId, ThreadState, WaitQueue};
use kernel::time;
use spin::Mutex;

kernel::test_kernel!();

fn up() -> &'static Registry {
    kernel::bring_up::run().expect("a scheduler module schedules threads")
}

fn set_slice(r: &Registry, ms: u64) {
    let answer = kernel::testing::ask(
        r,
        "scheduler",
        "set_time_slice",
        alloc::format!("{ms}").as_bytes(),
    );
    assert!(answer.is_ok(), "set_time_slice refused: {answer:?}");
}

fn run_ns(id: ThreadId) -> u64 {
    thread::list()
        .into_iter()
        .find(|t| t.id == id)
        .map_or(0, |t| t.run_ns)
}

ktest!(
    fn cpu_bound_threads_get_fair_shares() {
        let r = up();
        set_slice(r, 2);
        const N: usize = 4;
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..N)
            .map(|i| {
                let stop = stop.clone();
                thread::spawn(&alloc::format!("spin{i}"), move || {
                    while !stop.load(Ordering::Relaxed) {
                        core::hint::spin_loop();
                    }
                })
                .unwrap()
            })
            .collect();
        thread::sleep_ms(50); // let them all start
        let ids: Vec<ThreadId> = handles.iter().map(|h| h.id()).collect();
        let before: Vec<u64> = ids.iter().map(|&id| run_ns(id)).collect();
        thread::sleep_ms(400);
        let after: Vec<u64> = ids.iter().map(|&id| run_ns(id)).collect();
        stop.store(true, Ordering::Relaxed);
        for h in handles {
            assert_eq!(h.join(), Ok(ExitStatus::Exited(0)));
        }
        set_slice(r, 10);
        let shares: Vec<u64> = before.iter().zip(&after).map(|(b, a)| a - b).collect();
        let total: u64 = shares.iter().sum();
        assert!(total > 0);
        for (i, s) in shares.iter().enumerate() {
            let fair = total / N as u64;
            let off = s.abs_diff(fair) * 100 / fair;
            assert!(
                off <= 10,
                "thread {i} got {s} ns of {total} ns ({off}% off fair): {shares:?}"
            );
        }
    }
);

ktest!(
    fn yield_rotates_between_threads() {
        let r = up();
        set_slice(r, 1000); // no preemption: only yields switch
        let log = Arc::new(Mutex::new(Vec::new()));
        let mk = |tag: u8| {
            let log = log.clone();
            thread::spawn("yielder", move || {
                for _ in 0..3 {
                    log.lock().push(tag);
                    thread::yield_now();
                }
            })
            .unwrap()
        };
        let (a, b) = (mk(b'A'), mk(b'B'));
        a.join().unwrap();
        b.join().unwrap();
        set_slice(r, 10);
        assert_eq!(log.lock().as_slice(), b"ABABAB");
    }
);

ktest!(
    fn sleep_wakes_after_its_time() {
        up();
        let h = thread::spawn("sleeper", || {
            let t0 = time::now_ns();
            thread::sleep_ms(30);
            let slept = time::now_ns() - t0;
            assert!(slept >= 30_000_000, "woke early after {slept} ns");
            assert!(slept < 300_000_000, "woke far too late after {slept} ns");
        })
        .unwrap();
        assert_eq!(h.join(), Ok(ExitStatus::Exited(0)));
    }
);

ktest!(
    fn block_and_wake() {
        up();
        static QUEUE: WaitQueue = WaitQueue::new();
        static FLAG: AtomicBool = AtomicBool::new(false);
        static SAW: AtomicBool = AtomicBool::new(false);
        let h = thread::spawn("waiter", || {
            QUEUE.wait_until(|| FLAG.load(Ordering::Acquire));
            SAW.store(true, Ordering::Release);
        })
        .unwrap();
        while QUEUE.is_empty() {
            thread::yield_now();
        }
        let state = thread::list()
            .into_iter()
            .find(|t| t.id == h.id())
            .unwrap()
            .state;
        assert_eq!(state, ThreadState::Blocked);
        assert!(!SAW.load(Ordering::Acquire));
        FLAG.store(true, Ordering::Release);
        assert!(QUEUE.wake_one());
        h.join().unwrap();
        assert!(SAW.load(Ordering::Acquire));
        assert!(!QUEUE.wake_one(), "nobody left to wake");
    }
);

ktest!(
    fn exit_and_join() {
        up();
        let h = thread::spawn("exits", || thread::exit(42)).unwrap();
        let id = h.id();
        assert_eq!(h.join(), Ok(ExitStatus::Exited(42)));
        assert!(
            thread::list().iter().all(|t| t.id != id),
            "joined thread still listed"
        );
        let h = thread::spawn("returns", || {}).unwrap();
        assert_eq!(h.join(), Ok(ExitStatus::Exited(0)));
        // Ids are never reused, even once a thread is joined and forgotten.
        let mut last = id;
        for _ in 0..20 {
            let h = thread::spawn("short", || {}).unwrap();
            assert!(
                h.id() > last,
                "id {} reused or out of order after {}",
                h.id(),
                last
            );
            last = h.id();
            h.join().unwrap();
        }
    }
);

ktest!(
    fn join_errors_are_typed() {
        up();
        let ghost = ThreadId(u64::MAX);
        assert_eq!(thread::join(ghost), Err(ThreadError::NoSuchThread(ghost)));
        assert_eq!(
            thread::join(thread::current_id()),
            Err(ThreadError::JoinSelf)
        );
        let err = thread::Builder::new("huge")
            .stack_pages(100_000)
            .spawn(|| {})
            .unwrap_err();
        assert!(matches!(err, ThreadError::Stack(_)), "{err}");
    }
);

ktest!(
    fn stack_overflow_ends_only_that_thread() {
        up();
        static PROGRESS: AtomicUsize = AtomicUsize::new(0);
        let worker = thread::spawn("worker", || {
            for _ in 0..20 {
                PROGRESS.fetch_add(1, Ordering::Relaxed);
                thread::sleep_ms(1);
            }
        })
        .unwrap();
        let bad = thread::spawn("overflows", || {
            core::hint::black_box(kernel::testing::overflow_stack(0));
        })
        .unwrap();
        assert_eq!(bad.join(), Ok(ExitStatus::Panicked));
        assert_eq!(worker.join(), Ok(ExitStatus::Exited(0)));
        assert_eq!(PROGRESS.load(Ordering::Relaxed), 20);
    }
);

/// Context switches per second of two CPU-bound threads under slice `ms`.
fn observed_slice_ns(r: &Registry, ms: u64) -> u64 {
    set_slice(r, ms);
    let stop = Arc::new(AtomicBool::new(false));
    let switches = Arc::new(AtomicU64::new(0));
    let hs: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            thread::spawn("slice", move || {
                while !stop.load(Ordering::Relaxed) {
                    core::hint::spin_loop();
                }
            })
            .unwrap()
        })
        .collect();
    thread::sleep_ms(20);
    let count = |hs: &[thread::JoinHandle]| -> u64 {
        thread::list()
            .iter()
            .filter(|t| hs.iter().any(|h| h.id() == t.id))
            .map(|t| t.switches)
            .sum()
    };
    let (s0, t0) = (count(&hs), time::now_ns());
    thread::sleep_ms(300);
    let (s1, t1) = (count(&hs), time::now_ns());
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    let _ = switches;
    (t1 - t0) / (s1 - s0).max(1)
}

ktest!(
    fn set_time_slice_over_ipc_changes_the_observed_slice() {
        let r = up();
        let short = observed_slice_ns(r, 2);
        let long = observed_slice_ns(r, 20);
        set_slice(r, 10);
        // Each switch-in gives a thread one slice; allow for tick granularity.
        assert!(
            (1_500_000..=4_000_000).contains(&short),
            "2 ms slice observed as {short} ns"
        );
        assert!(
            (15_000_000..=30_000_000).contains(&long),
            "20 ms slice observed as {long} ns"
        );
    }
);

/// A module that starts threads of its own: two that sleep in a loop and
/// one that spins.
struct Spawner;

impl helix_modules::v2::ModuleTrait for Spawner {
    fn info(&self) -> helix_modules::v2::ModuleInfo {
        helix_modules::v2::ModuleInfo::new("spawner").version(1, 0, 0)
    }
    fn init(&mut self, _: &helix_modules::v2::Context) -> Result<(), helix_modules::ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), helix_modules::ModuleError> {
        for i in 0..2 {
            thread::Builder::new(&alloc::format!("spawner-sleep{i}"))
                .owner("spawner")
                .spawn(|| {
                    loop {
                        thread::sleep_ms(5);
                    }
                })
                .map_err(|_| helix_modules::ModuleError::Failed("spawn"))?;
        }
        thread::Builder::new("spawner-spin")
            .owner("spawner")
            .spawn(|| {
                loop {
                    core::hint::spin_loop();
                }
            })
            .map_err(|_| helix_modules::ModuleError::Failed("spawn"))?;
        Ok(())
    }
    fn stop(&mut self) -> Result<(), helix_modules::ModuleError> {
        Ok(())
    }
}

fn live_threads_of(owner: &str) -> usize {
    thread::list()
        .iter()
        .filter(|t| t.owner.as_deref() == Some(owner) && t.state != ThreadState::Exited)
        .count()
}

ktest!(
    fn stopping_a_module_reaps_its_threads() {
        let r = up();
        r.register_v2(Spawner).unwrap();
        assert!(r.start_all(Caller::Kernel).is_clean());
        thread::sleep_ms(20);
        assert_eq!(live_threads_of("spawner"), 3);
        r.stop(Caller::Kernel, "spawner").unwrap();
        // Sleeping threads die at once; a running one at its CPU's next tick.
        thread::sleep_ms(20);
        assert_eq!(live_threads_of("spawner"), 0, "{:?}", thread::list());
        r.start(Caller::Kernel, "spawner").unwrap();
        thread::sleep_ms(10);
        assert_eq!(
            live_threads_of("spawner"),
            3,
            "restart starts fresh threads"
        );
        r.stop(Caller::Kernel, "spawner").unwrap();
        thread::sleep_ms(20);
        assert_eq!(live_threads_of("spawner"), 0);
    }
);
