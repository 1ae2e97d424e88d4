//! The Helix module framework: the API kernel modules are written against and
//! the runtime that the kernel drives to load, run and supervise them.
//!
//! Modules implement [`v2::ModuleTrait`] (static [`v2::ModuleInfo`], events,
//! requests) or the older [`Module`] trait; [`v2::ModuleAdapter`] runs a v2
//! module wherever a v1 one is expected, and that is also how the
//! [`Registry`] stores every module. The registry enforces the lifecycle
//! table, orders start-up by dependencies, dispatches events, routes
//! synchronous IPC, checks permissions, keeps an audit ring, applies
//! parameters from the kernel command line, supervises health, hot-reloads
//! and counts per-module metrics.
//!
//! The crate is `no_std` + `alloc` and knows nothing of x86 or of the kernel,
//! so everything here is tested on the host.
//!
//! New to writing modules? The [`guide`] walks through a module, its
//! parameters, dependencies and IPC, drivers, schedulers, the legacy v1
//! API and testing, with examples that run as doctests.
//!
//! ```
//! use helix_modules::v2::{Context, Event, EventResponse, ModuleInfo, ModuleTrait};
//! use helix_modules::{Caller, ModuleError, ModuleState, Registry};
//!
//! struct Ticker { ticks: u64 }
//!
//! impl ModuleTrait for Ticker {
//!     fn info(&self) -> ModuleInfo {
//!         ModuleInfo::new("ticker").version(1, 0, 0)
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
//! }
//!
//! let registry = Registry::new();
//! registry.register_v2(Ticker { ticks: 0 })?;
//! let report = registry.start_all(Caller::Kernel);
//! assert!(report.is_clean());
//! let summary = registry.dispatch(&Event::Tick { timestamp_ns: 1_000 });
//! assert_eq!(summary.handled, 1);
//! assert_eq!(registry.status("ticker")?.state, ModuleState::Running);
//! # Ok::<(), ModuleError>(())
//! ```
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod audit;
mod cmdline;
mod config;
pub mod contain;
mod error;
mod flags;
pub mod guide;
pub mod host;
mod metrics;
mod name;
mod permissions;
mod registry;
pub mod security;
pub mod services;
mod supervisor;
pub mod sync;
#[cfg(feature = "testing")]
pub mod testing;
mod v1;
pub mod v2;

pub use audit::{AuditEntry, AuditOutcome};
pub use cmdline::parse_cmdline;
pub use config::{ParamFallback, ParamKind, ParamSpec, ParamValue};
pub use error::{ModuleError, Operation};
pub use flags::ModuleFlags;
pub use metrics::ModuleMetrics;
pub use name::ModuleName;
pub use permissions::{Caller, Permissions};
pub use registry::{
    ChainId, DispatchSummary, FaultReport, Health, ModuleHandle, ModuleId, ModuleState,
    ModuleStatus, Registry, RegistryBuilder, RegistryLimits, StartReport, SuperviseReport,
    transition,
};
pub use supervisor::SupervisorPolicy;
pub use v1::{Message, Module, ModuleMetadata, Registration, Reply};
pub use v2::{EventKinds, PressureLevel, Version};
