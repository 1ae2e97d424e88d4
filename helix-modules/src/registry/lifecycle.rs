//! The lifecycle state machine and the operations that move modules through
//! it: init, start, stop (refusing a module in use, or cascading to its
//! users), unload, restart, start-all and shutdown.
//!
//! [`transition`] is the whole table; every operation consults it under the
//! table lock before calling the module, so an invalid call never reaches
//! module code and returns [`ModuleError::InvalidState`] naming the state. A
//! step that the module fails moves it to Failed and records
//! [`ModuleError::StepFailed`] as its last error.
//!
//! A module that running modules need (their hard dependency names it, or
//! names a capability of which it is their only running provider) is not
//! stopped or unloaded: [`ModuleError::InUse`] names them, as Linux
//! `rmmod` refuses a module in use. [`Registry::stop_cascade`] stops them
//! first; [`Registry::shutdown`] stops everything in reverse dependency
//! order and is never refused.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use super::call::Chain;
use super::deps;
use super::{ModuleId, Registry};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::name::ModuleName;
use crate::permissions::{Caller, Permissions};

/// Where a module is in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ModuleState {
    /// Registered, `init` not yet called.
    Registered,
    /// `init` succeeded.
    Initialized,
    /// `start` succeeded: receives events and requests.
    Running,
    /// `stop` succeeded; may be started again or unloaded.
    Stopped,
    /// A step failed; only unload or a restart leads out.
    Failed,
    /// Removed from the registry (the target of unload; never listed).
    Unloaded,
}

impl fmt::Display for ModuleState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ModuleState::Registered => "registered",
            ModuleState::Initialized => "initialized",
            ModuleState::Running => "running",
            ModuleState::Stopped => "stopped",
            ModuleState::Failed => "failed",
            ModuleState::Unloaded => "unloaded",
        })
    }
}

/// The transition table: the state `op` leads to from `state`, or `None`
/// if `op` is not allowed there. A failing step leads to Failed instead.
///
/// ```
/// use helix_modules::{transition, ModuleState::*, Operation};
/// assert_eq!(transition(Registered, Operation::Init), Some(Initialized));
/// assert_eq!(transition(Stopped, Operation::Start), Some(Running));
/// assert_eq!(transition(Running, Operation::Unload), None);
/// assert_eq!(transition(Failed, Operation::Restart), Some(Running));
/// ```
pub const fn transition(state: ModuleState, op: Operation) -> Option<ModuleState> {
    use ModuleState::*;
    match (state, op) {
        (Registered, Operation::Init) => Some(Initialized),
        (Initialized | Stopped, Operation::Start) => Some(Running),
        (Running, Operation::Stop) => Some(Stopped),
        (Registered | Initialized | Stopped | Failed, Operation::Unload) => Some(Unloaded),
        (Running, Operation::Reload) => Some(Running),
        (Running | Failed, Operation::Restart) => Some(Running),
        _ => None,
    }
}

/// What [`Registry::start_all`] did to each module.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StartReport {
    /// Modules started, in start order.
    pub started: Vec<ModuleName>,
    /// Modules whose init or start failed (now Failed), with the error.
    pub failed: Vec<(ModuleName, ModuleError)>,
    /// Modules not attempted, with the reason (a dependency that is not
    /// running, a cycle, a role conflict, a Failed state). `*` if the
    /// caller may not start modules at all.
    pub skipped: Vec<(ModuleName, ModuleError)>,
    /// Modules ready to run but waiting because another running module
    /// holds the same exclusive role (a second scheduler while the first
    /// schedules), with that module's name. Standby is a normal state, so
    /// it does not make a report unclean.
    pub standby: Vec<(ModuleName, String)>,
}

