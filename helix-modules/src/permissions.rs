//! Who may do what: [`Permissions`] held by modules and demanded by
//! privileged operations, and the [`Caller`] that identifies who asks.
//!
//! The kernel holds every permission. A module holds the permissions its
//! metadata declares; since modules are compiled into the kernel, that
//! declaration is reviewed with the module's code and is the grant.

use alloc::string::String;
use bitflags::bitflags;
use core::fmt;

use crate::registry::ModuleId;

bitflags! {
    /// Rights checked by the registry before privileged operations.
    ///
    /// ```
    /// use helix_modules::Permissions;
    /// let held = Permissions::MANAGE | Permissions::CONFIGURE;
    /// assert!(held.contains(Permissions::MANAGE));
    /// assert!(!held.contains(Permissions::RELOAD));
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct Permissions: u32 {
        /// Start, stop, unload and restart other modules.
        const MANAGE = 1 << 0;
        /// Hot-reload modules.
        const RELOAD = 1 << 1;
        /// Change module parameters at run time.
        const CONFIGURE = 1 << 2;
        /// Read the audit ring.
        const AUDIT = 1 << 3;
        /// Manage modules flagged SECURITY.
        const SECURITY = 1 << 4;
        /// Talk to device drivers that demand it.
        const DEVICE = 1 << 5;
        /// Talk to memory-management services that demand it.
        const MEMORY = 1 << 6;
        /// Talk to scheduling services that demand it.
        const SCHEDULING = 1 << 7;
    }
}

/// The permission names joined by ` | ` (`MANAGE | CONFIGURE`), as
/// [`crate::ModuleFlags`] print; `-` for none.
///
/// ```
/// use helix_modules::Permissions;
/// assert_eq!(Permissions::AUDIT.to_string(), "AUDIT");
/// assert_eq!((Permissions::MANAGE | Permissions::CONFIGURE).to_string(), "MANAGE | CONFIGURE");
/// ```
impl fmt::Display for Permissions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("-")
        } else {
            bitflags::parser::to_writer(self, f)
        }
    }
}

/// The identity behind a registry call, used for permission checks, for
/// `Request::source` checks and in the audit ring.
///
/// ```
/// use helix_modules::Caller;
/// assert_eq!(Caller::Kernel, Caller::Kernel);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Caller {
    /// The kernel itself: holds every permission.
    Kernel,
    /// A registered module, with the permissions its metadata declares.
    Module(ModuleId),
}

/// A caller resolved to a printable name and its permissions.
#[derive(Clone, Debug)]
pub(crate) struct Principal {
    pub(crate) name: String,
    pub(crate) permissions: Permissions,
}

impl Principal {
    /// The permissions of `needed` that this principal lacks.
    pub(crate) fn missing(&self, needed: Permissions) -> Permissions {
        needed.difference(self.permissions)
    }
}
