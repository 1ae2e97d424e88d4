//! [`ModuleAdapter`]: runs a v2 [`ModuleTrait`] wherever a v1 [`Module`] is
//! expected.
//!
//! The adapter is complete: its metadata is the module's full info
//! (name, version, flags, dependencies, provides and the rest), and every
//! v1 message is forwarded to the matching v2 method. The registry stores
//! v2 modules through it, so there is a single storage path.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::ModuleError;
use crate::services::scheduler::Scheduler;
use crate::v1::{Message, Module, ModuleMetadata, Registration, Reply};
use crate::v2::{Context, ModuleInfo, ModuleTrait};

/// Wraps a v2 module as a v1 [`Module`].
///
/// ```
/// use helix_modules::v2::{Context, ModuleAdapter, ModuleInfo, ModuleTrait};
/// use helix_modules::{Module, ModuleError};
///
/// struct V2;
/// impl ModuleTrait for V2 {
///     fn info(&self) -> ModuleInfo { ModuleInfo::new("v2").version(2, 1, 0).provides(&["x"]) }
///     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// }
///
/// let adapted: Box<dyn Module> = Box::new(ModuleAdapter::new(V2));
/// let meta = adapted.metadata();
/// assert_eq!(meta.name, "v2");
/// assert_eq!(meta.provides, vec![String::from("x")]);
/// ```
pub struct ModuleAdapter<T: ModuleTrait> {
    module: T,
}

impl<T: ModuleTrait> ModuleAdapter<T> {
    /// Wraps `module`.
    pub fn new(module: T) -> Self {
        ModuleAdapter { module }
    }

    /// The wrapped module.
    pub fn inner(&self) -> &T {
        &self.module
    }

    /// The wrapped module, mutably.
    pub fn inner_mut(&mut self) -> &mut T {
        &mut self.module
    }

    /// Unwraps the module.
    pub fn into_inner(self) -> T {
        self.module
    }
}

impl From<ModuleInfo> for ModuleMetadata {
    fn from(info: ModuleInfo) -> Self {
        // Most modules declare no dependencies, capabilities or
        // parameters: an empty list costs nothing to build.
        let strings = |list: &[&str]| {
            if list.is_empty() {
                Vec::new()
            } else {
                list.iter().map(|s| String::from(*s)).collect()
            }
        };
        ModuleMetadata {
            name: String::from(info.name),
            version: info.version,
            description: String::from(info.description),
            author: String::from(info.author),
            license: String::from(info.license),
            flags: info.flags,
            dependencies: strings(info.dependencies),
            provides: strings(info.provides),
            events: info.events,
            priority: info.priority,
            permissions: info.permissions,
            protected_by: info.protected_by,
            params: if info.params.is_empty() {
                Vec::new()
            } else {
                info.params.to_vec()
            },
        }
    }
}

impl<T: ModuleTrait> Module for ModuleAdapter<T> {
    fn metadata(&self) -> ModuleMetadata {
        self.module.info().into()
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.module.init(ctx)
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        self.module.start()
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        self.module.stop()
    }

    fn handle_message(&mut self, message: Message<'_>) -> Result<Reply, ModuleError> {
        match message {
            Message::Event(event) => Ok(Reply::Event(self.module.handle_event(event))),
            Message::Request(request) => self.module.handle_request(request).map(Reply::Response),
            Message::ParamChanged { key, value } => {
                self.module.on_param_change(key, value).map(|()| Reply::Ack)
            }
        }
    }

    fn is_healthy(&self) -> bool {
        self.module.is_healthy()
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        self.module.save_state()
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        self.module.restore_state(state)
    }

    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        self.module.scheduler()
    }

    fn api_generation(&self) -> u8 {
        2
    }

    fn memory_limit(&self) -> Option<u64> {
        self.module.info().memory_limit
    }

    fn state_version(&self) -> u32 {
        self.module.info().state_version
    }

    fn pci_ids(&self) -> &'static [crate::services::pci::DeviceId] {
        self.module.info().pci_ids
    }

    fn screens(&self) -> &'static [crate::error::Operation] {
        self.module.info().screens
    }

    fn registration(&self) -> Registration {
        let info = self.module.info();
        Registration {
            static_name: Some(info.name),
            memory_limit: info.memory_limit,
            state_version: info.state_version,
            pci_ids: info.pci_ids,
            screens: info.screens,
            metadata: info.into(),
        }
    }
}
