//! Event dispatch: subscriptions, priority order, outcome counting, errors
//! lowering health without panics, busy modules skipped, custom events
//! published from handlers, v1 modules answering with the wrong reply,
//! subscriber lists longer than one dispatch chunk, and what a handler may
//! call during a dispatch.

mod common;

use std::sync::mpsc;
use std::thread;

use common::{Journal, Probe, leak};
use helix_modules::v2::{
    Event, EventKinds, EventResponse, ModuleInfo, PressureLevel, Request, Response,
};
use helix_modules::{
    Caller, DispatchSummary, Health, Message, Module, ModuleError, ModuleMetadata, Registry, Reply,
    SupervisorPolicy,
};

#[test]
fn only_subscribers_receive_in_priority_order() {
    let r = Registry::new();
    let j = Journal::default();
    let tick = EventKinds::TICK;
    r.register_v2(Probe::new(
        ModuleInfo::new("low").events(tick).priority(-5),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("high").events(tick).priority(10),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(ModuleInfo::new("mid-a").events(tick), &j))
        .unwrap();
    r.register_v2(Probe::new(ModuleInfo::new("mid-b").events(tick), &j))
        .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("deaf").events(EventKinds::SHUTDOWN),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("never-started").events(tick),
        &j,
    ))
    .unwrap();
    r.start_all(Caller::Kernel);
    r.stop(Caller::Kernel, "never-started").unwrap();
    j.clear();
    let s = r.dispatch(&Event::Tick { timestamp_ns: 5 });
    assert_eq!(
        s,
        DispatchSummary {
            delivered: 4,
            handled: 4,
            ignored: 0,
            failed: 0,
            skipped: 0
        }
    );
    assert_eq!(j.with_suffix(":event"), ["high", "mid-a", "mid-b", "low"]);
    j.clear();
    r.dispatch(&Event::Shutdown);
    assert_eq!(j.with_suffix(":event"), ["deaf"]);
    j.clear();
    let s = r.dispatch(&Event::MemoryPressure {
        level: PressureLevel::Critical,
    });
    assert_eq!(s.delivered, 0);
    assert_eq!(r.metrics("deaf").unwrap().events_handled, 1);
    assert_eq!(r.metrics("never-started").unwrap().events_handled, 0);
}

#[test]
fn outcomes_are_counted_and_errors_lower_health() {
    let policy = SupervisorPolicy {
        error_threshold: 2,
        ..SupervisorPolicy::default()
    };
    let r = Registry::builder().policy(policy).build();
    let j = Journal::default();
    let m = Probe::named("flaky", &j).on_event(|_, e| match e {
        Event::Tick { .. } => EventResponse::Handled,
        Event::CpuHotplug { .. } => EventResponse::Ignored,
        _ => EventResponse::Error(ModuleError::Failed("cannot")),
    });
    r.register_v2(m).unwrap();
    r.start_all(Caller::Kernel);
    r.dispatch(&Event::Tick { timestamp_ns: 1 });
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    let s = r.dispatch(&Event::MemoryPressure {
        level: PressureLevel::Low,
    });
    assert_eq!(s.failed, 1);
    let status = r.status("flaky").unwrap();
    assert_eq!(status.health, Health::Degraded);
    assert_eq!(status.last_error, Some(ModuleError::Failed("cannot")));
    r.dispatch(&Event::Custom {
        name: "x".into(),
        data: vec![],
    });
    assert_eq!(r.status("flaky").unwrap().health, Health::Unhealthy);
    let m = r.metrics("flaky").unwrap();
    assert_eq!(
        (m.events_handled, m.events_ignored, m.events_failed),
        (1, 1, 2)
    );
    r.dispatch(&Event::Tick { timestamp_ns: 2 });
    assert_eq!(r.status("flaky").unwrap().health, Health::Healthy);
}

