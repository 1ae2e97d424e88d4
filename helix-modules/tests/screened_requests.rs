//! Requests to protected modules and the SECURITY module: each is shown
//! to it (after the permission check) and goes ahead only if it allows;
//! requests to it, and its own requests, do not ask it; and a request
//! goes to the very module it was screened for.

mod common;

use std::sync::Arc;

use common::{Journal, Probe, Seen, probe, security_refused as refused};
use helix_modules::security::{self, REQUEST_TYPE};
use helix_modules::v2::{ModuleInfo, Request, Response};
use helix_modules::{Caller, ModuleFlags, Operation, Permissions, Registry};

#[test]
fn protected_requests_are_screened_requests_to_it_are_not() {
    let (r, j) = (Registry::new(), Journal::default());
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let sec = Probe::new(
        ModuleInfo::new("sec")
            .flags(ModuleFlags::SECURITY)
            .protected_by(Permissions::DEVICE),
        &j,
    )
    .on_request(move |_, req| {
        if req.request_type != REQUEST_TYPE {
            return Ok(Response::ok(b"direct".to_vec()));
        }
        let q = security::decode(&req.payload).unwrap();
        log.lock()
            .unwrap()
            .push((q.op, q.caller.into(), q.target.into(), q.detail.into(), 0));
        Ok(if q.detail == "write" {
            Response::err("no writes")
        } else {
            Response::ok(Vec::new())
        })
    });
    r.register_v2(sec).unwrap();
    probe(
        &r,
        &j,
        ModuleInfo::new("disk").protected_by(Permissions::DEVICE),
    );
    r.start_all(Caller::Kernel);
    let req = |t: &str| Request::new("kernel", t, Vec::new());
    assert!(r.request(Caller::Kernel, "disk", req("read")).is_ok());
    assert_eq!(
        r.request(Caller::Kernel, "disk", req("write")),
        Err(refused(Operation::Request, "disk", "no writes"))
    );
    // A request to the SECURITY module itself does not ask it.
    assert_eq!(
        r.request(Caller::Kernel, "sec", req("write"))
            .unwrap()
            .payload,
        b"direct"
    );
    let asked: Vec<_> = seen.lock().unwrap().iter().map(|s| s.3.clone()).collect();
    assert_eq!(asked, ["read", "write"]);
}

#[test]
fn its_own_requests_do_not_ask_it() {
    let (r, j) = (Registry::new(), Journal::default());
    probe(
        &r,
        &j,
        ModuleInfo::new("disk").protected_by(Permissions::DEVICE),
    );
    // Before allowing, it asks `disk` (protected) through its handle: no
    // re-entrance into itself, so the answer comes back.
    let sec = Probe::new(
        ModuleInfo::new("sec")
            .flags(ModuleFlags::SECURITY)
            .permissions(Permissions::DEVICE),
        &j,
    )
    .on_request(|handle, req| {
        let h = handle.as_ref().expect("handle");
        let probe = Request::new("sec", "ping", Vec::new());
        h.request("disk", probe)?;
        let q = security::decode(&req.payload).unwrap();
        Ok(Response::ok(format!("checked {}", q.target).into_bytes()))
    });
    r.register_v2(sec).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.authorize(Caller::Kernel, Operation::Load, "m.ko", b""),
        Ok(Some("checked m.ko".into()))
    );
}

#[test]
fn a_screened_request_goes_to_the_provider_that_was_screened() {
    let (r, j) = (Registry::new(), Journal::default());
    let answer = |who: &'static str| {
        move |_: &Option<_>, _: &Request| Ok(Response::ok(who.as_bytes().to_vec()))
    };
    let info = |name| {
        ModuleInfo::new(name)
            .provides(&["store"])
            .protected_by(Permissions::DEVICE)
    };
    r.register_v2(Probe::new(info("low"), &j).on_request(answer("low")))
        .unwrap();
    // `high` would win the capability, but it is not running yet.
    r.register_v2(Probe::new(info("high").priority(9), &j).on_request(answer("high")))
        .unwrap();
    // While it is being asked about `low`, the SECURITY module's answer
    // races with `high` starting.
    let registry = r.clone();
    let sec = Probe::new(ModuleInfo::new("sec").flags(ModuleFlags::SECURITY), &j).on_request(
        move |_, req| {
            let q = security::decode(&req.payload).unwrap();
            assert_eq!(q.target, "low");
            registry.init(Caller::Kernel, "high").unwrap();
            registry.start(Caller::Kernel, "high").unwrap();
            Ok(Response::ok(Vec::new()))
        },
    );
    r.register_v2(sec).unwrap();
    for name in ["sec", "low"] {
        r.init(Caller::Kernel, name).unwrap();
        r.start(Caller::Kernel, name).unwrap();
    }
    let req = Request::new("kernel", "get", Vec::new());
    let got = r.request(Caller::Kernel, "store", req).unwrap();
    assert_eq!(got.payload, b"low", "the screened module answers");
}
