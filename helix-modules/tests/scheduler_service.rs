//! The scheduler service as the registry enforces it: a SCHEDULER module
//! must provide the `scheduler` capability and hand over its policy, the
//! kernel reaches that policy through `Registry::scheduler` even while the
//! module is in a call, and loses it when the module stops.

mod common;

use std::collections::VecDeque;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use common::{Journal, Probe};
use helix_modules::services::scheduler::{
    CpuId, Priority, SchedError, SchedStats, Scheduler, ThreadId,
};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleName, ModuleState, Registry};

/// One CPU, one FIFO queue.
#[derive(Default)]
struct Fifo {
    queue: Mutex<VecDeque<ThreadId>>,
}

impl Scheduler for Fifo {
    fn name(&self) -> &'static str {
        "fifo"
    }
    fn add(&self, thread: ThreadId, _: Priority) -> Result<CpuId, SchedError> {
        self.queue.lock().unwrap().push_back(thread);
        Ok(0)
    }
    fn remove(&self, thread: ThreadId) -> Result<(), SchedError> {
        let mut q = self.queue.lock().unwrap();
        let before = q.len();
        q.retain(|t| *t != thread);
        if q.len() == before {
            Err(SchedError::UnknownThread(thread))
        } else {
            Ok(())
        }
    }
    fn ready(&self, thread: ThreadId) -> Result<(), SchedError> {
        self.queue.lock().unwrap().push_back(thread);
        Ok(())
    }
    fn block(&self, _: CpuId, thread: ThreadId) -> Result<(), SchedError> {
        self.remove(thread)
    }
    fn pick_next(&self, _: CpuId) -> Option<ThreadId> {
        let mut q = self.queue.lock().unwrap();
        let next = q.pop_front()?;
        q.push_back(next);
        Some(next)
    }
    fn tick(&self, _: CpuId, _: u64) -> bool {
        true
    }
    fn yield_now(&self, cpu: CpuId) -> Option<ThreadId> {
        self.pick_next(cpu)
    }
    fn set_priority(&self, _: ThreadId, _: Priority) -> Result<(), SchedError> {
        Ok(())
    }
    fn priority(&self, _: ThreadId) -> Result<Priority, SchedError> {
        Ok(Priority::NORMAL)
    }
    fn set_cpu_online(&self, cpu: CpuId, _: bool) -> Result<(), SchedError> {
        Err(SchedError::LastCpu(cpu))
    }
    fn stats(&self) -> SchedStats {
        SchedStats {
            threads: self.queue.lock().unwrap().len(),
            ..SchedStats::default()
        }
    }
}

struct FifoModule {
    info: ModuleInfo,
    policy: Option<Arc<Fifo>>,
    gate: Option<(mpsc::Sender<()>, Mutex<mpsc::Receiver<()>>)>,
}

impl ModuleTrait for FifoModule {
    fn info(&self) -> ModuleInfo {
        self.info
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        if let Some((entered, release)) = &self.gate {
            entered.send(()).unwrap();
            release.lock().unwrap().recv().unwrap();
        }
        Ok(Response::ok(vec![]))
    }
    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        self.policy.clone().map(|p| p as Arc<dyn Scheduler>)
    }
}

const SCHED: ModuleInfo = ModuleInfo::new("fifo")
    .flags(ModuleFlags::SCHEDULER)
    .provides(&["scheduler"]);

#[test]
fn the_kernel_reaches_the_running_policy_even_while_the_module_is_busy() {
    let r = Registry::new();
    let (entered_tx, entered_rx) = mpsc::channel();
    let (release_tx, release_rx) = mpsc::channel();
    r.register_v2(FifoModule {
        info: SCHED,
        policy: Some(Arc::default()),
        gate: Some((entered_tx, Mutex::new(release_rx))),
    })
    .unwrap();
    assert!(r.scheduler().is_none());
    assert!(r.start_all(Caller::Kernel).is_clean());
    let policy = r.scheduler().unwrap();
    assert_eq!(policy.name(), "fifo");
    policy.add(ThreadId(1), Priority::NORMAL).unwrap();
    let r2 = r.clone();
    let busy =
        thread::spawn(move || r2.request(Caller::Kernel, "fifo", Request::new("k", "x", vec![])));
    entered_rx.recv().unwrap();
    assert_eq!(r.scheduler().unwrap().pick_next(0), Some(ThreadId(1)));
    release_tx.send(()).unwrap();
    busy.join().unwrap().unwrap();
    r.stop(Caller::Kernel, "fifo").unwrap();
    assert!(r.scheduler().is_none());
}

