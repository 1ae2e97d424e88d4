//! A guide to writing Helix modules: the v2 API from the first line to
//! drivers, schedulers and tests. Every example here is a doctest, run on
//! the host by `cargo test -p helix-modules`.
//!
//! The quickest start is `scripts/new-module [--template plain|driver|scheduler]
//! NAME`, which writes a module crate, registers it with the kernel and
//! gives it a host test and an in-QEMU test (see the README's "Write your
//! first module"). This page explains what that code does.
//!
//! # 1. A module
//!
//! A module is a type implementing [`ModuleTrait`]: static metadata
//! ([`ModuleInfo`]), the lifecycle (`init`, `start`, `stop`), and, if it
//! wants them, events and requests. The [`Registry`] calls it; a module
//! never calls its own lifecycle. The states and the allowed transitions
//! are on [`ModuleState`]: Registered -> Initialized -> Running <-> Stopped,
//! any failure -> Failed.
//!
//! ```
//! use helix_modules::v2::{
//!     Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
//! };
//! use helix_modules::{Caller, ModuleError, ModuleState, Registry};
//!
//! #[derive(Default)]
//! struct Heartbeat {
//!     ticks: u64,
//! }
//!
//! impl ModuleTrait for Heartbeat {
//!     fn info(&self) -> ModuleInfo {
//!         ModuleInfo::new("heartbeat")
//!             .version(0, 1, 0)
//!             .description("counts ticks")
//!             .events(EventKinds::TICK) // the default is every kind
//!     }
//!     fn init(&mut self, _ctx: &Context) -> Result<(), ModuleError> { Ok(()) }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn handle_event(&mut self, event: &Event) -> EventResponse {
//!         match event {
//!             Event::Tick { .. } => { self.ticks += 1; EventResponse::Handled }
//!             _ => EventResponse::Ignored,
//!         }
//!     }
//!     fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
//!         match request.request_type.as_str() {
//!             "stats" => Ok(Response::ok(format!("ticks={}", self.ticks).into_bytes())),
//!             // A refusal the caller can read; `Err` would count as a failed request.
//!             other => Ok(Response::err(format!("unknown request '{other}'"))),
//!         }
//!     }
//! }
//!
//! // What the kernel does at boot, and on every timer tick:
//! let r = Registry::new();
//! r.register_v2(Heartbeat::default())?;
//! assert!(r.start_all(Caller::Kernel).is_clean());
//! assert_eq!(r.status("heartbeat")?.state, ModuleState::Running);
//! r.dispatch(&Event::Tick { timestamp_ns: 100_000_000 });
//! let summary = r.dispatch(&Event::CpuHotplug { cpu_id: 1, online: true });
//! assert_eq!(summary.delivered, 0, "not subscribed to hotplug");
//!
//! // What `request heartbeat stats` on the console does:
//! let resp = r.request(Caller::Kernel, "heartbeat", Request::new("doc", "stats", vec![]))?;
//! assert_eq!(resp.payload, b"ticks=1");
//! let resp = r.request(Caller::Kernel, "heartbeat", Request::new("doc", "reset", vec![]))?;
//! assert!(!resp.is_ok());
//! # Ok::<(), ModuleError>(())
//! ```
//!
//! Rules worth knowing: handlers run one at a time per module (the
//! registry takes the module out while it runs), Tick handlers run on the
//! kernel's events thread and should be short, and a module in a handler
//! is never called again until it returns (a request that would re-enter
//! it is refused with a typed error instead of deadlocking).
//!
//! # 2. Parameters
//!
//! Declare parameters with [`ParamSpec`] in [`ModuleInfo::params`]; values
//! come from the kernel command line as `module.key=value` and are checked
//! against the spec before `init` (a bad value fails `init` with the
//! reason). Read them from the [`Context`] in `init`; changes at run time
//! (`set NAME.KEY=VALUE` on the console) arrive in `on_param_change`.
//!
//! ```
//! use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
//! use helix_modules::{Caller, ModuleError, ParamSpec, Registry};
//!
//! const PARAMS: [ParamSpec; 1] = [ParamSpec::new("step", "1").range(1, 100).describe("increment")];
//!
//! struct Stepper { step: usize }
//!
//! impl ModuleTrait for Stepper {
//!     fn info(&self) -> ModuleInfo { ModuleInfo::new("stepper").params(&PARAMS) }
//!     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
//!         self.step = ctx.config_usize("step").unwrap_or(1);
//!         Ok(())
//!     }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
//!         if key == "step" {
//!             self.step = value.parse().map_err(|_| ModuleError::Failed("step must be a number"))?;
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let r = Registry::builder().cmdline("stepper.step=5").build();
//! r.register_v2(Stepper { step: 0 })?;
//! assert!(r.start_all(Caller::Kernel).is_clean());
//! assert_eq!(r.params("stepper")?[0].shown(), "5");
//! r.set_param(Caller::Kernel, "stepper", "step", "7")?;
//! assert!(r.set_param(Caller::Kernel, "stepper", "step", "1000").is_err(), "outside 1..=100");
//!
//! let bad = Registry::builder().cmdline("stepper.step=zero").build();
//! bad.register_v2(Stepper { step: 0 })?;
//! assert_eq!(bad.start_all(Caller::Kernel).failed.len(), 1);
//! # Ok::<(), ModuleError>(())
//! ```
//!
//! # 3. Dependencies and IPC
//!
//! [`ModuleInfo::dependencies`] names modules or capabilities (what other
//! modules list in [`ModuleInfo::provides`]), optionally with versions;
//! the registry starts dependencies first and skips a module whose
//! dependency is not running, saying why. Keep `ctx.handle()` from `init`
//! to send requests later, from any handler.
//!
//! ```
//! use helix_modules::v2::{Context, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response};
//! use helix_modules::{Caller, ModuleError, Registry};
//!
//! struct Clock;
//! impl ModuleTrait for Clock {
//!     fn info(&self) -> ModuleInfo { ModuleInfo::new("clock_chip").provides(&["clock"]) }
//!     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
//!         Ok(Response::ok(b"12:00".to_vec()))
//!     }
//! }
//!
//! #[derive(Default)]
//! struct Logger { handle: Option<ModuleHandle> }
//! impl ModuleTrait for Logger {
//!     fn info(&self) -> ModuleInfo { ModuleInfo::new("logger").dependencies(&["clock"]) }
//!     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
//!         self.handle = Some(ctx.handle());
//!         Ok(())
//!     }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn handle_request(&mut self, r: &Request) -> Result<Response, ModuleError> {
//!         let handle = self.handle.as_ref().ok_or(ModuleError::Failed("not initialised"))?;
//!         let time = handle.request("clock", Request::new("logger", "get_time", vec![]))?;
//!         let mut line = time.payload;
//!         line.extend_from_slice(b" ");
//!         line.extend_from_slice(&r.payload);
//!         Ok(Response::ok(line))
//!     }
//! }
//!
//! let r = Registry::new();
//! r.register_v2(Logger::default())?; // registered first, started second
//! r.register_v2(Clock)?;
//! assert_eq!(r.start_all(Caller::Kernel).started, ["clock_chip", "logger"]);
//! let resp = r.request(Caller::Kernel, "logger", Request::new("doc", "log", b"hi".to_vec()))?;
//! assert_eq!(resp.payload, b"12:00 hi");
//! # Ok::<(), ModuleError>(())
//! ```
//!
//! # 4. Drivers
//!
//! A module flagged [`ModuleFlags::DRIVER`] gets a
//! [`HardwareAccess`](crate::services::hw::HardwareAccess) from
//! [`Context::hardware`]; every other module is refused. Claim the device's
//! ports (and IRQ line) in `start`, exclusively, and release them in
//! `stop`; reach the ports only through the bounds-checked
//! [`PortRange`](crate::services::hw::PortRange) the claim returns. On the
//! host, give the registry a test double of [`Hardware`](crate::services::hw::Hardware):
//!
//! ```
//! use helix_modules::services::hw::{Hardware, HardwareAccess, HwError, IrqHandler, PortIo, PortRange};
//! use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
//! use helix_modules::{Caller, ModuleError, ModuleFlags, Registry};
//! use std::sync::{Arc, Mutex};
//!
//! #[derive(Default)]
//! struct Post { hw: Option<HardwareAccess>, port: Option<PortRange> }
//! impl ModuleTrait for Post {
//!     fn info(&self) -> ModuleInfo { ModuleInfo::new("post").flags(ModuleFlags::DRIVER) }
//!     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
//!         self.hw = Some(ctx.hardware().map_err(|_| ModuleError::Failed("needs hardware"))?);
//!         Ok(())
//!     }
//!     fn start(&mut self) -> Result<(), ModuleError> {
//!         let hw = self.hw.as_ref().ok_or(ModuleError::Failed("not initialised"))?;
//!         let port = hw.claim_ports(0x80, 1).map_err(|_| ModuleError::Failed("port 0x80 taken"))?;
//!         port.write(0, 0x42).map_err(|_| ModuleError::Failed("write refused"))?;
//!         self.port = Some(port);
//!         Ok(())
//!     }
//!     fn stop(&mut self) -> Result<(), ModuleError> {
//!         self.port = None;
//!         if let Some(hw) = &self.hw { hw.release_all(); }
//!         Ok(())
//!     }
//! }
//!
//! /// A bus that records writes and lets anyone claim anything.
//! #[derive(Debug, Default)]
//! struct Bus { written: Arc<Mutex<Vec<(u16, u8)>>>, claims: Mutex<usize> }
//! struct Io(Arc<Mutex<Vec<(u16, u8)>>>);
//! impl PortIo for Io {
//!     fn read_u8(&self, _: u16) -> u8 { 0xff }
//!     fn write_u8(&self, port: u16, v: u8) { self.0.lock().unwrap().push((port, v)) }
//! }
//! impl Hardware for Bus {
//!     fn claim_ports(&self, _: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
//!         *self.claims.lock().unwrap() += 1;
//!         Ok(PortRange::new(base, count, Arc::new(Io(self.written.clone()))))
//!     }
//!     fn claim_irq(&self, _: &str, irq: u8, _: Arc<dyn IrqHandler>) -> Result<(), HwError> {
//!         Err(HwError::NoSuchIrq(irq))
//!     }
//!     fn release_all(&self, _: &str) -> usize {
//!         std::mem::take(&mut *self.claims.lock().unwrap())
//!     }
//! }
//!
//! let bus = Arc::new(Bus::default());
//! let r = Registry::builder().hardware(bus.clone()).build();
//! r.register_v2(Post::default())?;
//! assert!(r.start_all(Caller::Kernel).is_clean());
//! assert_eq!(*bus.written.lock().unwrap(), [(0x80, 0x42)]);
//! r.stop(Caller::Kernel, "post")?;
//! assert_eq!(*bus.claims.lock().unwrap(), 0, "released on stop");
//! # Ok::<(), ModuleError>(())
//! ```
//!
//! Rather than writing a bus like this, a driver's tests can use
//! [`FakeHardware`](../testing/struct.FakeHardware.html) (feature
//! `testing`: `helix-modules = { workspace = true, features = ["testing"] }`
//! under `[dev-dependencies]`): port banks with per-port device models,
//! claims that behave like the kernel's, an access log, and `raise_irq` to
//! deliver an interrupt to the driver's handler:
//!
//! ```text
//! let hw = FakeHardware::new();
//! hw.set_port(0x71, 0x59);                  // what the device answers
//! let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
//! // ... register and start the driver, then:
//! assert_eq!(hw.writes_to(0x70), [0x00]);   // it selected register 0
//! hw.raise_irq(4)?;                         // its handler runs
//! ```
//!
//! In the kernel, the hardware service is the real one: claims are
//! exclusive across drivers and whatever a module still holds is released
//! when it stops or fails, whatever its own `stop` did.
//!
//! # 5. Schedulers
//!
//! A scheduler module is flagged [`ModuleFlags::SCHEDULER`], lists the
//! `"scheduler"` capability and returns its policy, an
//! `Arc<dyn `[`Scheduler`](crate::services::scheduler::Scheduler)`>`, from
//! [`ModuleTrait::scheduler`]; the registry refuses to start it otherwise.
//! The kernel owns threads and the switch; the policy decides, under the
//! call protocol described in [`services::scheduler`](crate::services::scheduler).
//! SCHEDULER is an exclusive role: a second scheduler is refused while one
//! runs, with [`ModuleError::Conflict`] naming the holder. The kernel starts
//! scheduler modules first, in module-table order, so the first one wins;
//! `module_blacklist=round_robin` on the command line lets another take
//! over. `modules_impl/schedulers/round_robin` is the full example; the
//! `scheduler` template of `scripts/new-module` is a smaller FIFO one.
//!
//! # 6. Legacy v1 modules
//!
//! The older [`Module`] trait takes owned [`ModuleMetadata`] and one
//! [`Module::handle_message`] entry point for events, requests and
//! parameter changes. The registry stores every module as a v1 module (v2
//! ones through [`ModuleAdapter`]), so both kinds run side by side:
//!
//! ```
//! use helix_modules::v2::{Context, Event, EventKinds, EventResponse, Request, Response, Version};
//! use helix_modules::{Caller, Message, Module, ModuleError, ModuleFlags, ModuleMetadata, Permissions, Registry, Reply};
//!
//! struct Uptime { last_ns: u64 }
//! impl Module for Uptime {
//!     fn metadata(&self) -> ModuleMetadata {
//!         ModuleMetadata {
//!             name: "uptime".into(),
//!             version: Version::new(1, 0, 0),
//!             description: "uptime from ticks".into(),
//!             author: String::new(),
//!             license: String::new(),
//!             flags: ModuleFlags::empty(),
//!             dependencies: vec![],
//!             provides: vec![],
//!             events: EventKinds::TICK,
//!             priority: 0,
//!             permissions: Permissions::empty(),
//!             protected_by: Permissions::empty(),
//!             params: vec![],
//!         }
//!     }
//!     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn handle_message(&mut self, m: Message<'_>) -> Result<Reply, ModuleError> {
//!         Ok(match m {
//!             Message::Event(Event::Tick { timestamp_ns }) => {
//!                 self.last_ns = *timestamp_ns;
//!                 Reply::Event(EventResponse::Handled)
//!             }
//!             Message::Event(_) => Reply::Event(EventResponse::Ignored),
//!             Message::Request(_) => {
//!                 Reply::Response(Response::ok(format!("{} ms", self.last_ns / 1_000_000).into_bytes()))
//!             }
//!             Message::ParamChanged { .. } => Reply::Ack,
//!         })
//!     }
//! }
//!
//! let r = Registry::new();
//! r.register(Box::new(Uptime { last_ns: 0 }))?;
//! assert!(r.start_all(Caller::Kernel).is_clean());
//! r.dispatch(&Event::Tick { timestamp_ns: 2_500_000_000 });
//! let resp = r.request(Caller::Kernel, "uptime", Request::new("doc", "uptime", vec![]))?;
//! assert_eq!(resp.payload, b"2500 ms");
//! # Ok::<(), ModuleError>(())
//! ```
//!
//! `modules_impl/legacy/uptime` is this module in full, loaded by the
//! kernel with `v1::<uptime::Uptime>` in its module table. Write new
//! modules against v2.
//!
//! # 7. Testing
//!
//! - On the host: a module crate's `tests/` build a [`Registry`] as above,
//!   register the module, and drive it with `dispatch` and `request`; the
//!   registry enforces the same rules as in the kernel. `cargo test -p NAME`.
//! - In QEMU: `kernel/tests/NAME.rs` is a test kernel (with a `[[test]]
//!   name = "NAME" harness = false` entry in `kernel/Cargo.toml`) that
//!   boots every module and asks the real registry:
//!
//! ```text
//! #![no_std]
//! #![no_main]
//! kernel::test_kernel!();
//!
//! kernel::ktest!(fn heartbeat_counts_real_ticks() {
//!     let r = kernel::bring_up::run().expect("modules and threads");
//!     let ask = || r.request(Caller::Kernel, "heartbeat", Request::new("test", "stats", vec![]));
//!     let before = ask().unwrap().payload;
//!     kernel::thread::sleep_ms(500);
//!     assert_ne!(ask().unwrap().payload, before);
//! });
//! ```
//!
//! `cargo ktest --test NAME` runs it; `cargo test` at the root runs
//! everything, both kinds included.
//!
//! # 8. When module code fails
//!
//! Module code is untrusted: every call the registry makes into a module
//! is a contained call ([`crate::contain`]). In the kernel, a panic, a CPU
//! exception (a null pointer, a stack overflow...), a call that runs past
//! its time budget, or an allocation past the module's memory limit
//! ([`ModuleInfo::memory_limit`]) ends that call only: the module goes
//! Failed with [`ModuleError::Faulted`] saying where and what, its threads
//! and hardware claims are given back, the caller gets the error, and the
//! supervisor restarts it (with a back-off, and holds it if it keeps
//! failing). So a module need not defend against its own bugs with
//! `catch_unwind` (there is none in `no_std`); it should still return
//! errors for what it expects to go wrong, which cost nothing to recover.
//!
//! # 9. Security modules
//!
//! A module flagged [`ModuleFlags::SECURITY`] is asked, while it runs,
//! about privileged operations the caller's permissions already allow:
//! stop, unload, set-param, reload, requests to `protected_by` modules,
//! and what the kernel asks through [`Registry::authorize`] (loading a
//! module binary, with the file as evidence). It gets a request of type
//! [`crate::security::REQUEST_TYPE`] whose payload
//! [`crate::security::decode`]s into an
//! [`AuthorizeQuery`](crate::security::AuthorizeQuery); `Response::ok(text)`
//! allows (the text is audited), `Response::err(reason)` refuses with
//! [`ModuleError::SecurityRefused`]. It can refuse, never grant. A handler
//! error or a fault refuses too, and a Failed SECURITY module refuses
//! everything until it is restarted or unloaded. Nothing done to the
//! SECURITY module, or by it, asks it. Every decision is audited.
//!
//! ```
//! use helix_modules::security::{self, REQUEST_TYPE};
//! use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
//! use helix_modules::{Caller, ModuleError, ModuleFlags, Operation, Registry};
//!
//! struct KeepShell;
//!
//! impl ModuleTrait for KeepShell {
//!     fn info(&self) -> ModuleInfo {
//!         ModuleInfo::new("keep_shell").flags(ModuleFlags::SECURITY)
//!     }
//!     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
//!     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//!     fn handle_request(&mut self, r: &Request) -> Result<Response, ModuleError> {
//!         if r.request_type != REQUEST_TYPE {
//!             return Ok(Response::err("unknown request"));
//!         }
//!         let q = security::decode(&r.payload).map_err(|_| ModuleError::Failed("bad query"))?;
//!         Ok(match (q.op, q.target) {
//!             (Operation::Stop, "shell") => Response::err("the shell stays"),
//!             _ => Response::ok(b"fine".to_vec()),
//!         })
//!     }
//! }
//! # struct Plain(&'static str);
//! # impl ModuleTrait for Plain {
//! #     fn info(&self) -> ModuleInfo { ModuleInfo::new(self.0) }
//! #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
//! #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
//! #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
//! # }
//!
//! let r = Registry::new();
//! r.register_v2(KeepShell)?;
//! r.register_v2(Plain("shell"))?;
//! r.start_all(Caller::Kernel);
//! let refused = r.stop(Caller::Kernel, "shell").unwrap_err();
//! assert!(matches!(refused, ModuleError::SecurityRefused { .. }));
//! assert_eq!(r.authorize(Caller::Kernel, Operation::Load, "x.ko", b"")?, Some("fine".into()));
//! # Ok::<(), ModuleError>(())
//! ```

#[allow(unused_imports)] // for the intra-doc links above
use crate::v2::{Context, ModuleAdapter, ModuleInfo, ModuleTrait};
#[allow(unused_imports)]
use crate::{Module, ModuleError, ModuleFlags, ModuleMetadata, ModuleState, ParamSpec, Registry};
