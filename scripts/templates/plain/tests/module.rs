//! `__name__` in a registry, as the kernel runs it: it counts the ticks
//! dispatched to it, answers `ping` and `stats`, and refuses anything else.

use helix_modules::v2::{Event, Request};
use helix_modules::{Caller, ModuleState, Registry};
use __name__::__Type__;

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "__name__",
            Request::new("test", kind, vec![]),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => String::from_utf8(resp.payload).map_err(|e| e.to_string()),
        Some(e) => Err(e.into_owned()),
    }
}

fn running() -> Registry {
    let r = Registry::new();
    r.register_v2(__Type__::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
    r
}

#[test]
fn counts_ticks() {
    let r = running();
    assert_eq!(ask(&r, "stats").unwrap(), "ticks=0 last_tick_ns=0");
    for t in 1..=3 {
        let summary = r.dispatch(&Event::Tick {
            timestamp_ns: t * 100_000_000,
        });
        assert_eq!(summary.handled, 1);
    }
    assert_eq!(ask(&r, "stats").unwrap(), "ticks=3 last_tick_ns=300000000");
}

#[test]
fn other_events_are_not_delivered() {
    let r = running();
    let summary = r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    assert_eq!(summary.delivered, 0);
    assert_eq!(ask(&r, "stats").unwrap(), "ticks=0 last_tick_ns=0");
}

#[test]
fn answers_ping_and_refuses_unknown_requests() {
    let r = running();
    assert_eq!(ask(&r, "ping").unwrap(), "pong");
    let err = ask(&r, "reboot").unwrap_err();
    assert!(err.contains("unknown request 'reboot'"), "{err}");
}
