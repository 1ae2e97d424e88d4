//! [`Operation`]: the names of registry operations, which errors, audit
//! entries and the SECURITY hook all use.

use core::fmt;

/// A registry operation, as named in errors and in the audit ring.
///
/// ```
/// use helix_modules::Operation;
/// assert_eq!(Operation::SetParam.to_string(), "set-param");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operation {
    /// Adding a module to the registry.
    Register,
    /// Calling the module's `init`.
    Init,
    /// Calling the module's `start`.
    Start,
    /// Calling the module's `stop`.
    Stop,
    /// Removing the module from the registry.
    Unload,
    /// Replacing a running module by a new instance.
    Reload,
    /// Re-initialising and starting a failed or unhealthy module.
    Restart,
    /// Changing a module parameter at run time.
    SetParam,
    /// Sending an IPC request.
    Request,
    /// Delivering an event.
    Event,
    /// Reading the audit ring.
    ReadAudit,
    /// Loading a module binary (the kernel's loader asks
    /// [`crate::Registry::authorize`] before it maps one).
    Load,
    /// Asking a running module for its state
    /// ([`crate::Registry::save_state`], e.g. to keep it across a reboot).
    SaveState,
    /// Handing a running module saved state
    /// ([`crate::Registry::restore_state`]).
    RestoreState,
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Operation::Register => "register",
            Operation::Init => "init",
            Operation::Start => "start",
            Operation::Stop => "stop",
            Operation::Unload => "unload",
            Operation::Reload => "reload",
            Operation::Restart => "restart",
            Operation::SetParam => "set-param",
            Operation::Request => "request",
            Operation::Event => "event",
            Operation::ReadAudit => "read-audit",
            Operation::Load => "load",
            Operation::SaveState => "save-state",
            Operation::RestoreState => "restore-state",
        })
    }
}
