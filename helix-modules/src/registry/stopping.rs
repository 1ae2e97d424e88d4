//! Stopping modules: the refusing `stop` (ESSENTIAL modules and modules
//! others need are refused), the cascade that stops dependents first,
//! `unload`, and the kernel's `shutdown`, which stops everything with the
//! schedulers last. [`super::lifecycle`] has the rest of the lifecycle.

use alloc::string::String;
use alloc::vec::Vec;

use super::deps;
use super::lifecycle::{invalid, transition};
use super::slot::Table;
use super::{ModuleId, ModuleState, Registry};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::{Caller, Permissions};
use crate::v2::Event;

/// The audit detail of the stops a cascade makes.
const CASCADE: &str = "cascade";

impl Registry {
    /// Calls `stop` (Running -> Stopped). Refused for ESSENTIAL modules
    /// ([`ModuleError::Essential`]) and for a module that running modules
    /// need ([`ModuleError::InUse`], naming them): they depend on it by
    /// name, or on a capability of which it is their only running
    /// provider (optional dependencies do not count).
    /// [`Registry::stop_cascade`] stops them first. Modules need
    /// [`Permissions::MANAGE`]; then the running SECURITY module, if any,
    /// may refuse ([`ModuleError::SecurityRefused`]). Audited.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{Caller, ModuleError, Registry};
    /// # struct M(ModuleInfo);
    /// # impl ModuleTrait for M {
    /// #     fn info(&self) -> ModuleInfo { self.0 }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// # }
    /// let r = Registry::new();
    /// r.register_v2(M(ModuleInfo::new("uart").provides(&["console"])))?;
    /// r.register_v2(M(ModuleInfo::new("shell").dependencies(&["console"])))?;
    /// r.start_all(Caller::Kernel);
    /// assert_eq!(
    ///     r.stop(Caller::Kernel, "uart"),
    ///     Err(ModuleError::InUse { module: "uart".into(), dependents: vec!["shell".into()] })
    /// );
    /// assert_eq!(r.stop_cascade(Caller::Kernel, "uart")?, ["shell", "uart"]);
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn stop(&self, caller: Caller, name: &str) -> Result<(), ModuleError> {
        let result = self
            .authorize_module_op(caller, Operation::Stop, name, Permissions::MANAGE)
            .and_then(|id| {
                self.refuse_essential(id)?;
                self.refuse_in_use(id)?;
                let chain = self.caller_chain(caller);
                self.step_stop(id, chain)
            });
        self.audit(caller, Operation::Stop, name, None, &result);
        result
    }

    /// Stops `name` and, before it, every running module that needs it,
    /// directly or through modules in between (the users
    /// [`Registry::stop`] would name, their users, and so on), in the
    /// order of [`Registry::stop_plan`]: each module after everything that
    /// needs it. Returns the names stopped, in that order (`name` last).
    ///
    /// Nothing is stopped when any of them is ESSENTIAL
    /// ([`ModuleError::Essential`] naming it), when the caller may not stop
    /// one of them (or the SECURITY module refuses one), or when `name` is
    /// not running. A stop that fails ends
    /// the cascade with its error, and what was stopped before stays
    /// stopped; a user that stopped by itself meanwhile is passed over.
    /// Modules need [`Permissions::MANAGE`]. Every stop is audited (with
    /// the detail `cascade`).
    pub fn stop_cascade(&self, caller: Caller, name: &str) -> Result<Vec<String>, ModuleError> {
        let planned = self
            .permit_module_op(caller, Operation::Stop, name, Permissions::MANAGE)
            .and_then(|id| Ok((id, self.plan_cascade(Some(caller), id)?)))
            .and_then(|(id, order)| {
                // Permitted: the SECURITY module may refuse any of them,
                // and then none stops.
                for (_, module) in &order {
                    self.consult(caller, Operation::Stop, module, Some(CASCADE), &[])?;
                }
                Ok((id, order))
            });
        let (root, order) = match planned {
            Ok(planned) => planned,
            Err(e) => {
                let refused = Err(e);
                self.audit(caller, Operation::Stop, name, Some(CASCADE), &refused);
                return refused;
            }
        };
        let mut stopped = Vec::with_capacity(order.len());
        for (id, module) in order {
            if id != root && self.state_of(id) != Some(ModuleState::Running) {
                continue;
            }
            // A user started since the plan was made refuses the stop.
            let result = self.refuse_in_use(id).and_then(|()| {
                let chain = self.caller_chain(caller);
                self.step_stop(id, chain)
            });
            self.audit(caller, Operation::Stop, &module, Some(CASCADE), &result);
            result?;
            stopped.push(module);
        }
        Ok(stopped)
    }

