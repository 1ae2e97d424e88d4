//! The module boundary: every call into module code goes through
//! [`Registry::contained`], and a fault that ends one is turned into the
//! module's failure by [`Registry::record_fault`]. See [`crate::contain`].

use alloc::string::String;

use super::{ModuleId, Registry};
use crate::contain::{CallInfo, CallKind, Fault, FaultKind};
use crate::error::ModuleError;

impl Registry {
    /// Runs `call` (module code of module `id`) as a contained call of
    /// `kind`: its result, or the fault that ended it. Without a
    /// containment the call simply runs. Costs no allocation and no lock:
    /// it is on every dispatch's and request's path.
    #[inline]
    pub(crate) fn contained<R>(
        &self,
        id: ModuleId,
        kind: CallKind,
        call: impl FnOnce() -> R,
    ) -> Result<R, Fault> {
        let Some(containment) = &self.inner.containment else {
            return Ok(call());
        };
        let info = CallInfo {
            module_index: id.get(),
            kind,
            budget_ns: self.inner.budgets.for_call(kind),
        };
        let mut call = Some(call);
        let mut out = None;
        let ran = containment.run(&info, &mut || {
            if let Some(call) = call.take() {
                out = Some(call());
            }
        });
        if let Err(fault) = ran {
            // The call was abandoned, possibly while `out` was being
            // written: never drop what may be half a value.
            core::mem::forget(out);
            return Err(fault);
        }
        // `run` must call the closure once; if it claims success without
        // having done so, that is a fault of the containment, reported as one.
        out.ok_or_else(|| Fault::new(FaultKind::Panic, "the call did not run"))
    }

    /// The error a fault in module `name` during `kind` becomes.
    pub(crate) fn fault_error(name: &str, kind: CallKind, fault: Fault) -> ModuleError {
        ModuleError::Faulted {
            module: String::from(name),
            during: kind,
            fault,
        }
    }

    /// Records a fault of module `id` (whose instance is out of its slot,
    /// in the call that faulted): counted in its metrics and kept as the
    /// error that fails it when the instance is put back (see
    /// [`super::slot::Slot::fail`]). Then tells the kernel the module stopped
    /// running, so its threads and hardware claims are given back at once.
    /// Rare, so it takes its own lock acquisition.
    #[cold]
    pub(crate) fn record_fault(&self, id: ModuleId, error: &ModuleError) {
        let name = {
            let mut t = self.inner.table.lock();
            let Some(slot) = t.slot_mut(id) else { return };
            slot.metrics.faults += 1;
            // Visible at once (the instance is put back, and the module
            // failed, when the call's bookkeeping ends).
            slot.last_error = Some(error.clone());
            slot.pending_fault = Some(error.clone());
            slot.meta.name.clone()
        };
        self.notify_stopped(&name);
    }

    /// Called each time a caller that may wait finds the module it needs
    /// busy in another call: pauses (the kernel puts the thread to sleep
    /// briefly rather than spinning) and gives up with
    /// [`ModuleError::Timeout`] once the wait has outlasted every time
    /// budget, by which point the call in the module must have been
    /// stopped. `waiting` holds when this caller started waiting and how
    /// often it paused.
    pub(crate) fn wait_turn(
        &self,
        waiting: &mut Option<(u64, u32)>,
        module: impl FnOnce() -> String,
    ) -> Result<(), ModuleError> {
        let Some(containment) = &self.inner.containment else {
            core::hint::spin_loop();
            return Ok(());
        };
        let now = containment.now_ns();
        let (started, attempt) = waiting.get_or_insert((now, 0));
        let started = *started;
        let this_attempt = *attempt;
        *attempt = attempt.saturating_add(1);
        // A stopped call is given back within a timer tick; a second of
        // grace covers that and a loaded machine.
        let limit = self.inner.budgets.longest().saturating_add(1_000_000_000);
        if now.saturating_sub(started) > limit {
            return Err(ModuleError::Timeout { module: module() });
        }
        containment.pause(this_attempt);
        Ok(())
    }

    /// Fails module `name` because of a fault the kernel saw outside a
    /// contained call, such as in one of the module's own threads: the
    /// module goes Failed with [`ModuleError::Faulted`], its metrics count
    /// the fault, the kernel's stop hook gives back what it held, and the
    /// supervisor restarts it. What happened is in the answer: a module in
    /// a call right now is [`FaultReport::Busy`] (report it again later).
    pub fn report_fault(
        &self,
        name: &str,
        kind: CallKind,
        fault: Fault,
    ) -> Result<FaultReport, ModuleError> {
        let outcome = {
            let mut t = self.inner.table.lock();
            let id = t.id_of(name)?;
            match t.slot_mut(id) {
                None => FaultReport::NotRunning,
                Some(slot) if slot.busy.is_some() => FaultReport::Busy,
                Some(slot) if slot.state != crate::ModuleState::Running => FaultReport::NotRunning,
                Some(slot) => {
                    slot.metrics.faults += 1;
                    slot.fail(Self::fault_error(name, kind, fault));
                    t.subscribers_dirty = true;
                    FaultReport::Failed
                }
            }
        };
        if outcome == FaultReport::Failed {
            self.notify_stopped(name);
        }
        Ok(outcome)
    }

    /// Marks a call from module code into the registry as a kernel section
    /// for as long as the returned value lives (see
    /// [`Containment::enter_section`](crate::contain::Containment)).
    pub(crate) fn section(&self) -> Section<'_> {
        if let Some(c) = &self.inner.containment {
            c.enter_section();
        }
        Section { registry: self }
    }
}

/// An open kernel section; ends when dropped.
pub(crate) struct Section<'a> {
    registry: &'a Registry,
}

impl Drop for Section<'_> {
    fn drop(&mut self) {
        if let Some(c) = &self.registry.inner.containment {
            c.leave_section();
        }
    }
}

/// What [`Registry::report_fault`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultReport {
    /// The module was failed.
    Failed,
    /// The module is in a call: nothing changed; report it again later.
    Busy,
    /// The module was not running: nothing to fail.
    NotRunning,
}
