//! The single lifecycle steps that call into module code (init, start,
//! stop, restart), each checked against the transition table under the
//! table lock first and recorded after, plus init-then-start in one trip
//! out of the slot for `start_all`; [`super::lifecycle`] builds the
//! public, audited operations on top of them.

use super::call::Chain;
use super::deps;
use super::handle::ModuleHandle;
use super::lifecycle::{ModuleState, invalid, step_failed, transition};
use super::params;
use super::slot::{Slot, Table};
use super::{ModuleId, Registry};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::name::ModuleName;
use crate::services::hw::{HardwareAccess, HwError};
use crate::services::pci::DeviceId;
use crate::services::scheduler::CAPABILITY as SCHEDULER_CAPABILITY;
use crate::services::scheduler::Scheduler;
use crate::v1::Module;
use crate::v2::Context;
use crate::v2::context::{ConfigEntry, Grant};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;

/// What `init` needs, read under the table lock.
struct Init {
    name: ModuleName,
    driver: Option<&'static [DeviceId]>,
    config: Vec<ConfigEntry>,
}

fn no_policy(name: &str) -> ModuleError {
    ModuleError::InvalidMetadata {
        module: String::from(name),
        reason: "a SCHEDULER module must return its policy from `scheduler()`",
    }
}

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

    /// The context `init` gets; `driver` is the module's PCI table if it is
    /// a driver.
    pub(crate) fn context_for(
        &self,
        id: ModuleId,
        name: &ModuleName,
        driver: Option<&'static [DeviceId]>,
        config: Vec<ConfigEntry>,
    ) -> Context {
        let handle = ModuleHandle::new(Arc::downgrade(&self.inner), id);
        let hardware = match (&self.inner.hardware, driver) {
            (_, None) => Grant::NotADriver,
            (None, Some(_)) => Grant::Refused(HwError::Unavailable),
            (Some(hw), Some(pci_ids)) => Grant::Access(
                HardwareAccess::new(hw.clone(), String::from(name)).with_pci_ids(pci_ids),
            ),
        };
        Context::new(id, name.clone(), config, handle, hardware)
    }

    /// Checks that `init` may run on module `id` (with `restarting`, from
    /// any state a restart passes through instead of only Registered) and
    /// resolves its parameters; a bad value fails the module. Under the
    /// table lock.
    fn init_checks(t: &mut Table, id: ModuleId, restarting: bool) -> Result<Init, ModuleError> {
        let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
        let allowed = if restarting {
            s.state != ModuleState::Running
        } else {
            transition(s.state, Operation::Init).is_some()
        };
        if !allowed {
            return Err(invalid(&s.meta.name, s.state, Operation::Init));
        }
        let name = s.name.clone();
        let driver = s
            .meta
            .flags
            .contains(ModuleFlags::DRIVER)
            .then_some(s.pci_ids);
        match params::resolve(t, id) {
            Ok(config) => Ok(Init {
                name,
                driver,
                config,
            }),
            Err(e) => {
                let e = step_failed(&name, Operation::Init, e);
                if let Some(s) = t.slot_mut(id) {
                    s.fail(e.clone());
                }
                Err(e)
            }
        }
    }

    /// Checks that module `id` may start now: every hard dependency has a
    /// running provider, no other running module holds the same exclusive
    /// role, and a scheduler provides the scheduler capability. Returns
    /// whether it is a scheduler. Under the table lock.
    fn start_checks(t: &Table, id: ModuleId) -> Result<bool, ModuleError> {
        deps::check_running(t, id)?;
        let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
        let exclusive = s.meta.flags.intersection(ModuleFlags::EXCLUSIVE);
        if !exclusive.is_empty()
            && let Some(holder) = t.live().find(|o| {
                o.id != id && o.state == ModuleState::Running && o.meta.flags.intersects(exclusive)
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
        Ok(is_scheduler)
    }

    /// Calls `init` on a module out of its slot, and gives back its name
    /// and the parameters it was given (recorded when it is put back, see
    /// [`Registry::record_init`]).
    fn call_init(
        &self,
        id: ModuleId,
        module: &mut Box<dyn Module>,
        init: Init,
    ) -> (Result<(), ModuleError>, ModuleName, Vec<ConfigEntry>) {
        let ctx = self.context_for(id, &init.name, init.driver, init.config);
        let result = self.lifecycle_call(id, &init.name, CallKind::Init, || module.init(&ctx));
        (result, init.name, ctx.into_config())
    }

    /// Records an init's outcome in the module's slot.
    fn record_init(s: &mut Slot, result: &Result<(), ModuleError>, config: Vec<ConfigEntry>) {
        match result {
            Ok(()) => {
                s.state = ModuleState::Initialized;
                params::settle(s, config);
            }
            Err(e) => s.fail(e.clone()),
        }
    }

    /// Runs `init`; with `restarting`, from any state a restart passes
    /// through instead of only Registered.
    pub(crate) fn step_init(
        &self,
        id: ModuleId,
        chain: Chain,
        restarting: bool,
    ) -> Result<(), ModuleError> {
        let (mut module, init) = self.take(id, chain, |t| Self::init_checks(t, id, restarting))?;
        let (result, name, config) = self.call_init(id, &mut module, init);
        self.put_back(id, module, |s, _| Self::record_init(s, &result, config));
        if result.is_err() {
            self.notify_stopped(&name);
        }
        result
    }

    /// Runs `init` then `start` on a Registered module with one trip out
    /// of its slot, as [`Registry::start_all`] does for every module it
    /// brings up. Once `init` has succeeded the slot says Initialized (with
    /// the parameters it was given) and the start checks run, under one
    /// lock, while the module stays out of its slot: nothing else can call
    /// it in between, and what `init` took time over (a dependency stopped,
    /// a role taken meanwhile) is seen. A module that may not start yet is
    /// left Initialized with the reason, as [`Registry::step_start`] gives.
    pub(crate) fn step_init_start(&self, id: ModuleId, chain: Chain) -> Result<(), ModuleError> {
        let (mut module, init) = self.take(id, chain, |t| Self::init_checks(t, id, false))?;
        let (result, name, config) = self.call_init(id, &mut module, init);
        if result.is_err() {
            self.put_back(id, module, |s, _| Self::record_init(s, &result, config));
            self.notify_stopped(&name);
            return result;
        }
        let start = {
            let mut t = self.inner.table.lock();
            if let Some(s) = t.slot_mut(id) {
                Self::record_init(s, &result, config);
            }
            Self::start_checks(&t, id)
        };
        let service =
            match start.and_then(|is_scheduler| Self::policy_of(&*module, &name, is_scheduler)) {
                Ok(service) => service,
                Err(e) => {
                    self.put_back(id, module, |_, _| ());
                    return Err(e);
                }
            };
        let result = self.lifecycle_call(id, &name, CallKind::Start, || module.start());
        self.put_back(id, module, |s, t| {
            Self::record_start(s, t, &result, service)
        });
        if result.is_err() {
            self.notify_stopped(&name);
        }
        result
    }

    /// A scheduler's policy object (`None` for any other module), taken
    /// before start so a module that cannot hand it over never runs as
    /// the scheduler.
    fn policy_of(
        module: &dyn Module,
        name: &str,
        is_scheduler: bool,
    ) -> Result<Option<Arc<dyn Scheduler>>, ModuleError> {
        if !is_scheduler {
            return Ok(None);
        }
        module.scheduler().map(Some).ok_or_else(|| no_policy(name))
    }

    /// Records a start's outcome in the module's slot.
    fn record_start(
        s: &mut Slot,
        t: &mut Table,
        result: &Result<(), ModuleError>,
        service: Option<Arc<dyn Scheduler>>,
    ) {
        match result {
            Ok(()) => {
                s.state = ModuleState::Running;
                s.consecutive_errors = 0;
                s.polled_healthy = true;
                s.scheduler = service;
            }
            Err(e) => s.fail(e.clone()),
        }
        t.subscribers_dirty = true;
    }

    pub(crate) fn step_start(&self, id: ModuleId, chain: Chain) -> Result<(), ModuleError> {
        let (mut module, (name, is_scheduler)) = self.take(id, chain, |t| {
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            if transition(s.state, Operation::Start).is_none() {
                return Err(invalid(&s.meta.name, s.state, Operation::Start));
            }
            let name = s.name.clone();
            Ok((name, Self::start_checks(t, id)?))
        })?;
        let service = match Self::policy_of(&*module, &name, is_scheduler) {
            Ok(service) => service,
            Err(e) => {
                self.put_back(id, module, |_, _| ());
                return Err(e);
            }
        };
        let result = self.lifecycle_call(id, &name, CallKind::Start, || module.start());
        self.put_back(id, module, |s, t| {
            Self::record_start(s, t, &result, service)
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