#[test]
fn scheduler_modules_must_provide_the_capability_and_the_policy() {
    let r = Registry::new();
    r.register_v2(FifoModule {
        info: ModuleInfo::new("no-cap").flags(ModuleFlags::SCHEDULER),
        policy: Some(Arc::default()),
        gate: None,
    })
    .unwrap();
    r.register_v2(FifoModule {
        info: SCHED,
        policy: None,
        gate: None,
    })
    .unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(
        report.skipped,
        vec![
            (
                ModuleName::from("no-cap"),
                ModuleError::InvalidMetadata {
                    module: "no-cap".into(),
                    reason: "a SCHEDULER module must provide the `scheduler` capability"
                }
            ),
            (
                ModuleName::from("fifo"),
                ModuleError::InvalidMetadata {
                    module: "fifo".into(),
                    reason: "a SCHEDULER module must return its policy from `scheduler()`"
                }
            ),
        ]
    );
    assert!(r.scheduler().is_none());
}

#[test]
fn reloading_the_scheduler_swaps_the_policy() {
    let r = Registry::new();
    let j = Journal::default();
    let info = SCHED.flags(ModuleFlags::SCHEDULER.union(ModuleFlags::HOT_RELOADABLE));
    r.register_v2(FifoModule {
        info,
        policy: Some(Arc::default()),
        gate: None,
    })
    .unwrap();
    r.start_all(Caller::Kernel);
    let first = r.scheduler().unwrap();
    first.add(ThreadId(7), Priority::NORMAL).unwrap();
    // A replacement without a policy is refused and the old one stays.
    let empty = FifoModule {
        info,
        policy: None,
        gate: None,
    };
    assert_eq!(
        r.reload(
            Caller::Kernel,
            "fifo",
            Box::new(helix_modules::v2::ModuleAdapter::new(empty))
        ),
        Err(ModuleError::StepFailed {
            module: "fifo".into(),
            op: helix_modules::Operation::Reload,
            reason: Box::new(ModuleError::Failed(
                "a SCHEDULER module must return its policy from `scheduler()`"
            )),
        })
    );
    assert_eq!(r.scheduler().unwrap().stats().threads, 1);
    let fresh = FifoModule {
        info,
        policy: Some(Arc::default()),
        gate: None,
    };
    r.reload(
        Caller::Kernel,
        "fifo",
        Box::new(helix_modules::v2::ModuleAdapter::new(fresh)),
    )
    .unwrap();
    assert_eq!(r.scheduler().unwrap().stats().threads, 0);
    // Plain probes never become the scheduler.
    r.register_v2(Probe::named("plain", &j)).unwrap();
    assert_eq!(r.scheduler().unwrap().name(), "fifo");
}

/// A plain module with no flags, to sit between schedulers in the order.
struct Plain(&'static str, &'static [&'static str]);

impl ModuleTrait for Plain {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.0).dependencies(self.1)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

fn scheduler_module(name: &'static str) -> FifoModule {
    FifoModule {
        info: ModuleInfo::new(name)
            .flags(ModuleFlags::SCHEDULER)
            .provides(&["scheduler"]),
        policy: Some(Arc::default()),
        gate: None,
    }
}

#[test]
fn a_second_scheduler_waits_in_standby_and_the_start_is_still_clean() {
    let r = Registry::new();
    r.register_v2(scheduler_module("first")).unwrap();
    r.register_v2(Plain("app", &[])).unwrap();
    r.register_v2(scheduler_module("second")).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert!(report.is_clean(), "{report:?}");
    assert_eq!(report.started, ["first", "app"]);
    assert_eq!(
        report.standby,
        [(ModuleName::from("second"), String::from("first"))]
    );
    let second = r.status("second").unwrap();
    assert_eq!(second.state, ModuleState::Initialized);
    assert_eq!(second.standby_for.as_deref(), Some("first"));
    assert_eq!(r.status("first").unwrap().standby_for, None);
    assert_eq!(r.status("app").unwrap().standby_for, None);

    // Once the first stops, the second can take over, and the first is
    // then the one in standby.
    r.stop(Caller::Kernel, "first").unwrap();
    assert_eq!(r.status("second").unwrap().standby_for, None);
    r.start(Caller::Kernel, "second").unwrap();
    assert_eq!(r.scheduler().unwrap().name(), "fifo");
    assert_eq!(
        r.status("first").unwrap().standby_for.as_deref(),
        Some("second")
    );
}

#[test]
fn at_shutdown_the_running_scheduler_stops_last_wherever_it_was_registered() {
    let r = Registry::new();
    r.register_v2(Plain("base", &[])).unwrap();
    r.register_v2(Plain("user", &["base"])).unwrap();
    r.register_v2(scheduler_module("late_sched")).unwrap();
    r.register_v2(Plain("tail", &[])).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let plan = r.stop_plan();
    assert_eq!(
        plan.last().map(String::as_str),
        Some("late_sched"),
        "{plan:?}"
    );
    let user = plan.iter().position(|n| n == "user").unwrap();
    let base = plan.iter().position(|n| n == "base").unwrap();
    assert!(user < base, "dependents stop first: {plan:?}");
    let stopped: Vec<String> = r.shutdown().into_iter().map(|(n, _)| n).collect();
    assert_eq!(stopped, plan);
}
