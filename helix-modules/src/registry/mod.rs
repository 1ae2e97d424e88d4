//! The registry: the single runtime that holds every module and that the
//! kernel drives (register, start, dispatch events, route requests,
//! supervise, reload, list, render metrics, read the audit ring).
//!
//! [`Registry`] is a cheap-clone handle (`Arc` inside) and is `Send + Sync`:
//! any CPU may call it from thread context. One spin lock guards the table;
//! it is never held while module code runs. To call a module the registry
//! takes the module object out of its slot, marks the slot with the call
//! chain's id, releases the lock, calls, and puts the module back. A call
//! chain is a sequence of nested calls (kernel -> A -> B ...); the chain id
//! is how re-entrance (A -> B -> A) is told apart from contention with
//! another CPU. The rules for busy modules are on [`Registry::request`].
//!
//! This file has the handle, its builder, registration and the read-only
//! views; the operations live in the sibling files, one job each.

mod builder;
mod call;
mod deps;
mod dispatch;
mod guard;
mod handle;
mod ipc;
mod lifecycle;
mod params;
mod persist;
mod preset;
mod reload;
mod security;
mod slot;
mod steps;
mod stopping;
mod supervisor;

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::AtomicU64;

use crate::sync::IrqMutex;

use crate::audit::{AuditEntry, AuditRing};
use crate::contain::{Budgets, Containment};
use crate::error::{ModuleError, Operation};
use crate::flags::ModuleFlags;
use crate::metrics::{self, MetricsRow, ModuleMetrics};
use crate::name::ModuleName;
use crate::permissions::{Caller, Permissions};
use crate::services::hw::Hardware;
use crate::services::scheduler::Scheduler;
use crate::supervisor::SupervisorPolicy;
use crate::v1::Module;
use crate::v2::{ModuleAdapter, ModuleTrait};

pub use builder::{RegistryBuilder, RegistryLimits};
pub use dispatch::DispatchSummary;
pub use guard::FaultReport;
pub use handle::ModuleHandle;
pub use lifecycle::{ModuleState, StartReport, transition};
pub use slot::{Health, ModuleStatus};
pub use supervisor::SuperviseReport;

use slot::{Slot, Table};

/// A module's id in its registry. An id names one module name for good: a
/// stale id finds nothing, or the module of the same name registered again
/// after an unload (which gets its old id back), never another module.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleId(u32);

impl ModuleId {
    /// The id as a number (registration order, from 0).
    pub const fn get(self) -> u32 {
        self.0
    }

    pub(crate) fn index(self) -> usize {
        self.0 as usize
    }

    /// The id a host assigned to a module it runs outside this registry
    /// (a loadable module's runtime gets the kernel's id across the binary
    /// interface; see [`crate::host`]). A registry makes its own ids.
    pub const fn hosted(raw: u32) -> Self {
        ModuleId(raw)
    }
}

impl fmt::Display for ModuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// Identifies one chain of nested calls: a request or dispatch and every
/// call it makes in turn. A call that would re-enter a module already on its
/// own chain is refused as re-entrant instead of deadlocking.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ChainId(u64);

pub(crate) struct Inner {
    /// The table and the audit ring are [`IrqMutex`]es: in the kernel a
    /// section holding them cannot be interrupted, so a thread that is
    /// killed, or a call that is stopped, from the timer interrupt never
    /// leaves them held (the kernel only does either where interrupts were
    /// on). On the host the masking is a no-op.
    pub(crate) table: IrqMutex<Table>,
    pub(crate) audit: IrqMutex<AuditRing>,
    /// `None` when the kernel gave no clock: timing is skipped entirely.
    pub(crate) clock: Option<fn() -> u64>,
    /// See [`RegistryBuilder::on_stopped`].
    pub(crate) on_stopped: Option<fn(&str)>,
    /// What DRIVER modules may claim; `None` on registries without hardware.
    pub(crate) hardware: Option<Arc<dyn Hardware>>,
    pub(crate) limits: RegistryLimits,
    pub(crate) policy: SupervisorPolicy,
    pub(crate) next_chain: AtomicU64,
    /// How calls into module code are guarded; `None`: they just run.
    pub(crate) containment: Option<Arc<dyn Containment>>,
    /// Time budgets of contained calls.
    pub(crate) budgets: Budgets,
}

