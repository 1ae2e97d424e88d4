//! Privileged operations: permission checks for module callers,
//! parameters (command line, validation at init,
//! run-time changes with callback, sensitive values never shown) and the
//! Prometheus rendering of metrics.

mod common;

use common::{Journal, Probe, state_of};
use helix_modules::v2::{ModuleAdapter, ModuleInfo};
use helix_modules::{
    AuditOutcome, Caller, ModuleError, ModuleFlags, ModuleName, ModuleState, Operation, ParamSpec,
    Permissions, Registry,
};

#[test]
fn module_callers_need_permissions_for_privileged_operations() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::new(
        ModuleInfo::new("victim").flags(ModuleFlags::HOT_RELOADABLE),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("guard").flags(ModuleFlags::SECURITY),
        &j,
    ))
    .unwrap();
    let nobody = r.register_v2(Probe::named("nobody", &j)).unwrap();
    let admin = r
        .register_v2(Probe::new(
            ModuleInfo::new("admin").permissions(Permissions::MANAGE | Permissions::RELOAD),
            &j,
        ))
        .unwrap();
    r.start_all(Caller::Kernel);
    let denied = |caller: &str, op, target: &str, missing| ModuleError::PermissionDenied {
        caller: caller.into(),
        op,
        target: target.into(),
        missing,
    };
    let who = Caller::Module(nobody);
    assert_eq!(
        r.stop(who, "victim"),
        Err(denied(
            "nobody",
            Operation::Stop,
            "victim",
            Permissions::MANAGE
        ))
    );
    assert_eq!(
        r.unload(who, "victim"),
        Err(denied(
            "nobody",
            Operation::Unload,
            "victim",
            Permissions::MANAGE
        ))
    );
    assert_eq!(
        r.restart(who, "victim"),
        Err(denied(
            "nobody",
            Operation::Restart,
            "victim",
            Permissions::MANAGE
        ))
    );
    assert_eq!(
        r.init(who, "victim"),
        Err(denied(
            "nobody",
            Operation::Init,
            "victim",
            Permissions::MANAGE
        ))
    );
    assert_eq!(
        r.start(who, "victim"),
        Err(denied(
            "nobody",
            Operation::Start,
            "victim",
            Permissions::MANAGE
        ))
    );
    assert_eq!(
        r.reload(
            who,
            "victim",
            Box::new(ModuleAdapter::new(Probe::named("victim", &j)))
        ),
        Err(denied(
            "nobody",
            Operation::Reload,
            "victim",
            Permissions::RELOAD
        ))
    );
    assert_eq!(
        r.set_param(who, "victim", "k", "v"),
        Err(denied(
            "nobody",
            Operation::SetParam,
            "victim",
            Permissions::CONFIGURE
        ))
    );
    assert_eq!(
        r.audit_log(who),
        Err(denied(
            "nobody",
            Operation::ReadAudit,
            "audit",
            Permissions::AUDIT
        ))
    );
    let report = r.start_all(who);
    assert_eq!(
        report.skipped,
        vec![(
            ModuleName::from("*"),
            denied("nobody", Operation::Start, "*", Permissions::MANAGE)
        )]
    );
    // SECURITY modules also need the SECURITY permission.
    assert_eq!(
        r.stop(Caller::Module(admin), "guard"),
        Err(denied(
            "admin",
            Operation::Stop,
            "guard",
            Permissions::SECURITY
        ))
    );
    r.stop(Caller::Module(admin), "victim").unwrap();
    assert_eq!(state_of(&r, "victim"), ModuleState::Stopped);

    let log = r.audit_log(Caller::Kernel).unwrap();
    let denied_count = log
        .iter()
        .filter(|e| e.outcome == AuditOutcome::Denied)
        .count();
    assert_eq!(denied_count, 10);
    let last_stop = log.iter().rev().find(|e| e.op == Operation::Stop).unwrap();
    assert_eq!(
        (last_stop.caller.as_str(), last_stop.target.as_str()),
        ("admin", "victim")
    );
    assert_eq!(last_stop.outcome, AuditOutcome::Success);
    assert_eq!(
        last_stop.to_string(),
        format!("#{} t=0 admin stop victim: ok", last_stop.seq)
    );
}

