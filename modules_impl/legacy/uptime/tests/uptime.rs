//! The v1 `uptime` module in a registry, beside a v2 module: both receive
//! the same ticks, both answer requests, both are listed alike.

use event_log::EventLog;
use helix_modules::v2::{Event, Request};
use helix_modules::{Caller, Module, ModuleState, Registry};
use uptime::Uptime;

fn ask(r: &Registry, module: &str, kind: &str) -> Result<String, String> {
    let resp = r
        .request(Caller::Kernel, module, Request::new("test", kind, vec![]))
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => String::from_utf8(resp.payload).map_err(|e| e.to_string()),
        Some(e) => Err(e.into_owned()),
    }
}

fn both() -> Registry {
    let r = Registry::new();
    r.register(Box::new(Uptime::new())).unwrap();
    r.register_v2(EventLog::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    r
}

#[test]
fn answers_uptime_from_ticks() {
    let r = both();
    assert_eq!(ask(&r, "uptime", "uptime").unwrap(), "up -");
    r.dispatch(&Event::Tick {
        timestamp_ns: 1_000_000_000,
    });
    r.dispatch(&Event::Tick {
        timestamp_ns: 12_345_678_901,
    });
    assert_eq!(ask(&r, "uptime", "uptime").unwrap(), "up 12.345 s");
    assert_eq!(
        ask(&r, "uptime", "stats").unwrap(),
        "ticks=2 last_tick_ns=12345678901"
    );
    assert!(
        ask(&r, "uptime", "reset")
            .unwrap_err()
            .contains("unknown request")
    );
}

#[test]
fn v1_and_v2_modules_run_side_by_side() {
    let r = both();
    let summary = r.dispatch(&Event::Tick { timestamp_ns: 5 });
    assert_eq!(summary.handled, 2, "both generations handle the tick");
    let hotplug = r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    assert_eq!(hotplug.delivered, 1, "uptime subscribed to Tick only");
    assert!(
        ask(&r, "event_log", "counts")
            .unwrap()
            .starts_with("ticks=1 ")
    );
    let names: Vec<_> = r
        .list()
        .into_iter()
        .map(|m| (m.name, m.state, m.version.to_string(), m.api))
        .collect();
    assert_eq!(
        names,
        [
            (
                "uptime".to_string(),
                ModuleState::Running,
                "1.0.0".to_string(),
                1
            ),
            (
                "event_log".to_string(),
                ModuleState::Running,
                "1.0.0".to_string(),
                2
            ),
        ]
    );
}

#[test]
fn metadata_is_owned_and_complete() {
    let meta = Uptime::new().metadata();
    assert_eq!(meta.name, "uptime");
    assert_eq!(meta.provides, ["uptime"]);
    assert_eq!(meta.events, helix_modules::EventKinds::TICK);
}
