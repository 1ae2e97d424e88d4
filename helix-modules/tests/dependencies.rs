//! Dependency resolution: order by name and capability, optional and
//! versioned dependencies, cycles named, failed dependencies skipped with
//! the reason while everything else starts, reverse order at shutdown,
//! provider and graph bookkeeping across unloads, and a property test that
//! every produced order respects every edge.

mod common;

use common::{Journal, Probe, leak, leak_list, state_of};
use helix_modules::v2::ModuleInfo;
use helix_modules::{Caller, ModuleError, ModuleName, ModuleState, Registry};
use proptest::prelude::*;

fn module(r: &Registry, j: &Journal, info: ModuleInfo) {
    r.register_v2(Probe::new(info, j)).unwrap();
}

#[test]
fn dependencies_start_first_and_stop_last() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("app").dependencies(&["net", "fs"]));
    module(&r, &j, ModuleInfo::new("fs").dependencies(&["block"]));
    module(
        &r,
        &j,
        ModuleInfo::new("e1000").provides(&["net"]).version(1, 4, 0),
    );
    module(&r, &j, ModuleInfo::new("ahci").provides(&["block"]));
    assert_eq!(r.resolve().unwrap(), ["e1000", "ahci", "fs", "app"]);
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["e1000", "ahci", "fs", "app"]);
    assert_eq!(j.with_suffix(":start"), ["e1000", "ahci", "fs", "app"]);
    r.shutdown();
    assert_eq!(j.with_suffix(":stop"), ["app", "fs", "ahci", "e1000"]);
}