const PARAMS: [ParamSpec; 4] = [
    ParamSpec::new("time_slice_ms", "10")
        .range(1, 100)
        .describe("slice length"),
    ParamSpec::new("mode", "fair").one_of(&["fair", "fifo"]),
    ParamSpec::new("trace", "off").boolean(),
    ParamSpec::new("token", "none").sensitive(),
];

fn sched(j: &Journal) -> Probe {
    Probe::new(ModuleInfo::new("round_robin").params(&PARAMS), j)
}

#[test]
fn command_line_parameters_reach_init() {
    let r = Registry::builder()
        .cmdline("quiet log=debug round_robin.time_slice_ms=5 round_robin.token=s3cret other.x=1")
        .build();
    let j = Journal::default();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let s2 = seen.clone();
    r.register_v2(sched(&j).on_init(move |ctx| {
        assert_eq!(ctx.config_usize("time_slice_ms"), Some(5));
        assert_eq!(ctx.config("mode"), Some("fair"));
        assert_eq!(ctx.config("token"), Some("s3cret"));
        assert_eq!(ctx.name(), "round_robin");
        *s2.lock().unwrap() = format!("{ctx:?}");
        Ok(())
    }))
    .unwrap();
    let shown: Vec<String> = r
        .params("round_robin")
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(
        shown,
        ["time_slice_ms=5", "mode=fair", "trace=off", "token=***"]
    );
    assert!(r.start_all(Caller::Kernel).is_clean());
    let debug = seen.lock().unwrap().clone();
    assert!(debug.contains("\"token\": \"***\""), "{debug}");
    assert!(!debug.contains("s3cret"));
    let p = r.params("round_robin").unwrap();
    assert!(p[3].is_sensitive() && p[3].shown() == "***" && p[3].key() == "token");
    assert_eq!(format!("{:?}", p[3]), "token=***");
}

#[test]
fn bad_parameter_values_fail_init_with_the_reason() {
    let r = Registry::builder()
        .cmdline("round_robin.time_slice_ms=500")
        .build();
    let j = Journal::default();
    r.register_v2(sched(&j)).unwrap();
    let report = r.start_all(Caller::Kernel);
    let err = ModuleError::StepFailed {
        module: "round_robin".into(),
        op: Operation::Init,
        reason: Box::new(ModuleError::InvalidParam {
            module: "round_robin".into(),
            key: "time_slice_ms".into(),
            reason: "`500` is outside 1..=100".into(),
        }),
    };
    assert_eq!(
        report.failed,
        vec![(ModuleName::from("round_robin"), err.clone())]
    );
    assert_eq!(r.status("round_robin").unwrap().last_error, Some(err));
    assert!(j.entries().is_empty(), "init must not run with a bad value");
    // Fixing the value and restarting recovers.
    r.set_param(Caller::Kernel, "round_robin", "time_slice_ms", "50")
        .unwrap();
    r.restart(Caller::Kernel, "round_robin").unwrap();
    assert_eq!(state_of(&r, "round_robin"), ModuleState::Running);
    assert_eq!(r.params("round_robin").unwrap()[0].shown(), "50");

    let r = Registry::builder().cmdline("round_robin.bogus=1").build();
    r.register_v2(sched(&j)).unwrap();
    assert_eq!(
        r.params("round_robin"),
        Err(ModuleError::UnknownParam {
            module: "round_robin".into(),
            key: "bogus".into()
        })
    );
    let report = r.start_all(Caller::Kernel);
    assert!(matches!(
        &report.failed[0].1,
        ModuleError::StepFailed { reason, .. }
            if **reason == ModuleError::UnknownParam { module: "round_robin".into(), key: "bogus".into() }
    ));
}

