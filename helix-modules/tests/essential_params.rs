//! A bad command-line parameter of an ESSENTIAL module (an invalid value,
//! an undeclared key) does not stop it: it starts with the declared
//! default, and `Registry::param_fallbacks` reports what was set aside for
//! the kernel to log. Any other module still fails `init` on the same
//! setting.

mod common;

use std::sync::{Arc, Mutex};

use common::{Journal, Probe, state_of};
use helix_modules::v2::ModuleInfo;
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleState, ParamSpec, Registry};

const PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("time_slice_ms", "10").range(1, 1000),
    ParamSpec::new("mode", "fifo").one_of(&["fifo", "lifo"]),
    ParamSpec::new("pin", "1234").range(0, 9999).sensitive(),
];

/// A module with [`PARAMS`] and `flags`; `seen` gets the values its `init`
/// was given.
fn probe(
    name: &'static str,
    flags: ModuleFlags,
    j: &Journal,
    seen: &Arc<Mutex<Vec<String>>>,
) -> Probe {
    let seen = seen.clone();
    Probe::new(ModuleInfo::new(name).flags(flags).params(&PARAMS), j).on_init(move |ctx| {
        let mut seen = seen.lock().unwrap();
        for key in ["time_slice_ms", "mode", "pin"] {
            seen.push(format!("{key}={}", ctx.config(key).unwrap_or("-")));
        }
        Ok(())
    })
}

#[test]
fn an_essential_module_starts_with_its_defaults_and_the_fallbacks_are_reported() {
    let r = Registry::builder()
        .cmdline("sched.time_slice_ms=0 sched.nosuch=1 sched.mode=lifo sched.pin=99999 other.x=1")
        .build();
    let j = Journal::default();
    let seen = Arc::default();
    r.register_v2(probe("sched", ModuleFlags::ESSENTIAL, &j, &seen))
        .unwrap();
    let fallbacks = r.param_fallbacks();
    let shown: Vec<String> = fallbacks.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "module `sched` has no parameter `nosuch`; module `sched` is essential, so it starts without it",
            "invalid value for `sched.time_slice_ms`: `0` is outside 1..=1000; module `sched` is essential, so it starts with the default sched.time_slice_ms=10",
            // A sensitive value and default are never shown.
            "invalid value for `sched.pin`: `***` is outside 0..=9999; module `sched` is essential, so it starts with the default sched.pin=***",
        ]
    );
    assert_eq!(fallbacks[0].default, None);
    assert_eq!(
        fallbacks[1].reason,
        ModuleError::InvalidParam {
            module: "sched".into(),
            key: "time_slice_ms".into(),
            reason: "`0` is outside 1..=1000".into(),
        }
    );
    // Before init, the listing already shows what init will get.
    let listed: Vec<String> = r
        .params("sched")
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(listed, ["time_slice_ms=10", "mode=lifo", "pin=***"]);
    // It starts, with the defaults for the bad values and the good one kept.
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(state_of(&r, "sched"), ModuleState::Running);
    assert_eq!(
        *seen.lock().unwrap(),
        ["time_slice_ms=10", "mode=lifo", "pin=1234"]
    );
    // Read-only: asking again gives the same answer.
    assert_eq!(r.param_fallbacks(), fallbacks);
}

#[test]
fn any_other_module_still_fails_init_on_a_bad_value() {
    let r = Registry::builder()
        .cmdline("plain.time_slice_ms=0 unknown.nosuch=1")
        .build();
    let j = Journal::default();
    let seen = Arc::default();
    r.register_v2(probe("plain", ModuleFlags::empty(), &j, &seen))
        .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("unknown")
            .flags(ModuleFlags::DRIVER)
            .params(&PARAMS),
        &j,
    ))
    .unwrap();
    assert!(r.param_fallbacks().is_empty());
    let report = r.start_all(Caller::Kernel);
    let failed: Vec<String> = report.failed.iter().map(|(_, e)| e.to_string()).collect();
    assert_eq!(
        failed,
        [
            "module `plain` failed to init: invalid value for `plain.time_slice_ms`: `0` is outside 1..=1000",
            "module `unknown` failed to init: module `unknown` has no parameter `nosuch`",
        ]
    );
    assert!(seen.lock().unwrap().is_empty(), "init never ran");
    assert!(r.params("plain").is_err());
}

#[test]
fn good_values_of_an_essential_module_are_used_and_nothing_is_reported() {
    let r = Registry::builder()
        .cmdline("sched.time_slice_ms=5 sched.mode=lifo")
        .build();
    let j = Journal::default();
    let seen = Arc::default();
    r.register_v2(probe("sched", ModuleFlags::ESSENTIAL, &j, &seen))
        .unwrap();
    assert!(r.param_fallbacks().is_empty());
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(
        *seen.lock().unwrap(),
        ["time_slice_ms=5", "mode=lifo", "pin=1234"]
    );
}

#[test]
fn the_last_setting_decides_and_an_unknown_key_is_reported_once() {
    // A bad value after a good one still falls back (the last one wins,
    // as for every module); a repeated unknown key is one warning.
    let r = Registry::builder()
        .cmdline("sched.time_slice_ms=5 sched.time_slice_ms=abc sched.x=1 sched.x=2")
        .build();
    let j = Journal::default();
    let seen = Arc::default();
    r.register_v2(probe("sched", ModuleFlags::ESSENTIAL, &j, &seen))
        .unwrap();
    let keys: Vec<String> = r.param_fallbacks().into_iter().map(|f| f.key).collect();
    assert_eq!(keys, ["x", "time_slice_ms"]);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(seen.lock().unwrap()[0], "time_slice_ms=10");
}