#[test]
fn version_requirements_are_checked() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("timer").version(1, 4, 2));
    module(&r, &j, ModuleInfo::new("ok1").dependencies(&["timer>=1.2"]));
    module(
        &r,
        &j,
        ModuleInfo::new("ok2").dependencies(&["timer >=1, <2"]),
    );
    module(&r, &j, ModuleInfo::new("ok3").dependencies(&["timer^1.4"]));
    module(
        &r,
        &j,
        ModuleInfo::new("ok4").dependencies(&["timer=1.4.2"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("ok5").dependencies(&["timer<=1.4.2", "timer>1.4.1"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("too-new").dependencies(&["timer>=2"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("too-old").dependencies(&["timer<1.4"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("caret").dependencies(&["timer^1.5"]),
    );
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["timer", "ok1", "ok2", "ok3", "ok4", "ok5"]);
    let missing = |m: &str, d: &str| {
        (
            ModuleName::from(m),
            ModuleError::DependencyMissing {
                module: m.into(),
                dependency: d.into(),
            },
        )
    };
    assert_eq!(
        report.skipped,
        vec![
            missing("too-new", "timer>=2"),
            missing("too-old", "timer<1.4"),
            missing("caret", "timer^1.5"),
        ]
    );
    assert_eq!(state_of(&r, "too-new"), ModuleState::Initialized);
}

#[test]
fn optional_dependencies_order_but_never_block() {
    let r = Registry::new();
    let j = Journal::default();
    module(
        &r,
        &j,
        ModuleInfo::new("app").dependencies(&["?trace", "?absent"]),
    );
    let mut trace = Probe::named("trace", &j);
    trace.fail_start = Some(ModuleError::Failed("no buffer"));
    r.register_v2(trace).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["app"]);
    assert_eq!(j.with_suffix(":init"), ["trace", "app"]);
    assert_eq!(report.failed.len(), 1);
}

#[test]
fn failed_dependency_skips_dependents_only() {
    let r = Registry::new();
    let j = Journal::default();
    let mut bad = Probe::named("bad", &j);
    bad.fail_init = Some(ModuleError::Failed("broken"));
    r.register_v2(bad).unwrap();
    module(&r, &j, ModuleInfo::new("needs-bad").dependencies(&["bad"]));
    module(
        &r,
        &j,
        ModuleInfo::new("needs-needs-bad").dependencies(&["needs-bad"]),
    );
    module(&r, &j, ModuleInfo::new("independent"));
    module(
        &r,
        &j,
        ModuleInfo::new("needs-nothing-registered").dependencies(&["ghost"]),
    );
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["independent"]);
    assert_eq!(report.failed[0].0, "bad");
    let mut skipped = report.skipped.clone();
    skipped.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        skipped,
        vec![
            (
                ModuleName::from("needs-bad"),
                ModuleError::DependencyFailed {
                    module: "needs-bad".into(),
                    dependency: "bad".into()
                }
            ),
            (
                ModuleName::from("needs-needs-bad"),
                ModuleError::DependencyFailed {
                    module: "needs-needs-bad".into(),
                    dependency: "needs-bad".into()
                }
            ),
            (
                ModuleName::from("needs-nothing-registered"),
                ModuleError::DependencyMissing {
                    module: "needs-nothing-registered".into(),
                    dependency: "ghost".into()
                }
            ),
        ]
    );
    assert_eq!(
        r.start(Caller::Kernel, "needs-bad"),
        Err(ModuleError::DependencyFailed {
            module: "needs-bad".into(),
            dependency: "bad".into()
        })
    );
}

#[test]
fn cycles_are_named_and_the_rest_still_starts() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("free"));
    module(&r, &j, ModuleInfo::new("a").dependencies(&["c-cap"]));
    module(&r, &j, ModuleInfo::new("b").dependencies(&["a"]));
    module(
        &r,
        &j,
        ModuleInfo::new("c")
            .dependencies(&["b"])
            .provides(&["c-cap"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("downstream").dependencies(&["b", "free"]),
    );
    module(
        &r,
        &j,
        ModuleInfo::new("soft").dependencies(&["?a", "free"]),
    );
    let cycle = ModuleError::Cycle(vec!["a".into(), "c".into(), "b".into()]);
    assert_eq!(r.resolve(), Err(cycle.clone()));
    assert_eq!(cycle.to_string(), "dependency cycle: a -> c -> b -> a");
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["free", "soft"]);
    let mut skipped = report.skipped.clone();
    skipped.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        skipped,
        vec![
            (ModuleName::from("a"), cycle.clone()),
            (ModuleName::from("b"), cycle.clone()),
            (ModuleName::from("c"), cycle),
            (
                ModuleName::from("downstream"),
                ModuleError::DependencyFailed {
                    module: "downstream".into(),
                    dependency: "b".into()
                }
            ),
        ]
    );
}

#[test]
fn two_separate_cycles_are_both_reported() {
    let r = Registry::new();
    let j = Journal::default();
    module(&r, &j, ModuleInfo::new("x1").dependencies(&["x2"]));
    module(&r, &j, ModuleInfo::new("x2").dependencies(&["x1"]));
    module(&r, &j, ModuleInfo::new("y1").dependencies(&["y2"]));
    module(&r, &j, ModuleInfo::new("y2").dependencies(&["y1"]));
    let report = r.start_all(Caller::Kernel);
    assert!(report.started.is_empty());
    let cycles: Vec<_> = report.skipped.iter().map(|(_, e)| e.clone()).collect();
    assert!(cycles.contains(&ModuleError::Cycle(vec!["x1".into(), "x2".into()])));
    assert!(cycles.contains(&ModuleError::Cycle(vec!["y1".into(), "y2".into()])));
}

#[test]
fn a_dependency_that_stops_while_its_user_initialises_keeps_the_user_from_starting() {
    let (r, j) = (Registry::new(), Journal::default());
    module(&r, &j, ModuleInfo::new("disk"));
    let registry = r.clone();
    let fs = Probe::new(ModuleInfo::new("fs").dependencies(&["disk"]), &j).on_init(move |_| {
        // `start_all` is bringing `fs` up: its init sees itself
        // initialising, and its dependency goes away meanwhile.
        assert_eq!(state_of(&registry, "fs"), ModuleState::Registered);
        registry.stop(Caller::Kernel, "disk").unwrap();
        Ok(())
    });
    r.register_v2(fs).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["disk"]);
    assert_eq!(
        report.skipped,
        [(
            ModuleName::from("fs"),
            ModuleError::DependencyFailed {
                module: "fs".into(),
                dependency: "disk".into()
            }
        )]
    );
    assert_eq!(state_of(&r, "fs"), ModuleState::Initialized);
}

#[test]
fn a_module_being_started_is_listed_initialized() {
    let (r, j) = (Registry::new(), Journal::default());
    let registry = r.clone();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(None));
    let during = seen.clone();
    let net = Probe::named("net", &j).on_start(move || {
        *during.lock().unwrap() = Some(state_of(&registry, "net"));
    });
    r.register_v2(net).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(*seen.lock().unwrap(), Some(ModuleState::Initialized));
    assert_eq!(state_of(&r, "net"), ModuleState::Running);
}

