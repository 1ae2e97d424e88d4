//! The single lifecycle steps that call into module code (init, start,
//! stop, restart), each checked against the transition table under the
//! table lock first and recorded after; [`super::lifecycle`] builds the
//! public, audited operations on top of them.

use super::call::Chain;
use super::deps;
use super::handle::ModuleHandle;
use super::lifecycle::{ModuleState, invalid, step_failed, transition};
use super::params;
use super::{ModuleId, Registry};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::services::hw::{HardwareAccess, HwError};
use crate::services::scheduler::CAPABILITY as SCHEDULER_CAPABILITY;
use crate::v2::Context;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

impl Registry {
    /// Runs one lifecycle entry point as a contained call. A returned error
    /// and a fault both become [`ModuleError::StepFailed`] for that step, so
    /// the module goes Failed either way; a fault is also counted.
    fn lifecycle_call(
        &self,
        id: ModuleId,
        name: &str,
        kind: CallKind,
        call: impl FnOnce() -> Result<(), ModuleError>,
    ) -> Result<(), ModuleError> {
        let op = match kind {
            CallKind::Init => Operation::Init,
            CallKind::Start => Operation::Start,
            _ => Operation::Stop,
        };
        match self.contained(id, kind, call) {
            Ok(result) => result.map_err(|e| step_failed(name, op, e)),
            Err(fault) => {
                let error = Self::fault_error(name, kind, fault);
                self.record_fault(id, &error);
                Err(step_failed(name, op, error))
            }
        }
    }

    pub(crate) fn context_for(
        &self,
        id: ModuleId,
        name: &str,
        config: Vec<crate::v2::context::ConfigEntry>,
    ) -> Context {
        let handle = ModuleHandle::new(Arc::downgrade(&self.inner), id);
        let (is_driver, pci_ids) = self
            .inner
            .table
            .lock()
            .slot(id)
            .map_or((false, &[][..]), |s| {
                (s.meta.flags.contains(ModuleFlags::DRIVER), s.pci_ids)
            });
        let hardware = match (&self.inner.hardware, is_driver) {
            (_, false) => Err(HwError::NotADriver(String::from(name))),
            (None, true) => Err(HwError::Unavailable),
            (Some(hw), true) => {
                Ok(HardwareAccess::new(hw.clone(), String::from(name)).with_pci_ids(pci_ids))
            }
        };
        Context::new(id, String::from(name), config, handle, hardware)
    }

    /// Runs `init`; with `restarting`, from any state a restart passes
    /// through instead of only Registered.
    pub(crate) fn step_init(
        &self,
        id: ModuleId,
        chain: Chain,
        restarting: bool,
    ) -> Result<(), ModuleError> {
        let (mut module, (name, config)) = self.take(id, chain, |t| {
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            let allowed = if restarting {
                s.state != ModuleState::Running
            } else {
                transition(s.state, Operation::Init).is_some()
            };
            if !allowed {
                return Err(invalid(&s.meta.name, s.state, Operation::Init));
            }
            let name = s.meta.name.clone();
            match params::resolve(t, id) {
                Ok(config) => Ok((name, config)),
                Err(e) => {
                    let e = step_failed(&name, Operation::Init, e);
                    if let Some(s) = t.slot_mut(id) {
                        s.fail(e.clone());
                    }
                    Err(e)
                }
            }
        })?;
        let ctx = self.context_for(id, &name, config.clone());
        let result = self.lifecycle_call(id, &name, CallKind::Init, || module.init(&ctx));
        drop(ctx);
        self.put_back(id, module, |s, _| match &result {
            Ok(()) => {
                s.state = ModuleState::Initialized;
                params::settle(s, config);
            }
            Err(e) => s.fail(e.clone()),
        });
        if result.is_err() {
            self.notify_stopped(&name);
        }
        result
    }

