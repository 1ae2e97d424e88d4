//! [`ModuleHandle`]: what a module keeps to make requests, publish events
//! and report its own parameter changes from its handlers after `init`.
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
use crate::host::HostLink;
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
    link: Link,
    id: ModuleId,
}

/// Where a handle's calls go.
#[derive(Clone)]
enum Link {
    /// The registry the module is stored in.
    Registry(Weak<Inner>),
    /// A host outside this copy of the framework (a loadable module's
    /// runtime forwards to the kernel's registry across the binary
    /// interface).
    Hosted(Arc<dyn HostLink>),
}

impl ModuleHandle {
    pub(crate) fn new(inner: Weak<Inner>, id: ModuleId) -> Self {
        ModuleHandle {
            link: Link::Registry(inner),
            id,
        }
    }

    /// A handle whose calls go to `link` rather than to a registry: what
    /// the runtime of a separately built module gives the module's code
    /// (see [`crate::host`]).
    pub fn hosted(id: ModuleId, link: Arc<dyn HostLink>) -> Self {
        ModuleHandle {
            link: Link::Hosted(link),
            id,
        }
    }

    /// The registry, or the host link for a hosted handle.
    fn target(&self) -> Result<Result<Registry, &Arc<dyn HostLink>>, ModuleError> {
        match &self.link {
            Link::Registry(inner) => inner
                .upgrade()
                .map(|inner: Arc<Inner>| Ok(Registry { inner }))
                .ok_or(ModuleError::RegistryGone),
            Link::Hosted(link) => Ok(Err(link)),
        }
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
        let registry = match self.target()? {
            Ok(registry) => registry,
            Err(link) => return link.request(target, request),
        };
        let _section = registry.section();
        registry.request(self.caller(), target, request)
    }

    /// Tells the registry that the owning module changed its parameter
    /// `key` to `value` itself, e.g. in a request handler, so that
    /// [`Registry::params`] (the console's `params`) shows the value in use.
    ///
    /// The value is validated like [`Registry::set_param`]
    /// ([`ModuleError::UnknownParam`], [`ModuleError::InvalidParam`]) and
    /// kept like a run-time setting (a restart or reload gets it), but the
    /// module is not called back through `on_param_change`, so this is safe
    /// from any handler. Needs no permission: a module only reports its own
    /// parameters.
    ///
    /// ```
    /// use helix_modules::v2::{Context, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response};
    /// use helix_modules::{Caller, ModuleError, ParamSpec, Registry};
    ///
    /// const P: [ParamSpec; 1] = [ParamSpec::new("level", "1").range(0, 3)];
    /// struct M { level: u8, handle: Option<ModuleHandle> }
    /// impl ModuleTrait for M {
    ///     fn info(&self) -> ModuleInfo { ModuleInfo::new("m").params(&P) }
    ///     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
    ///         self.handle = Some(ctx.handle());
    ///         Ok(())
    ///     }
    ///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    ///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    ///     fn handle_request(&mut self, r: &Request) -> Result<Response, ModuleError> {
    ///         self.level = 3;
    ///         let handle = self.handle.as_ref().ok_or(ModuleError::Failed("not initialised"))?;
    ///         handle.report_param("level", "3")?;
    ///         Ok(Response::ok(b"max".to_vec()))
    ///     }
    /// }
    ///
    /// let r = Registry::new();
    /// r.register_v2(M { level: 1, handle: None })?;
    /// r.start_all(Caller::Kernel);
    /// r.request(Caller::Kernel, "m", Request::new("kernel", "max", vec![]))?;
    /// assert_eq!(r.params("m")?[0].shown(), "3");
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn report_param(&self, key: &str, value: &str) -> Result<(), ModuleError> {
        let registry = match self.target()? {
            Ok(registry) => registry,
            Err(link) => return link.report_param(key, value),
        };
        let _section = registry.section();
        registry.report_param(self.id, key, value)
    }

    /// Publishes [`Event::Custom`] to the modules subscribed to custom
    /// events; the publisher itself is skipped. Runs on the publisher's
    /// call chain, so it never waits for a busy module.
    pub fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        let registry = match self.target()? {
            Ok(registry) => registry,
            Err(link) => return link.publish(name, data),
        };
        let _section = registry.section();
        let chain = {
            let mut t = registry.inner.table.lock();
            if t.slot(self.id).is_none() {
                return Err(super::call::unknown_id(self.id));
            }
            t.chain_for(self.caller())
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