    /// What [`Registry::stop_cascade`] would stop for `name`, in order
    /// (`name` last), without stopping anything or checking permissions;
    /// the same errors for an ESSENTIAL module in the set or a `name` that
    /// is not running.
    pub fn cascade_plan(&self, name: &str) -> Result<Vec<String>, ModuleError> {
        let id = self.id_of(name)?;
        Ok(self
            .plan_cascade(None, id)?
            .into_iter()
            .map(|(_, name)| name)
            .collect())
    }

    /// The set a cascading stop of `id` stops, in stop order with names,
    /// checked: `id` running, no ESSENTIAL module in it, and (given a
    /// caller) permission to stop each.
    fn plan_cascade(
        &self,
        caller: Option<Caller>,
        id: ModuleId,
    ) -> Result<Vec<(ModuleId, String)>, ModuleError> {
        let mut set = {
            let t = self.inner.table.lock();
            let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
            if s.meta.flags.contains(ModuleFlags::ESSENTIAL) {
                return Err(ModuleError::Essential {
                    module: s.meta.name.clone(),
                });
            }
            if transition(s.state, Operation::Stop).is_none() {
                return Err(invalid(&s.meta.name, s.state, Operation::Stop));
            }
            let set = deps::cascade(&t, id);
            for m in &set {
                let s = t.slot(*m).ok_or_else(|| super::call::unknown_id(*m))?;
                if s.meta.flags.contains(ModuleFlags::ESSENTIAL) {
                    return Err(ModuleError::Essential {
                        module: s.meta.name.clone(),
                    });
                }
                if let Some(caller) = caller {
                    self.authorize_locked(
                        &t,
                        caller,
                        Operation::Stop,
                        &s.meta.name,
                        Permissions::MANAGE,
                        s.meta.flags,
                    )?;
                }
            }
            set
        };
        set.sort_unstable();
        let order = self.stop_order();
        let t = self.inner.table.lock();
        Ok(order
            .into_iter()
            .filter(|m| set.binary_search(m).is_ok())
            .filter_map(|m| t.slot(m).map(|s| (m, s.meta.name.clone())))
            .collect())
    }

    /// Removes a module that is not running and drops it. Refused for
    /// ESSENTIAL modules, and, as [`Registry::stop`] is, for a module that
    /// running modules need ([`ModuleError::InUse`]). Modules need
    /// [`Permissions::MANAGE`]; then the running SECURITY module, if any,
    /// may refuse ([`ModuleError::SecurityRefused`]). Audited.
    pub fn unload(&self, caller: Caller, name: &str) -> Result<(), ModuleError> {
        let result = self
            .authorize_module_op(caller, Operation::Unload, name, Permissions::MANAGE)
            .and_then(|id| {
                self.refuse_essential(id)?;
                let chain = self.caller_chain(caller);
                let (module, ()) = self.take(id, chain, |t| {
                    let s = t.slot(id).ok_or_else(|| super::call::unknown_id(id))?;
                    match transition(s.state, Operation::Unload) {
                        Some(_) => in_use(t, id),
                        None => Err(invalid(&s.meta.name, s.state, Operation::Unload)),
                    }
                })?;
                {
                    let mut t = self.inner.table.lock();
                    if let Some(slot) = t.slots.get_mut(id.index()).and_then(Option::take) {
                        let sym = t.intern_name(&slot.name);
                        t.index_name(id, sym, false);
                        t.retired.insert(slot.name.clone(), id);
                        t.set_node(id, None);
                        t.index_capabilities(id, &slot.meta.provides, false);
                        t.subscribers_dirty = true;
                    }
                }
                // Dropping runs module code (its Drop): not under the lock,
                // and contained.
                self.drop_contained(id, module);
                Ok(())
            });
        self.audit(caller, Operation::Unload, name, None, &result);
        result
    }

