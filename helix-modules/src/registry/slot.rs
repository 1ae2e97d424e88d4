//! The registry's table: one [`Slot`] per registered module plus the
//! indexes (by name, by capability, per-event-kind subscribers), and the
//! read-only views of a slot ([`ModuleStatus`], [`Health`]).
//!
//! Everything here is plain data guarded by the registry's table lock;
//! module code never runs while that lock is held.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::cell::RefCell;
use core::fmt;

use super::deps::{DepPool, GraphNode, Scratch, Symbol, SymbolIndex};
use super::{ChainId, ModuleId, ModuleState};
use crate::cmdline::CmdlineParam;
use crate::error::ModuleError;
use crate::flags::ModuleFlags;
use crate::metrics::ModuleMetrics;
use crate::name::ModuleName;
use crate::services::scheduler::Scheduler;
use crate::supervisor::{Supervision, SupervisorPolicy};
use crate::v1::{Module, ModuleMetadata, Registration};
use crate::v2::EventKinds;
use crate::v2::Version;
use crate::v2::context::ConfigEntry;

/// Hash map with a fixed-seed hasher: `no_std` has no random seed, and the
/// keys are names chosen by code compiled into the kernel.
pub(crate) type Map<K, V> = hashbrown::HashMap<K, V, foldhash::fast::FixedState>;

pub(crate) fn new_map<K, V>() -> Map<K, V> {
    Map::with_hasher(foldhash::fast::FixedState::default())
}

/// A module's health as the registry judges it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Health {
    /// Running normally.
    Healthy,
    /// Recent event handlers failed, fewer times in a row than the
    /// policy's threshold.
    Degraded,
    /// `is_healthy` said no, handlers failed too often in a row, or the
    /// module is Failed.
    Unhealthy,
}

impl fmt::Display for Health {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Health::Healthy => "healthy",
            Health::Degraded => "degraded",
            Health::Unhealthy => "unhealthy",
        })
    }
}

/// One registered module.
pub(crate) struct Slot {
    pub(crate) id: ModuleId,
    /// `meta.name`, shared: what contexts, reports and the audit ring copy.
    pub(crate) name: ModuleName,
    pub(crate) meta: ModuleMetadata,
    /// `None` exactly while the module is out of its slot in a call.
    pub(crate) module: Option<Box<dyn Module>>,
    /// API generation, from [`Module::api_generation`] at registration.
    pub(crate) api: u8,
    /// From [`Module::memory_limit`] at registration.
    pub(crate) memory_limit: Option<u64>,
    /// The call chain the module is in, if any.
    pub(crate) busy: Option<ChainId>,
    pub(crate) state: ModuleState,
    pub(crate) polled_healthy: bool,
    pub(crate) consecutive_errors: u32,
    pub(crate) last_error: Option<ModuleError>,
    /// Parameter values as of the last init (or later run-time changes).
    pub(crate) params: Vec<ConfigEntry>,
    /// Run-time overrides, kept across restarts.
    pub(crate) overrides: Vec<(String, String)>,
    pub(crate) metrics: ModuleMetrics,
    pub(crate) supervision: Supervision,
    /// The scheduling policy of a running SCHEDULER module, taken when it
    /// starts so the kernel can reach it even while the module is in a call.
    pub(crate) scheduler: Option<Arc<dyn Scheduler>>,
    /// The PCI devices it drives (its declared table).
    pub(crate) pci_ids: &'static [crate::services::pci::DeviceId],
    /// A SECURITY module's screened operations (empty: all).
    pub(crate) screens: &'static [crate::error::Operation],
    /// The format of its saved state (`Module::state_version`).
    pub(crate) state_version: u32,
    /// The fault that ended a call the module is still out of its slot
    /// for (an event dispatch records it as it happens and fails the module
    /// when it puts the instance back).
    pub(crate) pending_fault: Option<ModuleError>,
}

impl Slot {
    pub(crate) fn new(
        id: ModuleId,
        name: ModuleName,
        registration: Registration,
        module: Box<dyn Module>,
    ) -> Self {
        Slot {
            id,
            name,
            meta: registration.metadata,
            api: module.api_generation(),
            memory_limit: registration.memory_limit,
            pci_ids: registration.pci_ids,
            screens: registration.screens,
            state_version: registration.state_version,
            module: Some(module),
            busy: None,
            state: ModuleState::Registered,
            polled_healthy: true,
            consecutive_errors: 0,
            last_error: None,
            params: Vec::new(),
            overrides: Vec::new(),
            metrics: ModuleMetrics::default(),
            supervision: Supervision::default(),
            scheduler: None,
            pending_fault: None,
        }
    }

