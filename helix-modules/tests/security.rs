//! The SECURITY hook: a running SECURITY module is asked about stop,
//! unload, set-param, reload, requests to protected modules (those in
//! `screened_requests.rs`) and the kernel's `authorize`, after the
//! permission check; it may refuse but never grant; its failures refuse
//! (fail closed); every decision is audited; nothing done to or by it asks
//! it; without one, nothing changes.

mod common;

use std::sync::Arc;

use common::{Journal, Probe, Seen, probe, security_refused as refused};
use helix_modules::security::{self, REQUEST_TYPE};
use helix_modules::v2::{ModuleInfo, Response};
use helix_modules::{
    AuditOutcome, Caller, ModuleError, ModuleFlags, ModuleState, Operation, ParamSpec, Registry,
};

/// A SECURITY module `sec` that refuses stopping `x` and allows the rest,
/// answering `ok <op> <target>`.
fn guarded(r: &Registry, j: &Journal) -> Seen {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let sec = Probe::new(ModuleInfo::new("sec").flags(ModuleFlags::SECURITY), j).on_request(
        move |_, req| {
            assert_eq!(req.request_type, REQUEST_TYPE);
            let q = security::decode(&req.payload).expect("query decodes");
            log.lock().unwrap().push((
                q.op,
                q.caller.into(),
                q.target.into(),
                q.detail.into(),
                q.evidence.len(),
            ));
            if q.op == Operation::Stop && q.target == "x" {
                return Ok(Response::err("x stays up"));
            }
            Ok(Response::ok(
                format!("ok {} {}", q.op, q.target).into_bytes(),
            ))
        },
    );
    r.register_v2(sec).unwrap();
    seen
}

const LEVEL: [ParamSpec; 1] = [ParamSpec::new("level", "low").sensitive()];

fn state(r: &Registry, name: &str) -> ModuleState {
    r.status(name).unwrap().state
}

#[test]
fn refuses_what_it_refuses_and_allows_the_rest() {
    let (r, j) = (Registry::new(), Journal::default());
    let seen = guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("x"));
    probe(&r, &j, ModuleInfo::new("y"));
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(
        r.stop(Caller::Kernel, "x"),
        Err(refused(Operation::Stop, "x", "x stays up"))
    );
    assert_eq!(state(&r, "x"), ModuleState::Running);
    r.stop(Caller::Kernel, "y").unwrap();
    assert_eq!(state(&r, "y"), ModuleState::Stopped);
    r.unload(Caller::Kernel, "y").unwrap();
    let seen = seen.lock().unwrap().clone();
    let ops: Vec<_> = seen.iter().map(|s| (s.0, s.2.as_str())).collect();
    assert_eq!(
        ops,
        [
            (Operation::Stop, "x"),
            (Operation::Stop, "y"),
            (Operation::Unload, "y")
        ]
    );
    assert_eq!(seen[0].1, "kernel");
}

#[test]
fn every_decision_is_audited() {
    let (r, j) = (Registry::new(), Journal::default());
    guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("x"));
    probe(&r, &j, ModuleInfo::new("y"));
    r.start_all(Caller::Kernel);
    let _ = r.stop(Caller::Kernel, "x");
    r.stop(Caller::Kernel, "y").unwrap();
    let log = r.audit_log(Caller::Kernel).unwrap();
    let about = |target: &str| -> Vec<(Option<String>, AuditOutcome)> {
        log.iter()
            .filter(|e| e.op == Operation::Stop && e.target == target)
            .map(|e| (e.detail.clone(), e.outcome.clone()))
            .collect()
    };
    assert_eq!(
        about("x"),
        [
            (
                Some("security sec: x stays up".into()),
                AuditOutcome::Denied
            ),
            (None, AuditOutcome::Denied),
        ]
    );
    assert_eq!(
        about("y"),
        [
            (
                Some("security sec: ok stop y".into()),
                AuditOutcome::Success
            ),
            (None, AuditOutcome::Success),
        ]
    );
}

