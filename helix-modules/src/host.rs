//! Hosting a module outside a registry: what the runtime of a separately
//! built (loadable) module needs to give the module's code the same
//! [`Context`], [`ModuleHandle`] and [`HardwareAccess`] a built-in module
//! gets.
//!
//! A loadable module binary carries its own copy of this crate; the kernel's
//! registry lives in another. The runtime (the `helix-abi` crate) bridges
//! them: it implements [`HostLink`] and [`Hardware`] by calling the kernel's
//! services across the binary interface, and builds the module's context
//! with [`Context::hosted`]. Module code cannot tell the difference.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::error::ModuleError;
use crate::name::ModuleName;
use crate::registry::{DispatchSummary, ModuleHandle, ModuleId};
use crate::services::hw::{Hardware, HardwareAccess, HwError};
use crate::v2::context::ConfigEntry;
use crate::v2::{Context, Request, Response};

/// What a hosted [`ModuleHandle`] forwards its calls to: the same three
/// operations a registry-backed handle performs, on behalf of the module
/// the host runs.
pub trait HostLink: Send + Sync {
    /// See [`ModuleHandle::request`].
    fn request(&self, target: &str, request: Request) -> Result<Response, ModuleError>;
    /// See [`ModuleHandle::publish`].
    fn publish(&self, name: &str, data: Vec<u8>) -> Result<DispatchSummary, ModuleError>;
    /// See [`ModuleHandle::report_param`].
    fn report_param(&self, key: &str, value: &str) -> Result<(), ModuleError>;
}

/// One resolved parameter handed to a hosted module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostedParam {
    /// The parameter's key.
    pub key: String,
    /// Its value.
    pub value: String,
    /// Whether listings hide it.
    pub sensitive: bool,
}

impl HardwareAccess {
    /// Hardware access for a hosted driver called `owner` that drives
    /// `pci_ids` (its `ModuleInfo::pci_ids`), served by `hardware` (the
    /// runtime's bridge to the kernel's hardware service).
    pub fn hosted(
        hardware: Arc<dyn Hardware>,
        owner: String,
        pci_ids: &'static [crate::services::pci::DeviceId],
    ) -> Self {
        HardwareAccess::new(hardware, owner).with_pci_ids(pci_ids)
    }
}

impl Context {
    /// The context a host gives its module's `init`: its id and name, its
    /// resolved parameters, a handle (usually [`ModuleHandle::hosted`]) and
    /// its hardware access, or why it has none.
    pub fn hosted(
        id: ModuleId,
        name: String,
        params: Vec<HostedParam>,
        handle: ModuleHandle,
        hardware: Result<HardwareAccess, HwError>,
    ) -> Self {
        let config = params
            .into_iter()
            .map(|p| ConfigEntry {
                key: p.key,
                value: p.value,
                sensitive: p.sensitive,
            })
            .collect();
        Context::new(id, ModuleName::from(name), config, handle, hardware.into())
    }
}
