//! Parameters a module reads only at boot (`ParamSpec::boot_only`: the
//! command line sets them, `set_param` refuses them in every state), values
//! a module changes itself and reports (`ModuleHandle::report_param`,
//! `Context::report_param`: validated, shown by `params`, no callback), and
//! what `status` tells about a module (info texts, flags as names), Failed
//! ones included.

mod common;

use common::{Journal, Probe, state_of};
use helix_modules::v2::{ModuleInfo, Response};
use helix_modules::{
    AuditOutcome, Caller, ModuleError, ModuleFlags, ModuleState, Operation, ParamSpec, Registry,
};

const DRIVER_PARAMS: [ParamSpec; 3] = [
    ParamSpec::new("port", "1016").range(0, 0xfff8).boot_only(),
    ParamSpec::new("irq", "4").range(0, 15).boot_only(),
    ParamSpec::new("verbose", "off").boolean(),
];

fn driver(j: &Journal) -> Probe {
    Probe::new(ModuleInfo::new("uart").params(&DRIVER_PARAMS), j)
}

fn shown(r: &Registry, module: &str) -> Vec<String> {
    r.params(module)
        .unwrap()
        .iter()
        .map(|p| p.to_string())
        .collect()
}

fn boot_only(module: &str, key: &str) -> ModuleError {
    ModuleError::BootOnlyParam {
        module: module.into(),
        key: key.into(),
    }
}

#[test]
fn boot_only_parameters_come_from_the_command_line() {
    let r = Registry::builder()
        .cmdline("uart.irq=3 uart.port=760")
        .build();
    let j = Journal::default();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let s2 = seen.clone();
    r.register_v2(driver(&j).on_init(move |ctx| {
        *s2.lock().unwrap() = Some((ctx.config_usize("port"), ctx.config_usize("irq")));
        Ok(())
    }))
    .unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(*seen.lock().unwrap(), Some((Some(760), Some(3))));
    assert_eq!(shown(&r, "uart"), ["port=760", "irq=3", "verbose=off"]);
    let flags: Vec<bool> = r
        .params("uart")
        .unwrap()
        .iter()
        .map(|p| p.is_boot_only())
        .collect();
    assert_eq!(flags, [true, true, false]);
}

#[test]
fn boot_only_parameters_are_refused_at_run_time_in_every_state() {
    let r = Registry::builder().cmdline("uart.irq=3").build();
    let j = Journal::default();
    let mut failing = driver(&j);
    failing.fail_start = Some(ModuleError::Failed("no UART"));
    r.register_v2(failing).unwrap();

    // Registered (not initialised yet), then Failed.
    assert_eq!(
        r.set_param(Caller::Kernel, "uart", "irq", "5"),
        Err(boot_only("uart", "irq"))
    );
    r.start_all(Caller::Kernel);
    assert_eq!(state_of(&r, "uart"), ModuleState::Failed);
    assert_eq!(
        r.set_param(Caller::Kernel, "uart", "irq", "5"),
        Err(boot_only("uart", "irq"))
    );

    // Running.
    let r2 = Registry::new();
    r2.register_v2(driver(&j)).unwrap();
    assert!(r2.start_all(Caller::Kernel).is_clean());
    j.clear();
    // Refused whatever the value, valid or not: the key is what matters.
    for value in ["5", "99", "x"] {
        assert_eq!(
            r2.set_param(Caller::Kernel, "uart", "port", value),
            Err(boot_only("uart", "port"))
        );
    }
    assert_eq!(shown(&r2, "uart"), ["port=1016", "irq=4", "verbose=off"]);
    assert!(
        j.entries().iter().all(|e| !e.contains("param")),
        "on_param_change must not run: {:?}",
        j.entries()
    );
    // Other parameters of the same module still change at run time.
    r2.set_param(Caller::Kernel, "uart", "verbose", "on")
        .unwrap();
    assert_eq!(j.entries(), ["uart:param verbose=on"]);

    // The refusal is audited, and its message names module and key.
    let log = r2.audit_log(Caller::Kernel).unwrap();
    let refused = log
        .iter()
        .find(|e| e.op == Operation::SetParam && e.detail.as_deref() == Some("port"))
        .expect("audited");
    assert_eq!(
        refused.outcome,
        AuditOutcome::Failed(boot_only("uart", "port"))
    );
    let message = boot_only("serial_console", "irq").to_string();
    assert!(
        message.contains("serial_console.irq") && message.contains("read only at boot"),
        "{message}"
    );

    // A restart keeps the command-line value: nothing was overridden.
    r.restart(Caller::Kernel, "uart").unwrap_err();
    assert_eq!(shown(&r, "uart"), ["port=1016", "irq=3", "verbose=off"]);
}