    /// The shutdown sequence, for the kernel: dispatches
    /// [`Event::Shutdown`], then stops every running module, ESSENTIAL ones
    /// and modules in use included, in reverse dependency order (users
    /// first). Returns each stop's outcome.
    pub fn shutdown(&self) -> Vec<(String, Result<(), ModuleError>)> {
        self.dispatch(&Event::Shutdown);
        let mut out = Vec::new();
        for id in self.stop_order() {
            if self.state_of(id) != Some(ModuleState::Running) {
                continue;
            }
            let Ok(name) = self.name_of(id) else { continue };
            let result = self.step_stop(id, self.new_chain());
            self.audit(Caller::Kernel, Operation::Stop, &name, None, &result);
            out.push((name, result));
        }
        out
    }

    /// The order [`Registry::shutdown`] stops modules in, by name: reverse
    /// dependency order (dependents before what they depend on), except
    /// that SCHEDULER modules come last wherever they were registered,
    /// because every other module's threads need the scheduler until they
    /// are stopped. Lists every registered module, running or not.
    pub fn stop_plan(&self) -> Vec<String> {
        self.stop_order()
            .into_iter()
            .filter_map(|id| self.name_of(id).ok())
            .collect()
    }

    fn stop_order(&self) -> Vec<ModuleId> {
        let t = self.inner.table.lock();
        let plan = deps::plan(&t);
        let mut order: Vec<ModuleId> = plan.blocked.iter().map(|(id, _)| *id).collect();
        order.extend(plan.order.iter().rev());
        let is_scheduler = |id: &ModuleId| {
            t.slot(*id)
                .is_some_and(|s| s.meta.flags.contains(ModuleFlags::SCHEDULER))
        };
        // A stable partition: everything else in order, then the schedulers.
        let (mut rest, schedulers): (Vec<ModuleId>, Vec<ModuleId>) =
            order.into_iter().partition(|id| !is_scheduler(id));
        rest.extend(schedulers);
        rest
    }

    /// [`ModuleError::InUse`] when `id` is running and running modules need
    /// it; a module that is not running is left to the state check.
    fn refuse_in_use(&self, id: ModuleId) -> Result<(), ModuleError> {
        let t = self.inner.table.lock();
        match t.slot(id) {
            Some(s) if s.state == ModuleState::Running => in_use(&t, id),
            _ => Ok(()),
        }
    }

    fn refuse_essential(&self, id: ModuleId) -> Result<(), ModuleError> {
        let t = self.inner.table.lock();
        match t.slot(id) {
            Some(s) if s.meta.flags.contains(ModuleFlags::ESSENTIAL) => {
                Err(ModuleError::Essential {
                    module: s.meta.name.clone(),
                })
            }
            _ => Ok(()),
        }
    }
}

/// [`ModuleError::InUse`] naming the running modules that need `id`, if any.
fn in_use(t: &Table, id: ModuleId) -> Result<(), ModuleError> {
    let users = deps::dependents(t, &[id]);
    if users.is_empty() {
        return Ok(());
    }
    let name = |m: ModuleId| t.slot(m).map(|s| s.meta.name.clone());
    Err(ModuleError::InUse {
        module: name(id).unwrap_or_default(),
        dependents: users.into_iter().filter_map(name).collect(),
    })
}
