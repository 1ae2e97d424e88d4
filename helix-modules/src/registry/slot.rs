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
use core::fmt;

use super::deps::{DepPool, GraphNode};
use super::{ChainId, ModuleId, ModuleState};
use crate::config::CmdlineParam;
use crate::error::ModuleError;
use crate::flags::ModuleFlags;
use crate::metrics::ModuleMetrics;
use crate::services::scheduler::Scheduler;
use crate::supervisor::{Supervision, SupervisorPolicy};
use crate::v1::{Module, ModuleMetadata};
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
    pub(crate) meta: ModuleMetadata,
    /// `None` exactly while the module is out of its slot in a call.
    pub(crate) module: Option<Box<dyn Module>>,
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
}

impl Slot {
    pub(crate) fn new(id: ModuleId, meta: ModuleMetadata, module: Box<dyn Module>) -> Self {
        Slot {
            id,
            meta,
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
        self.last_error = Some(error);
    }

    pub(crate) fn status(&self, policy: &SupervisorPolicy) -> ModuleStatus {
        ModuleStatus {
            id: self.id,
            name: self.meta.name.clone(),
            version: self.meta.version,
            state: self.state,
            flags: self.meta.flags,
            provides: self.meta.provides.clone(),
            dependencies: self.meta.dependencies.clone(),
            priority: self.meta.priority,
            health: self.health(policy),
            held: self.supervision.held,
            busy: self.busy.is_some(),
            last_error: self.last_error.clone(),
        }
    }
}

/// A snapshot of one module for listings (`lsmod`).
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
}

impl fmt::Display for ModuleStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}{} {} flags={:?} provides=[{}] deps=[{}]",
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

impl fmt::Debug for FlagNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[")?;
        for (i, (name, _)) in self.0.iter_names().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            f.write_str(name)?;
        }
        f.write_str("]")
    }
}

/// All registry state behind the table lock.
pub(crate) struct Table {
    /// Indexed by `ModuleId`; ids are never reused, unloaded slots are `None`.
    pub(crate) slots: Vec<Option<Slot>>,
    pub(crate) by_name: Map<String, ModuleId>,
    pub(crate) by_capability: Map<String, Vec<ModuleId>>,
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
    /// strings.
    pub(crate) symbols: Map<String, u32>,
    pub(crate) symbol_info: Vec<Symbol>,
    /// Per symbol, who answers to it (see [`Table::answer`]), packed in a
    /// `u32` and kept up to date by the indexing functions below:
    /// resolution looks this up for every dependency, at random, so it is
    /// kept ten times smaller than `symbol_info`.
    answers: Vec<u32>,
    /// What dependency resolution reads, indexed by id and kept apart from
    /// the (large) slots so that resolving thousands of modules stays in
    /// cache; `None` for unloaded ids.
    pub(crate) graph: Vec<Option<GraphNode>>,
    /// What the graph nodes point into.
    pub(crate) pool: DepPool,
}

/// Who answers to one interned name.
#[derive(Clone, Debug, Default)]
pub(crate) struct Symbol {
    /// The module with this name, if registered.
    pub(crate) module: Option<ModuleId>,
    /// The earliest registered provider of this capability. Kept inline
    /// because most capabilities have exactly one provider and resolution
    /// reads it for every capability: no separate heap block to fetch.
    provider: Option<ModuleId>,
    /// Later providers, in registration order.
    more_providers: Vec<ModuleId>,
}

/// Who answers to a symbol, as [`Table::answer`] tells it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Answer {
    Nobody,
    One(ModuleId),
    /// Several providers (or an id too large to pack): ask
    /// [`Symbol::providers`].
    Several,
}

/// Packed [`Answer::Nobody`] and [`Answer::Several`]; any other value is
/// the one module's id.
const NOBODY: u32 = u32::MAX;
const SEVERAL: u32 = u32::MAX - 1;

impl Symbol {
    /// [`Answer`] packed for [`Table::answers`].
    fn packed_answer(&self) -> u32 {
        let one = |id: ModuleId| if id.0 < SEVERAL { id.0 } else { SEVERAL };
        match (self.module, self.provider) {
            (Some(id), _) => one(id),
            (None, None) => NOBODY,
            (None, Some(id)) if self.more_providers.is_empty() => one(id),
            (None, Some(_)) => SEVERAL,
        }
    }

