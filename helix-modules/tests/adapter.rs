//! The v2 -> v1 adapter: an adapted module carries its full metadata and
//! forwards every call, and two adapted modules registered side by side
//! are distinct and talk to each other.

mod common;

use common::{Journal, Probe};
use helix_modules::v2::{Event, EventKinds, ModuleAdapter, ModuleInfo, Request, Response};
use helix_modules::{
    Caller, Message, Module, ModuleFlags, ModuleMetadata, ParamSpec, Permissions, Registry, Reply,
    Version,
};

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("depth", "4").range(1, 8)];

fn info(name: &'static str, peer: &'static str) -> ModuleInfo {
    let deps: &'static [&'static str] = if name == "ping" { &[] } else { &["?ping"] };
    let _ = peer;
    ModuleInfo::new(name)
        .version(3, 1, 4)
        .description("talker")
        .author("tests")
        .license("MIT")
        .flags(ModuleFlags::HOT_RELOADABLE | ModuleFlags::DRIVER)
        .dependencies(deps)
        .provides(if name == "ping" {
            &["ping.svc"]
        } else {
            &["pong.svc"]
        })
        .events(EventKinds::TICK)
        .priority(3)
        .permissions(Permissions::DEVICE)
        .protected_by(Permissions::DEVICE)
        .params(&PARAMS)
}

#[test]
fn adapted_metadata_is_complete() {
    let j = Journal::default();
    let adapted: Box<dyn Module> =
        Box::new(ModuleAdapter::new(Probe::new(info("pong", "ping"), &j)));
    let meta = adapted.metadata();
    assert_eq!(
        meta,
        ModuleMetadata {
            name: "pong".into(),
            version: Version::new(3, 1, 4),
            description: "talker".into(),
            author: "tests".into(),
            license: "MIT".into(),
            flags: ModuleFlags::HOT_RELOADABLE | ModuleFlags::DRIVER,
            dependencies: vec!["?ping".into()],
            provides: vec!["pong.svc".into()],
            events: EventKinds::TICK,
            priority: 3,
            permissions: Permissions::DEVICE,
            protected_by: Permissions::DEVICE,
            params: PARAMS.to_vec(),
        }
    );
}

#[test]
fn two_adapted_modules_side_by_side_talk_to_each_other() {
    let r = Registry::new();
    let j = Journal::default();
    let ping =
        Probe::new(info("ping", "pong"), &j).on_request(|h, rq| match rq.request_type.as_str() {
            "serve" => h.as_ref().unwrap().request(
                "pong.svc",
                Request::new("ping", "hello", b"from ping".to_vec()),
            ),
            _ => Ok(Response::ok(b"ping here".to_vec())),
        });
    let pong =
        Probe::new(info("pong", "ping"), &j).on_request(|h, rq| match rq.request_type.as_str() {
            "hello" => {
                let back = h
                    .as_ref()
                    .unwrap()
                    .request("ping", Request::new("pong", "who", vec![]));
                // ping is in a call on this chain: re-entrance is refused.
                assert!(back.is_err());
                let mut out = b"pong got ".to_vec();
                out.extend_from_slice(&rq.payload);
                Ok(Response::ok(out))
            }
            _ => h
                .as_ref()
                .unwrap()
                .request("ping", Request::new("pong", "who", vec![])),
        });
    let a: Box<dyn Module> = Box::new(ModuleAdapter::new(ping));
    let b: Box<dyn Module> = Box::new(ModuleAdapter::new(pong));
    let ida = r.register(a).unwrap();
    let idb = r.register(b).unwrap();
    assert_ne!(ida, idb);
    assert!(r.start_all(Caller::Kernel).is_clean());
    let list = r.list();
    assert_eq!(list.len(), 2);
    assert_eq!(
        (list[0].name.as_str(), list[1].name.as_str()),
        ("ping", "pong")
    );
    assert_eq!(list[1].version, Version::new(3, 1, 4));
    assert_eq!(list[1].dependencies, vec!["?ping".to_string()]);
    assert_eq!(r.providers("pong.svc"), vec![idb]);
    let resp = r
        .request(
            Caller::Kernel,
            "ping",
            Request::new("kernel", "serve", vec![]),
        )
        .unwrap();
    assert_eq!(resp.payload, b"pong got from ping");
    let resp = r
        .request(
            Caller::Kernel,
            "pong",
            Request::new("kernel", "ask", vec![]),
        )
        .unwrap();
    assert_eq!(resp.payload, b"ping here");
    // Events, health, params and state are forwarded too.
    let s = r.dispatch(&Event::Tick { timestamp_ns: 3 });
    assert_eq!(s.handled, 2);
    r.set_param(Caller::Kernel, "pong", "depth", "6").unwrap();
    assert!(j.entries().contains(&"pong:param depth=6".to_string()));
    assert_eq!(r.poll_health(), 2);
}

#[test]
fn adapter_forwards_every_message() {
    let j = Journal::default();
    let mut probe = Probe::new(info("m", "x"), &j);
    probe.state = vec![7, 7];
    let mut a = ModuleAdapter::new(probe);
    assert_eq!(a.inner().state, vec![7, 7]);
    a.inner_mut().state.push(8);
    assert_eq!(Module::save_state(&a), Some(vec![7, 7, 8]));
    Module::restore_state(&mut a, &[1]).unwrap();
    assert_eq!(a.inner().state, vec![1]);
    assert!(Module::is_healthy(&a));
    assert_eq!(
        a.handle_message(Message::Event(&Event::Shutdown)).unwrap(),
        Reply::Event(helix_modules::v2::EventResponse::Handled)
    );
    assert_eq!(
        a.handle_message(Message::Request(&Request::new("x", "y", b"z".to_vec())))
            .unwrap(),
        Reply::Response(Response::ok(b"z".to_vec()))
    );
    assert_eq!(
        a.handle_message(Message::ParamChanged {
            key: "depth",
            value: "2"
        })
        .unwrap(),
        Reply::Ack
    );
    Module::start(&mut a).unwrap();
    Module::stop(&mut a).unwrap();
    let probe = a.into_inner();
    assert_eq!(probe.state, vec![1]);
    assert_eq!(j.with_suffix(":start"), ["m"]);
}
