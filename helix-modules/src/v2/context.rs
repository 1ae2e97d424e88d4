//! [`Context`], what a module receives in `init`: its id, its parameters and
//! a [`ModuleHandle`] for IPC and for reporting its own parameter changes.
//!
//! The context lives for the duration of `init`; a module that needs IPC
//! later keeps `ctx.handle()`, which carries the module's identity.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::ModuleError;
use crate::name::ModuleName;
use crate::registry::{DispatchSummary, ModuleHandle, ModuleId};
use crate::services::hw::{HardwareAccess, HwError};
use crate::v2::request::{Request, Response};

/// One resolved parameter as the module sees it.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct ConfigEntry {
    pub(crate) key: String,
    pub(crate) value: String,
    pub(crate) sensitive: bool,
}

/// Everything a module gets at `init`.
///
/// Parameters are the declared defaults overridden by the kernel command
/// line (`module.key=value`); keys not declared by a module that declares
/// none are passed through as written. `Debug` prints sensitive values as
/// `***`.
///
/// ```
/// use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
/// use helix_modules::{Caller, ModuleError, Registry};
///
/// struct M { timeout: usize }
/// impl ModuleTrait for M {
///     fn info(&self) -> ModuleInfo { ModuleInfo::new("m") }
///     fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
///         self.timeout = ctx.config_usize("timeout").unwrap_or(1000);
///         assert_eq!(ctx.config_or("mode", "fast"), "fast");
///         Ok(())
///     }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// }
///
/// let registry = Registry::builder().cmdline("m.timeout=250 quiet").build();
/// registry.register_v2(M { timeout: 0 })?;
/// assert!(registry.start_all(Caller::Kernel).is_clean());
/// # Ok::<(), ModuleError>(())
/// ```
pub struct Context {
    /// The id the registry assigned to the module.
    pub id: ModuleId,
    name: ModuleName,
    config: Vec<ConfigEntry>,
    handle: ModuleHandle,
    hardware: Grant,
}

/// A context's hardware access. Most modules are not drivers; their error
/// is only spelled out (it names the module) if they ask.
pub(crate) enum Grant {
    Access(HardwareAccess),
    NotADriver,
    Refused(HwError),
}

impl From<Result<HardwareAccess, HwError>> for Grant {
    fn from(hardware: Result<HardwareAccess, HwError>) -> Self {
        match hardware {
            Ok(access) => Grant::Access(access),
            Err(e) => Grant::Refused(e),
        }
    }
}

impl Context {
    pub(crate) fn new(
        id: ModuleId,
        name: ModuleName,
        config: Vec<ConfigEntry>,
        handle: ModuleHandle,
        hardware: Grant,
    ) -> Self {
        Context {
            id,
            name,
            config,
            handle,
            hardware,
        }
    }

    /// The parameters it was given, once `init` is over.
    pub(crate) fn into_config(self) -> Vec<ConfigEntry> {
        self.config
    }

    /// Access to I/O ports and IRQ lines, for modules flagged
    /// [`ModuleFlags::DRIVER`](crate::ModuleFlags::DRIVER). Other modules
    /// get [`HwError::NotADriver`]; a registry built without hardware (host
    /// tests) gives [`HwError::Unavailable`].
    pub fn hardware(&self) -> Result<HardwareAccess, HwError> {
        match &self.hardware {
            Grant::Access(access) => Ok(access.clone()),
            Grant::NotADriver => Err(HwError::NotADriver(String::from(self.name.as_str()))),
            Grant::Refused(e) => Err(e.clone()),
        }
    }

    /// The module's registered name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The value of parameter `key`, if set.
    pub fn config(&self, key: &str) -> Option<&str> {
        self.config
            .iter()
            .find(|e| e.key == key)
            .map(|e| e.value.as_str())
    }

    /// Every parameter: key, value, and whether it is sensitive (what a
    /// host hands a module it runs elsewhere; see [`crate::host`]).
    pub fn params(&self) -> impl Iterator<Item = (&str, &str, bool)> {
        self.config
            .iter()
            .map(|e| (e.key.as_str(), e.value.as_str(), e.sensitive))
    }

    /// The value of parameter `key`, or `default`.
    pub fn config_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.config(key).unwrap_or(default)
    }

    /// Parameter `key` parsed as a `usize`; `None` if unset or not a number.
    pub fn config_usize(&self, key: &str) -> Option<usize> {
        self.config(key).and_then(|v| v.parse().ok())
    }

    /// Sends a synchronous request to a module or capability
    /// (see [`crate::Registry::request`]).
    pub fn request(&self, target: &str, request: Request) -> Result<Response, ModuleError> {
        self.handle.request(target, request)
    }

    /// Reports that the module set its own parameter `key` to `value` (see
    /// [`ModuleHandle::report_param`]); during `init`, e.g. after clamping
    /// a value, the listing then shows the value in use.
    pub fn report_param(&self, key: &str, value: &str) -> Result<(), ModuleError> {
        self.handle.report_param(key, value)
    }

    /// Publishes a [`crate::v2::Event::Custom`] to subscribed modules.
    pub fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError> {
        self.handle.publish(name, data)
    }

    /// A handle the module can keep to make requests and publish events
    /// from its later handlers.
    pub fn handle(&self) -> ModuleHandle {
        self.handle.clone()
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for e in &self.config {
            if e.sensitive {
                map.entry(&e.key, &"***");
            } else {
                map.entry(&e.key, &e.value);
            }
        }
        map.finish()?;
        write!(f, " for {} ({:?})", self.name, self.id)
    }
}
