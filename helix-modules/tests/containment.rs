//! Contained calls on the host: the registry's fault handling, driven by a
//! [`Containment`] built on `std::panic::catch_unwind` (the kernel uses a
//! catch frame instead; the registry cannot tell the difference). A module
//! panics in each entry point in turn; every time it must end Failed with
//! the fault, the caller must get a typed error, a bystander must keep
//! receiving events, nothing may stay busy, and the supervisor must restart
//! it.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use common::CatchUnwind;
use helix_modules::contain::{CallKind, FaultKind};
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{
    Caller, ModuleError, ModuleFlags, ModuleState, ParamSpec, Registry, SupervisorPolicy,
};

/// Where the module panics (`None`: nowhere).
static PANIC_IN: AtomicU32 = AtomicU32::new(0);
/// Ticks seen by the bystander.
static BYSTANDER_TICKS: AtomicU64 = AtomicU64::new(0);

const KINDS: [CallKind; 8] = [
    CallKind::Init,
    CallKind::Start,
    CallKind::Stop,
    CallKind::Event,
    CallKind::Request,
    CallKind::ParamChange,
    CallKind::Health,
    CallKind::SaveState,
];

fn code(kind: CallKind) -> u32 {
    KINDS
        .iter()
        .position(|k| *k == kind)
        .map_or(0, |i| i as u32 + 1)
}

fn boom(kind: CallKind) {
    if PANIC_IN.load(Ordering::SeqCst) == code(kind) {
        panic!("faulty module: {kind}");
    }
}

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("level", "1").range(0, 9)];

#[derive(Default)]
struct Faulty;

impl ModuleTrait for Faulty {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("faulty")
            .events(EventKinds::TICK.union(EventKinds::CUSTOM))
            .flags(ModuleFlags::HOT_RELOADABLE)
            .params(&PARAMS)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        boom(CallKind::Init);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        boom(CallKind::Start);
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        boom(CallKind::Stop);
        Ok(())
    }
    fn handle_event(&mut self, _: &Event) -> EventResponse {
        boom(CallKind::Event);
        EventResponse::Handled
    }
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        boom(CallKind::Request);
        Ok(Response::ok(b"fine".to_vec()))
    }
    fn on_param_change(&mut self, _: &str, _: &str) -> Result<(), ModuleError> {
        boom(CallKind::ParamChange);
        Ok(())
    }
    fn is_healthy(&self) -> bool {
        boom(CallKind::Health);
        true
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        boom(CallKind::SaveState);
        Some(vec![1])
    }
}

struct Bystander;

impl ModuleTrait for Bystander {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("bystander").events(EventKinds::TICK)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_event(&mut self, _: &Event) -> EventResponse {
        BYSTANDER_TICKS.fetch_add(1, Ordering::SeqCst);
        EventResponse::Handled
    }
}

fn registry(containment: Arc<CatchUnwind>) -> Registry {
    let r = Registry::builder()
        .containment(containment)
        .policy(SupervisorPolicy {
            backoff_base: 1,
            backoff_max: 1,
            ..SupervisorPolicy::default()
        })
        .build();
    r.register_v2(Faulty).unwrap();
    r.register_v2(Bystander).unwrap();
    r
}

/// Provokes a fault in `kind` and returns the error the caller saw.
fn provoke(r: &Registry, kind: CallKind) -> ModuleError {
    PANIC_IN.store(code(kind), Ordering::SeqCst);
    let tick = Event::Tick { timestamp_ns: 1 };
    let err = match kind {
        CallKind::Init | CallKind::Start => {
            let report = r.start_all(Caller::Kernel);
            report.failed.into_iter().next().expect("a failure").1
        }
        CallKind::Stop => r.stop(Caller::Kernel, "faulty").unwrap_err(),
        CallKind::Event => {
            let summary = r.dispatch(&tick);
            assert_eq!(summary.failed, 1, "{summary:?}");
            r.status("faulty").unwrap().last_error.expect("an error")
        }
        CallKind::Request => r
            .request(Caller::Kernel, "faulty", Request::new("t", "x", vec![]))
            .unwrap_err(),
        CallKind::ParamChange => r
            .set_param(Caller::Kernel, "faulty", "level", "3")
            .unwrap_err(),
        CallKind::Health => {
            r.poll_health();
            r.status("faulty").unwrap().last_error.expect("an error")
        }
        CallKind::SaveState => r
            .reload(
                Caller::Kernel,
                "faulty",
                Box::new(helix_modules::v2::ModuleAdapter::new(Faulty)),
            )
            .unwrap_err(),
        other => unreachable!("{other:?}"),
    };
    PANIC_IN.store(0, Ordering::SeqCst);
    err
}

