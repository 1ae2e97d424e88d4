//! The event log through a registry: counts by kind, a bounded ring with
//! timestamps from the latest tick, and its IPC answers.

use event_log::EventLog;
use helix_modules::v2::{Event, PressureLevel, Request};
use helix_modules::{Caller, ModuleError, Registry};

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "event_log",
            Request::new("test", kind, vec![]),
        )
        .unwrap();
    match resp.error {
        None => Ok(String::from_utf8(resp.payload).unwrap()),
        Some(e) => Err(e.into_owned()),
    }
}

#[test]
fn counts_and_recent_events() {
    let r = Registry::builder().cmdline("event_log.capacity=2").build();
    r.register_v2(EventLog::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    r.dispatch(&Event::Tick {
        timestamp_ns: 1_500_000_000,
    });
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 2,
        online: false,
    });
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 2,
        online: true,
    });
    r.dispatch(&Event::MemoryPressure {
        level: PressureLevel::Medium,
    });
    r.dispatch(&Event::Custom {
        name: "x".into(),
        data: vec![1, 2],
    });
    assert_eq!(
        ask(&r, "counts").unwrap(),
        "ticks=1 cpu_online=1 cpu_offline=1 pressure_low=0 pressure_medium=1 pressure_critical=0 custom=1 shutdown=0"
    );
    assert_eq!(
        ask(&r, "recent").unwrap(),
        "[1.500] memory pressure Medium\n[1.500] custom x (2 bytes)"
    );
    assert_eq!(
        ask(&r, "stats").unwrap(),
        "ticks=1 cpu_online=1 cpu_offline=1 pressure_low=0 pressure_medium=1 pressure_critical=0 custom=1 shutdown=0 recent=2 capacity=2"
    );
    assert!(ask(&r, "clear").unwrap_err().contains("unknown request"));
}

#[test]
fn capacity_is_boot_only() {
    let r = Registry::builder().cmdline("event_log.capacity=4").build();
    r.register_v2(EventLog::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(
        r.set_param(Caller::Kernel, "event_log", "capacity", "8"),
        Err(ModuleError::BootOnlyParam {
            module: "event_log".into(),
            key: "capacity".into()
        })
    );
    assert!(ask(&r, "stats").unwrap().ends_with(" capacity=4"));
    assert_eq!(r.params("event_log").unwrap()[0].to_string(), "capacity=4");
}

#[test]
fn hot_reload_keeps_the_counts() {
    let r = Registry::new();
    r.register_v2(EventLog::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    r.dispatch(&Event::Tick {
        timestamp_ns: 2_000_000_000,
    });
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    let before = ask(&r, "counts").unwrap();
    r.reload(
        Caller::Kernel,
        "event_log",
        Box::new(helix_modules::v2::ModuleAdapter::new(EventLog::new())),
    )
    .unwrap();
    assert_eq!(
        ask(&r, "counts").unwrap(),
        before,
        "the replacement lost the counts"
    );
    r.dispatch(&Event::Tick {
        timestamp_ns: 3_000_000_000,
    });
    assert!(
        ask(&r, "counts")
            .unwrap()
            .starts_with("ticks=2 cpu_online=1")
    );
}

#[test]
fn restore_refuses_malformed_state() {
    use helix_modules::v2::ModuleTrait;
    let mut log = EventLog::new();
    assert!(log.restore_state(&[1, 2, 3]).is_err());
    let saved = EventLog::new().save_state().unwrap();
    assert_eq!(saved.len(), 72);
    assert!(log.restore_state(&saved).is_ok());
}
