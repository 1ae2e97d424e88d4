//! IPC: routing by name and capability, requests from handlers, and every
//! typed error (unknown target, not running, re-entrance, busy, payload
//! limit, permission, spoofed source, registry gone).

mod common;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;

use common::{Journal, Probe};
use helix_modules::v2::{Context, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{
    AuditOutcome, Caller, ModuleError, ModuleState, Operation, Permissions, Registry,
};

fn req(source: &'static str, kind: &str) -> Request {
    Request::new(source, kind, vec![])
}

#[test]
fn routes_by_name_then_by_capability_priority() {
    let r = Registry::new();
    let j = Journal::default();
    let answer = |text: &'static [u8]| {
        move |_: &Option<ModuleHandle>, _: &Request| Ok(Response::ok(text.to_vec()))
    };
    r.register_v2(Probe::new(ModuleInfo::new("a").provides(&["svc"]), &j).on_request(answer(b"a")))
        .unwrap();
    r.register_v2(
        Probe::new(ModuleInfo::new("b").provides(&["svc"]).priority(5), &j)
            .on_request(answer(b"b")),
    )
    .unwrap();
    r.register_v2(Probe::new(ModuleInfo::new("c").provides(&["svc"]), &j).on_request(answer(b"c")))
        .unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.request(Caller::Kernel, "a", req("k", "x"))
            .unwrap()
            .payload,
        b"a"
    );
    assert_eq!(
        r.request(Caller::Kernel, "svc", req("k", "x"))
            .unwrap()
            .payload,
        b"b"
    );
    r.stop(Caller::Kernel, "b").unwrap();
    assert_eq!(
        r.request(Caller::Kernel, "svc", req("k", "x"))
            .unwrap()
            .payload,
        b"a"
    );
    r.stop(Caller::Kernel, "a").unwrap();
    r.stop(Caller::Kernel, "c").unwrap();
    assert_eq!(
        r.request(Caller::Kernel, "svc", req("k", "x")),
        Err(ModuleError::TargetNotRunning {
            module: "a".into(),
            state: ModuleState::Stopped
        })
    );
    assert_eq!(
        r.request(Caller::Kernel, "nothing", req("k", "x")),
        Err(ModuleError::NotFound {
            name: "nothing".into()
        })
    );
    assert_eq!(r.metrics("b").unwrap().requests_served, 1);
}

#[test]
fn target_must_be_running() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::named("idle", &j)).unwrap();
    assert_eq!(
        r.request(Caller::Kernel, "idle", req("k", "x")),
        Err(ModuleError::TargetNotRunning {
            module: "idle".into(),
            state: ModuleState::Registered
        })
    );
}

#[test]
fn handlers_call_other_modules_and_reentrance_is_refused() {
    let r = Registry::new();
    let j = Journal::default();
    // a forwards to b; b calls back into a (A -> B -> A) or into itself.
    let a = Probe::named("a", &j).on_request(|h, rq| {
        let h = h.as_ref().unwrap();
        match rq.request_type.as_str() {
            "forward" => h.request("b", req("a", "ping")),
            "loop" => h.request("b", req("a", "call-back")),
            "self" => h.request("a", req("a", "x")),
            _ => Ok(Response::ok(b"a-done".to_vec())),
        }
    });
    let b = Probe::named("b", &j).on_request(|h, rq| {
        let h = h.as_ref().unwrap();
        match rq.request_type.as_str() {
            "call-back" => h.request("a", req("b", "anything")),
            _ => Ok(Response::ok(b"pong".to_vec())),
        }
    });
    r.register_v2(a).unwrap();
    r.register_v2(b).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.request(Caller::Kernel, "a", req("k", "forward"))
            .unwrap()
            .payload,
        b"pong"
    );
    assert_eq!(
        r.request(Caller::Kernel, "a", req("k", "loop")),
        Err(ModuleError::Reentrant { module: "a".into() })
    );
    assert_eq!(
        r.request(Caller::Kernel, "a", req("k", "self")),
        Err(ModuleError::Reentrant { module: "a".into() })
    );
    // Nothing is left stuck: both still answer.
    assert_eq!(
        r.request(Caller::Kernel, "a", req("k", "plain"))
            .unwrap()
            .payload,
        b"a-done"
    );
    assert!(!r.status("a").unwrap().busy);
    assert_eq!(r.metrics("a").unwrap().requests_failed, 2);
    assert_eq!(r.metrics("b").unwrap().requests_failed, 1);
}

