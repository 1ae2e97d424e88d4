//! Safe stop: a module that running modules need (by name, or as the only
//! running provider of a capability they need) is not stopped or unloaded
//! ([`ModuleError::InUse`] names them); `stop_cascade` stops those users
//! first, transitively, and refuses as a whole when an ESSENTIAL module or
//! a permission is in the way; shutdown still stops everything.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use common::{Journal, Probe, state_of};
use helix_modules::v2::ModuleInfo;
use helix_modules::{
    AuditOutcome, Caller, ModuleError, ModuleFlags, ModuleState, Operation, Permissions, Registry,
};

fn module(r: &Registry, j: &Journal, info: ModuleInfo) {
    r.register_v2(Probe::new(info, j)).unwrap();
}

fn in_use(module: &str, dependents: &[&str]) -> ModuleError {
    ModuleError::InUse {
        module: module.into(),
        dependents: dependents.iter().map(|d| d.to_string()).collect(),
    }
}

/// `uart` provides `console`; `shell` needs `console`, `logger` names
/// `uart`; `rtc` is on its own. All started.
fn console_registry() -> (Registry, Journal) {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("uart").provides(&["console"]));
    module(&r, &j, ModuleInfo::new("shell").dependencies(&["console"]));
    module(&r, &j, ModuleInfo::new("logger").dependencies(&["uart"]));
    module(&r, &j, ModuleInfo::new("rtc"));
    assert!(r.start_all(Caller::Kernel).is_clean());
    j.clear();
    (r, j)
}

#[test]
fn a_module_in_use_is_not_stopped_and_the_error_names_its_users() {
    let (r, j) = console_registry();
    let refused = r.stop(Caller::Kernel, "uart").unwrap_err();
    assert_eq!(refused, in_use("uart", &["shell", "logger"]));
    assert_eq!(
        refused.to_string(),
        "module `uart` is in use by `shell`, `logger`"
    );
    assert_eq!(state_of(&r, "uart"), ModuleState::Running);
    assert!(j.entries().is_empty(), "{:?}", j.entries());
    // The refusal is audited with its reason.
    let last = r.audit_log(Caller::Kernel).unwrap();
    let stop = last
        .iter()
        .rfind(|e| e.op == Operation::Stop)
        .expect("the stop is audited");
    assert_eq!(stop.target, "uart");
    assert_eq!(stop.outcome, AuditOutcome::Failed(refused));
    // Once its users are stopped, it stops.
    r.stop(Caller::Kernel, "shell").unwrap();
    r.stop(Caller::Kernel, "logger").unwrap();
    r.stop(Caller::Kernel, "uart").unwrap();
    assert_eq!(j.with_suffix(":stop"), ["shell", "logger", "uart"]);
    // A module nobody needs stops at once.
    r.stop(Caller::Kernel, "rtc").unwrap();
}

#[test]
fn stopped_or_failed_users_do_not_hold_a_module() {
    let (r, _j) = console_registry();
    r.stop(Caller::Kernel, "shell").unwrap();
    assert_eq!(
        r.stop(Caller::Kernel, "uart"),
        Err(in_use("uart", &["logger"]))
    );
    r.stop(Caller::Kernel, "logger").unwrap();
    r.stop(Caller::Kernel, "uart").unwrap();
    // Stopping a module that is not running is still a state error.
    assert!(matches!(
        r.stop(Caller::Kernel, "uart"),
        Err(ModuleError::InvalidState { .. })
    ));
}

#[test]
fn another_running_provider_releases_a_capability_user() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("uart0").provides(&["console"]));
    module(&r, &j, ModuleInfo::new("uart1").provides(&["console"]));
    module(&r, &j, ModuleInfo::new("shell").dependencies(&["console"]));
    r.start_all(Caller::Kernel);
    // Either provider may go while the other runs, not both.
    r.stop(Caller::Kernel, "uart0").unwrap();
    assert_eq!(
        r.stop(Caller::Kernel, "uart1"),
        Err(in_use("uart1", &["shell"]))
    );
    r.start(Caller::Kernel, "uart0").unwrap();
    r.stop(Caller::Kernel, "uart1").unwrap();
}

