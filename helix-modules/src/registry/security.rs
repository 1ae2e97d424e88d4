//! The SECURITY hook: after the permission check has allowed a privileged
//! operation, the running module flagged [`ModuleFlags::SECURITY`] (if
//! any) is asked too, and may refuse it. It never grants: whatever the
//! permissions deny stays denied without asking it.
//!
//! Asked about: stop (each module of a cascade too), unload, set-param,
//! reload, requests to `protected_by` modules, and whatever the kernel
//! asks through [`Registry::authorize`] (loading a module binary). Not
//! asked: anything done to the SECURITY module itself or by it (it would
//! be asking itself; managing it needs [`Permissions::SECURITY`]), and the
//! kernel's shutdown.
//!
//! The question is an ordinary request of type
//! [`crate::security::REQUEST_TYPE`], sent as the kernel on the chain of
//! whoever is asked about (so a SECURITY module that is already in a call
//! on that chain is re-entrant, not deadlocked), with no payload limit
//! (module binaries are far larger than IPC payloads). An error response,
//! a handler error or a fault is a refusal: the hook fails closed, and so
//! it does while a SECURITY module is registered but Failed. Every
//! decision is audited as its own entry.

use alloc::borrow::Cow;
use alloc::format;
use alloc::string::{String, ToString};

use super::{ModuleState, Registry};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::{Caller, Permissions};
use crate::security::{self, AuthorizeQuery};
use crate::v2::Request;

/// How much of an answer or reason goes into the audit ring.
const AUDIT_TEXT: usize = 160;

/// The lifecycle operations the hook is asked about (requests and
/// [`Registry::authorize`] ask it on their own).
pub(crate) fn screened(op: Operation) -> bool {
    matches!(
        op,
        Operation::Stop
            | Operation::Unload
            | Operation::SetParam
            | Operation::Reload
            | Operation::SaveState
            | Operation::RestoreState
    )
}

/// The permission an operation needs.
fn needed_for(op: Operation) -> Permissions {
    match op {
        Operation::Reload => Permissions::RELOAD,
        Operation::SetParam => Permissions::CONFIGURE,
        Operation::ReadAudit => Permissions::AUDIT,
        Operation::Request | Operation::Event => Permissions::empty(),
        Operation::Register
        | Operation::Init
        | Operation::Start
        | Operation::Stop
        | Operation::Unload
        | Operation::Restart
        | Operation::Load
        | Operation::SaveState
        | Operation::RestoreState => Permissions::MANAGE,
    }
}

/// Who answers for security right now.
enum Guard {
    /// No SECURITY module is registered, or none runs and none failed;
    /// or the operation concerns the SECURITY module itself.
    Nobody,
    /// This running module is asked.
    Running(String),
    /// A SECURITY module is Failed and none runs: everything is refused.
    Failed(String),
}

impl Registry {
    /// Asks the running SECURITY module whether `caller` may perform `op`
    /// on `target`, for the kernel's own decisions (the module loader asks
    /// before it maps a binary, with the file as `evidence`).
    ///
    /// First the caller's permissions are checked as for the operation
    /// itself ([`Permissions::MANAGE`] for load, stop, unload;
    /// [`Permissions::RELOAD`], [`Permissions::CONFIGURE`] ...; and
    /// [`Permissions::SECURITY`] when `target` is a SECURITY module),
    /// giving [`ModuleError::PermissionDenied`]. Then:
    /// - `Ok(None)`: no SECURITY module runs (none registered, or stopped);
    /// - `Ok(Some(text))`: it allowed, saying why (its response payload,
    ///   as UTF-8; e.g. who signed the module);
    /// - [`ModuleError::SecurityRefused`]: it refused with its reason, or
    ///   could not answer (fault, error, busy), or it is Failed.
    ///
    /// The decision is audited; the evidence is not.
    ///
    /// ```
    /// # use helix_modules::{Caller, Operation, Registry};
    /// let r = Registry::new();
    /// assert_eq!(r.authorize(Caller::Kernel, Operation::Load, "e1000.ko", b"\x7fELF"), Ok(None));
    /// ```
    pub fn authorize(
        &self,
        caller: Caller,
        op: Operation,
        target: &str,
        evidence: &[u8],
    ) -> Result<Option<String>, ModuleError> {
        let allowed = {
            let t = self.inner.table.lock();
            let flags = t
                .module_named(target)
                .and_then(|id| t.slot(id))
                .map_or(ModuleFlags::empty(), |s| s.meta.flags);
            self.authorize_locked(&t, caller, op, target, needed_for(op), flags)
                .map(|_| ())
        };
        if let Err(e) = allowed {
            let result = Err(e);
            self.audit(caller, op, target, None, &result);
            return result;
        }
        self.consult(caller, op, target, None, evidence)
    }