    pub(crate) fn health(&self, policy: &SupervisorPolicy) -> Health {
        if self.state == ModuleState::Failed
            || !self.polled_healthy
            || self.consecutive_errors >= policy.error_threshold.max(1)
        {
            Health::Unhealthy
        } else if self.consecutive_errors > 0 {
            Health::Degraded
        } else {
            Health::Healthy
        }
    }

    /// Records a failed lifecycle step: the module goes Failed.
    pub(crate) fn fail(&mut self, error: ModuleError) {
        self.state = ModuleState::Failed;
        self.scheduler = None;
        self.pending_fault = None;
        self.last_error = Some(error);
    }

    pub(crate) fn status(&self, policy: &SupervisorPolicy) -> ModuleStatus {
        ModuleStatus {
            id: self.id,
            name: self.meta.name.clone(),
            version: self.meta.version,
            api: self.api,
            state: self.state,
            flags: self.meta.flags,
            provides: self.meta.provides.clone(),
            dependencies: self.meta.dependencies.clone(),
            priority: self.meta.priority,
            health: self.health(policy),
            held: self.supervision.held,
            busy: self.busy.is_some(),
            last_error: self.last_error.clone(),
            standby_for: None,
            memory_limit: self.memory_limit,
            description: self.meta.description.clone(),
            author: self.meta.author.clone(),
            license: self.meta.license.clone(),
        }
    }
}

/// A snapshot of one module for listings (`lsmod`, `modinfo`).
///
/// ```
/// use helix_modules::{Health, ModuleState, Registry};
/// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
/// # use helix_modules::ModuleError;
/// # struct M;
/// # impl ModuleTrait for M {
/// #     fn info(&self) -> ModuleInfo { ModuleInfo::new("m").version(1, 2, 3) }
/// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
/// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
/// # }
/// let r = Registry::new();
/// r.register_v2(M)?;
/// let s = &r.list()[0];
/// assert_eq!((s.state, s.health, s.held), (ModuleState::Registered, Health::Healthy, false));
/// assert_eq!(s.to_string(), "m 1.2.3 registered healthy flags=[] provides=[] deps=[]");
/// # Ok::<(), ModuleError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ModuleStatus {
    /// Registry id.
    pub id: ModuleId,
    /// Name.
    pub name: String,
    /// Version.
    pub version: Version,
    /// Lifecycle state.
    pub state: ModuleState,
    /// Flags.
    pub flags: ModuleFlags,
    /// Capabilities provided.
    pub provides: Vec<String>,
    /// Dependency strings.
    pub dependencies: Vec<String>,
    /// Dispatch priority.
    pub priority: i16,
    /// Health.
    pub health: Health,
    /// Held by the supervisor after crash-looping: not restarted again
    /// until an operator restarts it.
    pub held: bool,
    /// In a call right now.
    pub busy: bool,
    /// Why the module last failed, if it did.
    pub last_error: Option<ModuleError>,
    /// API generation: 1 for a module implementing [`Module`] directly, 2
    /// for a v2 module (through [`crate::v2::ModuleAdapter`]).
    pub api: u8,
    /// For a module that is ready to run (Initialized or Stopped) but holds
    /// an exclusive role ([`ModuleFlags::EXCLUSIVE`]) that another running
    /// module has: that module's name. Such a module is in standby, a
    /// normal state (a second scheduler waits while the first schedules),
    /// not a failure.
    pub standby_for: Option<String>,
    /// What the module does, from its info.
    pub description: String,
    /// Who wrote it, from its info.
    pub author: String,
    /// Its licence, from its info.
    pub license: String,
    /// The module's own heap limit in bytes (its info's), if any.
    pub memory_limit: Option<u64>,
}

impl fmt::Display for ModuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}{} {} flags={} provides=[{}] deps=[{}]",
            self.name,
            self.version,
            self.state,
            if self.held { " (held)" } else { "" },
            self.health,
            FlagNames(self.flags),
            self.provides.join(","),
            self.dependencies.join(","),
        )
    }
}

struct FlagNames(ModuleFlags);

/// `[ESSENTIAL | SCHEDULER]`, `[]` for none.
impl fmt::Display for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_empty() {
            f.write_str("[]")
        } else {
            write!(f, "[{}]", self.0)
        }
    }
}

