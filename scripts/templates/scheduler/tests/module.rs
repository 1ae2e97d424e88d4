//! The `__name__` policy and module on the host: FIFO order on a CPU,
//! preemption after a full slice only while another thread waits, blocking
//! and waking, CPUs going offline, and the module's registry behaviour
//! (it hands its policy to the kernel, and only one scheduler runs).

use helix_modules::services::scheduler::{Priority, SchedError, Scheduler, ThreadId};
use helix_modules::v2::{Event, ModuleInfo, ModuleTrait, Request};
use helix_modules::{Caller, ModuleError, ModuleState, Registry};
use __name__::{__Type__, __Type__Policy};

const MS: u64 = 1_000_000;

fn policy_with(threads: &[u64]) -> __Type__Policy {
    let p = __Type__Policy::new(4);
    for &t in threads {
        assert_eq!(p.add(ThreadId(t), Priority::NORMAL), Ok(0));
    }
    p
}

#[test]
fn threads_take_turns_in_fifo_order() {
    let p = policy_with(&[1, 2, 3]);
    let order: Vec<u64> = (0..6).filter_map(|_| p.pick_next(0)).map(|t| t.0).collect();
    assert_eq!(order, [1, 2, 3, 1, 2, 3]);
    assert_eq!(p.stats().switches(), 6);
}

#[test]
fn preempts_after_a_full_slice_only_when_someone_waits() {
    let p = policy_with(&[1]);
    assert_eq!(p.pick_next(0), Some(ThreadId(1)));
    assert!(!p.tick(0, 50 * MS), "nobody waits: no preemption");
    p.add(ThreadId(2), Priority::NORMAL).unwrap();
    assert!(p.tick(0, 55 * MS), "slice used up and thread 2 waits");
    assert_eq!(p.pick_next(0), Some(ThreadId(2)));
    assert!(!p.tick(0, 60 * MS), "thread 2 has run 5 ms of 10");
    assert!(p.tick(0, 65 * MS));
}

#[test]
fn blocked_threads_wait_until_ready() {
    let p = policy_with(&[1, 2]);
    assert_eq!(p.pick_next(0), Some(ThreadId(1)));
    p.block(0, ThreadId(1)).unwrap();
    assert_eq!(p.pick_next(0), Some(ThreadId(2)));
    assert_eq!(p.pick_next(0), Some(ThreadId(2)), "1 is blocked");
    assert_eq!(
        p.block(0, ThreadId(1)),
        Err(SchedError::WrongState(ThreadId(1)))
    );
    p.ready(ThreadId(1)).unwrap();
    assert_eq!(p.pick_next(0), Some(ThreadId(1)));
    p.remove(ThreadId(1)).unwrap();
    assert_eq!(p.pick_next(0), Some(ThreadId(2)));
    assert_eq!(
        p.remove(ThreadId(1)),
        Err(SchedError::UnknownThread(ThreadId(1)))
    );
    assert_eq!(
        p.add(ThreadId(2), Priority::NORMAL),
        Err(SchedError::AlreadyAdded(ThreadId(2)))
    );
}

#[test]
fn new_threads_spread_and_an_offline_cpu_hands_its_threads_over() {
    let p = __Type__Policy::new(2);
    p.set_cpu_online(1, true).unwrap();
    let cpus: Vec<u32> = (1..=4)
        .map(|t| p.add(ThreadId(t), Priority::NORMAL).unwrap())
        .collect();
    assert_eq!(cpus, [0, 1, 0, 1]);
    assert_eq!(p.pick_next(1), Some(ThreadId(2)));
    p.set_cpu_online(1, false).unwrap();
    assert_eq!(p.pick_next(1), None);
    assert_eq!(p.stats().cpus[0].queued, 4);
    assert_eq!(p.set_cpu_online(0, false), Err(SchedError::LastCpu(0)));
    assert_eq!(p.set_cpu_online(7, true), Err(SchedError::NoSuchCpu(7)));
}

#[test]
fn the_module_hands_its_policy_to_the_kernel() {
    let r = Registry::builder()
        .cmdline("__name__.time_slice_ms=4")
        .build();
    r.register_v2(__Type__::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let sched = r.scheduler().expect("a running scheduler");
    assert_eq!(sched.name(), "__name__");
    sched.add(ThreadId(9), Priority::NORMAL).unwrap();
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    assert_eq!(sched.add(ThreadId(10), Priority::NORMAL), Ok(1));
    let resp = r
        .request(
            Caller::Kernel,
            "__name__",
            Request::new("t", "stats", vec![]),
        )
        .unwrap();
    let stats = String::from_utf8(resp.payload).unwrap();
    assert!(stats.starts_with("time_slice_ms=4\nthreads=2\n"), "{stats}");
    assert!(stats.contains("cpu1: queued=1"), "{stats}");
}

/// Another scheduler, to show that only one runs.
struct Other(std::sync::Arc<__Type__Policy>);

impl ModuleTrait for Other {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("other")
            .flags(helix_modules::ModuleFlags::SCHEDULER)
            .provides(&["scheduler"])
    }
    fn init(&mut self, _: &helix_modules::v2::Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn scheduler(&self) -> Option<std::sync::Arc<dyn Scheduler>> {
        Some(self.0.clone())
    }
}

#[test]
fn only_one_scheduler_runs() {
    let r = Registry::new();
    r.register_v2(Other(std::sync::Arc::new(__Type__Policy::new(1))))
        .unwrap();
    r.register_v2(__Type__::new()).unwrap();
    r.init(Caller::Kernel, "other").unwrap();
    r.start(Caller::Kernel, "other").unwrap();
    r.init(Caller::Kernel, "__name__").unwrap();
    let err = r.start(Caller::Kernel, "__name__").unwrap_err();
    assert!(
        matches!(&err, ModuleError::Conflict { holder, .. } if holder == "other"),
        "{err:?}"
    );
    let status = r.status("__name__").unwrap();
    assert_eq!(status.state, ModuleState::Initialized);
    assert_eq!(status.standby_for.as_deref(), Some("other"));
}
