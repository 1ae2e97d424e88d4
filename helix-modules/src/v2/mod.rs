//! The v2 module API: static [`ModuleInfo`], the [`ModuleTrait`] lifecycle,
//! [`Event`]s, [`Request`]/[`Response`] IPC, the init-time [`Context`], and
//! the [`ModuleAdapter`] that lets a v2 module run as a v1 [`crate::Module`].
//!
//! This is the API module authors write against; the registry stores every
//! module through the adapter, so a v2 module and its adapted form are
//! indistinguishable to the rest of the system.

mod adapter;
pub(crate) mod context;
mod event;
mod info;
mod request;

use alloc::sync::Arc;
use alloc::vec::Vec;

pub use crate::registry::ModuleHandle;
pub use adapter::ModuleAdapter;
pub use context::Context;
pub use event::{Event, EventKinds, EventResponse, PressureLevel};
pub use info::{ModuleInfo, Version};
pub use request::{Request, Response};

use crate::error::ModuleError;
use crate::services::scheduler::Scheduler;

/// A kernel module, v2 style.
///
/// `info`, `init`, `start` and `stop` are required; everything else has a
/// default that suits a module that does not use the feature. The registry
/// decides when each method runs (see [`crate::ModuleState`]); a module never
/// sees `start` before a successful `init`, nor two calls at once.
///
/// ```
/// use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
/// use helix_modules::ModuleError;
///
/// struct Echo;
/// impl ModuleTrait for Echo {
///     fn info(&self) -> ModuleInfo { ModuleInfo::new("echo").provides(&["echo"]) }
///     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn handle_request(&mut self, r: &Request) -> Result<Response, ModuleError> {
///         Ok(Response::ok(r.payload.clone()))
///     }
/// }
/// ```
pub trait ModuleTrait: Send {
    /// Static metadata. Called at registration and on reload; keep it free
    /// of side effects.
    fn info(&self) -> ModuleInfo;

    /// Prepares the module: read parameters from `ctx`, keep
    /// `ctx.handle()` if later handlers need IPC. Dependencies are running
    /// by now, so requests to them work.
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError>;

    /// Begins work. Events and requests arrive only after this succeeds.
    fn start(&mut self) -> Result<(), ModuleError>;

    /// Ends work and releases what `start` acquired.
    fn stop(&mut self) -> Result<(), ModuleError>;

    /// Reacts to an event of a kind the module subscribed to
    /// ([`ModuleInfo::events`]). The default ignores everything.
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        let _ = event;
        EventResponse::Ignored
    }

    /// Serves an IPC request. The default refuses, which counts as a failed
    /// request.
    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        let _ = request;
        Err(ModuleError::Failed("module does not serve requests"))
    }

    /// Liveness, polled by the supervisor. The default is always healthy.
    fn is_healthy(&self) -> bool {
        true
    }

    /// State to hand to a replacement instance during hot reload.
    fn save_state(&self) -> Option<Vec<u8>> {
        None
    }

    /// Takes over the state saved by the instance being replaced.
    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        let _ = state;
        Ok(())
    }

    /// Told when one of the module's parameters changes at run time; an
    /// error rejects the change and the old value stays.
    fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
        let _ = (key, value);
        Ok(())
    }

    /// The scheduling policy this module provides to the kernel, if it is
    /// a scheduler. A module flagged
    /// [`ModuleFlags::SCHEDULER`](crate::ModuleFlags::SCHEDULER) must
    /// return `Some` and list the `"scheduler"` capability in
    /// [`ModuleInfo::provides`]; the registry refuses to start it
    /// otherwise. The default is `None`.
    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        None
    }
}