#[test]
fn a_busy_subscriber_is_skipped_not_waited_for() {
    let r = Registry::new();
    let j = Journal::default();
    let (entered_tx, entered_rx) = mpsc::channel::<()>();
    let (release_tx, release_rx) = mpsc::channel::<()>();
    let release_rx = std::sync::Mutex::new(release_rx);
    let slow = Probe::named("slow", &j).on_request(move |_, _| {
        entered_tx.send(()).unwrap();
        release_rx.lock().unwrap().recv().unwrap();
        Ok(helix_modules::v2::Response::ok(vec![]))
    });
    r.register_v2(slow).unwrap();
    r.register_v2(Probe::named("quick", &j)).unwrap();
    r.start_all(Caller::Kernel);
    let r2 = r.clone();
    let worker = thread::spawn(move || {
        r2.request(
            Caller::Kernel,
            "slow",
            Request::new("kernel", "block", vec![]),
        )
    });
    entered_rx.recv().unwrap();
    assert!(r.status("slow").unwrap().busy);
    let s = r.dispatch(&Event::Tick { timestamp_ns: 1 });
    assert_eq!((s.delivered, s.skipped), (1, 1));
    assert_eq!(r.metrics("slow").unwrap().events_skipped, 1);
    release_tx.send(()).unwrap();
    assert!(worker.join().unwrap().is_ok());
}

#[test]
fn handlers_publish_custom_events_to_subscribers() {
    let r = Registry::new();
    let j = Journal::default();
    let publisher = Probe::new(
        ModuleInfo::new("pub").events(EventKinds::TICK | EventKinds::CUSTOM),
        &j,
    )
    .on_event(|h, e| match e {
        Event::Tick { .. } => {
            let s = h.as_ref().unwrap().publish("link-up", vec![1]).unwrap();
            // The publisher itself is on this chain: skipped.
            assert_eq!((s.delivered, s.skipped), (1, 1));
            EventResponse::Handled
        }
        _ => EventResponse::Handled,
    });
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let listener = Probe::new(ModuleInfo::new("listener").events(EventKinds::CUSTOM), &j).on_event(
        move |_, e| {
            tx.lock().unwrap().send(e.clone()).unwrap();
            EventResponse::Handled
        },
    );
    r.register_v2(publisher).unwrap();
    r.register_v2(listener).unwrap();
    r.start_all(Caller::Kernel);
    let s = r.dispatch(&Event::Tick { timestamp_ns: 9 });
    assert_eq!(s.handled, 1);
    assert_eq!(
        rx.try_recv().unwrap(),
        Event::Custom {
            name: "link-up".into(),
            data: vec![1]
        }
    );
}

struct WrongReply;