impl StartReport {
    /// True when nothing failed or was skipped (standby modules are fine).
    pub fn is_clean(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

pub(super) fn invalid(name: &str, state: ModuleState, op: Operation) -> ModuleError {
    ModuleError::InvalidState {
        module: String::from(name),
        state,
        op,
    }
}

pub(super) fn step_failed(name: &str, op: Operation, reason: ModuleError) -> ModuleError {
    ModuleError::StepFailed {
        module: String::from(name),
        op,
        reason: alloc::boxed::Box::new(reason),
    }
}

impl Registry {
    /// Calls `init` (Registered -> Initialized). Parameters are resolved
    /// first; a bad value fails the step. Modules need
    /// [`Permissions::MANAGE`]. Audited.
    pub fn init(&self, caller: Caller, name: &str) -> Result<(), ModuleError> {
        let result = self
            .authorize_module_op(caller, Operation::Init, name, Permissions::MANAGE)
            .and_then(|id| {
                let chain = self.caller_chain(caller);
                self.step_init(id, chain, false)
            });
        self.audit(caller, Operation::Init, name, None, &result);
        result
    }

    /// Calls `start` (Initialized/Stopped -> Running) once every hard
    /// dependency has a running provider and no other running module holds
    /// the same exclusive role. Modules need [`Permissions::MANAGE`].
    /// Audited.
    pub fn start(&self, caller: Caller, name: &str) -> Result<(), ModuleError> {
        let result = self
            .authorize_module_op(caller, Operation::Start, name, Permissions::MANAGE)
            .and_then(|id| {
                let chain = self.caller_chain(caller);
                self.step_start(id, chain)
            });
        self.audit(caller, Operation::Start, name, None, &result);
        result
    }

    /// Re-initialises and starts a Failed or Running module (stopping it
    /// first if running), and releases a supervisor hold. Not refused for
    /// a module in use: its users keep running while it restarts. Modules
    /// need [`Permissions::MANAGE`]. Audited.
    pub fn restart(&self, caller: Caller, name: &str) -> Result<(), ModuleError> {
        let result = self
            .authorize_module_op(caller, Operation::Restart, name, Permissions::MANAGE)
            .and_then(|id| {
                {
                    let mut t = self.inner.table.lock();
                    if let Some(s) = t.slot_mut(id) {
                        s.supervision.reset();
                    }
                }
                let chain = self.caller_chain(caller);
                self.do_restart(id, chain)
            });
        self.audit(caller, Operation::Restart, name, None, &result);
        result
    }

    /// Initialises and starts every module that can run, in dependency
    /// order (see [`Registry::resolve`]). A module whose hard dependency is
    /// missing, failed, or on a cycle is skipped with the reason;
    /// everything else still starts. Modules need [`Permissions::MANAGE`].
    /// Audited: one record for the run (target `*`, how many started), and
    /// one for each module attempted that failed, was refused or waits in
    /// standby (those the plan leaves out, on or behind a cycle, are in
    /// the report only).
    pub fn start_all(&self, caller: Caller) -> StartReport {
        let mut report = StartReport::default();
        if let Err(e) = self.check_permission(
            caller,
            Operation::Start,
            "*",
            Permissions::MANAGE,
            ModuleFlags::empty(),
        ) {
            self.audit(
                caller,
                Operation::Start,
                "*",
                None,
                &Err::<(), _>(e.clone()),
            );
            report.skipped.push((ModuleName::from("*"), e));
            return report;
        }
        // The plan and the names of the blocked under one lock.
        let (plan, blocked) = {
            let t = self.inner.table.lock();
            let plan = deps::plan(&t);
            let blocked: Vec<_> = plan
                .blocked
                .into_iter()
                .filter_map(|(id, reason)| Some((t.slot(id)?.name.clone(), reason)))
                .collect();
            (plan.order, blocked)
        };
        report.skipped = blocked;
        report.started.reserve(plan.len());
        for id in plan {
            // Name, state and a call chain of its own (a thread the module
            // leaves behind in a call must not share the next one's).
            let (name, state, chain) = {
                let mut t = self.inner.table.lock();
                let Some(s) = t.slot(id) else { continue };
                let (name, state) = (s.name.clone(), s.state);
                (name, state, t.chain_for(caller))
            };
            let result = match state {
                ModuleState::Registered => self.step_init_start(id, chain),
                ModuleState::Initialized | ModuleState::Stopped => self.step_start(id, chain),
                ModuleState::Running => continue,
                s => Err(invalid(&name, s, Operation::Start)),
            };
            // Each module that did not start is audited on its own; the
            // ones that did, in one record for the run (below), so that
            // starting a thousand modules does not push everything else
            // out of the ring.
            if result.is_err() {
                self.audit(caller, Operation::Start, &name, None, &result);
            }
            match result {
                Ok(()) => report.started.push(name),
                Err(e @ ModuleError::StepFailed { .. }) => report.failed.push((name, e)),
                Err(ModuleError::Conflict { holder, .. }) => report.standby.push((name, holder)),
                Err(e) => report.skipped.push((name, e)),
            }
        }
        let started = alloc::format!("{} started", report.started.len());
        self.audit(caller, Operation::Start, "*", Some(&started), &Ok(()));
        report
    }

    pub(crate) fn caller_chain(&self, caller: Caller) -> Chain {
        self.inner.table.lock().chain_for(caller)
    }

    pub(crate) fn name_of(&self, id: ModuleId) -> Result<String, ModuleError> {
        let t = self.inner.table.lock();
        t.slot(id)
            .map(|s| s.meta.name.clone())
            .ok_or_else(|| super::call::unknown_id(id))
    }

    pub(crate) fn state_of(&self, id: ModuleId) -> Option<ModuleState> {
        self.inner.table.lock().slot(id).map(|s| s.state)
    }
}
