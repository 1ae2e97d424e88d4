//! Registration rules, lookups, listings and the lifecycle transition table
//! as the registry enforces it: every invalid call returns the exact error
//! naming the state, and every failing step leaves the module Failed with
//! the reason recorded.

mod common;

use common::{Journal, Probe, state_of};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{ModuleInfo, Version};
use helix_modules::{
    Caller, Health, ModuleError, ModuleFlags, ModuleName, ModuleState, Operation, ParamSpec,
    Registry, transition,
};

fn running(names: &[&'static str]) -> (Registry, Journal) {
    let r = Registry::new();
    let j = Journal::default();
    for n in names {
        r.register_v2(Probe::named(n, &j)).unwrap();
    }
    assert!(r.start_all(Caller::Kernel).is_clean());
    (r, j)
}

#[test]
fn transition_table_is_complete_and_exact() {
    use ModuleState::*;
    let states = [Registered, Initialized, Running, Stopped, Failed, Unloaded];
    let ops = [
        Operation::Init,
        Operation::Start,
        Operation::Stop,
        Operation::Unload,
        Operation::Reload,
        Operation::Restart,
    ];
    let mut allowed = Vec::new();
    for s in states {
        for op in ops {
            if let Some(to) = transition(s, op) {
                allowed.push((s, op, to));
            }
        }
    }
    assert_eq!(
        allowed,
        vec![
            (Registered, Operation::Init, Initialized),
            (Registered, Operation::Unload, Unloaded),
            (Initialized, Operation::Start, Running),
            (Initialized, Operation::Unload, Unloaded),
            (Running, Operation::Stop, Stopped),
            (Running, Operation::Reload, Running),
            (Running, Operation::Restart, Running),
            (Stopped, Operation::Start, Running),
            (Stopped, Operation::Unload, Unloaded),
            (Failed, Operation::Unload, Unloaded),
            (Failed, Operation::Restart, Running),
        ]
    );
}

#[test]
fn registration_validates_metadata() {
    let r = Registry::new();
    let j = Journal::default();
    let bad = |info: ModuleInfo| r.register_v2(Probe::new(info, &j));
    assert_eq!(
        bad(ModuleInfo::new("")),
        Err(ModuleError::InvalidMetadata {
            module: String::new(),
            reason: "the name is empty"
        })
    );
    assert!(matches!(
        bad(ModuleInfo::new("a b")),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    assert!(matches!(
        bad(ModuleInfo::new("a.b")),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    assert_eq!(
        bad(ModuleInfo::new("selfish").dependencies(&["selfish"])),
        Err(ModuleError::InvalidMetadata {
            module: "selfish".into(),
            reason: "the module depends on itself"
        })
    );
    assert_eq!(
        bad(ModuleInfo::new("selfcap")
            .provides(&["c"])
            .dependencies(&["c>=1"])),
        Err(ModuleError::InvalidMetadata {
            module: "selfcap".into(),
            reason: "the module depends on itself"
        })
    );
    assert_eq!(
        bad(ModuleInfo::new("baddep").dependencies(&["x>=one"])),
        Err(ModuleError::InvalidDependency {
            module: "baddep".into(),
            spec: "x>=one".into(),
            reason: "a version part is not a number"
        })
    );
    assert!(matches!(
        bad(ModuleInfo::new("baddep2").dependencies(&["x~1"])),
        Err(ModuleError::InvalidDependency { .. })
    ));
    assert!(matches!(
        bad(ModuleInfo::new("baddep3").dependencies(&["x>=1.2.3.4"])),
        Err(ModuleError::InvalidDependency { .. })
    ));
    assert!(matches!(
        bad(ModuleInfo::new("baddep4").dependencies(&["?"])),
        Err(ModuleError::InvalidDependency { .. })
    ));
    assert!(matches!(
        bad(ModuleInfo::new("badcap").provides(&[""])),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    // A driver entry matching on nothing would bind every PCI function.
    const ANY: [DeviceId; 1] = [DeviceId {
        vendor: None,
        device: None,
        class: None,
    }];
    assert_eq!(
        bad(ModuleInfo::new("greedy").pci_ids(&ANY)),
        Err(ModuleError::InvalidMetadata {
            module: "greedy".into(),
            reason: "a PCI id that matches every device"
        })
    );
    assert_eq!(
        bad(ModuleInfo::new("user").flags(ModuleFlags::USERSPACE)),
        Err(ModuleError::Unsupported {
            module: "user".into(),
            flag: ModuleFlags::USERSPACE
        })
    );
    assert!(matches!(
        bad(ModuleInfo::new("unknownflag").flags(ModuleFlags::from_bits_retain(1 << 20))),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    const BAD_DEFAULT: [ParamSpec; 1] = [ParamSpec::new("n", "x").range(0, 1)];
    assert!(matches!(
        bad(ModuleInfo::new("baddefault").params(&BAD_DEFAULT)),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    const TWICE: [ParamSpec; 2] = [ParamSpec::new("n", "1"), ParamSpec::new("n", "2")];
    assert!(matches!(
        bad(ModuleInfo::new("twice").params(&TWICE)),
        Err(ModuleError::InvalidMetadata { .. })
    ));
    bad(ModuleInfo::new("ok")).unwrap();
    assert_eq!(
        bad(ModuleInfo::new("ok")),
        Err(ModuleError::AlreadyRegistered { name: "ok".into() })
    );
    assert_eq!(r.list().len(), 1);
}

#[test]
fn lookups_by_name_id_and_capability() {
    let r = Registry::new();
    let j = Journal::default();
    let a = r
        .register_v2(Probe::new(
            ModuleInfo::new("a")
                .version(2, 1, 0)
                .provides(&["net"])
                .flags(ModuleFlags::DRIVER),
            &j,
        ))
        .unwrap();
    let b = r
        .register_v2(Probe::new(ModuleInfo::new("b").provides(&["net"]), &j))
        .unwrap();
    assert_eq!(r.id_of("a"), Ok(a));
    assert_eq!(
        r.id_of("zz"),
        Err(ModuleError::NotFound { name: "zz".into() })
    );
    assert_eq!(r.providers("net"), vec![a, b]);
    assert!(r.providers("fs").is_empty());
    let s = r.status_by_id(b).unwrap();
    assert_eq!(s.name, "b");
    assert_eq!(a.get(), 0);
    assert_eq!(a.to_string(), "#0");
    assert_eq!(r.find_running_with_flag(ModuleFlags::DRIVER), None);
    r.start_all(Caller::Kernel);
    assert_eq!(r.find_running_with_flag(ModuleFlags::DRIVER), Some(a));
    let list = r.list();
    assert_eq!(list.len(), 2);
    assert_eq!(list[0].version, Version::new(2, 1, 0));
    assert_eq!(list[0].state, ModuleState::Running);
    assert_eq!(list[0].flags, ModuleFlags::DRIVER);
    assert_eq!(list[0].health, Health::Healthy);
    assert_eq!(
        list[0].to_string(),
        "a 2.1.0 running healthy flags=[DRIVER] provides=[net] deps=[]"
    );
    r.unload(Caller::Kernel, "b").unwrap_err();
    r.stop(Caller::Kernel, "b").unwrap();
    r.unload(Caller::Kernel, "b").unwrap();
    assert_eq!(
        r.status_by_id(b),
        Err(ModuleError::NotFound { name: "#1".into() })
    );
    assert_eq!(r.providers("net"), vec![a]);
    assert!(format!("{r:?}").contains("\"a\""));
}

#[test]
fn invalid_calls_name_the_current_state() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::named("m", &j)).unwrap();
    let inv = |state, op| ModuleError::InvalidState {
        module: "m".into(),
        state,
        op,
    };
    assert_eq!(
        r.start(Caller::Kernel, "m"),
        Err(inv(ModuleState::Registered, Operation::Start))
    );
    assert_eq!(
        r.stop(Caller::Kernel, "m"),
        Err(inv(ModuleState::Registered, Operation::Stop))
    );
    assert_eq!(
        r.restart(Caller::Kernel, "m"),
        Err(inv(ModuleState::Registered, Operation::Restart))
    );
    r.init(Caller::Kernel, "m").unwrap();
    assert_eq!(
        r.init(Caller::Kernel, "m"),
        Err(inv(ModuleState::Initialized, Operation::Init))
    );
    r.start(Caller::Kernel, "m").unwrap();
    assert_eq!(
        r.start(Caller::Kernel, "m"),
        Err(inv(ModuleState::Running, Operation::Start))
    );
    assert_eq!(
        r.unload(Caller::Kernel, "m"),
        Err(inv(ModuleState::Running, Operation::Unload))
    );
    assert_eq!(
        r.init(Caller::Kernel, "m"),
        Err(inv(ModuleState::Running, Operation::Init))
    );
    r.stop(Caller::Kernel, "m").unwrap();
    assert_eq!(
        r.stop(Caller::Kernel, "m"),
        Err(inv(ModuleState::Stopped, Operation::Stop))
    );
    assert_eq!(
        r.reload(
            Caller::Kernel,
            "m",
            Box::new(helix_modules::v2::ModuleAdapter::new(Probe::named("m", &j)))
        ),
        Err(ModuleError::NotHotReloadable { module: "m".into() })
    );
    r.start(Caller::Kernel, "m").unwrap();
    assert_eq!(state_of(&r, "m"), ModuleState::Running);
    assert_eq!(j.entries(), ["m:init", "m:start", "m:stop", "m:start"]);
    assert_eq!(
        r.stop(Caller::Kernel, "nope"),
        Err(ModuleError::NotFound {
            name: "nope".into()
        })
    );
    assert_eq!(
        inv(ModuleState::Stopped, Operation::Stop).to_string(),
        "cannot stop module `m` while it is stopped"
    );
}

#[test]
fn failing_steps_move_to_failed_and_record_why() {
    let r = Registry::new();
    let j = Journal::default();
    let mut a = Probe::named("init-fails", &j);
    a.fail_init = Some(ModuleError::Failed("no device"));
    let mut b = Probe::named("start-fails", &j);
    b.fail_start = Some(ModuleError::Message("port busy".into()));
    let mut c = Probe::named("stop-fails", &j);
    c.fail_stop = Some(ModuleError::Failed("stuck"));
    r.register_v2(a).unwrap();
    r.register_v2(b).unwrap();
    r.register_v2(c).unwrap();
    let report = r.start_all(Caller::Kernel);
    let init_err = ModuleError::StepFailed {
        module: "init-fails".into(),
        op: Operation::Init,
        reason: Box::new(ModuleError::Failed("no device")),
    };
    let start_err = ModuleError::StepFailed {
        module: "start-fails".into(),
        op: Operation::Start,
        reason: Box::new(ModuleError::Message("port busy".into())),
    };
    assert_eq!(
        report.failed,
        vec![
            (ModuleName::from("init-fails"), init_err.clone()),
            (ModuleName::from("start-fails"), start_err.clone())
        ]
    );
    assert_eq!(report.started, vec!["stop-fails".to_string()]);
    let s = r.status("init-fails").unwrap();
    assert_eq!(
        (s.state, s.health),
        (ModuleState::Failed, Health::Unhealthy)
    );
    assert_eq!(s.last_error, Some(init_err.clone()));
    assert_eq!(
        init_err.to_string(),
        "module `init-fails` failed to init: no device"
    );
    assert_eq!(r.status("start-fails").unwrap().last_error, Some(start_err));
    assert_eq!(
        r.stop(Caller::Kernel, "stop-fails"),
        Err(ModuleError::StepFailed {
            module: "stop-fails".into(),
            op: Operation::Stop,
            reason: Box::new(ModuleError::Failed("stuck")),
        })
    );
    assert_eq!(state_of(&r, "stop-fails"), ModuleState::Failed);
    // Only unload or restart leads out of Failed.
    assert_eq!(
        r.start(Caller::Kernel, "init-fails"),
        Err(ModuleError::InvalidState {
            module: "init-fails".into(),
            state: ModuleState::Failed,
            op: Operation::Start
        })
    );
    r.unload(Caller::Kernel, "init-fails").unwrap();
    assert_eq!(
        r.id_of("init-fails"),
        Err(ModuleError::NotFound {
            name: "init-fails".into()
        })
    );
    // A second start_all reports the Failed module as skipped.
    let again = r.start_all(Caller::Kernel);
    assert!(again.skipped.iter().any(|(n, e)| n == "start-fails"
        && *e
            == ModuleError::InvalidState {
                module: "start-fails".into(),
                state: ModuleState::Failed,
                op: Operation::Start
            }));
}

#[test]
fn essential_modules_refuse_stop_and_unload_but_stop_at_shutdown() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::new(
        ModuleInfo::new("core").flags(ModuleFlags::ESSENTIAL),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("app").dependencies(&["core"]),
        &j,
    ))
    .unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let essential = ModuleError::Essential {
        module: "core".into(),
    };
    assert_eq!(r.stop(Caller::Kernel, "core"), Err(essential.clone()));
    assert_eq!(r.unload(Caller::Kernel, "core"), Err(essential));
    j.clear();
    let out = r.shutdown();
    assert_eq!(
        out,
        vec![("app".to_string(), Ok(())), ("core".to_string(), Ok(()))]
    );
    assert_eq!(
        j.entries(),
        ["core:event", "app:event", "app:stop", "core:stop"]
    );
}

#[test]
fn exclusive_roles_conflict() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Probe::new(
        ModuleInfo::new("rr").flags(ModuleFlags::ALLOCATOR),
        &j,
    ))
    .unwrap();
    r.register_v2(Probe::new(
        ModuleInfo::new("cfs").flags(ModuleFlags::ALLOCATOR),
        &j,
    ))
    .unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, vec!["rr".to_string()]);
    let conflict = ModuleError::Conflict {
        module: "cfs".into(),
        holder: "rr".into(),
        flag: ModuleFlags::ALLOCATOR,
    };
    // Waiting for a held role is standby, not a skip: the report is clean.
    assert!(report.skipped.is_empty(), "{report:?}");
    assert!(report.is_clean());
    assert_eq!(
        report.standby,
        vec![(ModuleName::from("cfs"), "rr".to_string())]
    );
    assert_eq!(state_of(&r, "cfs"), ModuleState::Initialized);
    assert_eq!(r.status("cfs").unwrap().standby_for.as_deref(), Some("rr"));
    assert_eq!(r.start(Caller::Kernel, "cfs"), Err(conflict));
    r.stop(Caller::Kernel, "rr").unwrap();
    r.start(Caller::Kernel, "cfs").unwrap();
    assert_eq!(
        r.find_running_with_flag(ModuleFlags::ALLOCATOR),
        r.id_of("cfs").ok()
    );
}

#[test]
fn restart_reinitialises_a_failed_module() {
    let (r, j) = running(&["m"]);
    r.stop(Caller::Kernel, "m").unwrap();
    assert_eq!(
        r.restart(Caller::Kernel, "m"),
        Err(ModuleError::InvalidState {
            module: "m".into(),
            state: ModuleState::Stopped,
            op: Operation::Restart
        })
    );
    r.start(Caller::Kernel, "m").unwrap();
    j.clear();
    r.restart(Caller::Kernel, "m").unwrap();
    assert_eq!(j.entries(), ["m:stop", "m:init", "m:start"]);
    assert_eq!(r.metrics("m").unwrap().restarts, 1);
}
