//! [`ModuleFlags`]: what kind of module this is and which framework rules
//! apply to it.
//!
//! The flags are not advisory: the registry enforces them (see each flag).
//! Wherever flags are printed (errors, `lsmod`, `modinfo`) they read
//! `ESSENTIAL | SCHEDULER`, through [`ModuleFlags`]'s `Display`.

use bitflags::bitflags;
use core::fmt;

bitflags! {
    /// Module properties that the registry enforces.
    ///
    /// ```
    /// use helix_modules::ModuleFlags;
    /// let f = ModuleFlags::ESSENTIAL | ModuleFlags::HOT_RELOADABLE;
    /// assert!(f.contains(ModuleFlags::ESSENTIAL));
    /// assert!(ModuleFlags::SCHEDULER.is_exclusive());
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
    pub struct ModuleFlags: u32 {
        /// Cannot be stopped or unloaded (only the shutdown sequence stops
        /// it), and the supervisor does not restart it on its own: its
        /// failure is reported instead.
        const ESSENTIAL = 1 << 0;
        /// May be replaced at run time by a new instance through
        /// `save_state` -> `restore_state`; reload is refused without it.
        const HOT_RELOADABLE = 1 << 1;
        /// Meant to run in user space. This registry runs modules in the
        /// kernel only, so registration of such a module is refused.
        const USERSPACE = 1 << 2;
        /// Owns hardware. Listed and searchable by flag.
        const DRIVER = 1 << 3;
        /// Provides a filesystem. Listed and searchable by flag.
        const FILESYSTEM = 1 << 4;
        /// Provides the scheduler service: at most one such module runs.
        const SCHEDULER = 1 << 5;
        /// Provides memory allocation: at most one such module runs.
        const ALLOCATOR = 1 << 6;
        /// Security module: managing it (stop, unload, reload, restart,
        /// set a parameter) needs [`crate::Permissions::SECURITY`] on top of
        /// the operation's own permission.
        const SECURITY = 1 << 7;
        /// Its state survives a reboot: the kernel's `persist` service
        /// writes its `save_state` to disk at shutdown (and on demand) and
        /// hands it to `restore_state` at the next boot, when the state
        /// format (`ModuleInfo::state_version`) still matches.
        const PERSISTENT = 1 << 8;
    }
}

impl ModuleFlags {
    /// The roles of which at most one running module may hold each.
    pub const EXCLUSIVE: ModuleFlags = ModuleFlags::SCHEDULER.union(ModuleFlags::ALLOCATOR);

    /// Whether this set contains a role that only one running module may hold.
    pub const fn is_exclusive(self) -> bool {
        self.intersects(Self::EXCLUSIVE)
    }
}

/// The flag names joined by ` | ` (`ESSENTIAL | SCHEDULER`), in declaration
/// order; bits that name no flag follow as one hex number; `-` for none.
///
/// ```
/// use helix_modules::ModuleFlags;
/// assert_eq!((ModuleFlags::SCHEDULER | ModuleFlags::ESSENTIAL).to_string(), "ESSENTIAL | SCHEDULER");
/// assert_eq!(ModuleFlags::DRIVER.to_string(), "DRIVER");
/// assert_eq!(ModuleFlags::empty().to_string(), "-");
/// ```
impl fmt::Display for ModuleFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_empty() {
            f.write_str("-")
        } else {
            bitflags::parser::to_writer(self, f)
        }
    }
}
