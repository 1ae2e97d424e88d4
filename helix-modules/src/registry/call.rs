//! Calling into modules safely: call chains, taking a module out of its
//! slot and putting it back, permission checks and audit records.
//!
//! Busy rules (why they are deadlock-free): a chain that holds no module
//! (a kernel call, or a handle used outside its module's handlers) may wait
//! for a busy target, because nobody can be waiting for it. A chain that
//! holds modules never waits: re-entering a module on the same chain is
//! [`ModuleError::Reentrant`], and a module busy on another chain is
//! [`ModuleError::Busy`]. Wait-for edges therefore only leave chains that
//! hold nothing, so they cannot close a cycle.

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use core::sync::atomic::Ordering;

use super::slot::{Slot, Table};
use super::{ChainId, ModuleId, Registry};
use crate::audit::{AuditRecord, Outcome};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::name::ModuleName;
use crate::permissions::{Caller, Permissions, Principal};
use crate::v1::Module;

/// The chain a call runs on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Chain {
    pub(crate) id: ChainId,
    /// Whether a call on this chain may wait for a module busy on another
    /// chain. Not when modules are already in calls on this chain (waiting
    /// could deadlock), nor when the caller must never wait (a health poll
    /// from the events thread, which a busy module's call may be waiting
    /// for).
    pub(crate) may_wait: bool,
}

pub(crate) fn unknown_id(id: ModuleId) -> ModuleError {
    ModuleError::NotFound {
        name: format!("{id}"),
    }
}

/// Whether a call on `chain` may take the module in `slot` now (`true`),
/// must wait for another chain to finish with it (`false`), or is refused:
/// the module is already on this chain (re-entrant), or it is busy on
/// another chain while the caller must not wait (it holds a module itself,
/// which could deadlock, or it never waits).
pub(crate) fn slot_is_free(slot: &Slot, chain: Chain) -> Result<bool, ModuleError> {
    match slot.busy {
        Some(c) if c == chain.id => Err(ModuleError::Reentrant {
            module: slot.meta.name.clone(),
        }),
        Some(_) if !chain.may_wait => Err(ModuleError::Busy {
            module: slot.meta.name.clone(),
        }),
        Some(_) => Ok(false),
        None => Ok(true),
    }
}

impl Table {
    /// A new call chain id, for a caller that holds the lock anyway:
    /// cheaper than the registry's atomic counter. These ids have
    /// the top bit set and the counter's never do (it would need 2^63
    /// chains), so the two never collide.
    pub(crate) fn mint_chain(&mut self) -> ChainId {
        self.chains_minted += 1;
        ChainId(1 << 63 | self.chains_minted)
    }

    /// The chain for a call made by `caller`: a module that is in a call
    /// extends its chain; anything else starts a new one.
    pub(crate) fn chain_for(&mut self, caller: Caller) -> Chain {
        if let Caller::Module(id) = caller
            && let Some(chain) = self.slot(id).and_then(|s| s.busy)
        {
            return Chain {
                id: chain,
                may_wait: false,
            };
        }
        Chain {
            id: self.mint_chain(),
            may_wait: true,
        }
    }
}

impl Registry {
    pub(crate) fn new_chain(&self) -> Chain {
        Chain {
            id: ChainId(self.inner.next_chain.fetch_add(1, Ordering::Relaxed)),
            may_wait: true,
        }
    }

    /// Takes module `id` out of its slot for a call on `chain`.
    ///
    /// `check` runs under the lock once the module is free, and may refuse
    /// the call or compute what the call needs.
    pub(crate) fn take<T>(
        &self,
        id: ModuleId,
        chain: Chain,
        mut check: impl FnMut(&mut Table) -> Result<T, ModuleError>,
    ) -> Result<(Box<dyn Module>, T), ModuleError> {
        let mut waiting = None;
        loop {
            let mut t = self.inner.table.lock();
            let slot = t.slot(id).ok_or_else(|| unknown_id(id))?;
            if !slot_is_free(slot, chain)? {
                let name = slot.meta.name.clone();
                drop(t);
                self.wait_turn(&mut waiting, || name)?;
                continue;
            }
            let extra = check(&mut t)?;
            let slot = t.slot_mut(id).ok_or_else(|| unknown_id(id))?;
            let module = slot.module.take().ok_or_else(|| ModuleError::Busy {
                module: slot.meta.name.clone(),
            })?;
            slot.busy = Some(chain.id);
            return Ok((module, extra));
        }
    }