/// All registry state behind the table lock.
pub(crate) struct Table {
    /// Indexed by `ModuleId`; unloaded slots are `None` until a module of
    /// the same name takes its id back (see `retired`). Boxed so that an
    /// empty slot costs a pointer, and a call moves the slot cheaply.
    pub(crate) slots: Vec<Option<Box<Slot>>>,
    /// The ids of unloaded modules by name, given back to a module of the
    /// same name when it is registered again.
    pub(crate) retired: Map<ModuleName, ModuleId>,
    /// Running subscribers per event kind, in dispatch order. Shared
    /// snapshots so dispatch can walk them without the lock and without
    /// allocating.
    pub(crate) subscribers: [Arc<[ModuleId]>; EventKinds::COUNT],
    /// Set when a change may affect `subscribers`; rebuilt on next dispatch.
    pub(crate) subscribers_dirty: bool,
    /// Chains numbered under the lock so far (see [`Table::mint_chain`]).
    pub(crate) chains_minted: u64,
    pub(crate) cmdline: Vec<CmdlineParam>,
    /// Every module name, capability and dependency target seen, numbered,
    /// so dependency resolution follows compact indexes instead of hashing
    /// strings. It is also the name and capability index: a module's id
    /// and a capability's providers are the symbol's [`Symbol`] (one hash
    /// table and one copy of each name, for registering and for routing).
    pub(crate) symbols: SymbolIndex,
    pub(crate) symbol_info: Vec<Symbol>,
    /// Per symbol, who answers to it (see [`Table::answer`]), packed in a
    /// `u32` and kept up to date by the indexing functions below:
    /// resolution looks this up for every dependency, at random, so it is
    /// kept ten times smaller than `symbol_info`.
    pub(crate) answers: Vec<u32>,
    /// What dependency resolution reads, indexed by id and kept apart from
    /// the (large) slots so that resolving thousands of modules stays in
    /// cache; `None` for unloaded ids.
    pub(crate) graph: Vec<Option<GraphNode>>,
    /// What the graph nodes point into.
    pub(crate) pool: DepPool,
    /// Working memory reused by dependency resolution. A `RefCell` because
    /// resolution only reads the table; the table lock already serialises.
    pub(crate) plan_scratch: RefCell<Scratch>,
}

impl Table {
    pub(crate) fn new(cmdline: Vec<CmdlineParam>) -> Self {
        let empty: Arc<[ModuleId]> = Arc::from(Vec::new());
        Table {
            slots: Vec::new(),
            retired: new_map(),
            subscribers: core::array::from_fn(|_| empty.clone()),
            subscribers_dirty: false,
            chains_minted: 0,
            cmdline,
            symbols: SymbolIndex::default(),
            symbol_info: Vec::new(),
            answers: Vec::new(),
            graph: Vec::new(),
            pool: DepPool::default(),
            plan_scratch: RefCell::new(Scratch::default()),
        }
    }

    pub(crate) fn slot(&self, id: ModuleId) -> Option<&Slot> {
        self.slots.get(id.index()).and_then(|s| s.as_deref())
    }

    pub(crate) fn slot_mut(&mut self, id: ModuleId) -> Option<&mut Slot> {
        self.slots
            .get_mut(id.index())
            .and_then(|s| s.as_deref_mut())
    }

    pub(crate) fn id_of(&self, name: &str) -> Result<ModuleId, ModuleError> {
        self.module_named(name)
            .ok_or_else(|| ModuleError::NotFound {
                name: String::from(name),
            })
    }

    /// The registered module called `name`, if any.
    pub(crate) fn module_named(&self, name: &str) -> Option<ModuleId> {
        let sym = self.symbols.get(name)?;
        self.symbol_info.get(sym as usize)?.module
    }

    /// The registered providers of `capability`, in registration order.
    pub(crate) fn providers_of(&self, capability: &str) -> impl Iterator<Item = ModuleId> + '_ {
        self.symbols
            .get(capability)
            .and_then(|sym| self.symbol_info.get(sym as usize))
            .into_iter()
            .flat_map(Symbol::providers)
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter_map(|s| s.as_deref())
    }

    /// Rebuilds the per-kind subscriber lists: running modules only,
    /// higher priority first, ties by id (registration order).
    pub(crate) fn rebuild_subscribers(&mut self) {
        let mut running: Vec<(i16, ModuleId, EventKinds)> = self
            .live()
            .filter(|s| s.state == ModuleState::Running)
            .map(|s| (s.meta.priority, s.id, s.meta.events))
            .collect();
        running.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (i, kind) in EventKinds::all().iter().enumerate() {
            let list: Vec<ModuleId> = running
                .iter()
                .filter(|(_, _, k)| k.contains(kind))
                .map(|(_, id, _)| *id)
                .collect();
            self.subscribers[i] = Arc::from(list);
        }
        self.subscribers_dirty = false;
    }
}
