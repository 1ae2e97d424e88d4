//! Supervision and hot reload: restarts with back-off, crash loops held and
//! reported, ESSENTIAL modules reported rather than restarted; reload with
//! state hand-over, refused without the flag, and the old instance kept
//! running when the new one fails.

mod common;

use std::sync::atomic::Ordering;

use common::{Journal, Probe, state_of};
use helix_modules::v2::{Event, EventResponse, ModuleAdapter, ModuleInfo, Request, Response};
use helix_modules::{
    Caller, Health, ModuleError, ModuleFlags, ModuleState, Operation, Registry, SupervisorPolicy,
};

const POLICY: SupervisorPolicy = SupervisorPolicy {
    backoff_base: 10,
    backoff_max: 40,
    max_restarts: 3,
    window: 1000,
    error_threshold: 2,
};

#[test]
fn unhealthy_modules_are_restarted_after_back_off() {
    let r = Registry::builder().policy(POLICY).build();
    let j = Journal::default();
    let probe = Probe::named("worker", &j);
    let healthy = probe.healthy.clone();
    r.register_v2(probe).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(r.supervise(0), Default::default());
    healthy.store(false, Ordering::SeqCst);
    let first = r.supervise(100);
    assert_eq!(first.waiting, ["worker"]);
    assert_eq!(r.status("worker").unwrap().health, Health::Unhealthy);
    healthy.store(true, Ordering::SeqCst);
    // Recovered on its own before the back-off expired: nothing to do.
    assert!(r.supervise(105).waiting.is_empty());
    healthy.store(false, Ordering::SeqCst);
    assert_eq!(r.supervise(200).waiting, ["worker"]);
    j.clear();
    let report = r.supervise(210);
    assert_eq!(report.restarted, ["worker"]);
    assert_eq!(j.entries(), ["worker:stop", "worker:init", "worker:start"]);
    assert_eq!(r.metrics("worker").unwrap().restarts, 1);
    let log = r.audit_log(Caller::Kernel).unwrap();
    assert!(
        log.iter()
            .any(|e| e.op == Operation::Restart && e.target == "worker")
    );
}

#[test]
fn crash_loops_are_held_and_reported() {
    let r = Registry::builder().policy(POLICY).build();
    let j = Journal::default();
    let mut probe = Probe::named("crashy", &j);
    probe.fail_start = Some(ModuleError::Failed("boom"));
    r.register_v2(probe).unwrap();
    assert_eq!(r.start_all(Caller::Kernel).failed.len(), 1);
    let mut t = 0;
    let mut restarts = 0;
    let mut held_at = None;
    while t < 1000 {
        let report = r.supervise(t);
        restarts += report.failed.len();
        assert!(report.restarted.is_empty());
        if !report.held.is_empty() {
            held_at = Some(t);
            break;
        }
        t += 5;
    }
    // Three attempts, each after a doubled wait (10, 20, 40), then held.
    assert_eq!(restarts, 3);
    assert!(held_at.is_some_and(|t| t >= 10 + 20 + 40));
    let s = r.status("crashy").unwrap();
    assert!(s.held);
    assert_eq!(s.state, ModuleState::Failed);
    assert!(s.to_string().contains("failed (held)"));
    assert_eq!(r.supervise(5000).held, ["crashy"]);
    assert_eq!(r.metrics("crashy").unwrap().restarts, 3);
    // An operator restart releases the hold (and here fails again).
    assert!(r.restart(Caller::Kernel, "crashy").is_err());
    assert!(!r.status("crashy").unwrap().held);
}

#[test]
fn failing_handlers_make_a_module_unhealthy_and_restarted() {
    let r = Registry::builder().policy(POLICY).build();
    let j = Journal::default();
    r.register_v2(
        Probe::named("erring", &j)
            .on_event(|_, _| EventResponse::Error(ModuleError::Failed("bad tick"))),
    )
    .unwrap();
    r.start_all(Caller::Kernel);
    r.dispatch(&Event::Tick { timestamp_ns: 0 });
    r.dispatch(&Event::Tick { timestamp_ns: 1 });
    assert_eq!(r.status("erring").unwrap().health, Health::Unhealthy);
    r.supervise(0);
    let report = r.supervise(10);
    assert_eq!(report.restarted, ["erring"]);
    assert_eq!(r.status("erring").unwrap().health, Health::Healthy);
}

#[test]
fn essential_modules_are_reported_not_restarted() {
    let r = Registry::builder().policy(POLICY).build();
    let j = Journal::default();
    let mut probe = Probe::new(ModuleInfo::new("core").flags(ModuleFlags::ESSENTIAL), &j);
    probe.fail_init = Some(ModuleError::Failed("no"));
    r.register_v2(probe).unwrap();
    r.start_all(Caller::Kernel);
    j.clear();
    let report = r.supervise(1000);
    assert_eq!(report.essential_unhealthy, ["core"]);
    assert!(report.restarted.is_empty());
    assert!(j.entries().is_empty());
}