    /// The hook itself: asks the SECURITY module about an operation the
    /// permissions already allowed. `Ok(None)` when nobody was asked.
    pub(crate) fn consult(
        &self,
        caller: Caller,
        op: Operation,
        target: &str,
        detail: Option<&str>,
        evidence: &[u8],
    ) -> Result<Option<String>, ModuleError> {
        let by = match self.guard(caller, target, op) {
            Guard::Nobody => return Ok(None),
            Guard::Failed(by) => {
                let reason = format!("security module `{by}` has failed: refusing everything");
                return self.decided(caller, op, target, detail, &by, Err(reason));
            }
            Guard::Running(by) => by,
        };
        let caller_name = self.principal(&self.inner.table.lock(), caller)?.name;
        let query = AuthorizeQuery {
            op,
            caller: &caller_name,
            target,
            detail: detail.unwrap_or_default(),
            evidence,
        };
        let answer = match security::encode(&query) {
            Ok(payload) => {
                let request = Request::new("kernel", security::REQUEST_TYPE, payload);
                match self.send(
                    Caller::Kernel,
                    caller,
                    super::ipc::Target::Name(&by),
                    request,
                    usize::MAX,
                    false,
                ) {
                    Ok(r) => match r.error {
                        None => Ok(String::from_utf8_lossy(&r.payload).into_owned()),
                        Some(reason) => Err(Cow::into_owned(reason)),
                    },
                    Err(e) => Err(format!("it could not answer: {e}")),
                }
            }
            Err(e) => Err(e.to_string()),
        };
        self.decided(caller, op, target, detail, &by, answer)
    }

    /// Audits a decision of `by` and turns it into the hook's result.
    fn decided(
        &self,
        caller: Caller,
        op: Operation,
        target: &str,
        detail: Option<&str>,
        by: &str,
        answer: Result<String, String>,
    ) -> Result<Option<String>, ModuleError> {
        let text = match &answer {
            Ok(text) | Err(text) => clip(text),
        };
        let audit_detail = match detail {
            Some(d) => format!("{d}; security {by}: {text}"),
            None => format!("security {by}: {text}"),
        };
        let result = answer
            .map(Some)
            .map_err(|reason| ModuleError::SecurityRefused {
                by: String::from(by),
                op,
                target: String::from(target),
                reason,
            });
        self.audit(caller, op, target, Some(&audit_detail), &result);
        result
    }

    /// Who is to be asked about `caller` doing `op` on `target`: SECURITY
    /// modules that declared the operations they screen are asked (and,
    /// failed, refuse) only about those.
    fn guard(&self, caller: Caller, target: &str, op: Operation) -> Guard {
        let t = self.inner.table.lock();
        let security = || {
            t.live()
                .filter(|s| s.meta.flags.contains(ModuleFlags::SECURITY))
        };
        // Nothing done to or by any SECURITY module asks one, whatever it
        // screens.
        if security().any(|s| s.meta.name == target || caller == Caller::Module(s.id)) {
            return Guard::Nobody;
        }
        let screening = || security().filter(|s| s.screens.is_empty() || s.screens.contains(&op));
        if let Some(s) = screening().find(|s| s.state == ModuleState::Running) {
            return Guard::Running(s.meta.name.clone());
        }
        screening()
            .find(|s| s.state == ModuleState::Failed)
            .map_or(Guard::Nobody, |s| Guard::Failed(s.meta.name.clone()))
    }
}

/// `text` cut to [`AUDIT_TEXT`] bytes at a character boundary.
fn clip(text: &str) -> &str {
    if text.len() <= AUDIT_TEXT {
        return text;
    }
    let mut end = AUDIT_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}