/// The module registry. Clone it freely: clones share one table.
///
/// See the [crate docs](crate) for a complete example.
#[derive(Clone)]
pub struct Registry {
    pub(crate) inner: Arc<Inner>,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Registry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.list()).finish()
    }
}

impl Registry {
    /// A registry with default limits, no command line and a zero clock.
    pub fn new() -> Self {
        Self::builder().build()
    }

    /// Starts configuring a registry.
    pub fn builder() -> RegistryBuilder {
        RegistryBuilder::new()
    }

    /// The limits in force.
    pub fn limits(&self) -> RegistryLimits {
        self.inner.limits
    }

    /// The supervision policy in force.
    pub fn policy(&self) -> SupervisorPolicy {
        self.inner.policy
    }

    pub(crate) fn now(&self) -> u64 {
        self.inner.clock.map_or(0, |clock| clock())
    }

    /// Adds a module in state Registered and returns its id.
    ///
    /// The metadata must have a unique, well-formed name (non-empty; ASCII
    /// letters, digits, `-`, `_`), well-formed capability names (the same
    /// plus `.`, `:`, `/`)
    /// and dependency strings, no dependency on itself (by name or on a
    /// capability it provides itself), valid parameter defaults, and no
    /// flag the registry cannot honour (USERSPACE).
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{ModuleError, Registry};
    /// # struct M(&'static str);
    /// # impl ModuleTrait for M {
    /// #     fn info(&self) -> ModuleInfo { ModuleInfo::new(self.0) }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// # }
    /// let r = Registry::new();
    /// r.register_v2(M("a"))?;
    /// assert_eq!(r.register_v2(M("a")), Err(ModuleError::AlreadyRegistered { name: "a".into() }));
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn register(&self, module: Box<dyn Module>) -> Result<ModuleId, ModuleError> {
        let registration = module.registration();
        let meta = &registration.metadata;
        deps::validate_metadata(meta)?;
        deps::validate_pci_ids(meta, registration.pci_ids)?;
        let name = match registration.static_name {
            Some(name) if name == meta.name => ModuleName::from_static(name),
            _ => ModuleName::from(meta.name.as_str()),
        };
        let mut t = self.inner.table.lock();
        // One hash of the name: its symbol says whether it is taken.
        let sym = t.intern_name(&name);
        if t.module_of(sym).is_some() {
            return Err(ModuleError::AlreadyRegistered {
                name: meta.name.clone(),
            });
        }
        // A module unloaded and registered again (insmod after rmmod) gets
        // its old id back: ids stay unique per name, and loading and
        // unloading a module any number of times costs no table space.
        let reused = if t.retired.is_empty() {
            None
        } else {
            t.retired.remove(meta.name.as_str())
        };
        let id = match reused {
            Some(id) => id,
            None => ModuleId(u32::try_from(t.slots.len()).map_err(|_| {
                ModuleError::InvalidMetadata {
                    module: meta.name.clone(),
                    reason: "registry is full",
                }
            })?),
        };
        t.index_name(id, sym, true);
        t.index_capabilities(id, &meta.provides, true);
        let node = deps::node_for(&mut t, meta);
        let slot = Some(Box::new(Slot::new(id, name, registration, module)));
        if reused.is_some() {
            t.set_node(id, Some(node));
            t.slots[id.index()] = slot;
        } else {
            t.graph.push(Some(node));
            t.slots.push(slot);
        }
        Ok(id)
    }