#[test]
fn unknown_keys_are_still_unknown_not_boot_only() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(driver(&j)).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        r.set_param(Caller::Kernel, "uart", "baud", "9600"),
        Err(ModuleError::UnknownParam {
            module: "uart".into(),
            key: "baud".into()
        })
    );
}

const SCHED_PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("time_slice_ms", "10").range(1, 1000),
    ParamSpec::new("token", "none").sensitive(),
];

/// A module whose `set <value>` request changes its slice and reports it,
/// as round_robin's `set_time_slice` does.
fn reporting(j: &Journal) -> Probe {
    Probe::new(ModuleInfo::new("sched").params(&SCHED_PARAMS), j).on_request(|handle, req| {
        let handle = handle.as_ref().ok_or(ModuleError::Failed("no handle"))?;
        let value = String::from_utf8_lossy(&req.payload).into_owned();
        match req.request_type.as_str() {
            "set" => handle.report_param("time_slice_ms", &value)?,
            "token" => handle.report_param("token", &value)?,
            "bogus" => handle.report_param("nope", &value)?,
            _ => {}
        }
        Ok(Response::ok(Vec::new()))
    })
}

fn ask(r: &Registry, kind: &str, payload: &str) -> Result<Response, ModuleError> {
    r.request(
        Caller::Kernel,
        "sched",
        helix_modules::v2::Request::new("kernel", kind, payload.as_bytes().to_vec()),
    )
}

#[test]
fn a_value_reported_from_a_handler_is_what_params_shows() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(reporting(&j)).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(shown(&r, "sched"), ["time_slice_ms=10", "token=***"]);
    j.clear();

    ask(&r, "set", "3").unwrap();
    assert_eq!(shown(&r, "sched"), ["time_slice_ms=3", "token=***"]);
    assert_eq!(
        j.entries(),
        ["sched:request"],
        "reporting must not call on_param_change"
    );

    // Sensitive values stay hidden when reported.
    ask(&r, "token", "hunter2").unwrap();
    assert_eq!(shown(&r, "sched"), ["time_slice_ms=3", "token=***"]);

    // Kept like a run-time setting: a restart's init gets it.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let r = Registry::new();
    let s2 = seen.clone();
    r.register_v2(reporting(&j).on_init(move |ctx| {
        *s2.lock().unwrap() = ctx.config_usize("time_slice_ms");
        Ok(())
    }))
    .unwrap();
    r.start_all(Caller::Kernel);
    ask(&r, "set", "7").unwrap();
    r.restart(Caller::Kernel, "sched").unwrap();
    assert_eq!(*seen.lock().unwrap(), Some(7));
    assert_eq!(shown(&r, "sched")[0], "time_slice_ms=7");
}

#[test]
fn reported_values_are_validated_like_a_set() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(reporting(&j)).unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(
        ask(&r, "set", "0").unwrap_err(),
        ModuleError::InvalidParam {
            module: "sched".into(),
            key: "time_slice_ms".into(),
            reason: "`0` is outside 1..=1000".into(),
        }
    );
    assert_eq!(
        ask(&r, "bogus", "1").unwrap_err(),
        ModuleError::UnknownParam {
            module: "sched".into(),
            key: "nope".into(),
        }
    );
    assert_eq!(shown(&r, "sched"), ["time_slice_ms=10", "token=***"]);
}

#[test]
fn a_value_reported_during_init_survives_init() {
    // The module picks a value itself in init and reports it.
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(
        Probe::new(ModuleInfo::new("sched").params(&SCHED_PARAMS), &j)
            .on_init(|ctx| ctx.report_param("time_slice_ms", "25")),
    )
    .unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(shown(&r, "sched")[0], "time_slice_ms=25");

    // An invalid report is a typed error, which here fails init.
    let r = Registry::new();
    r.register_v2(
        Probe::new(ModuleInfo::new("sched").params(&SCHED_PARAMS), &j)
            .on_init(|ctx| ctx.report_param("time_slice_ms", "x")),
    )
    .unwrap();
    let report = r.start_all(Caller::Kernel);
    assert!(matches!(
        &report.failed[0].1,
        ModuleError::StepFailed { reason, .. }
            if matches!(**reason, ModuleError::InvalidParam { .. })
    ));
    assert_eq!(shown(&r, "sched")[0], "time_slice_ms=10");
}