#[test]
fn busy_targets_are_waited_for_by_the_kernel_and_refused_to_modules() {
    let r = Registry::new();
    let j = Journal::default();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = Mutex::new(release_rx);
    r.register_v2(Probe::named("slow", &j).on_request(move |_, rq| {
        if rq.request_type == "block" {
            entered_tx.send(()).unwrap();
            release_rx.lock().unwrap().recv().unwrap();
        }
        Ok(Response::ok(b"slow".to_vec()))
    }))
    .unwrap();
    r.register_v2(
        Probe::named("caller", &j)
            .on_request(|h, _| h.as_ref().unwrap().request("slow", req("caller", "x"))),
    )
    .unwrap();
    r.start_all(Caller::Kernel);
    let r1 = r.clone();
    let blocker = thread::spawn(move || r1.request(Caller::Kernel, "slow", req("k", "block")));
    entered_rx.recv().unwrap();
    // A module-held chain never waits.
    assert_eq!(
        r.request(Caller::Kernel, "caller", req("k", "x")),
        Err(ModuleError::Busy {
            module: "slow".into()
        })
    );
    // The kernel waits until the other CPU's call ends.
    let r2 = r.clone();
    let waiter = thread::spawn(move || r2.request(Caller::Kernel, "slow", req("k", "x")));
    thread::sleep(std::time::Duration::from_millis(20));
    release_tx.send(()).unwrap();
    assert_eq!(blocker.join().unwrap().unwrap().payload, b"slow");
    assert_eq!(waiter.join().unwrap().unwrap().payload, b"slow");
}

#[test]
fn payload_limits_apply_both_ways() {
    let r = Registry::builder().max_payload(8).build();
    let j = Journal::default();
    r.register_v2(
        Probe::named("echo", &j)
            .on_request(|_, rq| Ok(Response::ok(vec![0; rq.payload.len() * 4]))),
    )
    .unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.request(Caller::Kernel, "echo", Request::new("k", "x", vec![0; 9])),
        Err(ModuleError::PayloadTooLarge { size: 9, limit: 8 })
    );
    assert_eq!(
        r.request(Caller::Kernel, "echo", Request::new("k", "x", vec![0; 3])),
        Err(ModuleError::PayloadTooLarge { size: 12, limit: 8 })
    );
    assert_eq!(
        r.request(Caller::Kernel, "echo", Request::new("k", "x", vec![0; 2]))
            .unwrap()
            .payload
            .len(),
        8
    );
    assert_eq!(r.limits().max_payload, 8);
}

#[test]
fn protected_targets_check_permissions_and_are_audited() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::new(
        ModuleInfo::new("dev").protected_by(Permissions::DEVICE),
        &j,
    ))
    .unwrap();
    let allowed = Probe::new(
        ModuleInfo::new("trusted").permissions(Permissions::DEVICE),
        &j,
    )
    .on_request(|h, _| h.as_ref().unwrap().request("dev", req("trusted", "x")));
    let denied = Probe::named("untrusted", &j)
        .on_request(|h, _| h.as_ref().unwrap().request("dev", req("untrusted", "x")));
    r.register_v2(allowed).unwrap();
    r.register_v2(denied).unwrap();
    r.start_all(Caller::Kernel);
    assert!(r.request(Caller::Kernel, "trusted", req("k", "go")).is_ok());
    assert_eq!(
        r.request(Caller::Kernel, "untrusted", req("k", "go")),
        Err(ModuleError::PermissionDenied {
            caller: "untrusted".into(),
            op: Operation::Request,
            target: "dev".into(),
            missing: Permissions::DEVICE,
        })
    );
    let log = r.audit_log(Caller::Kernel).unwrap();
    let requests: Vec<_> = log.iter().filter(|e| e.op == Operation::Request).collect();
    assert_eq!(requests.len(), 2);
    assert_eq!(requests[0].caller, "trusted");
    assert_eq!(requests[0].outcome, AuditOutcome::Success);
    assert_eq!(requests[0].detail.as_deref(), Some("x"));
    assert_eq!(requests[1].caller, "untrusted");
    assert_eq!(requests[1].outcome, AuditOutcome::Denied);
}

