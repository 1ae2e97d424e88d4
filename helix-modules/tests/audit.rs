//! The audit ring: bounded, drops counted, oldest records overwritten in
//! order; and what `start_all` leaves in it (one record for the run, one
//! per module that did not start).

mod common;

use common::{Journal, Probe};
use helix_modules::v2::ModuleInfo;
use helix_modules::{AuditOutcome, Caller, ModuleError, Operation, Registry};

#[test]
fn audit_ring_is_bounded_and_counts_drops() {
    let r = Registry::builder().audit_capacity(3).build();
    for _ in 0..5 {
        let _ = r.stop(Caller::Kernel, "ghost");
    }
    let log = r.audit_log(Caller::Kernel).unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 4, 5]);
    assert_eq!(log[2].op, Operation::ReadAudit);
    assert_eq!(r.audit_dropped(), 3);
    assert_eq!(
        log[0].outcome,
        AuditOutcome::Failed(ModuleError::NotFound {
            name: "ghost".into()
        })
    );
    assert!(
        log[0]
            .to_string()
            .ends_with("kernel stop ghost: failed: no module or capability named `ghost`")
    );
    let none = Registry::builder().audit_capacity(0).build();
    let _ = none.stop(Caller::Kernel, "x");
    assert!(none.audit_log(Caller::Kernel).unwrap().is_empty());
}

#[test]
fn start_all_is_audited_once_for_the_run_and_once_per_module_that_did_not_start() {
    let (r, j) = (Registry::new(), Journal::default());
    for name in ["a", "b", "c"] {
        r.register_v2(Probe::named(name, &j)).unwrap();
    }
    let mut bad = Probe::named("bad", &j);
    bad.fail_init = Some(ModuleError::Failed("no device"));
    r.register_v2(bad).unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("orphan").dependencies(&["ghost"]),
        &j,
    ))
    .unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started.len(), 3);
    let log = r.audit_log(Caller::Kernel).unwrap();
    let starts: Vec<_> = log.iter().filter(|e| e.op == Operation::Start).collect();
    // The module whose init failed and the one refused (its dependency is
    // missing) have a record each; the three started share one.
    assert_eq!(starts.len(), 3, "{starts:?}");
    assert_eq!(starts[0].target, "bad");
    assert!(matches!(
        starts[0].outcome,
        AuditOutcome::Failed(ModuleError::StepFailed { .. })
    ));
    assert_eq!(starts[1].target, "orphan");
    assert!(matches!(
        starts[1].outcome,
        AuditOutcome::Failed(ModuleError::DependencyMissing { .. })
    ));
    assert_eq!(starts[2].target, "*");
    assert_eq!(starts[2].detail.as_deref(), Some("3 started"));
    assert_eq!(starts[2].outcome, AuditOutcome::Success);
}