#[test]
fn flags_print_as_names_everywhere() {
    assert_eq!(
        (ModuleFlags::SCHEDULER | ModuleFlags::ESSENTIAL).to_string(),
        "ESSENTIAL | SCHEDULER"
    );
    assert_eq!(ModuleFlags::empty().to_string(), "-");
    assert_eq!(
        ModuleFlags::from_bits_retain(1 << 20 | 1).to_string(),
        "ESSENTIAL | 0x100000"
    );

    // In a real conflict's message and in a status line.
    let r = Registry::new();
    let j = Journal::default();
    let sched = |name| {
        Probe::new(
            ModuleInfo::new(name)
                .flags(ModuleFlags::SCHEDULER.union(ModuleFlags::ESSENTIAL))
                .provides(&["scheduler"]),
            &j,
        )
    };
    r.register_v2(sched("one")).unwrap();
    r.register_v2(sched("two")).unwrap();
    let conflict = ModuleError::Conflict {
        module: "two".into(),
        holder: "one".into(),
        flag: ModuleFlags::SCHEDULER,
    };
    assert_eq!(
        conflict.to_string(),
        "module `two` cannot run: `one` already holds role SCHEDULER"
    );
    let line = r.status("one").unwrap().to_string();
    assert!(line.contains("flags=[ESSENTIAL | SCHEDULER]"), "{line}");
    assert!(!line.contains("ModuleFlags("), "{line}");
}

#[test]
fn status_carries_the_info_texts_and_keeps_them_for_a_failed_module() {
    let r = Registry::new();
    let j = Journal::default();
    let mut m = Probe::new(
        ModuleInfo::new("broken")
            .version(2, 1, 0)
            .description("Fails on purpose")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .params(&DRIVER_PARAMS),
        &j,
    );
    m.fail_init = Some(ModuleError::Failed("no device"));
    r.register_v2(m).unwrap();
    r.start_all(Caller::Kernel);
    let s = r.status("broken").unwrap();
    assert_eq!(s.state, ModuleState::Failed);
    assert_eq!(
        (
            s.description.as_str(),
            s.author.as_str(),
            s.license.as_str()
        ),
        ("Fails on purpose", "Helix developers", "MIT OR Apache-2.0")
    );
    assert_eq!(
        (s.version.to_string(), s.flags),
        ("2.1.0".into(), ModuleFlags::DRIVER)
    );
    assert!(s.last_error.is_some());
    // The parameters it would get are still listed.
    assert_eq!(shown(&r, "broken"), ["port=1016", "irq=4", "verbose=off"]);
}

#[test]
fn values_given_at_load_time_go_with_the_registration() {
    let j = Journal::default();
    let r = Registry::builder().cmdline("uart.irq=3").build();
    r.register_v2(driver(&j)).unwrap();
    // Nothing given: nothing asked, nothing audited.
    r.preset_params(Caller::Kernel, "uart", &[]).unwrap();
    let log = r.audit_log(Caller::Kernel).unwrap();
    assert!(!log.iter().any(|e| e.op == Operation::SetParam), "{log:?}");
    // Given: they win over the command line, boot-only ones included.
    r.preset_params(Caller::Kernel, "uart", &[("irq", "5"), ("port", "760")])
        .unwrap();
    r.init(Caller::Kernel, "uart").unwrap();
    let values = shown(&r, "uart");
    assert!(values.contains(&"irq=5".to_string()), "{values:?}");
    assert!(values.contains(&"port=760".to_string()), "{values:?}");
    // Unloaded and registered again, the module starts from the command
    // line, not from the earlier values, and the command line is intact.
    r.unload(Caller::Kernel, "uart").unwrap();
    r.register_v2(driver(&j)).unwrap();
    r.init(Caller::Kernel, "uart").unwrap();
    let values = shown(&r, "uart");
    assert!(values.contains(&"irq=3".to_string()), "{values:?}");
    assert!(values.contains(&"port=1016".to_string()), "{values:?}");
}
