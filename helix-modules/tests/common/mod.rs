//! A configurable test module (`Probe`) shared by the integration tests:
//! each knob makes one lifecycle step or handler behave a given way, and a
//! shared journal records what the registry called, in order. Plus
//! `CatchUnwind`, a host containment that turns panics into faults.
#![allow(dead_code)]

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use helix_modules::contain::{CallInfo, Containment, Fault, FaultKind};
use helix_modules::v2::{
    Context, Event, EventResponse, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{ModuleError, Registry};

/// Catches panics as faults, and records what it was asked to run.
#[derive(Debug, Default)]
pub struct CatchUnwind {
    pub calls: AtomicU64,
}

impl Containment for CatchUnwind {
    fn run(&self, _info: &CallInfo, call: &mut dyn FnMut()) -> Result<(), Fault> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        catch_unwind(AssertUnwindSafe(call)).map_err(|payload| {
            let message = payload
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Fault::new(FaultKind::Panic, message)
        })
    }
}

/// Calls recorded by probes, as `name:what`.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<String>>>);

impl Journal {
    pub fn push(&self, entry: String) {
        self.0.lock().unwrap().push(entry);
    }
    pub fn entries(&self) -> Vec<String> {
        self.0.lock().unwrap().clone()
    }
    pub fn with_suffix(&self, suffix: &str) -> Vec<String> {
        self.entries()
            .into_iter()
            .filter_map(|e| e.strip_suffix(suffix).map(String::from))
            .collect()
    }
    pub fn clear(&self) {
        self.0.lock().unwrap().clear();
    }
}

pub type RequestFn =
    Box<dyn FnMut(&Option<ModuleHandle>, &Request) -> Result<Response, ModuleError> + Send>;
pub type InitFn = Box<dyn FnMut(&Context) -> Result<(), ModuleError> + Send>;
pub type EventFn = Box<dyn FnMut(&Option<ModuleHandle>, &Event) -> EventResponse + Send>;
pub type StartFn = Box<dyn FnMut() + Send>;

pub struct Probe {
    pub info: ModuleInfo,
    pub journal: Journal,
    pub fail_init: Option<ModuleError>,
    pub fail_start: Option<ModuleError>,
    pub fail_stop: Option<ModuleError>,
    pub fail_restore: Option<ModuleError>,
    pub reject_params: bool,
    pub healthy: Arc<AtomicBool>,
    pub on_event: Option<EventFn>,
    pub on_request: Option<RequestFn>,
    pub on_init: Option<InitFn>,
    pub on_start: Option<StartFn>,
    pub state: Vec<u8>,
    pub handle: Option<ModuleHandle>,
}

impl Probe {
    pub fn new(info: ModuleInfo, journal: &Journal) -> Self {
        Probe {
            info,
            journal: journal.clone(),
            fail_init: None,
            fail_start: None,
            fail_stop: None,
            fail_restore: None,
            reject_params: false,
            healthy: Arc::new(AtomicBool::new(true)),
            on_event: None,
            on_request: None,
            on_init: None,
            on_start: None,
            state: Vec::new(),
            handle: None,
        }
    }

    pub fn named(name: &'static str, journal: &Journal) -> Self {
        Self::new(ModuleInfo::new(name).version(1, 0, 0), journal)
    }

    pub fn on_event(
        mut self,
        f: impl FnMut(&Option<ModuleHandle>, &Event) -> EventResponse + Send + 'static,
    ) -> Self {
        self.on_event = Some(Box::new(f));
        self
    }

    pub fn on_request(
        mut self,
        f: impl FnMut(&Option<ModuleHandle>, &Request) -> Result<Response, ModuleError> + Send + 'static,
    ) -> Self {
        self.on_request = Some(Box::new(f));
        self
    }

    pub fn on_init(
        mut self,
        f: impl FnMut(&Context) -> Result<(), ModuleError> + Send + 'static,
    ) -> Self {
        self.on_init = Some(Box::new(f));
        self
    }

    pub fn on_start(mut self, f: impl FnMut() + Send + 'static) -> Self {
        self.on_start = Some(Box::new(f));
        self
    }

    fn log(&self, what: &str) {
        self.journal.push(format!("{}:{what}", self.info.name));
    }
}

impl ModuleTrait for Probe {
    fn info(&self) -> ModuleInfo {
        self.info
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.log("init");
        self.handle = Some(ctx.handle());
        if let Some(f) = self.on_init.as_mut() {
            f(ctx)?;
        }
        match self.fail_init.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        self.log("start");
        if let Some(f) = self.on_start.as_mut() {
            f();
        }
        match self.fail_start.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        self.log("stop");
        match self.fail_stop.clone() {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    fn handle_event(&mut self, event: &Event) -> EventResponse {
        self.log("event");
        match self.on_event.as_mut() {
            Some(f) => f(&self.handle, event),
            None => EventResponse::Handled,
        }
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        self.log("request");
        match self.on_request.as_mut() {
            Some(f) => f(&self.handle, request),
            None => Ok(Response::ok(request.payload.clone())),
        }
    }

    fn is_healthy(&self) -> bool {
        self.healthy.load(Ordering::SeqCst)
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        Some(self.state.clone())
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        self.log("restore");
        if let Some(e) = self.fail_restore.clone() {
            return Err(e);
        }
        self.state = state.to_vec();
        Ok(())
    }

    fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
        self.log(&format!("param {key}={value}"));
        if self.reject_params {
            Err(ModuleError::Failed("parameter change rejected"))
        } else {
            Ok(())
        }
    }
}

/// Leaks a string so it can be used in `ModuleInfo` (tests only).
pub fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

pub fn leak_list(v: Vec<String>) -> &'static [&'static str] {
    Box::leak(
        v.into_iter()
            .map(leak)
            .collect::<Vec<_>>()
            .into_boxed_slice(),
    )
}

pub fn state_of(r: &Registry, name: &str) -> helix_modules::ModuleState {
    r.status(name).unwrap().state
}

/// Registers a plain [`Probe`] with `info`.
pub fn probe(r: &Registry, j: &Journal, info: ModuleInfo) {
    r.register_v2(Probe::new(info, j)).unwrap();
}

/// What the test SECURITY module `sec` saw: (op, caller, target, detail,
/// evidence length).
pub type Seen = Arc<Mutex<Vec<(helix_modules::Operation, String, String, String, usize)>>>;

/// The error of `sec` refusing `op` on `target` for `reason`.
pub fn security_refused(op: helix_modules::Operation, target: &str, reason: &str) -> ModuleError {
    ModuleError::SecurityRefused {
        by: "sec".into(),
        op,
        target: target.into(),
        reason: reason.into(),
    }
}