    /// Puts module `id` back after a call and lets `update` record the
    /// outcome, under the same lock.
    pub(crate) fn put_back<R>(
        &self,
        id: ModuleId,
        module: Box<dyn Module>,
        update: impl FnOnce(&mut Slot, &mut Table) -> R,
    ) -> Option<R> {
        let mut t = self.inner.table.lock();
        // Unload waits for calls to end, so the slot is still there.
        let mut slot = t.slots.get_mut(id.index())?.take()?;
        slot.module = Some(module);
        slot.busy = None;
        let r = update(&mut slot, &mut t);
        t.slots[id.index()] = Some(slot);
        Some(r)
    }

    pub(crate) fn principal(&self, t: &Table, caller: Caller) -> Result<Principal, ModuleError> {
        match caller {
            Caller::Kernel => Ok(Principal {
                name: String::from("kernel"),
                permissions: Permissions::all(),
            }),
            Caller::Module(id) => t
                .slot(id)
                .map(|s| Principal {
                    name: s.meta.name.clone(),
                    permissions: s.meta.permissions,
                })
                .ok_or_else(|| unknown_id(id)),
        }
    }

    /// Checks that `caller` may perform `op` on `target` (whose flags are
    /// `target_flags`); SECURITY modules additionally need
    /// [`Permissions::SECURITY`] for everything but requests.
    pub(crate) fn check_permission(
        &self,
        caller: Caller,
        op: Operation,
        target: &str,
        needed: Permissions,
        target_flags: ModuleFlags,
    ) -> Result<Principal, ModuleError> {
        let t = self.inner.table.lock();
        self.authorize_locked(&t, caller, op, target, needed, target_flags)
    }

    pub(crate) fn authorize_locked(
        &self,
        t: &Table,
        caller: Caller,
        op: Operation,
        target: &str,
        mut needed: Permissions,
        target_flags: ModuleFlags,
    ) -> Result<Principal, ModuleError> {
        let principal = self.principal(t, caller)?;
        if target_flags.contains(ModuleFlags::SECURITY) && op != Operation::Request {
            needed |= Permissions::SECURITY;
        }
        let missing = principal.missing(needed);
        if missing.is_empty() {
            Ok(principal)
        } else {
            Err(ModuleError::PermissionDenied {
                caller: principal.name,
                op,
                target: String::from(target),
                missing,
            })
        }
    }

    /// Records a privileged operation and its outcome in the audit ring.
    pub(crate) fn audit<T>(
        &self,
        caller: Caller,
        op: Operation,
        target: impl Into<ModuleName>,
        detail: Option<&str>,
        result: &Result<T, ModuleError>,
    ) {
        let caller = match caller {
            Caller::Kernel => None,
            Caller::Module(id) => Some(
                self.inner
                    .table
                    .lock()
                    .slot(id)
                    .map_or_else(|| ModuleName::from(format!("{id}")), |s| s.name.clone()),
            ),
        };
        let record = AuditRecord {
            time: self.now(),
            caller,
            op,
            target: target.into(),
            detail: detail.map(String::from),
            outcome: Outcome::of(result),
        };
        self.inner.audit.lock().push(record);
    }

    /// Permission check for a lifecycle operation on module `name`, which
    /// must exist; returns its id. For stop, unload and reload the
    /// SECURITY module is asked next (see [`super::security`]).
    pub(crate) fn authorize_module_op(
        &self,
        caller: Caller,
        op: Operation,
        name: &str,
        needed: Permissions,
    ) -> Result<ModuleId, ModuleError> {
        self.authorize_module_op_with(caller, op, name, needed, None, &[])
    }

    /// [`Registry::authorize_module_op`] with the detail and evidence the
    /// SECURITY module is shown (a parameter's key and new value).
    pub(crate) fn authorize_module_op_with(
        &self,
        caller: Caller,
        op: Operation,
        name: &str,
        needed: Permissions,
        detail: Option<&str>,
        evidence: &[u8],
    ) -> Result<ModuleId, ModuleError> {
        let id = self.permit_module_op(caller, op, name, needed)?;
        if super::security::screened(op) {
            self.consult(caller, op, name, detail, evidence)?;
        }
        Ok(id)
    }

    /// The permission check alone of [`Registry::authorize_module_op`],
    /// for callers that ask the SECURITY module themselves.
    pub(crate) fn permit_module_op(
        &self,
        caller: Caller,
        op: Operation,
        name: &str,
        needed: Permissions,
    ) -> Result<ModuleId, ModuleError> {
        let t = self.inner.table.lock();
        let id = t.id_of(name)?;
        let flags = t.slot(id).map(|s| s.meta.flags).unwrap_or_default();
        self.authorize_locked(&t, caller, op, name, needed, flags)?;
        Ok(id)
    }
}
