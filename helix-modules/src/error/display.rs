//! How each [`ModuleError`] reads: one line, naming the module and what
//! was wrong, for the console, logs and audit entries.

use core::fmt;

use super::ModuleError;

impl fmt::Display for ModuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use ModuleError::*;
        match self {
            NotFound { name } => write!(f, "no module or capability named `{name}`"),
            AlreadyRegistered { name } => write!(f, "module `{name}` is already registered"),
            InvalidMetadata { module, reason } => {
                write!(f, "invalid metadata for module `{module}`: {reason}")
            }
            InvalidDependency {
                module,
                spec,
                reason,
            } => write!(
                f,
                "module `{module}`: invalid dependency `{spec}`: {reason}"
            ),
            InvalidState { module, state, op } => {
                write!(f, "cannot {op} module `{module}` while it is {state}")
            }
            DependencyMissing { module, dependency } => {
                write!(
                    f,
                    "module `{module}`: dependency `{dependency}` is not registered"
                )
            }
            DependencyFailed { module, dependency } => {
                write!(
                    f,
                    "module `{module}`: dependency `{dependency}` is not running"
                )
            }
            Cycle(names) => {
                f.write_str("dependency cycle: ")?;
                for (i, n) in names.iter().enumerate() {
                    if i > 0 {
                        f.write_str(" -> ")?;
                    }
                    f.write_str(n)?;
                }
                if let Some(first) = names.first() {
                    write!(f, " -> {first}")?;
                }
                Ok(())
            }
            Reentrant { module } => write!(
                f,
                "request would re-enter module `{module}`, already in a call on this chain"
            ),
            Busy { module } => write!(f, "module `{module}` is busy on another call chain"),
            TargetNotRunning { module, state } => {
                write!(f, "module `{module}` is not running (it is {state})")
            }
            PayloadTooLarge { size, limit } => {
                write!(f, "payload of {size} bytes exceeds the limit of {limit}")
            }
            PermissionDenied {
                caller,
                op,
                target,
                missing,
            } => write!(
                f,
                "{caller} may not {op} `{target}`: missing permission {missing}"
            ),
            SourceMismatch { claimed, actual } => write!(
                f,
                "request source `{claimed}` does not match sender `{actual}`"
            ),
            InvalidParam {
                module,
                key,
                reason,
            } => write!(f, "invalid value for `{module}.{key}`: {reason}"),
            UnknownParam { module, key } => {
                write!(f, "module `{module}` has no parameter `{key}`")
            }
            BootOnlyParam { module, key } => write!(
                f,
                "parameter `{module}.{key}` is read only at boot: set it on the kernel command line"
            ),
            NotHotReloadable { module } => {
                write!(f, "module `{module}` is not hot-reloadable")
            }
            ReloadMismatch { expected, found } => {
                write!(f, "replacement for `{expected}` calls itself `{found}`")
            }
            StateIncompatible {
                module,
                running,
                offered,
            } => write!(
                f,
                "replacement for `{module}` reads state format {offered}, the running instance saves format {running}"
            ),
            Essential { module } => {
                write!(
                    f,
                    "module `{module}` is essential and cannot be stopped or unloaded"
                )
            }
            InUse { module, dependents } => {
                write!(f, "module `{module}` is in use by ")?;
                for (i, d) in dependents.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "`{d}`")?;
                }
                Ok(())
            }
            Conflict {
                module,
                holder,
                flag,
            } => write!(
                f,
                "module `{module}` cannot run: `{holder}` already holds role {flag}"
            ),
            Unsupported { module, flag } => {
                write!(f, "module `{module}`: flag {flag} is not supported")
            }
            StepFailed { module, op, reason } => {
                write!(f, "module `{module}` failed to {op}: {reason}")
            }
            UnexpectedReply { module } => {
                write!(f, "module `{module}` answered with the wrong kind of reply")
            }
            RegistryGone => f.write_str("the registry no longer exists"),
            Failed(reason) => f.write_str(reason),
            Message(reason) => f.write_str(reason),
            Hardware(e) => write!(f, "{e}"),
            Faulted {
                module,
                during,
                fault,
            } => write!(f, "module `{module}` faulted in {during}: {fault}"),
            SecurityRefused {
                by,
                op,
                target,
                reason,
            } => write!(
                f,
                "security module `{by}` refused {op} of `{target}`: {reason}"
            ),
            Timeout { module } => write!(
                f,
                "module `{module}` stayed busy past every time budget: gave up waiting"
            ),
        }
    }
}