#[test]
fn it_never_grants_what_permissions_deny() {
    let (r, j) = (Registry::new(), Journal::default());
    let seen = guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("y"));
    let weak = r.register_v2(Probe::named("weak", &j)).unwrap();
    r.start_all(Caller::Kernel);
    let denied = r.stop(Caller::Module(weak), "y").unwrap_err();
    assert!(
        matches!(denied, ModuleError::PermissionDenied { .. }),
        "{denied}"
    );
    let denied = r
        .authorize(Caller::Module(weak), Operation::Load, "m.ko", b"")
        .unwrap_err();
    assert!(
        matches!(denied, ModuleError::PermissionDenied { .. }),
        "{denied}"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "asked about a denied operation"
    );
    assert_eq!(state(&r, "y"), ModuleState::Running);
}

#[test]
fn without_a_security_module_nothing_changes() {
    let (r, j) = (Registry::new(), Journal::default());
    probe(&r, &j, ModuleInfo::new("x"));
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Load, "m.ko", b"elf"),
        Ok(None)
    );
    r.stop(Caller::Kernel, "x").unwrap();
    let log = r.audit_log(Caller::Kernel).unwrap();
    // No decision of a SECURITY module is recorded with any operation.
    assert!(
        log.iter()
            .all(|e| !e.detail.as_deref().unwrap_or("").contains("security")),
        "{log:?}"
    );
    assert!(j.entries().iter().all(|e| !e.ends_with(":request")));
}

#[test]
fn a_stopped_security_module_is_not_asked() {
    let (r, j) = (Registry::new(), Journal::default());
    let seen = guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("x"));
    r.start_all(Caller::Kernel);
    // Stopping it is not asked of it (only permissions count).
    r.stop(Caller::Kernel, "sec").unwrap();
    r.stop(Caller::Kernel, "x").unwrap();
    assert!(seen.lock().unwrap().is_empty());
}

#[test]
fn load_evidence_passes_whole_beyond_the_payload_limit() {
    let r = Registry::builder().max_payload(1024).build();
    let j = Journal::default();
    let seen = guarded(&r, &j);
    r.start_all(Caller::Kernel);
    let binary = vec![0x7f; 200 * 1024];
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Load, "e1000.ko", &binary),
        Ok(Some("ok load e1000.ko".into()))
    );
    assert_eq!(
        seen.lock().unwrap()[0],
        (
            Operation::Load,
            "kernel".into(),
            "e1000.ko".into(),
            String::new(),
            binary.len()
        )
    );
    let log = r.audit_log(Caller::Kernel).unwrap();
    let load = log
        .iter()
        .find(|e| e.op == Operation::Load)
        .expect("audited");
    assert_eq!(
        load.detail.as_deref(),
        Some("security sec: ok load e1000.ko")
    );
    assert_eq!(load.outcome, AuditOutcome::Success);
}

#[test]
fn set_param_shows_key_and_value_and_audits_only_the_key() {
    let (r, j) = (Registry::new(), Journal::default());
    let seen = guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("y").params(&LEVEL));
    r.start_all(Caller::Kernel);
    r.set_param(Caller::Kernel, "y", "level", "secret-7")
        .unwrap();
    let seen = seen.lock().unwrap()[0].clone();
    assert_eq!(seen.0, Operation::SetParam);
    assert_eq!((seen.3.as_str(), seen.4), ("level", 8));
    let log = r.audit_log(Caller::Kernel).unwrap();
    assert!(log.iter().all(|e| !e.to_string().contains("secret-7")));
    let details: Vec<_> = log
        .iter()
        .filter(|e| e.op == Operation::SetParam)
        .map(|e| e.detail.as_deref())
        .collect();
    assert_eq!(
        details,
        [Some("level; security sec: ok set-param y"), Some("level")]
    );
}

#[test]
fn a_cascade_stops_nothing_when_one_stop_is_refused() {
    let (r, j) = (Registry::new(), Journal::default());
    guarded(&r, &j);
    probe(&r, &j, ModuleInfo::new("base").provides(&["base"]));
    probe(&r, &j, ModuleInfo::new("x").dependencies(&["base"]));
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.stop_cascade(Caller::Kernel, "base"),
        Err(refused(Operation::Stop, "x", "x stays up"))
    );
    assert_eq!(state(&r, "x"), ModuleState::Running);
    assert_eq!(state(&r, "base"), ModuleState::Running);
}