    /// Registers a v2 module through [`ModuleAdapter`].
    pub fn register_v2<T: ModuleTrait + 'static>(
        &self,
        module: T,
    ) -> Result<ModuleId, ModuleError> {
        self.register(Box::new(ModuleAdapter::new(module)))
    }

    /// The id of the module called `name`.
    pub fn id_of(&self, name: &str) -> Result<ModuleId, ModuleError> {
        self.inner.table.lock().id_of(name)
    }

    /// Modules providing `capability`, in registration order.
    pub fn providers(&self, capability: &str) -> Vec<ModuleId> {
        let t = self.inner.table.lock();
        t.providers_of(capability).collect()
    }

    /// The running module carrying `flag` (e.g. the scheduler), if any.
    pub fn find_running_with_flag(&self, flag: ModuleFlags) -> Option<ModuleId> {
        let t = self.inner.table.lock();
        t.live()
            .find(|s| s.state == ModuleState::Running && s.meta.flags.contains(flag))
            .map(|s| s.id)
    }

    /// The scheduling policy of the running module flagged
    /// [`ModuleFlags::SCHEDULER`] that provides `"scheduler"`, if any.
    /// The kernel schedules every thread through it.
    pub fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        let t = self.inner.table.lock();
        t.live()
            .filter(|s| s.state == ModuleState::Running)
            .find_map(|s| s.scheduler.clone())
    }

    /// A snapshot of the module called `name`.
    pub fn status(&self, name: &str) -> Result<ModuleStatus, ModuleError> {
        let t = self.inner.table.lock();
        let id = t.id_of(name)?;
        self.status_locked(&t, id)
    }

    /// A snapshot of the module with id `id`.
    pub fn status_by_id(&self, id: ModuleId) -> Result<ModuleStatus, ModuleError> {
        let t = self.inner.table.lock();
        self.status_locked(&t, id)
    }

    fn status_locked(&self, t: &Table, id: ModuleId) -> Result<ModuleStatus, ModuleError> {
        t.slot(id)
            .map(|s| self.status_of_slot(t, s))
            .ok_or_else(|| call::unknown_id(id))
    }

    fn status_of_slot(&self, t: &Table, s: &Slot) -> ModuleStatus {
        let mut status = s.status(&self.inner.policy);
        status.standby_for = standby_holder(t, s);
        status
    }

    /// Every module, in registration order, with state, flags, version,
    /// capabilities, dependencies and health.
    pub fn list(&self) -> Vec<ModuleStatus> {
        let t = self.inner.table.lock();
        t.live().map(|s| self.status_of_slot(&t, s)).collect()
    }

    /// The counters of the module called `name`.
    pub fn metrics(&self, name: &str) -> Result<ModuleMetrics, ModuleError> {
        let t = self.inner.table.lock();
        let id = t.id_of(name)?;
        t.slot(id)
            .map(|s| s.metrics)
            .ok_or_else(|| call::unknown_id(id))
    }

    /// Every module's counters in the Prometheus text exposition format.
    ///
    /// ```
    /// let r = helix_modules::Registry::new();
    /// assert!(r.render_metrics().contains("# TYPE helix_module_events_total counter"));
    /// ```
    pub fn render_metrics(&self) -> String {
        let t = self.inner.table.lock();
        let rows: Vec<MetricsRow<'_>> = t
            .live()
            .map(|s| MetricsRow {
                name: &s.meta.name,
                running: s.state == ModuleState::Running,
                healthy: s.health(&self.inner.policy) == Health::Healthy,
                metrics: s.metrics,
            })
            .collect();
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = metrics::render(&mut out, &rows);
        out
    }

    /// The audit ring, oldest first. Modules need [`Permissions::AUDIT`];
    /// the read itself is audited.
    pub fn audit_log(&self, caller: Caller) -> Result<Vec<AuditEntry>, ModuleError> {
        let result = self
            .check_permission(
                caller,
                Operation::ReadAudit,
                "audit",
                Permissions::AUDIT,
                ModuleFlags::empty(),
            )
            .map(|_| ());
        self.audit(caller, Operation::ReadAudit, "audit", None, &result);
        result.map(|()| self.inner.audit.lock().snapshot())
    }

    /// How many audit entries were dropped because the ring was full.
    pub fn audit_dropped(&self) -> u64 {
        self.inner.audit.lock().dropped()
    }
}

/// The running module that holds an exclusive role `s` also carries, when
/// `s` is ready to run but waiting for that role (standby).
fn standby_holder(t: &Table, s: &Slot) -> Option<String> {
    if !matches!(s.state, ModuleState::Initialized | ModuleState::Stopped) {
        return None;
    }
    let roles = s.meta.flags.intersection(ModuleFlags::EXCLUSIVE);
    if roles.is_empty() {
        return None;
    }
    t.live()
        .find(|o| o.id != s.id && o.state == ModuleState::Running && o.meta.flags.intersects(roles))
        .map(|o| o.meta.name.clone())
}
