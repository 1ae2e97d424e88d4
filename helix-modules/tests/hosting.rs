//! What loadable modules rely on in the registry: a module unloaded and
//! registered again gets its old id back (so insert/remove cycles cost no
//! table space), a reload between instances with different state formats
//! is refused before anything stops, and a hosted handle forwards to its
//! host.

mod common;

use common::{Journal, Probe};
use helix_modules::host::HostLink;
use helix_modules::v2::{ModuleHandle, ModuleInfo, Request, Response};
use helix_modules::{
    Caller, DispatchSummary, ModuleError, ModuleFlags, ModuleId, ModuleState, Operation, Registry,
};
use std::sync::{Arc, Mutex};

#[test]
fn a_module_registered_again_gets_its_id_back_and_others_get_new_ones() {
    let r = Registry::new();
    let j = Journal::default();
    let a = r.register_v2(Probe::named("a", &j)).unwrap();
    let b = r.register_v2(Probe::named("b", &j)).unwrap();
    r.start_all(Caller::Kernel);
    r.stop(Caller::Kernel, "a").unwrap();
    r.unload(Caller::Kernel, "a").unwrap();
    assert!(r.status_by_id(a).is_err(), "a stale id finds nothing");
    let c = r.register_v2(Probe::named("c", &j)).unwrap();
    assert!(c != a && c != b, "another module never takes a's id");
    for _ in 0..3 {
        assert_eq!(r.register_v2(Probe::named("a", &j)).unwrap(), a);
        r.start(Caller::Kernel, "a").unwrap_err();
        r.init(Caller::Kernel, "a").unwrap();
        r.start(Caller::Kernel, "a").unwrap();
        assert_eq!(r.status_by_id(a).unwrap().state, ModuleState::Running);
        r.stop(Caller::Kernel, "a").unwrap();
        r.unload(Caller::Kernel, "a").unwrap();
    }
    assert_eq!(r.list().len(), 2);
}

#[test]
fn a_reload_across_state_formats_is_refused_before_anything_stops() {
    let r = Registry::new();
    let j = Journal::default();
    let info = ModuleInfo::new("log").flags(ModuleFlags::HOT_RELOADABLE);
    r.register_v2(Probe::new(info.state_version(1), &j))
        .unwrap();
    r.start_all(Caller::Kernel);
    let refused = r
        .reload(
            Caller::Kernel,
            "log",
            Box::new(helix_modules::v2::ModuleAdapter::new(Probe::new(
                info.state_version(2),
                &j,
            ))),
        )
        .unwrap_err();
    assert_eq!(
        refused,
        ModuleError::StateIncompatible {
            module: "log".into(),
            running: 1,
            offered: 2
        }
    );
    assert!(refused.to_string().contains("state format 2"));
    assert_eq!(r.status("log").unwrap().state, ModuleState::Running);
    // Same format: the reload goes through.
    r.reload(
        Caller::Kernel,
        "log",
        Box::new(helix_modules::v2::ModuleAdapter::new(Probe::new(
            info.state_version(1),
            &j,
        ))),
    )
    .unwrap();
}

/// A host that records what its hosted handle forwarded.
#[derive(Default)]
struct Recorder(Mutex<Vec<String>>);

impl HostLink for Recorder {
    fn request(&self, target: &str, request: Request) -> Result<Response, ModuleError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("request {target} {}", request.request_type));
        Ok(Response::ok(b"pong".to_vec()))
    }
    fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        self.0
            .lock()
            .unwrap()
            .push(format!("publish {name} {}", data.len()));
        Ok(DispatchSummary::default())
    }
    fn report_param(&self, key: &str, value: &str) -> Result<(), ModuleError> {
        self.0.lock().unwrap().push(format!("param {key}={value}"));
        Err(ModuleError::Failed("refused by the host"))
    }
}

#[test]
fn a_hosted_handle_forwards_every_call_to_its_host() {
    let host = Arc::new(Recorder::default());
    let handle = ModuleHandle::hosted(ModuleId::hosted(7), host.clone());
    assert_eq!(handle.id().get(), 7);
    assert_eq!(handle.caller(), Caller::Module(ModuleId::hosted(7)));
    let resp = handle
        .request("server", Request::new("m", "ping", vec![]))
        .unwrap();
    assert_eq!(resp.payload, b"pong");
    handle.publish("evt", vec![1, 2, 3]).unwrap();
    assert_eq!(
        handle.report_param("level", "2"),
        Err(ModuleError::Failed("refused by the host"))
    );
    assert_eq!(
        *host.0.lock().unwrap(),
        ["request server ping", "publish evt 3", "param level=2"]
    );
}

/// A module that keeps one number as its state.
struct Keeper(u8);

impl helix_modules::v2::ModuleTrait for Keeper {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("keeper")
            .flags(ModuleFlags::PERSISTENT)
            .state_version(3)
    }
    fn init(&mut self, _: &helix_modules::v2::Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        Some(vec![self.0])
    }
    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        match state {
            [n] => {
                self.0 = *n;
                Ok(())
            }
            _ => Err(ModuleError::Failed("one byte expected")),
        }
    }
}

#[test]
fn a_persistent_modules_state_is_read_and_handed_back_while_it_runs() {
    let r = Registry::new();
    let j = Journal::default();
    r.register_v2(Keeper(7)).unwrap();
    r.register_v2(Probe::named("other", &j)).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(r.persistent(), [("keeper".to_string(), 3)]);
    assert_eq!(r.save_state(Caller::Kernel, "keeper"), Ok(Some(vec![7])));
    r.restore_state(Caller::Kernel, "keeper", &[42]).unwrap();
    assert_eq!(r.save_state(Caller::Kernel, "keeper"), Ok(Some(vec![42])));
    // The module's own refusal comes back, and it keeps running.
    assert_eq!(
        r.restore_state(Caller::Kernel, "keeper", &[1, 2]),
        Err(ModuleError::Failed("one byte expected"))
    );
    assert_eq!(r.status("keeper").unwrap().state, ModuleState::Running);
    // Only a running module is asked.
    r.stop(Caller::Kernel, "keeper").unwrap();
    assert_eq!(
        r.save_state(Caller::Kernel, "keeper"),
        Err(ModuleError::InvalidState {
            module: "keeper".into(),
            state: ModuleState::Stopped,
            op: Operation::SaveState,
        })
    );
    assert_eq!(
        r.restore_state(Caller::Kernel, "keeper", &[1]),
        Err(ModuleError::InvalidState {
            module: "keeper".into(),
            state: ModuleState::Stopped,
            op: Operation::RestoreState,
        })
    );
    assert_eq!(Operation::SaveState.to_string(), "save-state");
}