#[test]
fn an_erroring_security_module_refuses() {
    let (r, j) = (Registry::new(), Journal::default());
    let sec = Probe::new(ModuleInfo::new("sec").flags(ModuleFlags::SECURITY), &j)
        .on_request(|_, _| Err(ModuleError::Failed("policy store unreadable")));
    r.register_v2(sec).unwrap();
    probe(&r, &j, ModuleInfo::new("y"));
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.stop(Caller::Kernel, "y"),
        Err(refused(
            Operation::Stop,
            "y",
            "it could not answer: policy store unreadable"
        ))
    );
    assert_eq!(state(&r, "y"), ModuleState::Running);
}

#[test]
fn a_faulting_security_module_refuses_then_stays_closed() {
    let r = Registry::builder()
        .containment(Arc::new(common::CatchUnwind::default()))
        .build();
    let j = Journal::default();
    let sec = Probe::new(ModuleInfo::new("sec").flags(ModuleFlags::SECURITY), &j)
        .on_request(|_, _| panic!("policy bug"));
    r.register_v2(sec).unwrap();
    probe(&r, &j, ModuleInfo::new("y"));
    r.start_all(Caller::Kernel);
    let err = r.stop(Caller::Kernel, "y").unwrap_err();
    let ModuleError::SecurityRefused { by, reason, .. } = &err else {
        panic!("not a refusal: {err}");
    };
    assert_eq!(by, "sec");
    assert!(reason.contains("policy bug"), "{reason}");
    assert_eq!(state(&r, "sec"), ModuleState::Failed);
    // Failed, it still refuses everything (fail closed) ...
    let err = r
        .authorize(Caller::Kernel, Operation::Load, "m.ko", b"")
        .unwrap_err();
    assert!(err.to_string().contains("has failed"), "{err}");
    assert_eq!(state(&r, "y"), ModuleState::Running);
    // ... until it is restarted (which does not ask it) or unloaded.
    r.unload(Caller::Kernel, "sec").unwrap();
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Load, "m.ko", b""),
        Ok(None)
    );
    r.stop(Caller::Kernel, "y").unwrap();
}

#[test]
fn a_security_module_is_asked_only_about_the_operations_it_screens() {
    use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
    use helix_modules::{Caller, ModuleError, ModuleFlags, Operation, Registry};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// Refuses everything it is asked, and counts the questions.
    struct LoadsOnly(Arc<AtomicU32>);
    const OPS: [Operation; 1] = [Operation::Load];
    impl ModuleTrait for LoadsOnly {
        fn info(&self) -> ModuleInfo {
            ModuleInfo::new("loads_only")
                .flags(ModuleFlags::SECURITY)
                .screens(&OPS)
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
            self.0.fetch_add(1, Ordering::SeqCst);
            Ok(Response::err("no"))
        }
    }
    struct Plain;
    impl ModuleTrait for Plain {
        fn info(&self) -> ModuleInfo {
            ModuleInfo::new("plain")
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

    let asked = Arc::new(AtomicU32::new(0));
    let r = Registry::new();
    r.register_v2(LoadsOnly(asked.clone())).unwrap();
    r.register_v2(Plain).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    // A stop is not its business: not asked, not refused.
    r.stop(Caller::Kernel, "plain").unwrap();
    assert_eq!(asked.load(Ordering::SeqCst), 0);
    // A load is: asked, and its refusal stands.
    assert!(matches!(
        r.authorize(Caller::Kernel, Operation::Load, "m.hxm", b"x"),
        Err(ModuleError::SecurityRefused { .. })
    ));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
    // A SECURITY module that screens everything is still not asked about
    // what is done to one that screens less: nothing done to or by any
    // SECURITY module asks one.
    let j = Journal::default();
    let seen = guarded(&r, &j);
    r.init(Caller::Kernel, "sec").unwrap();
    r.start(Caller::Kernel, "sec").unwrap();
    r.stop(Caller::Kernel, "loads_only").unwrap();
    assert!(
        seen.lock().unwrap().is_empty(),
        "{:?}",
        seen.lock().unwrap()
    );
}
