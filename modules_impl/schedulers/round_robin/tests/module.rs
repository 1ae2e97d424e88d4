//! The round-robin module through the framework: metadata, the
//! `time_slice_ms` parameter from the command line (a bad value falls back
//! to the default: the module is ESSENTIAL), IPC answers with real
//! numbers, events, and the scheduler service the kernel looks up.

use helix_modules::services::scheduler::{Priority, Scheduler, ThreadId};
use helix_modules::v2::{Event, ModuleTrait, Request};
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleState, Registry};
use round_robin::RoundRobinModule;

fn registry(cmdline: &str) -> (Registry, std::sync::Arc<round_robin::RoundRobin>) {
    let r = Registry::builder().cmdline(cmdline).build();
    let m = RoundRobinModule::new();
    let policy = m.policy();
    r.register_v2(m).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    (r, policy)
}

fn ask(r: &Registry, kind: &str, payload: &[u8]) -> (bool, String) {
    let resp = r
        .request(
            Caller::Kernel,
            "round_robin",
            Request::new("test", kind, payload.to_vec()),
        )
        .unwrap();
    match resp.error {
        None => (true, String::from_utf8_lossy(&resp.payload).into_owned()),
        Some(why) => (false, why.into_owned()),
    }
}

#[test]
fn metadata() {
    let info = RoundRobinModule::new().info();
    assert_eq!(info.name, "round_robin");
    assert!(
        info.flags
            .contains(ModuleFlags::SCHEDULER | ModuleFlags::ESSENTIAL)
    );
    assert_eq!(info.provides, &["scheduler"]);
}

#[test]
fn time_slice_comes_from_the_command_line() {
    let (_r, policy) = registry("round_robin.time_slice_ms=5 log=debug");
    assert_eq!(policy.time_slice_ms(), 5);
    let (_r, policy) = registry("");
    assert_eq!(policy.time_slice_ms(), 10);
}

#[test]
fn an_out_of_range_time_slice_falls_back_to_the_default() {
    // round_robin is ESSENTIAL: a bad value does not keep it (and so the
    // kernel) from running; it gets the default, and the registry reports
    // the value it set aside for the kernel to log.
    let (r, policy) = registry("round_robin.time_slice_ms=0");
    assert_eq!(policy.time_slice_ms(), 10);
    assert_eq!(r.status("round_robin").unwrap().state, ModuleState::Running);
    let fallbacks = r.param_fallbacks();
    assert_eq!(fallbacks.len(), 1, "{fallbacks:?}");
    assert_eq!(fallbacks[0].key, "time_slice_ms");
    assert!(
        fallbacks[0].to_string().contains("`0` is outside 1..=1000"),
        "{}",
        fallbacks[0]
    );
}

#[test]
fn stats_reports_live_numbers() {
    let (r, policy) = registry("");
    policy.add(ThreadId(1), Priority::NORMAL).unwrap();
    policy.add(ThreadId(2), Priority::NORMAL).unwrap();
    policy.tick(0, 1);
    policy.pick_next(0);
    policy.pick_next(0);
    let (ok, text) = ask(&r, "stats", b"");
    assert!(ok);
    // `get_stats` is kept as an alias.
    assert_eq!(ask(&r, "get_stats", b""), (true, text.clone()));
    assert!(text.contains("threads=2"), "{text}");
    assert!(text.contains("switches=2"), "{text}");
    assert!(text.contains("ticks=1"), "{text}");
    assert!(
        text.contains("cpu0: online=true queued=1 running=2"),
        "{text}"
    );
}

#[test]
fn set_time_slice_changes_the_policy() {
    let (r, policy) = registry("");
    assert_eq!(
        ask(&r, "set_time_slice", b"3"),
        (true, "time_slice_ms=3".into())
    );
    assert_eq!(policy.time_slice_ms(), 3);
    let (ok, why) = ask(&r, "set_time_slice", b"0");
    assert!(!ok);
    assert!(why.contains("outside 1..=1000"), "{why}");
    let (ok, _) = ask(&r, "set_time_slice", b"soon");
    assert!(!ok);
    assert_eq!(policy.time_slice_ms(), 3);
}

fn shown_slice(r: &Registry) -> String {
    r.params("round_robin").unwrap()[0].to_string()
}

#[test]
fn params_show_the_slice_set_over_ipc() {
    let (r, policy) = registry("round_robin.time_slice_ms=20");
    assert_eq!(shown_slice(&r), "time_slice_ms=20");
    assert!(ask(&r, "set_time_slice", b"3").0);
    assert_eq!(shown_slice(&r), "time_slice_ms=3");
    // A refused request changes neither.
    assert!(!ask(&r, "set_time_slice", b"0").0);
    assert_eq!(shown_slice(&r), "time_slice_ms=3");
    assert_eq!(policy.time_slice_ms(), 3);
    // A run-time set and an IPC change after it agree too.
    r.set_param(Caller::Kernel, "round_robin", "time_slice_ms", "8")
        .unwrap();
    assert_eq!(shown_slice(&r), "time_slice_ms=8");
    assert!(ask(&r, "set_time_slice", b"12").0);
    assert_eq!(
        (shown_slice(&r), policy.time_slice_ms()),
        ("time_slice_ms=12".to_string(), 12)
    );
}

#[test]
fn unknown_requests_get_an_error_response() {
    let (r, _) = registry("");
    let (ok, why) = ask(&r, "reboot", b"");
    assert!(!ok);
    assert!(why.contains("unknown request 'reboot'"), "{why}");
}

#[test]
fn param_change_at_run_time() {
    let (r, policy) = registry("");
    r.set_param(Caller::Kernel, "round_robin", "time_slice_ms", "7")
        .unwrap();
    assert_eq!(policy.time_slice_ms(), 7);
    assert!(
        r.set_param(Caller::Kernel, "round_robin", "time_slice_ms", "5000")
            .is_err()
    );
    assert_eq!(policy.time_slice_ms(), 7);
}

#[test]
fn hotplug_events_move_threads() {
    let (r, policy) = registry("");
    for i in 1..=4 {
        policy.add(ThreadId(i), Priority::NORMAL).unwrap();
    }
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: true,
    });
    let s = policy.stats();
    assert_eq!((s.cpus[0].queued, s.cpus[1].queued), (2, 2));
    r.dispatch(&Event::CpuHotplug {
        cpu_id: 1,
        online: false,
    });
    let s = policy.stats();
    assert_eq!(
        (s.cpus[0].queued, s.cpus[1].queued, s.cpus[1].online),
        (4, 0, false)
    );
}

#[test]
fn essential_scheduler_cannot_be_stopped() {
    let (r, _) = registry("");
    assert!(matches!(
        r.stop(Caller::Kernel, "round_robin"),
        Err(ModuleError::Essential { .. })
    ));
}

#[test]
fn the_service_is_the_modules_policy() {
    let m = RoundRobinModule::new();
    let policy = m.policy();
    let service = m
        .scheduler()
        .expect("a scheduler module provides the service");
    service.add(ThreadId(42), Priority::NORMAL).unwrap();
    assert_eq!(policy.stats().threads, 1);
    assert_eq!(service.name(), "round_robin");
}