#[test]
fn capability_with_several_providers_needs_one_running() {
    let r = Registry::new();
    let j = Journal::default();
    let mut broken = Probe::new(ModuleInfo::new("disk-a").provides(&["block"]), &j);
    broken.fail_start = Some(ModuleError::Failed("no disk"));
    r.register_v2(broken).unwrap();
    module(&r, &j, ModuleInfo::new("disk-b").provides(&["block"]));
    module(&r, &j, ModuleInfo::new("fs").dependencies(&["block"]));
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.started, ["disk-b", "fs"]);
}

#[test]
fn unloading_keeps_providers_and_the_graph_consistent() {
    let r = Registry::new();
    let j = Journal::default();
    // Several providers of one capability: unloading the first leaves the
    // second answering.
    module(&r, &j, ModuleInfo::new("fs").dependencies(&["block"]));
    module(&r, &j, ModuleInfo::new("disk-a").provides(&["block"]));
    module(&r, &j, ModuleInfo::new("disk-b").provides(&["block"]));
    assert_eq!(r.resolve().unwrap(), ["disk-a", "disk-b", "fs"]);
    r.unload(Caller::Kernel, "disk-a").unwrap();
    assert_eq!(r.resolve().unwrap(), ["disk-b", "fs"]);
    r.unload(Caller::Kernel, "disk-b").unwrap();
    assert_eq!(r.resolve().unwrap(), ["fs"]);
    let report = r.start_all(Caller::Kernel);
    assert!(
        matches!(report.skipped[..], [(ref m, ModuleError::DependencyMissing { .. })] if m == "fs")
    );

    // Enough unloads that the dependency data is compacted (more than a
    // thousand retired entries), after which a chain of survivors still
    // resolves in order, versions and optional dependencies included.
    let r = Registry::new();
    for i in 0..600 {
        let deps = match i {
            0 => vec![],
            _ => vec![format!("m{}>=1.0", i - 1), format!("?gone{i}")],
        };
        let info = ModuleInfo::new(leak(format!("m{i}")))
            .version(1, 2, 0)
            .dependencies(leak_list(deps));
        module(&r, &j, info);
        let filler = ModuleInfo::new(leak(format!("gone{i}")))
            .dependencies(leak_list(vec![format!("m{i}"), format!("?m{}", i + 1)]));
        module(&r, &j, filler);
    }
    for i in 0..600 {
        r.unload(Caller::Kernel, &format!("gone{i}")).unwrap();
    }
    let expected: Vec<String> = (0..600).map(|i| format!("m{i}")).collect();
    assert_eq!(r.resolve().unwrap(), expected);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]
    /// Random DAGs (edges only to earlier modules, by name or capability,
    /// registered in shuffled order): the order places every provider
    /// before its dependent and contains every module once.
    #[test]
    fn order_respects_every_edge(
        n in 1usize..40,
        edges in proptest::collection::vec((0usize..40, 0usize..40, any::<bool>()), 0..120),
        rotate in 0usize..40,
    ) {
        let mut deps: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut pairs = Vec::new();
        for (a, b, by_cap) in edges {
            let (a, b) = (a % n, b % n);
            if a == b { continue; }
            let (from, to) = if a > b { (a, b) } else { (b, a) };
            deps[from].push(if by_cap { format!("cap{to}") } else { format!("m{to}") });
            pairs.push((from, to));
        }
        let r = Registry::new();
        let j = Journal::default();
        for k in 0..n {
            let i = (k + rotate) % n;
            let info = ModuleInfo::new(leak(format!("m{i}")))
                .provides(leak_list(vec![format!("cap{i}")]))
                .dependencies(leak_list(deps[i].clone()));
            r.register_v2(Probe::new(info, &j)).unwrap();
        }
        let order = r.resolve().unwrap();
        prop_assert_eq!(order.len(), n);
        let pos = |i: usize| order.iter().position(|x| *x == format!("m{i}")).unwrap();
        for (from, to) in pairs {
            prop_assert!(pos(to) < pos(from));
        }
        prop_assert!(r.start_all(Caller::Kernel).is_clean());
    }

    /// Closing any DAG path into a loop yields a cycle error whose members
    /// really depend on each other in the order given.
    #[test]
    fn cycles_name_real_loops(len in 2usize..8) {
        let r = Registry::new();
        let j = Journal::default();
        for i in 0..len {
            let dep = format!("m{}", (i + 1) % len);
            let info = ModuleInfo::new(leak(format!("m{i}"))).dependencies(leak_list(vec![dep]));
            r.register_v2(Probe::new(info, &j)).unwrap();
        }
        let expected: Vec<String> = (0..len).map(|i| format!("m{i}")).collect();
        prop_assert_eq!(r.resolve(), Err(ModuleError::Cycle(expected)));
    }
}
