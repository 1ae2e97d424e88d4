//! [`ModuleHandle`]: what a module keeps to make requests and publish events
//! from its handlers after `init`.
//!
//! The handle holds a weak reference to the registry (a module stored in
//! the registry must not keep it alive) and the module's id, which is its
//! identity for permission checks, `Request::source` checks and re-entrance
//! detection.

use alloc::string::String;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;

use super::dispatch::DispatchSummary;
use super::{Inner, ModuleId, Registry};
use crate::error::ModuleError;
use crate::permissions::Caller;
use crate::v2::{Event, Request, Response};

/// A module's own link to its registry. Cheap to clone.
///
/// ```
/// use helix_modules::v2::{Context, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response};
/// use helix_modules::ModuleError;
///
/// struct Client { handle: Option<ModuleHandle> }
/// impl ModuleTrait for Client {
///     fn info(&self) -> ModuleInfo { ModuleInfo::new("client") }
///     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
///         self.handle = Some(ctx.handle());
///         Ok(())
///     }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
///         let handle = self.handle.as_ref().ok_or(ModuleError::Failed("not initialised"))?;
///         handle.request("server", Request::new("client", "ping", vec![]))
///     }
/// }
/// ```
#[derive(Clone)]
pub struct ModuleHandle {
    inner: Weak<Inner>,
    id: ModuleId,
}

impl ModuleHandle {
    pub(crate) fn new(inner: Weak<Inner>, id: ModuleId) -> Self {
        ModuleHandle { inner, id }
    }

    fn registry(&self) -> Result<Registry, ModuleError> {
        self.inner
            .upgrade()
            .map(|inner: Arc<Inner>| Registry { inner })
            .ok_or(ModuleError::RegistryGone)
    }

    /// The owning module's id.
    pub fn id(&self) -> ModuleId {
        self.id
    }

    /// The owning module as a [`Caller`].
    pub fn caller(&self) -> Caller {
        Caller::Module(self.id)
    }

    /// Sends a synchronous request on behalf of the owning module
    /// (see [`Registry::request`]).
    pub fn request(&self, target: &str, request: Request) -> Result<Response, ModuleError> {
        self.registry()?.request(self.caller(), target, request)
    }

    /// Publishes [`Event::Custom`] to the modules subscribed to custom
    /// events; the publisher itself is skipped. Runs on the publisher's
    /// call chain, so it never waits for a busy module.
    pub fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        let registry = self.registry()?;
        let chain = {
            let t = registry.inner.table.lock();
            if t.slot(self.id).is_none() {
                return Err(super::call::unknown_id(self.id));
            }
            registry.chain_for(&t, self.caller())
        };
        let event = Event::Custom {
            name: String::from(name),
            data,
        };
        Ok(registry.dispatch_on(&event, chain))
    }
}

impl fmt::Debug for ModuleHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ModuleHandle({})", self.id)
    }
}