impl Module for WrongReply {
    fn metadata(&self) -> ModuleMetadata {
        ModuleInfo::new("wrong").into()
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
    fn handle_message(&mut self, m: Message<'_>) -> Result<Reply, ModuleError> {
        match m {
            Message::Event(Event::Shutdown) => Err(ModuleError::Failed("v1 error")),
            Message::Event(_) => Ok(Reply::Ack),
            Message::Request(_) => Ok(Reply::Ack),
            Message::ParamChanged { .. } => Ok(Reply::Event(EventResponse::Handled)),
        }
    }
}

#[test]
fn v1_wrong_replies_are_errors_not_panics() {
    let r = Registry::new();
    r.register(Box::new(WrongReply)).unwrap();
    r.start_all(Caller::Kernel);
    let s = r.dispatch(&Event::Tick { timestamp_ns: 0 });
    assert_eq!(s.failed, 1);
    assert_eq!(
        r.status("wrong").unwrap().last_error,
        Some(ModuleError::UnexpectedReply {
            module: "wrong".into()
        })
    );
    r.dispatch(&Event::Shutdown);
    assert_eq!(
        r.status("wrong").unwrap().last_error,
        Some(ModuleError::Failed("v1 error"))
    );
    assert_eq!(
        r.request(Caller::Kernel, "wrong", Request::new("kernel", "x", vec![])),
        Err(ModuleError::UnexpectedReply {
            module: "wrong".into()
        })
    );
    assert_eq!(r.metrics("wrong").unwrap().requests_failed, 1);
    // The default v1 helpers.
    let w = WrongReply;
    assert!(w.is_healthy());
    assert_eq!(w.save_state(), None);
    let mut w = w;
    assert_eq!(w.restore_state(&[1]), Ok(()));
}

#[test]
fn handler_time_comes_from_the_supplied_clock() {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NOW: AtomicU64 = AtomicU64::new(0);
    fn clock() -> u64 {
        NOW.fetch_add(10, Ordering::SeqCst)
    }
    let r = Registry::builder().clock(clock).build();
    let j = Journal::default();
    r.register_v2(Probe::named("timed", &j)).unwrap();
    r.start_all(Caller::Kernel);
    r.dispatch(&Event::Tick { timestamp_ns: 0 });
    r.request(Caller::Kernel, "timed", Request::new("kernel", "x", vec![]))
        .unwrap();
    assert_eq!(r.metrics("timed").unwrap().handler_time, 20);
}

#[test]
fn many_subscribers_are_delivered_in_order_across_chunks() {
    let r = Registry::new();
    let j = Journal::default();
    // More subscribers than a dispatch moves out of their slots at once,
    // with priorities that interleave registration order.
    for i in 0..40 {
        let info = ModuleInfo::new(leak(format!("s{i:02}")))
            .events(EventKinds::TICK)
            .priority((i % 3) as i16);
        let fail = i == 17;
        r.register_v2(Probe::new(info, &j).on_event(move |_, _| {
            if fail {
                EventResponse::Error(ModuleError::Failed("seventeen"))
            } else {
                EventResponse::Handled
            }
        }))
        .unwrap();
    }
    r.start_all(Caller::Kernel);
    for round in 1..=2u32 {
        j.clear();
        let s = r.dispatch(&Event::Tick { timestamp_ns: 1 });
        assert_eq!(
            (s.delivered, s.handled, s.failed, s.skipped),
            (40, 39, 1, 0)
        );
        let mut expected: Vec<(i16, usize)> = (0..40).map(|i| (-((i % 3) as i16), i)).collect();
        expected.sort();
        let expected: Vec<String> = expected.iter().map(|(_, i)| format!("s{i:02}")).collect();
        assert_eq!(j.with_suffix(":event"), expected);
        for i in 0..40 {
            let status = r.status(&format!("s{i:02}")).unwrap();
            assert!(!status.busy);
        }
        assert_eq!(r.metrics("s39").unwrap().events_handled, u64::from(round));
        assert_eq!(r.metrics("s17").unwrap().events_failed, u64::from(round));
    }
    assert_eq!(
        r.status("s17").unwrap().last_error,
        Some(ModuleError::Failed("seventeen"))
    );
}

#[test]
fn during_a_dispatch_other_subscribers_are_on_its_chain() {
    let r = Registry::new();
    let j = Journal::default();
    let (tx, rx) = mpsc::channel();
    let tx = std::sync::Mutex::new(tx);
    let pong = |_: &Option<helix_modules::v2::ModuleHandle>, _: &Request| {
        Ok(Response::ok(b"pong".to_vec()))
    };
    // "first" runs before "caller", "last" after it; "helper" did not
    // subscribe.
    let tick = EventKinds::TICK;
    r.register_v2(
        Probe::new(ModuleInfo::new("first").events(tick).priority(2), &j).on_request(pong),
    )
    .unwrap();
    r.register_v2(
        Probe::new(ModuleInfo::new("caller").events(tick).priority(1), &j).on_event(move |h, _| {
            let h = h.as_ref().unwrap();
            let ask = |target: &str| h.request(target, Request::new("caller", "ping", vec![]));
            let answers = (ask("first"), ask("last"), ask("helper"));
            tx.lock().unwrap().send(answers).unwrap();
            EventResponse::Handled
        }),
    )
    .unwrap();
    r.register_v2(Probe::new(ModuleInfo::new("last").events(tick), &j).on_request(pong))
        .unwrap();
    r.register_v2(
        Probe::new(ModuleInfo::new("helper").events(EventKinds::SHUTDOWN), &j).on_request(pong),
    )
    .unwrap();
    r.start_all(Caller::Kernel);
    let s = r.dispatch(&Event::Tick { timestamp_ns: 3 });
    assert_eq!(s.handled, 3);
    let (first, last, helper) = rx.try_recv().unwrap();
    assert_eq!(
        first,
        Err(ModuleError::Reentrant {
            module: "first".into()
        })
    );
    assert_eq!(
        last,
        Err(ModuleError::Reentrant {
            module: "last".into()
        })
    );
    assert_eq!(helper.unwrap().payload, b"pong");
    // Once the dispatch is over, they answer again.
    let again = r.request(
        Caller::Kernel,
        "last",
        Request::new("kernel", "ping", vec![]),
    );
    assert_eq!(again.unwrap().payload, b"pong");
}
