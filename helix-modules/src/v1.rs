//! The v1 [`Module`] trait: heap-allocated [`ModuleMetadata`] and a single
//! message entry point ([`Message`] in, [`Reply`] out).
//!
//! It is the registry's storage interface: every module, v1 or v2 (through
//! [`crate::v2::ModuleAdapter`]), is held as a `Box<dyn Module>`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::config::ParamSpec;
use crate::error::ModuleError;
use crate::flags::ModuleFlags;
use crate::permissions::Permissions;
use crate::services::scheduler::Scheduler;
use crate::v2::{Context, Event, EventKinds, EventResponse, Request, Response, Version};

/// Owned module metadata, the v1 counterpart of [`crate::v2::ModuleInfo`]
/// with the same meaning field for field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleMetadata {
    /// Unique name.
    pub name: String,
    /// Version.
    pub version: Version,
    /// What the module does.
    pub description: String,
    /// Who wrote it.
    pub author: String,
    /// Licence identifier.
    pub license: String,
    /// Enforced properties.
    pub flags: ModuleFlags,
    /// Dependency strings (syntax on [`crate::Registry::resolve`]).
    pub dependencies: Vec<String>,
    /// Capabilities provided.
    pub provides: Vec<String>,
    /// Event kinds delivered.
    pub events: EventKinds,
    /// Dispatch priority, higher first.
    pub priority: i16,
    /// Permissions held.
    pub permissions: Permissions,
    /// Permissions callers need to send requests.
    pub protected_by: Permissions,
    /// Declared parameters.
    pub params: Vec<ParamSpec>,
}

/// What the registry sends a v1 module.
#[derive(Clone, Copy, Debug)]
pub enum Message<'a> {
    /// An event of a subscribed kind; answer with [`Reply::Event`].
    Event(&'a Event),
    /// An IPC request; answer with [`Reply::Response`].
    Request(&'a Request),
    /// A parameter changed at run time; answer with [`Reply::Ack`], or an
    /// error to reject the change.
    ParamChanged {
        /// The parameter.
        key: &'a str,
        /// Its new value.
        value: &'a str,
    },
}

/// A v1 module's answer to a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reply {
    /// Answer to [`Message::Event`].
    Event(EventResponse),
    /// Answer to [`Message::Request`].
    Response(Response),
    /// Answer to [`Message::ParamChanged`].
    Ack,
}

/// A kernel module, v1 style.
///
/// ```
/// use helix_modules::v2::{Context, EventResponse};
/// use helix_modules::{Message, Module, ModuleError, ModuleMetadata, Reply};
///
/// struct Legacy { meta: ModuleMetadata }
/// impl Module for Legacy {
///     fn metadata(&self) -> ModuleMetadata { self.meta.clone() }
///     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
///     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
///     fn handle_message(&mut self, m: Message<'_>) -> Result<Reply, ModuleError> {
///         match m {
///             Message::Event(_) => Ok(Reply::Event(EventResponse::Ignored)),
///             Message::Request(_) => Err(ModuleError::Failed("no requests")),
///             Message::ParamChanged { .. } => Ok(Reply::Ack),
///         }
///     }
/// }
/// ```
pub trait Module: Send {
    /// The module's metadata, read once at registration (and on reload).
    fn metadata(&self) -> ModuleMetadata;
    /// See [`crate::v2::ModuleTrait::init`].
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError>;
    /// See [`crate::v2::ModuleTrait::start`].
    fn start(&mut self) -> Result<(), ModuleError>;
    /// See [`crate::v2::ModuleTrait::stop`].
    fn stop(&mut self) -> Result<(), ModuleError>;
    /// Handles an event, request or parameter change.
    fn handle_message(&mut self, message: Message<'_>) -> Result<Reply, ModuleError>;
    /// Liveness, polled by the supervisor.
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
    /// Which API generation the module is written against: 1 for modules
    /// implementing this trait directly (the default), 2 for v2 modules
    /// run through [`ModuleAdapter`](crate::v2::ModuleAdapter). Listings
    /// show it, so both generations can be told apart side by side.
    fn api_generation(&self) -> u8 {
        1
    }
    /// The most heap, in bytes, the module's code may have allocated at
    /// once; an allocation past it fails, which is a contained fault of
    /// that module (see [`crate::contain`]). `None` (the default): no limit
    /// of its own; the kernel command line may still set one
    /// (`mem.limit.NAME=`).
    fn memory_limit(&self) -> Option<u64> {
        None
    }
    /// The format of the state [`Module::save_state`] writes; a reload
    /// needs the same on both sides (see
    /// [`ModuleInfo::state_version`](crate::v2::ModuleInfo::state_version)).
    /// The default is 0.
    fn state_version(&self) -> u32 {
        0
    }
    /// The PCI devices the module drives (see
    /// [`ModuleInfo::pci_ids`](crate::v2::ModuleInfo::pci_ids)); read once,
    /// at registration. The default is none.
    fn pci_ids(&self) -> &'static [crate::services::pci::DeviceId] {
        &[]
    }
    /// For a SECURITY module, the operations it is consulted about (see
    /// [`ModuleInfo::screens`](crate::v2::ModuleInfo::screens)); read once,
    /// at registration. The default, empty, is all of them.
    fn screens(&self) -> &'static [crate::error::Operation] {
        &[]
    }
    /// The scheduling policy this module provides, if it is a scheduler
    /// (see [`ModuleTrait::scheduler`](crate::v2::ModuleTrait::scheduler)).
    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        None
    }
    /// Everything the registry reads from the module when it registers (or
    /// reloads) it, in one call. The default asks the methods above one
    /// by one; a module that derives them all from one description, as
    /// [`ModuleAdapter`](crate::v2::ModuleAdapter) does, can answer at once.
    fn registration(&self) -> Registration {
        Registration {
            metadata: self.metadata(),
            static_name: None,
            memory_limit: self.memory_limit(),
            state_version: self.state_version(),
            pci_ids: self.pci_ids(),
            screens: self.screens(),
        }
    }
}

/// What [`Module::registration`] answers: the module's metadata and the
/// properties the registry keeps for it.
#[derive(Clone, Debug)]
pub struct Registration {
    /// [`Module::metadata`].
    pub metadata: ModuleMetadata,
    /// The metadata's name as a `'static` string, if the module has it as
    /// one; the registry then shares it instead of keeping a copy.
    pub static_name: Option<&'static str>,
    /// [`Module::memory_limit`].
    pub memory_limit: Option<u64>,
    /// [`Module::state_version`].
    pub state_version: u32,
    /// [`Module::pci_ids`].
    pub pci_ids: &'static [crate::services::pci::DeviceId],
    /// [`Module::screens`].
    pub screens: &'static [crate::error::Operation],
}
