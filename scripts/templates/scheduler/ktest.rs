//! `__name__` in the running kernel, as the kernel's scheduler. Only one
//! SCHEDULER module schedules at a time; this test kernel asks for
//! `__name__` with `scheduler=__name__` on its command line
//! (`kernel::qemu_cmdline!`), so `round_robin`, if loaded, waits in standby.
//! The tests check that `__name__` runs the kernel's threads, and exercise
//! the policy on the real CPU through a fresh instance of the module.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::scheduler::{Priority, ThreadId};
use helix_modules::v2::ModuleTrait;
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleState, Registry};
use kernel::{ktest, thread};

kernel::test_kernel!();
kernel::qemu_cmdline!("scheduler=__name__");

fn up() -> &'static Registry {
    kernel::bring_up::run().expect("modules and threads")
}

ktest!(
    fn this_module_schedules_the_kernel_and_others_wait_in_standby() {
        let r = up();
        let running = r
            .scheduler()
            .expect("the kernel runs on a scheduler module");
        let table = kernel::modules::format_table(r);
        assert_eq!(running.name(), "__name__", "{table}");
        assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
        // Every other scheduler module waits for the role, as a normal state.
        for other in r.list().into_iter().filter(|m| {
            m.name != "__name__" && m.flags.contains(ModuleFlags::SCHEDULER)
        }) {
            assert_eq!(other.standby_for.as_deref(), Some("__name__"), "{table}");
            let err = r.start(Caller::Kernel, &other.name).unwrap_err();
            assert!(
                matches!(&err, ModuleError::Conflict { holder, .. } if holder == "__name__"),
                "{err:?}"
            );
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
