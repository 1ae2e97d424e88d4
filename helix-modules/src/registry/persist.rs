//! A running module's state on demand, for the kernel's `persist`
//! service: [`Registry::save_state`] asks a module for what its
//! `save_state` gives, [`Registry::restore_state`] hands state back to it,
//! and [`Registry::persistent`] lists the modules flagged
//! [`ModuleFlags::PERSISTENT`] with their state formats. Both calls are the
//! module's own code, contained like every other.

use alloc::string::String;
use alloc::vec::Vec;

use super::call::unknown_id;
use super::{ModuleState, Registry};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::{Caller, Permissions};

impl Registry {
    /// What the running module `name`'s `save_state` gives (`None`: it
    /// keeps no state). Modules need [`Permissions::MANAGE`]. A fault is
    /// contained (the module is Failed, as for any call) and returned.
    pub fn save_state(&self, caller: Caller, name: &str) -> Result<Option<Vec<u8>>, ModuleError> {
        let op = Operation::SaveState;
        let id = self.authorize_module_op(caller, op, name, Permissions::MANAGE)?;
        let chain = self.caller_chain(caller);
        let (m, ()) = self.take(id, chain, |t| running(t, id, name, op))?;
        match self.contained(id, CallKind::SaveState, || m.save_state()) {
            Ok(state) => {
                self.put_back(id, m, |_, _| ());
                Ok(state)
            }
            Err(fault) => Err(self.fail_after_fault(id, name, m, CallKind::SaveState, fault)),
        }
    }

    /// Hands `state` (saved by an earlier instance, e.g. before a reboot)
    /// to the running module `name`'s `restore_state`. Modules need
    /// [`Permissions::MANAGE`]. An error from the module is returned and
    /// it keeps running; a fault is contained (the module is Failed).
    pub fn restore_state(
        &self,
        caller: Caller,
        name: &str,
        state: &[u8],
    ) -> Result<(), ModuleError> {
        let op = Operation::RestoreState;
        let id = self.authorize_module_op(caller, op, name, Permissions::MANAGE)?;
        let chain = self.caller_chain(caller);
        let (mut m, ()) = self.take(id, chain, |t| running(t, id, name, op))?;
        match self.contained(id, CallKind::RestoreState, || m.restore_state(state)) {
            Ok(result) => {
                self.put_back(id, m, |_, _| ());
                result
            }
            Err(fault) => Err(self.fail_after_fault(id, name, m, CallKind::RestoreState, fault)),
        }
    }

    /// Every module flagged [`ModuleFlags::PERSISTENT`], with the format of
    /// its saved state, in registration order.
    pub fn persistent(&self) -> Vec<(String, u32)> {
        let t = self.inner.table.lock();
        t.live()
            .filter(|s| s.meta.flags.contains(ModuleFlags::PERSISTENT))
            .map(|s| (s.meta.name.clone(), s.state_version))
            .collect()
    }

    /// Records a fault of `name` in `kind` and puts it back Failed.
    fn fail_after_fault(
        &self,
        id: super::ModuleId,
        name: &str,
        m: alloc::boxed::Box<dyn crate::v1::Module>,
        kind: CallKind,
        fault: crate::contain::Fault,
    ) -> ModuleError {
        let error = Self::fault_error(name, kind, fault);
        self.record_fault(id, &error);
        self.put_back(id, m, |slot, t| {
            slot.fail(error.clone());
            t.subscribers_dirty = true;
        });
        error
    }
}

/// Refuses `op` on a module that is not running.
fn running(
    t: &mut super::slot::Table,
    id: super::ModuleId,
    name: &str,
    op: Operation,
) -> Result<(), ModuleError> {
    let s = t.slot(id).ok_or_else(|| unknown_id(id))?;
    if s.state == ModuleState::Running {
        Ok(())
    } else {
        Err(ModuleError::InvalidState {
            module: String::from(name),
            state: s.state,
            op,
        })
    }
}
