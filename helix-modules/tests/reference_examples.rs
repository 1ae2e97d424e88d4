//! Every example of the v2 API reference, used as the reference writes it,
//! compiled and run against this crate: the Quick Start module, the
//! `ModuleInfo` builder chain, the `Context` calls, the request/response
//! snippets and the v1 migration through `ModuleAdapter`.
#![allow(unused_variables)]

use std::sync::{Arc, Mutex};

use helix_modules::v2::{
    Context, Event, EventResponse, ModuleAdapter, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{Caller, Module, ModuleError, ModuleFlags, ModuleState, Registry};

// ---- Quick Start, as written in the reference ----

pub struct MyModule {
    active: bool,
}

impl ModuleTrait for MyModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("my-module")
            .version(1, 0, 0)
            .description("My custom module")
            .author("Your Name")
            .provides(&["my.service"])
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        // Read configuration
        let timeout = ctx.config_usize("timeout").unwrap_or(1000);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        self.active = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        self.active = false;
        Ok(())
    }

    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::Tick { .. } => {
                // Handle timer tick
                EventResponse::Handled
            }
            _ => EventResponse::Ignored,
        }
    }
}

// ---- The ModuleInfo reference chain ----

fn reference_info(major: u16, minor: u16, patch: u16) -> ModuleInfo {
    ModuleInfo::new("module-name")
        .version(major, minor, patch) // Semantic version
        .description("What this module does")
        .author("Author Name")
        .license("MIT")
        .flags(ModuleFlags::ESSENTIAL | ModuleFlags::HOT_RELOADABLE)
        .dependencies(&["dep1", "dep2"])
        .provides(&["capability1", "capability2"])
}

// ---- A service answering with the reference's handle_request ----

struct StatusService {
    name: &'static str,
}

impl ModuleTrait for StatusService {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.name).version(1, 0, 0)
    }
    fn init(&mut self, _ctx: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    // Handling a request
    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "get_status" => Ok(Response::ok(b"OK".to_vec())),
            _ => Ok(Response::err("Unknown request")),
        }
    }
}

// ---- A module whose init makes the reference's Context calls ----

#[derive(Default)]
struct Seen {
    id: Option<helix_modules::ModuleId>,
    key: Option<String>,
    key_or: String,
    count: Option<usize>,
    other: Option<Response>,
    target: Option<Response>,
}

struct ContextUser {
    seen: Arc<Mutex<Seen>>,
}

impl ModuleTrait for ContextUser {
    fn info(&self) -> ModuleInfo {
        // The reference sends with `source: "my-module"`, so this module
        // carries that name; the Quick Start module is registered in
        // another registry.
        ModuleInfo::new("my-module").dependencies(&["other-module", "target-module"])
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        // Get module's assigned ID
        let id = ctx.id;

        // Read configuration
        let value = ctx.config("key"); // Option<&str>
        self.seen.lock().unwrap().key = value.map(String::from);
        let value = ctx.config_or("key", "default"); // &str
        self.seen.lock().unwrap().key_or = String::from(value);
        let value = ctx.config_usize("count"); // Option<usize>
        self.seen.lock().unwrap().count = value;

        // Request service from another module
        let response = ctx.request(
            "other-module",
            Request {
                source: "my-module",
                request_type: String::from("get_status"),
                payload: vec![],
            },
        )?;
        self.seen.lock().unwrap().other = Some(response);

        // Sending a request
        let request = Request {
            source: "my-module",
            request_type: String::from("get_status"),
            payload: vec![],
        };
        let response = ctx.request("target-module", request)?;
        let mut seen = self.seen.lock().unwrap();
        seen.target = Some(response);
        seen.id = Some(id);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

// ---- Migration from v1 ----

/// The reference's name for "some v2 module": the Quick Start one.
type MyV2Module = MyModule;

impl MyModule {
    fn new() -> Self {
        MyModule { active: false }
    }
}

#[test]
fn quick_start_module_runs_and_handles_ticks() {
    let registry = Registry::builder().cmdline("my-module.timeout=5").build();
    registry.register_v2(MyModule { active: false }).unwrap();
    assert!(registry.start_all(Caller::Kernel).is_clean());
    let s = registry.dispatch(&Event::Tick { timestamp_ns: 1 });
    assert_eq!((s.delivered, s.handled), (1, 1));
    let s = registry.dispatch(&Event::Shutdown);
    assert_eq!((s.delivered, s.ignored), (1, 1));
    let status = registry.status("my-module").unwrap();
    assert_eq!(status.provides, vec![String::from("my.service")]);
    assert_eq!(registry.providers("my.service"), vec![status.id]);
}

#[test]
fn module_info_chain_matches_the_reference() {
    let info = reference_info(1, 2, 3);
    assert_eq!(info.name, "module-name");
    assert_eq!(info.version, helix_modules::Version::new(1, 2, 3));
    assert_eq!(info.description, "What this module does");
    assert_eq!(info.author, "Author Name");
    assert_eq!(info.license, "MIT");
    assert_eq!(
        info.flags,
        ModuleFlags::ESSENTIAL | ModuleFlags::HOT_RELOADABLE
    );
    assert_eq!(info.dependencies, &["dep1", "dep2"]);
    assert_eq!(info.provides, &["capability1", "capability2"]);
}

#[test]
fn context_calls_and_requests_work_from_init() {
    let registry = Registry::builder()
        .cmdline("my-module.key=v my-module.count=7")
        .build();
    registry
        .register_v2(StatusService {
            name: "other-module",
        })
        .unwrap();
    registry
        .register_v2(StatusService {
            name: "target-module",
        })
        .unwrap();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let id = registry
        .register_v2(ContextUser { seen: seen.clone() })
        .unwrap();
    let report = registry.start_all(Caller::Kernel);
    assert!(report.is_clean(), "{report:?}");
    let seen = seen.lock().unwrap();
    assert_eq!(seen.id, Some(id));
    assert_eq!(seen.key.as_deref(), Some("v"));
    assert_eq!(seen.key_or, "v");
    assert_eq!(seen.count, Some(7));
    assert_eq!(seen.other, Some(Response::ok(b"OK".to_vec())));
    assert_eq!(seen.target, Some(Response::ok(b"OK".to_vec())));
}

#[test]
fn unknown_request_type_gets_the_reference_error_response() {
    let registry = Registry::new();
    registry
        .register_v2(StatusService {
            name: "target-module",
        })
        .unwrap();
    registry.start_all(Caller::Kernel);
    let response = registry
        .request(
            Caller::Kernel,
            "target-module",
            Request {
                source: "kernel",
                request_type: String::from("reboot"),
                payload: vec![],
            },
        )
        .unwrap();
    assert_eq!(response, Response::err("Unknown request"));
    assert!(!response.is_ok());
}

#[test]
fn migration_adapter_is_a_v1_module() {
    let v2_module = MyV2Module::new();
    let adapted: Box<dyn Module> = Box::new(ModuleAdapter::new(v2_module));
    let meta = adapted.metadata();
    assert_eq!(meta.name, "my-module");
    assert_eq!(meta.description, "My custom module");
    let registry = Registry::new();
    registry.register(adapted).unwrap();
    registry.start_all(Caller::Kernel);
    assert_eq!(
        registry.status("my-module").unwrap().state,
        ModuleState::Running
    );
}