    pub(crate) fn step_start(&self, id: ModuleId, chain: Chain) -> Result<(), ModuleError> {
        let (mut module, name) = self.take(id, chain, |t| {
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            if transition(s.state, Operation::Start).is_none() {
                return Err(invalid(&s.meta.name, s.state, Operation::Start));
            }
            deps::check_running(t, id)?;
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            let exclusive = s.meta.flags.intersection(ModuleFlags::EXCLUSIVE);
            if !exclusive.is_empty()
                && let Some(holder) = t.live().find(|o| {
                    o.id != id
                        && o.state == ModuleState::Running
                        && o.meta.flags.intersects(exclusive)
                })
            {
                return Err(ModuleError::Conflict {
                    module: s.meta.name.clone(),
                    holder: holder.meta.name.clone(),
                    flag: holder.meta.flags.intersection(exclusive),
                });
            }
            let is_scheduler = s.meta.flags.contains(ModuleFlags::SCHEDULER);
            if is_scheduler && !s.meta.provides.iter().any(|p| p == SCHEDULER_CAPABILITY) {
                return Err(ModuleError::InvalidMetadata {
                    module: s.meta.name.clone(),
                    reason: "a SCHEDULER module must provide the `scheduler` capability",
                });
            }
            Ok((s.meta.name.clone(), is_scheduler))
        })?;
        let (name, is_scheduler) = name;
        // The policy object is taken before start so a module that cannot
        // hand it over never runs as the scheduler.
        let service = if is_scheduler {
            let Some(service) = module.scheduler() else {
                self.put_back(id, module, |_, _| ());
                return Err(ModuleError::InvalidMetadata {
                    module: name,
                    reason: "a SCHEDULER module must return its policy from `scheduler()`",
                });
            };
            Some(service)
        } else {
            None
        };
        let result = self.lifecycle_call(id, &name, CallKind::Start, || module.start());
        self.put_back(id, module, |s, t| {
            match &result {
                Ok(()) => {
                    s.state = ModuleState::Running;
                    s.consecutive_errors = 0;
                    s.polled_healthy = true;
                    s.scheduler = service;
                }
                Err(e) => s.fail(e.clone()),
            }
            t.subscribers_dirty = true;
        });
        if result.is_err() {
            self.notify_stopped(&name);
        }
        result
    }

    pub(crate) fn step_stop(&self, id: ModuleId, chain: Chain) -> Result<(), ModuleError> {
        let (mut module, name) = self.take(id, chain, |t| {
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            if transition(s.state, Operation::Stop).is_none() {
                return Err(invalid(&s.meta.name, s.state, Operation::Stop));
            }
            Ok(s.meta.name.clone())
        })?;
        let result = self.lifecycle_call(id, &name, CallKind::Stop, || module.stop());
        self.put_back(id, module, |s, t| {
            s.scheduler = None;
            match &result {
                Ok(()) => s.state = ModuleState::Stopped,
                Err(e) => s.fail(e.clone()),
            }
            t.subscribers_dirty = true;
        });
        self.notify_stopped(&name);
        result
    }

    /// Tells the kernel's hook, if any, that `name` no longer runs.
    pub(crate) fn notify_stopped(&self, name: &str) {
        if let Some(hook) = self.inner.on_stopped {
            hook(name);
        }
        // Whatever the module still holds goes back (after the kernel's
        // hook, which ends the module's threads first and may have released
        // it already): ports, IRQ lines, DMA buffers.
        if let Some(hw) = &self.inner.hardware {
            hw.release_all(name);
        }
    }

    /// Stop (if running), init, start.
    pub(crate) fn do_restart(&self, id: ModuleId, chain: Chain) -> Result<(), ModuleError> {
        match self.state_of(id) {
            Some(state) if transition(state, Operation::Restart).is_none() => {
                let name = self.name_of(id)?;
                return Err(invalid(&name, state, Operation::Restart));
            }
            Some(ModuleState::Running) => {
                // A failed stop leaves the module Failed, which is exactly
                // where a restart continues from, so the error is not fatal.
                if let Err(e) = self.step_stop(id, chain) {
                    let _recorded_as_last_error = e;
                }
            }
            _ => {}
        }
        {
            let mut t = self.inner.table.lock();
            if let Some(s) = t.slot_mut(id) {
                s.metrics.restarts += 1;
            }
        }
        self.step_init(id, chain, true)?;
        self.step_start(id, chain)
    }
}
