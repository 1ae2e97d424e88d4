//! [`ModuleInfo`], the static description of a v2 module, and [`Version`].
//!
//! Everything is `&'static` and every builder method is a `const fn`, so a
//! module's info can live in a `const` and building it never allocates. The
//! registry copies it into heap [`crate::ModuleMetadata`] once, at
//! registration.

use core::fmt;

use crate::config::ParamSpec;
use crate::flags::ModuleFlags;
use crate::permissions::Permissions;
use crate::v2::event::EventKinds;

/// A semantic version.
///
/// ```
/// use helix_modules::Version;
/// assert!(Version::new(1, 2, 0) > Version::new(1, 1, 9));
/// assert_eq!(Version::new(1, 2, 3).to_string(), "1.2.3");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Version {
    /// Incompatible changes.
    pub major: u16,
    /// Compatible additions.
    pub minor: u16,
    /// Fixes.
    pub patch: u16,
}

impl Version {
    /// Builds a version.
    pub const fn new(major: u16, minor: u16, patch: u16) -> Self {
        Version {
            major,
            minor,
            patch,
        }
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// Static metadata of a v2 module, built with `const fn` methods.
///
/// Defaults: version 0.0.0, empty texts, no flags, no dependencies or
/// capabilities, subscribed to every event kind, priority 0, no permissions,
/// no parameters, and requests accepted from anyone.
///
/// `dependencies` strings follow the syntax documented on
/// [`crate::Registry::resolve`]: `[?]target[ op version[, op version]...]`.
///
/// ```
/// use helix_modules::v2::{EventKinds, ModuleInfo};
/// use helix_modules::{ModuleFlags, ParamSpec, Permissions};
///
/// const PARAMS: [ParamSpec; 1] = [ParamSpec::new("time_slice_ms", "10").range(1, 1000)];
/// const INFO: ModuleInfo = ModuleInfo::new("round_robin")
///     .version(1, 0, 0)
///     .description("Round-robin scheduler")
///     .author("Helix")
///     .license("MIT")
///     .flags(ModuleFlags::SCHEDULER.union(ModuleFlags::HOT_RELOADABLE))
///     .dependencies(&["timer>=1.0", "?trace"])
///     .provides(&["scheduler"])
///     .events(EventKinds::TICK.union(EventKinds::CPU_HOTPLUG))
///     .priority(100)
///     .permissions(Permissions::SCHEDULING)
///     .params(&PARAMS);
/// assert_eq!(INFO.name, "round_robin");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ModuleInfo {
    /// Unique name: ASCII letters, digits, `-` and `_`.
    pub name: &'static str,
    /// Version, checked against dependents' requirements.
    pub version: Version,
    /// One line saying what the module does.
    pub description: &'static str,
    /// Who wrote it.
    pub author: &'static str,
    /// Licence identifier.
    pub license: &'static str,
    /// Enforced properties.
    pub flags: ModuleFlags,
    /// Modules or capabilities this one needs.
    pub dependencies: &'static [&'static str],
    /// Capabilities this module provides: ASCII letters, digits and
    /// `-`, `_`, `.`, `:`, `/`.
    pub provides: &'static [&'static str],
    /// Event kinds delivered to the module.
    pub events: EventKinds,
    /// Dispatch priority: higher goes first, ties by registration order.
    pub priority: i16,
    /// Permissions the module holds when it calls privileged operations.
    pub permissions: Permissions,
    /// Permissions a caller must hold to send this module requests.
    pub protected_by: Permissions,
    /// Declared parameters. When non-empty, unknown keys are rejected.
    pub params: &'static [ParamSpec],
    /// The most heap in bytes the module may hold at once (`None`: no
    /// limit of its own). See [`crate::Module::memory_limit`].
    pub memory_limit: Option<u64>,
    /// The format of what `save_state` writes (0: the default). An
    /// upgrade or reload hands state over only between instances that
    /// declare the same format; otherwise it is refused before anything
    /// stops.
    pub state_version: u32,
    /// The PCI devices a DRIVER module drives (see
    /// [`crate::services::pci`]); empty for the rest.
    pub pci_ids: &'static [crate::services::pci::DeviceId],
    /// For a SECURITY module: the operations it is asked about (empty:
    /// every operation the hook screens).
    pub screens: &'static [crate::error::Operation],
}

