//! Hot reload: replacing a running HOT_RELOADABLE module by a new instance,
//! handing state over with `save_state` -> `restore_state`.
//!
//! The old instance stays in charge until the new one has initialised and
//! restored; only then is the old one stopped and the new one started. If
//! the new one fails before that point the old one keeps running
//! untouched; if it fails to start, the old one is started again.

use alloc::boxed::Box;
use alloc::string::String;

use super::call::unknown_id;
use super::deps::{self, validate_metadata};
use super::{ModuleState, Registry, params};
use crate::contain::{CallKind, Fault};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::{Caller, Permissions};
use crate::services::scheduler::CAPABILITY as SCHEDULER_CAPABILITY;
use crate::v1::Module;

fn reload_failed(name: &str, reason: ModuleError) -> ModuleError {
    ModuleError::StepFailed {
        module: String::from(name),
        op: Operation::Reload,
        reason: Box::new(reason),
    }
}

impl Registry {
    /// Replaces the running module `name` by `replacement`.
    ///
    /// Needs [`Permissions::RELOAD`] (modules), the
    /// [`ModuleFlags::HOT_RELOADABLE`] flag on the running module
    /// ([`ModuleError::NotHotReloadable`]), state Running
    /// ([`ModuleError::InvalidState`]) and a replacement with the same name
    /// ([`ModuleError::ReloadMismatch`]) and valid metadata. Sequence: old
    /// `save_state`, new `init` (same id and parameters), new
    /// `restore_state`, old `stop`, new `start`. A failure of the new
    /// instance returns [`ModuleError::StepFailed`] with op `reload` and
    /// leaves the old one running. The replacement's metadata (version,
    /// capabilities, subscriptions) takes effect. Audited.
    pub fn reload(
        &self,
        caller: Caller,
        name: &str,
        replacement: Box<dyn Module>,
    ) -> Result<(), ModuleError> {
        let result = self.reload_inner(caller, name, replacement);
        self.audit(caller, Operation::Reload, name, None, &result);
        result
    }

