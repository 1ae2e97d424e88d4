//! `__name__` in the running kernel. Only one SCHEDULER module runs: when
//! `round_robin` is loaded it schedules the kernel, and `__name__` stays
//! Initialized, refused with a conflict that `lsmod` shows; booted with
//! `module_blacklist=round_robin`, `__name__` schedules the kernel's
//! threads itself. Either way the kernel runs threads, and the policy is
//! exercised here, on the real CPU, through a fresh instance of the module.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::scheduler::{Priority, ThreadId};
use helix_modules::v2::ModuleTrait;
use helix_modules::{Caller, ModuleError, ModuleState, Registry};
use kernel::{ktest, thread};

kernel::test_kernel!();

fn up() -> &'static Registry {
    kernel::modules::bring_up().expect("modules and threads")
}

ktest!(
    fn one_scheduler_runs_and_lsmod_says_which() {
        let r = up();
        let running = r
            .scheduler()
            .expect("the kernel runs on a scheduler module");
        let table = kernel::modules::format_table(r);
        let state = r.status("__name__").unwrap().state;
        if running.name() == "__name__" {
            assert_eq!(state, ModuleState::Running, "{table}");
        } else {
            assert_eq!(running.name(), "round_robin");
            assert_eq!(state, ModuleState::Initialized, "{table}");
            let err = r.start(Caller::Kernel, "__name__").unwrap_err();
            assert!(
                matches!(&err, ModuleError::Conflict { holder, .. } if holder == "round_robin"),
                "{err:?}"
            );
            assert!(table.contains("skipped: "), "{table}");
        }
    }
);

ktest!(
    fn kernel_threads_run_to_completion() {
        static DONE: AtomicU64 = AtomicU64::new(0);
        up();
        let workers: Vec<_> = (0..3)
            .map(|_| {
                thread::spawn("worker", || {
                    for _ in 0..3 {
                        thread::yield_now();
                    }
                    DONE.fetch_add(1, Ordering::Relaxed);
                })
                .expect("spawn")
            })
            .collect();
        for w in workers {
            assert_eq!(w.join(), Ok(thread::ExitStatus::Exited(0)));
        }
        assert_eq!(DONE.load(Ordering::Relaxed), 3);
    }
);

ktest!(
    fn the_policy_takes_turns_on_this_cpu() {
        up();
        let module = __name__::__Type__::new();
        let sched = module.scheduler().expect("a scheduler module has a policy");
        for t in 1..=3 {
            sched.add(ThreadId(t), Priority::NORMAL).unwrap();
        }
        let order: Vec<u64> = (0..6)
            .filter_map(|_| sched.pick_next(0))
            .map(|t| t.0)
            .collect();
        assert_eq!(order, [1, 2, 3, 1, 2, 3]);
        let now = kernel::time::now_ns();
        sched.tick(0, now);
        assert!(
            sched.tick(0, now + 10_000_000),
            "a full slice with others waiting"
        );
    }
);