    /// The modules providing this capability, in registration order.
    pub(crate) fn providers(&self) -> impl Iterator<Item = ModuleId> + '_ {
        self.provider
            .into_iter()
            .chain(self.more_providers.iter().copied())
    }

    fn add_provider(&mut self, id: ModuleId) {
        // `provider` is only empty when `more_providers` is (see below).
        if self.provider.is_none() {
            self.provider = Some(id);
        } else {
            self.more_providers.push(id);
        }
    }

    fn remove_provider(&mut self, id: ModuleId) {
        if self.provider == Some(id) {
            self.provider = if self.more_providers.is_empty() {
                None
            } else {
                Some(self.more_providers.remove(0))
            };
        } else {
            self.more_providers.retain(|p| *p != id);
        }
    }
}

impl Table {
    pub(crate) fn new(cmdline: Vec<CmdlineParam>) -> Self {
        let empty: Arc<[ModuleId]> = Arc::from(Vec::new());
        Table {
            slots: Vec::new(),
            by_name: new_map(),
            by_capability: new_map(),
            subscribers: core::array::from_fn(|_| empty.clone()),
            subscribers_dirty: false,
            chains_minted: 0,
            cmdline,
            symbols: new_map(),
            symbol_info: Vec::new(),
            answers: Vec::new(),
            graph: Vec::new(),
            pool: DepPool::default(),
        }
    }

    pub(crate) fn slot(&self, id: ModuleId) -> Option<&Slot> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    pub(crate) fn slot_mut(&mut self, id: ModuleId) -> Option<&mut Slot> {
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    pub(crate) fn id_of(&self, name: &str) -> Result<ModuleId, ModuleError> {
        self.by_name
            .get(name)
            .copied()
            .ok_or_else(|| ModuleError::NotFound {
                name: String::from(name),
            })
    }

    pub(crate) fn live(&self) -> impl Iterator<Item = &Slot> {
        self.slots.iter().filter_map(Option::as_ref)
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

    /// A new call chain id, for a caller that holds the lock anyway (event
    /// dispatch): cheaper than the registry's atomic counter. These ids have
    /// the top bit set and the counter's never do (it would need 2^63
    /// chains), so the two never collide.
    pub(crate) fn mint_chain(&mut self) -> ChainId {
        self.chains_minted += 1;
        ChainId(1 << 63 | self.chains_minted)
    }

    /// Replaces module `id`'s dependency-graph node (`None`: the module is
    /// gone), handing the old node's pool entries back.
    pub(crate) fn set_node(&mut self, id: ModuleId, node: Option<GraphNode>) {
        let Some(entry) = self.graph.get_mut(id.index()) else {
            return;
        };
        if let Some(old) = core::mem::replace(entry, node) {
            self.pool.retire(&old, &mut self.graph);
        }
    }

    /// Who answers to symbol `sym`: the module of that name if there is
    /// one, else the capability's providers.
    pub(crate) fn answer(&self, sym: u32) -> Answer {
        match self.answers.get(sym as usize).copied().unwrap_or(NOBODY) {
            NOBODY => Answer::Nobody,
            SEVERAL => Answer::Several,
            id => Answer::One(ModuleId(id)),
        }
    }

    /// The number of `name`, creating it if new.
    pub(crate) fn intern(&mut self, name: &str) -> u32 {
        if let Some(sym) = self.symbols.get(name) {
            return *sym;
        }
        let sym = self.symbol_info.len() as u32;
        self.symbols.insert(String::from(name), sym);
        self.symbol_info.push(Symbol::default());
        self.answers.push(NOBODY);
        sym
    }

    /// Adds or removes `id` from the capability indexes.
    pub(crate) fn index_capabilities(&mut self, id: ModuleId, provides: &[String], add: bool) {
        for cap in provides {
            let sym = self.intern(cap) as usize;
            if add {
                self.by_capability.entry(cap.clone()).or_default().push(id);
                self.symbol_info[sym].add_provider(id);
                self.answers[sym] = self.symbol_info[sym].packed_answer();
            } else {
                self.symbol_info[sym].remove_provider(id);
                self.answers[sym] = self.symbol_info[sym].packed_answer();
                if let Some(list) = self.by_capability.get_mut(cap.as_str()) {
                    list.retain(|p| *p != id);
                    if list.is_empty() {
                        self.by_capability.remove(cap.as_str());
                    }
                }
            }
        }
    }

    /// Adds or removes `id` under its name in the indexes.
    pub(crate) fn index_name(&mut self, id: ModuleId, name: &str, add: bool) {
        let sym = self.intern(name) as usize;
        if add {
            self.by_name.insert(String::from(name), id);
            self.symbol_info[sym].module = Some(id);
            self.answers[sym] = self.symbol_info[sym].packed_answer();
        } else {
            self.by_name.remove(name);
            self.symbol_info[sym].module = None;
            self.answers[sym] = self.symbol_info[sym].packed_answer();
        }
    }
}
