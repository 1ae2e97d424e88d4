//! Health polling and supervision: the periodic step the kernel runs to
//! restart failed or unhealthy modules with back-off and to hold modules
//! that crash-loop.

use alloc::string::String;
use alloc::vec::Vec;

use super::slot::Health;
use super::{ModuleId, ModuleState, Registry};
use crate::contain::CallKind;
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::permissions::Caller;
use crate::supervisor::Decision;

/// What one [`Registry::supervise`] step did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SuperviseReport {
    /// Modules restarted successfully.
    pub restarted: Vec<String>,
    /// Modules whose restart failed, with the error.
    pub failed: Vec<(String, ModuleError)>,
    /// Modules held: restarted too often within the window, not restarted
    /// again until an operator calls [`Registry::restart`].
    pub held: Vec<String>,
    /// Modules waiting for their back-off to expire.
    pub waiting: Vec<String>,
    /// ESSENTIAL modules that are failed or unhealthy: reported, never
    /// restarted automatically.
    pub essential_unhealthy: Vec<String>,
}

impl Registry {
    /// Polls `is_healthy` on every running module that is not in a call,
    /// then restarts failed or unhealthy non-essential modules according
    /// to the [`crate::SupervisorPolicy`]: after a back-off that doubles
    /// per consecutive restart, and at most `max_restarts` per `window`,
    /// after which the module is held. `now` is in the units of the
    /// policy's times (the kernel passes nanoseconds since boot and sets
    /// the policy in nanoseconds); it is independent of the registry's
    /// handler-timing clock. Restarts are audited as the kernel's.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{Caller, ModuleError, Registry};
    /// let r = Registry::new();
    /// let report = r.supervise(0);
    /// assert!(report.restarted.is_empty() && report.held.is_empty());
    /// ```
    pub fn supervise(&self, now: u64) -> SuperviseReport {
        self.poll_health();
        let mut report = SuperviseReport::default();
        let policy = self.inner.policy;
        let mut due: Vec<(ModuleId, String)> = Vec::new();
        {
            let mut t = self.inner.table.lock();
            for slot in t.slots.iter_mut().flatten() {
                let needs = slot.state == ModuleState::Failed
                    || (slot.state == ModuleState::Running
                        && slot.health(&policy) == Health::Unhealthy);
                if !needs {
                    if slot.state == ModuleState::Running {
                        slot.supervision.noticed = None;
                    }
                    continue;
                }
                let name = slot.meta.name.clone();
                if slot.meta.flags.contains(ModuleFlags::ESSENTIAL) {
                    report.essential_unhealthy.push(name);
                    continue;
                }
                if slot.busy.is_some() {
                    continue;
                }
                match slot.supervision.decide(now, &policy) {
                    Decision::Wait => report.waiting.push(name),
                    Decision::Hold => report.held.push(name),
                    Decision::Restart => {
                        slot.supervision.record_restart(now);
                        due.push((slot.id, name));
                    }
                }
            }
        }
        for (id, name) in due {
            let result = self.do_restart(id, self.new_chain());
            self.audit(Caller::Kernel, Operation::Restart, &name, None, &result);
            match result {
                Ok(()) => report.restarted.push(name),
                Err(e) => report.failed.push((name, e)),
            }
        }
        report
    }

    /// Calls `is_healthy` on every running module not in a call and
    /// records the answer; returns how many were polled.
    pub fn poll_health(&self) -> usize {
        let running: Vec<ModuleId> = {
            let t = self.inner.table.lock();
            t.live()
                .filter(|s| s.state == ModuleState::Running && s.busy.is_none())
                .map(|s| s.id)
                .collect()
        };
        let mut polled = 0;
        for id in running {
            // Never wait for a module that is in a call: a health poll is
            // not worth it, and the caller (the kernel's events thread) may
            // be what that call is waiting for.
            let chain = super::call::Chain {
                may_wait: false,
                ..self.new_chain()
            };
            let Ok((module, ())) = self.take(id, chain, |t| match t.slot(id) {
                Some(s) if s.state == ModuleState::Running => Ok(()),
                _ => Err(ModuleError::Failed("no longer running")),
            }) else {
                continue;
            };
            let name = self.name_of(id).unwrap_or_default();
            match self.contained(id, CallKind::Health, || module.is_healthy()) {
                Ok(healthy) => {
                    self.put_back(id, module, |slot, _| slot.polled_healthy = healthy);
                }
                Err(fault) => {
                    let error = Self::fault_error(&name, CallKind::Health, fault);
                    self.record_fault(id, &error);
                    self.put_back(id, module, |slot, t| {
                        slot.fail(error);
                        t.subscribers_dirty = true;
                    });
                }
            }
            polled += 1;
        }
        polled
    }
}