#[test]
fn module_callers_cannot_spoof_the_source() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::named("target", &j)).unwrap();
    let liar = r.register_v2(Probe::named("liar", &j)).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.request(Caller::Module(liar), "target", req("kernel", "x")),
        Err(ModuleError::SourceMismatch {
            claimed: "kernel".into(),
            actual: "liar".into()
        })
    );
    assert!(
        r.request(Caller::Module(liar), "target", req("liar", "x"))
            .is_ok()
    );
}

struct Silent;
impl ModuleTrait for Silent {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("silent")
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

#[test]
fn default_handler_refuses_and_counts_a_failure() {
    let r = Registry::new();
    r.register_v2(Silent).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.request(Caller::Kernel, "silent", req("k", "x")),
        Err(ModuleError::Failed("module does not serve requests"))
    );
    assert_eq!(r.metrics("silent").unwrap().requests_failed, 1);
}

#[test]
fn handles_outliving_the_registry_report_it() {
    let kept: Arc<Mutex<Option<ModuleHandle>>> = Arc::default();
    let k = kept.clone();
    let j = Journal::default();
    {
        let r = Registry::new();
        r.register_v2(Probe::named("m", &j).on_init(move |ctx| {
            *k.lock().unwrap() = Some(ctx.handle());
            Ok(())
        }))
        .unwrap();
        r.start_all(Caller::Kernel);
    }
    let h = kept.lock().unwrap().clone().unwrap();
    assert_eq!(
        h.request("m", req("m", "x")),
        Err(ModuleError::RegistryGone)
    );
    assert_eq!(h.publish("e", vec![]), Err(ModuleError::RegistryGone));
    assert_eq!(h.caller(), Caller::Module(h.id()));
    assert_eq!(format!("{h:?}"), "ModuleHandle(#0)");
}

#[test]
fn unknown_module_caller_is_not_found() {
    let r = Registry::new();
    let j = Journal::default();
    let id = r.register_v2(Probe::named("gone", &j)).unwrap();
    r.register_v2(Probe::named("t", &j)).unwrap();
    r.start_all(Caller::Kernel);
    r.stop(Caller::Kernel, "gone").unwrap();
    r.unload(Caller::Kernel, "gone").unwrap();
    assert_eq!(
        r.request(Caller::Module(id), "t", req("gone", "x")),
        Err(ModuleError::NotFound { name: "#0".into() })
    );
}

#[test]
fn a_kept_id_skips_the_lookup_and_keeps_every_rule() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(
        Probe::new(ModuleInfo::new("a").provides(&["svc"]), &j)
            .on_request(|_, _| Ok(Response::ok(b"a".to_vec()))),
    )
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("dev").protected_by(Permissions::DEVICE),
        &j,
    ))
    .unwrap();
    r.start_all(Caller::Kernel);
    // By name or by capability: the same module, the same answer.
    let id = r.lookup("a").unwrap();
    assert_eq!(r.lookup("svc"), Ok(id));
    assert_eq!(
        r.request_id(Caller::Kernel, id, req("k", "x"))
            .unwrap()
            .payload,
        b"a"
    );
    assert!(matches!(
        r.lookup("nobody"),
        Err(ModuleError::NotFound { .. })
    ));
    // The rules of `request` hold: a stopped target, an id nobody has,
    // a protected target and a payload over the limit.
    r.stop(Caller::Kernel, "a").unwrap();
    assert!(matches!(
        r.request_id(Caller::Kernel, id, req("k", "x")),
        Err(ModuleError::TargetNotRunning { .. })
    ));
    let nobody = helix_modules::ModuleId::hosted(999);
    assert!(matches!(
        r.request_id(Caller::Kernel, nobody, req("k", "x")),
        Err(ModuleError::NotFound { .. })
    ));
    let dev = r.lookup("dev").unwrap();
    let untrusted = r.register_v2(Probe::named("untrusted", &j)).unwrap();
    r.init(Caller::Kernel, "untrusted").unwrap();
    r.start(Caller::Kernel, "untrusted").unwrap();
    assert!(matches!(
        r.request_id(Caller::Module(untrusted), dev, req("untrusted", "x")),
        Err(ModuleError::PermissionDenied { .. })
    ));
    let limit = r.limits().max_payload;
    assert!(matches!(
        r.request_id(
            Caller::Kernel,
            dev,
            Request::new("k", "x", vec![0; limit + 1])
        ),
        Err(ModuleError::PayloadTooLarge { .. })
    ));
}