#[test]
fn run_time_changes_validate_notify_and_audit() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(sched(&j)).unwrap();
    let mut stubborn = Probe::new(ModuleInfo::new("stubborn").params(&PARAMS), &j);
    stubborn.reject_params = true;
    r.register_v2(stubborn).unwrap();
    r.start_all(Caller::Kernel);
    r.set_param(Caller::Kernel, "round_robin", "mode", "fifo")
        .unwrap();
    r.set_param(Caller::Kernel, "round_robin", "token", "topsecret")
        .unwrap();
    assert!(
        j.entries()
            .contains(&"round_robin:param mode=fifo".to_string())
    );
    assert_eq!(
        r.set_param(Caller::Kernel, "round_robin", "mode", "lifo"),
        Err(ModuleError::InvalidParam {
            module: "round_robin".into(),
            key: "mode".into(),
            reason: "`lifo` is not one of [\"fair\", \"fifo\"]".into(),
        })
    );
    assert_eq!(
        r.set_param(Caller::Kernel, "round_robin", "nope", "1"),
        Err(ModuleError::UnknownParam {
            module: "round_robin".into(),
            key: "nope".into()
        })
    );
    assert_eq!(
        r.set_param(Caller::Kernel, "stubborn", "mode", "fifo"),
        Err(ModuleError::Failed("parameter change rejected"))
    );
    assert_eq!(r.params("stubborn").unwrap()[1].shown(), "fair");
    let shown: Vec<String> = r
        .params("round_robin")
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect();
    assert_eq!(
        shown,
        ["time_slice_ms=10", "mode=fifo", "trace=off", "token=***"]
    );
    let log = r.audit_log(Caller::Kernel).unwrap();
    let sets: Vec<_> = log.iter().filter(|e| e.op == Operation::SetParam).collect();
    assert_eq!(sets.len(), 5);
    assert_eq!(sets[1].detail.as_deref(), Some("token"));
    assert!(log.iter().all(|e| !e.to_string().contains("topsecret")));
    // Values survive a restart as overrides.
    r.restart(Caller::Kernel, "round_robin").unwrap();
    assert_eq!(r.params("round_robin").unwrap()[1].shown(), "fifo");
}

#[test]
fn metrics_render_in_prometheus_text_format() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::named("net", &j)).unwrap();
    r.start_all(Caller::Kernel);
    r.dispatch(&helix_modules::v2::Event::Tick { timestamp_ns: 0 });
    r.request(
        Caller::Kernel,
        "net",
        helix_modules::v2::Request::new("k", "x", vec![]),
    )
    .unwrap();
    let text = r.render_metrics();
    for line in [
        "# HELP helix_module_up 1 if the module is running.",
        "# TYPE helix_module_up gauge",
        "helix_module_up{module=\"net\"} 1",
        "helix_module_healthy{module=\"net\"} 1",
        "# TYPE helix_module_events_total counter",
        "helix_module_events_total{module=\"net\",outcome=\"handled\"} 1",
        "helix_module_events_total{module=\"net\",outcome=\"ignored\"} 0",
        "helix_module_events_total{module=\"net\",outcome=\"failed\"} 0",
        "helix_module_events_total{module=\"net\",outcome=\"skipped\"} 0",
        "helix_module_requests_total{module=\"net\",outcome=\"served\"} 1",
        "helix_module_requests_total{module=\"net\",outcome=\"failed\"} 0",
        "helix_module_handler_time_total{module=\"net\"} 0",
        "helix_module_restarts_total{module=\"net\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing `{line}` in\n{text}"
        );
    }
    assert_eq!(
        r.metrics("nope"),
        Err(ModuleError::NotFound {
            name: "nope".into()
        })
    );
}