fn reloadable(j: &Journal, version: u16) -> Probe {
    Probe::new(
        ModuleInfo::new("sched")
            .version(version, 0, 0)
            .flags(ModuleFlags::HOT_RELOADABLE)
            .provides(if version == 1 {
                &["sched.v1"]
            } else {
                &["sched.v2"]
            }),
        j,
    )
}

#[test]
fn reload_hands_state_over_and_swaps_instances() {
    let r = Registry::new();
    let j = Journal::default();
    let mut old = reloadable(&j, 1).on_request(|_, _| Ok(Response::ok(b"v1".to_vec())));
    old.state = b"queue:3".to_vec();
    r.register_v2(old).unwrap();
    r.start_all(Caller::Kernel);
    j.clear();
    let new = reloadable(&j, 2).on_request(|_, _| Ok(Response::ok(b"v2".to_vec())));
    r.reload(Caller::Kernel, "sched", Box::new(ModuleAdapter::new(new)))
        .unwrap();
    assert_eq!(
        j.entries(),
        ["sched:init", "sched:restore", "sched:stop", "sched:start"]
    );
    let resp = r
        .request(Caller::Kernel, "sched", Request::new("k", "x", vec![]))
        .unwrap();
    assert_eq!(resp.payload, b"v2");
    let s = r.status("sched").unwrap();
    assert_eq!((s.state, s.version.major), (ModuleState::Running, 2));
    assert_eq!(r.providers("sched.v1"), vec![]);
    assert_eq!(r.providers("sched.v2"), vec![s.id]);
}

#[test]
fn reload_failures_keep_the_old_instance_running() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(reloadable(&j, 1).on_request(|_, _| Ok(Response::ok(b"v1".to_vec()))))
        .unwrap();
    r.start_all(Caller::Kernel);
    let ask = || {
        r.request(Caller::Kernel, "sched", Request::new("k", "x", vec![]))
            .unwrap()
            .payload
    };

    let mut bad_init = reloadable(&j, 2);
    bad_init.fail_init = Some(ModuleError::Failed("init"));
    let mut bad_restore = reloadable(&j, 2);
    bad_restore.fail_restore = Some(ModuleError::Failed("restore"));
    let mut bad_start = reloadable(&j, 2);
    bad_start.fail_start = Some(ModuleError::Failed("start"));
    for (probe, why) in [
        (bad_init, "init"),
        (bad_restore, "restore"),
        (bad_start, "start"),
    ] {
        let reason: &'static str = why;
        assert_eq!(
            r.reload(Caller::Kernel, "sched", Box::new(ModuleAdapter::new(probe))),
            Err(ModuleError::StepFailed {
                module: "sched".into(),
                op: Operation::Reload,
                reason: Box::new(ModuleError::Failed(reason)),
            })
        );
        assert_eq!(state_of(&r, "sched"), ModuleState::Running);
        assert_eq!(ask(), b"v1");
        assert_eq!(r.status("sched").unwrap().version.major, 1);
    }
    assert_eq!(
        r.reload(
            Caller::Kernel,
            "sched",
            Box::new(ModuleAdapter::new(Probe::named("other", &j)))
        ),
        Err(ModuleError::ReloadMismatch {
            expected: "sched".into(),
            found: "other".into()
        })
    );
    r.stop(Caller::Kernel, "sched").unwrap();
    assert_eq!(
        r.reload(
            Caller::Kernel,
            "sched",
            Box::new(ModuleAdapter::new(reloadable(&j, 2)))
        ),
        Err(ModuleError::InvalidState {
            module: "sched".into(),
            state: ModuleState::Stopped,
            op: Operation::Reload
        })
    );
}

#[test]
fn reload_whose_old_instance_cannot_restart_leaves_it_failed() {
    let r = Registry::new();
    let j = Journal::default();
    let mut old = reloadable(&j, 1);
    old.fail_stop = Some(ModuleError::Failed("stuck"));
    r.register_v2(old).unwrap();
    r.start_all(Caller::Kernel);
    let mut new = reloadable(&j, 2);
    new.fail_start = Some(ModuleError::Failed("start"));
    assert!(
        r.reload(Caller::Kernel, "sched", Box::new(ModuleAdapter::new(new)))
            .is_err()
    );
    let s = r.status("sched").unwrap();
    assert_eq!(s.state, ModuleState::Failed);
    assert_eq!(
        s.last_error,
        Some(ModuleError::StepFailed {
            module: "sched".into(),
            op: Operation::Reload,
            reason: Box::new(ModuleError::Failed("stuck")),
        })
    );
}