    fn reload_inner(
        &self,
        caller: Caller,
        name: &str,
        mut new: Box<dyn Module>,
    ) -> Result<(), ModuleError> {
        let id = self.authorize_module_op(caller, Operation::Reload, name, Permissions::RELOAD)?;
        let new_meta = new.metadata();
        // The rest of the new code's static description, which the slot
        // takes with its metadata (its state format is asked below,
        // contained, as part of the hand-over).
        let (new_pci_ids, new_screens) = (new.pci_ids(), new.screens());
        let chain = self.caller_chain(caller);
        let (mut old, (shared_name, driver, config)) = self.take(id, chain, |t| {
            let s = t.slot(id).ok_or_else(|| unknown_id(id))?;
            if !s.meta.flags.contains(ModuleFlags::HOT_RELOADABLE) {
                return Err(ModuleError::NotHotReloadable {
                    module: s.meta.name.clone(),
                });
            }
            if s.state != ModuleState::Running {
                return Err(ModuleError::InvalidState {
                    module: s.meta.name.clone(),
                    state: s.state,
                    op: Operation::Reload,
                });
            }
            if new_meta.name != s.meta.name {
                return Err(ModuleError::ReloadMismatch {
                    expected: s.meta.name.clone(),
                    found: new_meta.name.clone(),
                });
            }
            validate_metadata(&new_meta)?;
            deps::validate_pci_ids(&new_meta, new_pci_ids)?;
            if new_meta.flags.contains(ModuleFlags::SCHEDULER)
                && !new_meta.provides.iter().any(|p| p == SCHEDULER_CAPABILITY)
            {
                return Err(ModuleError::InvalidMetadata {
                    module: new_meta.name.clone(),
                    reason: "a SCHEDULER module must provide the `scheduler` capability",
                });
            }
            // The new instance's hardware access is the running one's: a
            // module becomes a driver (or stops being one) only once the
            // reload has succeeded.
            let driver = s
                .meta
                .flags
                .contains(ModuleFlags::DRIVER)
                .then_some(s.pci_ids);
            let shared_name = s.name.clone();
            Ok((shared_name, driver, params::resolve(t, id)?))
        })?;

        // Both answers are module code, part of the state hand-over:
        // contained like the rest of it (a fault here is caught again below).
        let formats = self
            .contained(id, CallKind::SaveState, || old.state_version())
            .and_then(|running| {
                self.contained(id, CallKind::RestoreState, || new.state_version())
                    .map(|offered| (running, offered))
            });
        if let Ok((running, offered)) = formats
            && running != offered
        {
            self.put_back(id, old, |_, _| ());
            self.drop_contained(id, new);
            return Err(ModuleError::StateIncompatible {
                module: String::from(name),
                running,
                offered,
            });
        }
        let saved = match self.contained(id, CallKind::SaveState, || old.save_state()) {
            Ok(saved) => saved,
            Err(fault) => {
                // The old instance faulted: it is Failed, and there is no
                // state to hand over.
                let error = Self::fault_error(name, CallKind::SaveState, fault);
                self.record_fault(id, &error);
                self.put_back(id, old, |slot, t| {
                    slot.fail(error.clone());
                    t.subscribers_dirty = true;
                });
                self.drop_contained(id, new);
                return Err(reload_failed(name, error));
            }
        };
        let ctx = self.context_for(id, &shared_name, driver, config.clone());
        // The new instance's faults fail the reload, never the old one.
        let on_new = |kind, r: Result<Result<(), ModuleError>, Fault>| match r {
            Ok(result) => result,
            Err(fault) => Err(Self::fault_error(name, kind, fault)),
        };
        let prepared = on_new(
            CallKind::Init,
            self.contained(id, CallKind::Init, || new.init(&ctx)),
        )
        .and_then(|()| match &saved {
            Some(state) => on_new(
                CallKind::RestoreState,
                self.contained(id, CallKind::RestoreState, || new.restore_state(state)),
            ),
            None => Ok(()),
        })
        .and_then(|()| {
            let needs = new_meta.flags.contains(ModuleFlags::SCHEDULER);
            if needs && new.scheduler().is_none() {
                Err(ModuleError::Failed(
                    "a SCHEDULER module must return its policy from `scheduler()`",
                ))
            } else {
                Ok(())
            }
        });
        drop(ctx);
        if let Err(e) = prepared {
            self.put_back(id, old, |_, _| ());
            self.drop_contained(id, new);
            return Err(reload_failed(name, e));
        }
        // The old instance is being discarded: a failing stop is reported
        // through the new instance's start, which is what matters.
        let old_stop = on_new(
            CallKind::Stop,
            self.contained(id, CallKind::Stop, || old.stop()),
        );
        // Whatever the old instance started ends with it, before the new
        // instance starts its own.
        self.notify_stopped(name);
        let service = if new_meta.flags.contains(ModuleFlags::SCHEDULER) {
            new.scheduler()
        } else {
            None
        };
        let started = on_new(
            CallKind::Start,
            self.contained(id, CallKind::Start, || new.start()),
        );
        match started {
            Ok(()) => {
                self.drop_contained(id, old);
                self.put_back(id, new, |slot, t| {
                    t.index_capabilities(id, &slot.meta.provides, false);
                    slot.meta = new_meta;
                    t.index_capabilities(id, &slot.meta.provides, true);
                    let node = deps::node_for(t, &slot.meta);
                    t.set_node(id, Some(node));
                    params::settle(slot, config);
                    slot.scheduler = service;
                    slot.pci_ids = new_pci_ids;
                    slot.screens = new_screens;
                    slot.consecutive_errors = 0;
                    slot.polled_healthy = true;
                    slot.supervision.reset();
                    t.subscribers_dirty = true;
                });
                Ok(())
            }
            Err(e) => {
                let restarted = old_stop.and_then(|()| {
                    on_new(
                        CallKind::Start,
                        self.contained(id, CallKind::Start, || old.start()),
                    )
                });
                self.drop_contained(id, new);
                self.put_back(id, old, |slot, t| {
                    if let Err(again) = restarted {
                        slot.fail(reload_failed(name, again));
                        t.subscribers_dirty = true;
                    }
                });
                Err(reload_failed(name, e))
            }
        }
    }
}

impl Registry {
    /// Drops an instance of module `id` that is out of the registry (a
    /// replaced or rejected instance): its `Drop` is module code too, so it
    /// runs contained; a fault there loses nothing more than the instance.
    pub(crate) fn drop_contained(&self, id: super::ModuleId, module: Box<dyn Module>) {
        let _ = self.contained(id, CallKind::Drop, move || drop(module));
    }
}
