//! The one error type of the framework, shared by the registry and by module
//! code, plus the [`Operation`] names that errors and audit entries refer to.
//!
//! Every failure the registry can report is a variant here, so callers match
//! on the exact case instead of parsing text. Modules report their own
//! failures with [`ModuleError::Failed`] (a static reason) or
//! [`ModuleError::Message`] (a formatted one); a refused hardware request
//! becomes [`ModuleError::Hardware`] with `?`, keeping its cause (who holds
//! the ports, which IRQ) for `lsmod` to show.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;

use crate::contain::{CallKind, Fault};
use crate::flags::ModuleFlags;
use crate::permissions::Permissions;
use crate::registry::ModuleState;
use crate::services::hw::HwError;

mod display;
mod operation;

pub use operation::Operation;

/// Everything that can go wrong in the framework, and what modules return.
///
/// The registry never panics on bad input: it returns one of these.
///
/// ```
/// use helix_modules::ModuleError;
/// let e = ModuleError::NotFound { name: "net".into() };
/// assert_eq!(e.to_string(), "no module or capability named `net`");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ModuleError {
    /// No module (or capability, for requests) has this name.
    NotFound {
        /// The name that was looked up.
        name: String,
    },
    /// A module with this name is already registered.
    AlreadyRegistered {
        /// The duplicate name.
        name: String,
    },
    /// The module's metadata breaks a registration rule.
    InvalidMetadata {
        /// The module's name (possibly empty, if that is the problem).
        module: String,
        /// Which rule was broken.
        reason: &'static str,
    },
    /// A dependency string does not follow the dependency syntax.
    InvalidDependency {
        /// The module declaring the dependency.
        module: String,
        /// The dependency string as written.
        spec: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The operation is not allowed in the module's current state.
    InvalidState {
        /// The module.
        module: String,
        /// Its current state.
        state: ModuleState,
        /// The refused operation.
        op: Operation,
    },
    /// A hard dependency matches no registered module or capability
    /// (or none with an acceptable version).
    DependencyMissing {
        /// The dependent module.
        module: String,
        /// The dependency string.
        dependency: String,
    },
    /// A hard dependency exists but none of its providers is running.
    DependencyFailed {
        /// The dependent module.
        module: String,
        /// The dependency string.
        dependency: String,
    },
    /// The modules named form a dependency cycle: each depends on the
    /// next, and the last on the first.
    Cycle(Vec<String>),
    /// The target is already in a call on this call chain (A -> B -> A);
    /// waiting for it would deadlock.
    Reentrant {
        /// The module that would have been re-entered.
        module: String,
    },
    /// The target is in a call on another call chain and the caller holds
    /// modules itself, so waiting could deadlock.
    Busy {
        /// The busy module.
        module: String,
    },
    /// The request's target exists but is not running.
    TargetNotRunning {
        /// The target.
        module: String,
        /// Its state.
        state: ModuleState,
    },
    /// A request or response payload exceeds the registry's limit.
    PayloadTooLarge {
        /// Payload size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The caller lacks a permission the operation needs.
    PermissionDenied {
        /// Who asked (`kernel` or a module name).
        caller: String,
        /// The operation.
        op: Operation,
        /// The module it targeted.
        target: String,
        /// The permissions that were required and not held.
        missing: Permissions,
    },
    /// A request claims a `source` other than the module sending it.
    SourceMismatch {
        /// The `source` written in the request.
        claimed: String,
        /// The module actually sending it.
        actual: String,
    },
    /// A parameter value failed validation.
    InvalidParam {
        /// The module.
        module: String,
        /// The parameter.
        key: String,
        /// Why the value was rejected.
        reason: String,
    },
    /// The module declares parameters and this is not one of them.
    UnknownParam {
        /// The module.
        module: String,
        /// The unknown key.
        key: String,
    },
    /// The parameter is read only when the module initialises at boot
    /// ([`crate::ParamSpec::boot_only`]): it is set on the kernel command
    /// line, and changing it at run time is refused.
    BootOnlyParam {
        /// The module.
        module: String,
        /// The parameter.
        key: String,
    },
    /// Reload was asked of a module without [`ModuleFlags::HOT_RELOADABLE`].
    NotHotReloadable {
        /// The module.
        module: String,
    },
    /// The replacement instance in a reload has a different name.
    ReloadMismatch {
        /// The module being replaced.
        expected: String,
        /// The name the replacement reports.
        found: String,
    },
    /// A reload's replacement saves its state in another format than the
    /// running instance ([`crate::v2::ModuleInfo::state_version`]); refused
    /// before anything stops.
    StateIncompatible {
        /// The module being replaced.
        module: String,
        /// The running instance's state format.
        running: u32,
        /// The replacement's state format.
        offered: u32,
    },
    /// The module is [`ModuleFlags::ESSENTIAL`]: it is not stopped or unloaded.
    Essential {
        /// The module.
        module: String,
    },
    /// Running modules need this one (by name, or through a capability of
    /// which it is their only running provider), so it is not stopped or
    /// unloaded; as Linux `rmmod` refuses a module in use.
    /// [`crate::Registry::stop_cascade`] stops them first.
    ///
    /// ```
    /// use helix_modules::ModuleError;
    /// let e = ModuleError::InUse { module: "serial_console".into(), dependents: vec!["shell".into()] };
    /// assert_eq!(e.to_string(), "module `serial_console` is in use by `shell`");
    /// ```
    InUse {
        /// The module that was to stop.
        module: String,
        /// The running modules that need it, in registration order.
        dependents: Vec<String>,
    },
    /// Another running module already holds an exclusive role
    /// ([`ModuleFlags::SCHEDULER`] or [`ModuleFlags::ALLOCATOR`]).
    Conflict {
        /// The module that was refused.
        module: String,
        /// The module holding the role.
        holder: String,
        /// The contested role.
        flag: ModuleFlags,
    },
    /// The registry cannot honour one of the module's flags.
    Unsupported {
        /// The module.
        module: String,
        /// The flag.
        flag: ModuleFlags,
    },
    /// A lifecycle step of a module returned an error; the module is Failed.
    StepFailed {
        /// The module.
        module: String,
        /// The step that failed.
        op: Operation,
        /// What the module (or the registry) reported.
        reason: Box<ModuleError>,
    },
    /// A v1 module answered a message with the wrong kind of reply.
    UnexpectedReply {
        /// The module.
        module: String,
    },
    /// A handle outlived the registry it belongs to.
    RegistryGone,
    /// A module-reported failure with a static reason.
    Failed(&'static str),
    /// A module-reported failure with a formatted reason.
    Message(String),
    /// The kernel's hardware service refused a driver's request (ports or
    /// an IRQ line held by another owner, a bad range, no hardware); made
    /// from the [`HwError`] by `?`.
    ///
    /// ```
    /// use helix_modules::ModuleError;
    /// use helix_modules::services::hw::HwError;
    /// let e: ModuleError = HwError::PortsInUse { base: 0x70, count: 2, owner: "cmos_rtc".into() }.into();
    /// assert_eq!(e.to_string(), "ports 0x70..0x72 are claimed by cmos_rtc");
    /// ```
    Hardware(HwError),
    /// A call into the module's code ended in a fault (a panic, a CPU
    /// exception, its time budget, its memory limit): the module is Failed
    /// and everything it held was given back. See [`crate::contain`].
    ///
    /// ```
    /// use helix_modules::ModuleError;
    /// use helix_modules::contain::{CallKind, Fault, FaultKind};
    /// let e = ModuleError::Faulted {
    ///     module: "crashy".into(),
    ///     during: CallKind::Request,
    ///     fault: Fault::new(FaultKind::Panic, "boom at src/lib.rs:7"),
    /// };
    /// assert_eq!(e.to_string(), "module `crashy` faulted in handle_request: panic: boom at src/lib.rs:7");
    /// ```
    Faulted {
        /// The module.
        module: String,
        /// The entry point the fault happened in.
        during: CallKind,
        /// What happened.
        fault: Fault,
    },
    /// The running SECURITY module refused an operation the caller's
    /// permissions allow, or could not answer (it faulted, returned an
    /// error, was busy): the registry fails closed. See
    /// [`crate::Registry::authorize`].
    ///
    /// ```
    /// use helix_modules::{ModuleError, Operation};
    /// let e = ModuleError::SecurityRefused {
    ///     by: "module_sig".into(),
    ///     op: Operation::Load,
    ///     target: "e1000.ko".into(),
    ///     reason: "the module is not signed".into(),
    /// };
    /// assert_eq!(e.to_string(), "security module `module_sig` refused load of `e1000.ko`: the module is not signed");
    /// ```
    SecurityRefused {
        /// The SECURITY module.
        by: String,
        /// The operation refused.
        op: Operation,
        /// What it targeted (a module name, or a file for [`Operation::Load`]).
        target: String,
        /// Its reason (its error response, or why it could not answer).
        reason: String,
    },
    /// A module that others are waiting for stayed busy past every call's
    /// time budget: the wait was given up.
    Timeout {
        /// The busy module.
        module: String,
    },
}

impl ModuleError {
    /// A module-reported failure ([`ModuleError::Message`]) reading as
    /// `error` does: for a module passing on an error of its own kind,
    /// `result.map_err(ModuleError::message)`.
    pub fn message(error: impl core::fmt::Display) -> Self {
        use alloc::string::ToString;
        ModuleError::Message(error.to_string())
    }
}

impl core::error::Error for ModuleError {}

impl From<HwError> for ModuleError {
    fn from(e: HwError) -> Self {
        ModuleError::Hardware(e)
    }
}