#[test]
fn optional_dependencies_and_unaccepted_versions_do_not_count() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("trace"));
    module(&r, &j, ModuleInfo::new("app").dependencies(&["?trace"]));
    module(
        &r,
        &j,
        ModuleInfo::new("old").version(1, 0, 0).provides(&["net"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("new").version(2, 1, 0).provides(&["net"]),
    );
    module(&r, &j, ModuleInfo::new("web").dependencies(&["net>=2"]));
    assert!(r.start_all(Caller::Kernel).is_clean());
    r.stop(Caller::Kernel, "trace").unwrap();
    // `old` provides `net`, but not a version `web` accepts.
    r.stop(Caller::Kernel, "old").unwrap();
    assert_eq!(r.stop(Caller::Kernel, "new"), Err(in_use("new", &["web"])));
}

#[test]
fn a_cascade_stops_users_first_transitively_and_returns_what_it_stopped() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("top").dependencies(&["mid"]));
    module(&r, &j, ModuleInfo::new("mid").dependencies(&["block"]));
    module(&r, &j, ModuleInfo::new("disk").provides(&["block"]));
    module(&r, &j, ModuleInfo::new("peek").dependencies(&["?disk"]));
    module(&r, &j, ModuleInfo::new("other"));
    assert!(r.start_all(Caller::Kernel).is_clean());
    j.clear();
    assert_eq!(
        r.cascade_plan("disk").unwrap(),
        ["top", "mid", "disk"],
        "planning stops nothing"
    );
    assert!(j.entries().is_empty());
    let stopped = r.stop_cascade(Caller::Kernel, "disk").unwrap();
    assert_eq!(stopped, ["top", "mid", "disk"]);
    assert_eq!(j.with_suffix(":stop"), ["top", "mid", "disk"]);
    for m in ["peek", "other"] {
        assert_eq!(state_of(&r, m), ModuleState::Running, "{m}");
    }
    // Each stop is audited as part of the cascade.
    let audited: Vec<String> = r
        .audit_log(Caller::Kernel)
        .unwrap()
        .into_iter()
        .filter(|e| e.op == Operation::Stop && e.detail.as_deref() == Some("cascade"))
        .map(|e| e.target)
        .collect();
    assert_eq!(audited, ["top", "mid", "disk"]);
    // A module nobody needs cascades to itself alone.
    assert_eq!(r.stop_cascade(Caller::Kernel, "other").unwrap(), ["other"]);
}

#[test]
fn a_cascade_that_would_stop_an_essential_module_stops_nothing() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("clock").provides(&["time"]));
    module(&r, &j, ModuleInfo::new("user").dependencies(&["time"]));
    module(
        &r,
        &j,
        ModuleInfo::new("core")
            .flags(ModuleFlags::ESSENTIAL)
            .dependencies(&["user"]),
    );
    assert!(r.start_all(Caller::Kernel).is_clean());
    j.clear();
    let essential = |m: &str| ModuleError::Essential { module: m.into() };
    assert_eq!(
        r.stop_cascade(Caller::Kernel, "clock"),
        Err(essential("core"))
    );
    assert_eq!(r.cascade_plan("clock"), Err(essential("core")));
    // The ESSENTIAL module itself is refused as by a plain stop.
    assert_eq!(
        r.stop_cascade(Caller::Kernel, "core"),
        Err(essential("core"))
    );
    assert_eq!(r.stop(Caller::Kernel, "core"), Err(essential("core")));
    assert!(j.entries().is_empty(), "{:?}", j.entries());
    for m in ["clock", "user", "core"] {
        assert_eq!(state_of(&r, m), ModuleState::Running, "{m}");
    }
}