impl ModuleInfo {
    /// Starts the description of a module called `name`.
    pub const fn new(name: &'static str) -> Self {
        ModuleInfo {
            name,
            version: Version::new(0, 0, 0),
            description: "",
            author: "",
            license: "",
            flags: ModuleFlags::empty(),
            dependencies: &[],
            provides: &[],
            events: EventKinds::all(),
            priority: 0,
            permissions: Permissions::empty(),
            protected_by: Permissions::empty(),
            params: &[],
            memory_limit: None,
            state_version: 0,
            pci_ids: &[],
            screens: &[],
        }
    }

    /// Sets the version.
    pub const fn version(mut self, major: u16, minor: u16, patch: u16) -> Self {
        self.version = Version::new(major, minor, patch);
        self
    }

    /// Sets the description.
    pub const fn description(mut self, description: &'static str) -> Self {
        self.description = description;
        self
    }

    /// Sets the author.
    pub const fn author(mut self, author: &'static str) -> Self {
        self.author = author;
        self
    }

    /// Sets the licence.
    pub const fn license(mut self, license: &'static str) -> Self {
        self.license = license;
        self
    }

    /// Sets the flags.
    pub const fn flags(mut self, flags: ModuleFlags) -> Self {
        self.flags = flags;
        self
    }

    /// Sets the dependencies (see the syntax on [`crate::Registry::resolve`]).
    pub const fn dependencies(mut self, dependencies: &'static [&'static str]) -> Self {
        self.dependencies = dependencies;
        self
    }

    /// Sets the capabilities the module provides.
    pub const fn provides(mut self, provides: &'static [&'static str]) -> Self {
        self.provides = provides;
        self
    }

    /// Sets the event kinds the module receives.
    pub const fn events(mut self, events: EventKinds) -> Self {
        self.events = events;
        self
    }

    /// Sets the dispatch priority (higher first).
    pub const fn priority(mut self, priority: i16) -> Self {
        self.priority = priority;
        self
    }

    /// Sets the permissions the module holds.
    pub const fn permissions(mut self, permissions: Permissions) -> Self {
        self.permissions = permissions;
        self
    }

    /// Sets the permissions callers need to send the module requests.
    pub const fn protected_by(mut self, permissions: Permissions) -> Self {
        self.protected_by = permissions;
        self
    }

    /// Declares the module's parameters.
    pub const fn params(mut self, params: &'static [ParamSpec]) -> Self {
        self.params = params;
        self
    }

    /// Limits the heap the module may hold at once to `bytes`; an
    /// allocation past it fails, a contained fault of the module.
    ///
    /// ```
    /// use helix_modules::v2::ModuleInfo;
    /// let info = ModuleInfo::new("cache").memory_limit(4 << 20);
    /// assert_eq!(info.memory_limit, Some(4 << 20));
    /// ```
    pub const fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = Some(bytes);
        self
    }

    /// Declares the format of the module's saved state (see
    /// [`ModuleInfo::state_version`]): bump it when `save_state`'s output
    /// changes in a way older `restore_state` code cannot read.
    ///
    /// ```
    /// use helix_modules::v2::ModuleInfo;
    /// assert_eq!(ModuleInfo::new("log").state_version(2).state_version, 2);
    /// ```
    pub const fn state_version(mut self, version: u32) -> Self {
        self.state_version = version;
        self
    }

    /// Declares the PCI devices the module drives: the kernel binds the
    /// functions that match one of `ids` (and that no other driver holds)
    /// to it, through [`HardwareAccess::pci_devices`](crate::services::hw::HardwareAccess::pci_devices).
    ///
    /// ```
    /// use helix_modules::services::pci::DeviceId;
    /// use helix_modules::v2::ModuleInfo;
    /// const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1005)];
    /// assert_eq!(ModuleInfo::new("rng").pci_ids(&IDS).pci_ids.len(), 1);
    /// ```
    pub const fn pci_ids(mut self, ids: &'static [crate::services::pci::DeviceId]) -> Self {
        self.pci_ids = ids;
        self
    }

    /// For a SECURITY module: asks the registry to consult it only about
    /// `ops` (the others go on without a question), so a module that only
    /// judges module binaries is not asked about every stop.
    ///
    /// ```
    /// use helix_modules::v2::ModuleInfo;
    /// use helix_modules::Operation;
    /// const OPS: [Operation; 1] = [Operation::Load];
    /// assert_eq!(ModuleInfo::new("sig").screens(&OPS).screens, &OPS);
    /// ```
    pub const fn screens(mut self, ops: &'static [crate::error::Operation]) -> Self {
        self.screens = ops;
        self
    }
}