fn faulted_in(err: &ModuleError) -> Option<CallKind> {
    match err {
        ModuleError::Faulted { during, fault, .. } => {
            assert_eq!(fault.kind, FaultKind::Panic);
            assert!(fault.report.contains("faulty module"), "{fault}");
            Some(*during)
        }
        ModuleError::StepFailed { reason, .. } => faulted_in(reason),
        _ => None,
    }
}

#[test]
fn a_fault_in_any_entry_point_fails_only_that_module_and_it_is_restarted() {
    // Panics are expected here; keep the test output readable.
    std::panic::set_hook(Box::new(|_| {}));
    for kind in KINDS {
        let containment = Arc::new(CatchUnwind::default());
        let r = registry(containment.clone());
        if !matches!(kind, CallKind::Init | CallKind::Start) {
            assert!(r.start_all(Caller::Kernel).is_clean());
        }
        let err = provoke(&r, kind);
        assert_eq!(faulted_in(&err), Some(kind), "{kind}: {err}");

        let status = r.status("faulty").unwrap();
        assert_eq!(status.state, ModuleState::Failed, "{kind}");
        assert!(!status.busy, "{kind}: still busy");
        assert_eq!(faulted_in(status.last_error.as_ref().unwrap()), Some(kind));
        assert_eq!(r.metrics("faulty").unwrap().faults, 1, "{kind}");
        assert!(containment.calls.load(Ordering::Relaxed) > 0);

        // The bystander still gets its ticks; the faulty module does not.
        let before = BYSTANDER_TICKS.load(Ordering::SeqCst);
        let s = r.dispatch(&Event::Tick { timestamp_ns: 2 });
        assert_eq!((s.delivered, s.handled), (1, 1), "{kind}: {s:?}");
        assert!(BYSTANDER_TICKS.load(Ordering::SeqCst) > before);

        // A request to the failed module is a typed error, not a hang.
        assert!(matches!(
            r.request(Caller::Kernel, "faulty", Request::new("t", "x", vec![])),
            Err(ModuleError::TargetNotRunning { .. })
        ));

        // The supervisor restarts it, and it works again.
        let report = r.supervise(1_000);
        let report = if report.restarted.is_empty() {
            r.supervise(2_000)
        } else {
            report
        };
        assert_eq!(report.restarted, ["faulty"], "{kind}: {report:?}");
        assert_eq!(r.status("faulty").unwrap().state, ModuleState::Running);
        let answer = r
            .request(Caller::Kernel, "faulty", Request::new("t", "x", vec![]))
            .unwrap();
        assert_eq!(answer.payload, b"fine");
    }
}

#[test]
fn without_a_containment_calls_run_directly() {
    let r = Registry::new();
    r.register_v2(Bystander).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(r.dispatch(&Event::Tick { timestamp_ns: 1 }).handled, 1);
    assert_eq!(r.metrics("bystander").unwrap().faults, 0);
}

#[test]
fn a_module_that_keeps_faulting_is_held_by_the_supervisor() {
    std::panic::set_hook(Box::new(|_| {}));
    /// Panics in every init.
    struct Crashy;
    impl ModuleTrait for Crashy {
        fn info(&self) -> ModuleInfo {
            ModuleInfo::new("crashy")
        }
        fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
            panic!("crashy panics in init");
        }
        fn start(&mut self) -> Result<(), ModuleError> {
            Ok(())
        }
        fn stop(&mut self) -> Result<(), ModuleError> {
            Ok(())
        }
    }
    let r = Registry::builder()
        .containment(Arc::new(CatchUnwind::default()))
        .policy(SupervisorPolicy {
            backoff_base: 1,
            backoff_max: 1,
            max_restarts: 3,
            ..SupervisorPolicy::default()
        })
        .build();
    r.register_v2(Crashy).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let mut now = 0;
    let mut held = false;
    for _ in 0..20 {
        now += 10;
        let report = r.supervise(now);
        if report.held.iter().any(|n| n == "crashy") {
            held = true;
            break;
        }
    }
    assert!(held, "never held");
    let status = r.status("crashy").unwrap();
    assert!(status.held && status.state == ModuleState::Failed);
    assert_eq!(
        r.metrics("crashy").unwrap().faults,
        4,
        "the first start and three restarts"
    );
}