#[test]
fn a_cascade_needs_permission_for_every_module_it_stops() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("dev").provides(&["dev"]));
    module(
        &r,
        &j,
        ModuleInfo::new("guard")
            .flags(ModuleFlags::SECURITY)
            .dependencies(&["dev"]),
    );
    let admin = r
        .register_v2(Probe::new(
            ModuleInfo::new("admin").permissions(Permissions::MANAGE),
            &j,
        ))
        .unwrap();
    r.start_all(Caller::Kernel);
    j.clear();
    // `admin` may stop `dev`, but not the SECURITY module that needs it.
    assert_eq!(
        r.stop_cascade(Caller::Module(admin), "dev"),
        Err(ModuleError::PermissionDenied {
            caller: "admin".into(),
            op: Operation::Stop,
            target: "guard".into(),
            missing: Permissions::SECURITY,
        })
    );
    assert!(j.entries().is_empty());
    assert_eq!(
        r.stop_cascade(Caller::Kernel, "dev").unwrap(),
        ["guard", "dev"]
    );
}

#[test]
fn a_failing_stop_ends_the_cascade_with_its_error() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("base"));
    let mut stubborn = Probe::new(ModuleInfo::new("stubborn").dependencies(&["base"]), &j);
    stubborn.fail_stop = Some(ModuleError::Failed("will not stop"));
    r.register_v2(stubborn).unwrap();
    module(&r, &j, ModuleInfo::new("leaf").dependencies(&["stubborn"]));
    r.start_all(Caller::Kernel);
    j.clear();
    let err = r.stop_cascade(Caller::Kernel, "base").unwrap_err();
    assert!(
        matches!(&err, ModuleError::StepFailed { module, op: Operation::Stop, .. } if module == "stubborn"),
        "{err}"
    );
    // `leaf` was stopped before; `base` was not reached.
    assert_eq!(j.with_suffix(":stop"), ["leaf", "stubborn"]);
    assert_eq!(state_of(&r, "leaf"), ModuleState::Stopped);
    assert_eq!(state_of(&r, "stubborn"), ModuleState::Failed);
    assert_eq!(state_of(&r, "base"), ModuleState::Running);
    // Nothing running needs `base` now.
    r.stop(Caller::Kernel, "base").unwrap();
}

#[test]
fn a_module_in_use_is_not_unloaded() {
    // `dev` fails its second init, so a restart leaves it Failed while
    // `user` still runs on it.
    let r = Registry::new();
    let j = Journal::default();
    let inits = Arc::new(AtomicU32::new(0));
    let count = inits.clone();
    r.register_v2(Probe::new(ModuleInfo::new("dev"), &j).on_init(move |_| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            Ok(())
        } else {
            Err(ModuleError::Failed("no device"))
        }
    }))
    .unwrap();
    module(&r, &j, ModuleInfo::new("user").dependencies(&["dev"]));
    r.start_all(Caller::Kernel);
    assert!(r.restart(Caller::Kernel, "dev").is_err());
    assert_eq!(state_of(&r, "dev"), ModuleState::Failed);
    assert_eq!(state_of(&r, "user"), ModuleState::Running);
    assert_eq!(
        r.unload(Caller::Kernel, "dev"),
        Err(in_use("dev", &["user"]))
    );
    assert!(r.status("dev").is_ok(), "still registered");
    r.stop(Caller::Kernel, "user").unwrap();
    r.unload(Caller::Kernel, "dev").unwrap();
    assert!(r.status("dev").is_err());
}

#[test]
fn shutdown_still_stops_everything_users_first() {
    let (r, j) = console_registry();
    let outcomes = r.shutdown();
    assert!(outcomes.iter().all(|(_, o)| o.is_ok()), "{outcomes:?}");
    let stops = j.with_suffix(":stop");
    assert_eq!(stops.len(), 4, "{stops:?}");
    let at = |m: &str| stops.iter().position(|s| s == m).unwrap();
    assert!(
        at("shell") < at("uart") && at("logger") < at("uart"),
        "{stops:?}"
    );
    for m in ["uart", "shell", "logger", "rtc"] {
        assert_eq!(state_of(&r, m), ModuleState::Stopped, "{m}");
    }
}
