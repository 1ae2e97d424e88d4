//! The name index dependency resolution reads: every module name,
//! capability and dependency target is interned once as a symbol number,
//! and the table keeps, per symbol, who answers to it ([`Symbol`]) plus a
//! packed copy of that answer ([`Answer`]) small enough that resolving
//! thousands of dependencies reads it from cache. Also how graph nodes are
//! replaced in the table.

use alloc::string::String;
use alloc::vec::Vec;

use crate::name::ModuleName;
use core::hash::BuildHasher;
use foldhash::fast::FixedState;
use hashbrown::hash_table::{Entry, HashTable};

use super::super::ModuleId;
use super::super::slot::Table;
use super::GraphNode;

/// The symbol numbers by name. Each entry keeps its name's hash, so that
/// growing the table (which registering thousands of modules does a dozen
/// times) moves small entries without hashing a single name again.
pub(crate) struct SymbolIndex {
    table: HashTable<(u64, u32)>,
    /// Indexed by symbol number.
    names: Vec<ModuleName>,
    hasher: FixedState,
}

impl Default for SymbolIndex {
    fn default() -> Self {
        SymbolIndex {
            table: HashTable::new(),
            names: Vec::new(),
            hasher: FixedState::default(),
        }
    }
}

impl SymbolIndex {
    /// The number of `name`, if it has one.
    pub(crate) fn get(&self, name: &str) -> Option<u32> {
        let hash = self.hasher.hash_one(name);
        self.table
            .find(hash, |&(h, sym)| h == hash && self.is_named(sym, name))
            .map(|&(_, sym)| sym)
    }

    /// The number of `name`, numbering it `next` (and keeping `owned()` as
    /// its name) if it is new; and whether it was.
    fn intern(&mut self, name: &str, next: u32, owned: impl FnOnce() -> ModuleName) -> (u32, bool) {
        let hash = self.hasher.hash_one(name);
        let names = &self.names;
        let found = self.table.entry(
            hash,
            |&(h, sym)| h == hash && names.get(sym as usize).is_some_and(|n| n == name),
            |&(h, _)| h,
        );
        match found {
            Entry::Occupied(e) => (e.get().1, false),
            Entry::Vacant(e) => {
                e.insert((hash, next));
                self.names.push(owned());
                (next, true)
            }
        }
    }

    fn is_named(&self, sym: u32, name: &str) -> bool {
        self.names.get(sym as usize).is_some_and(|n| n == name)
    }
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
        self.intern_with(name, || ModuleName::from(name))
    }

    /// [`Table::intern`] for a module's own name, sharing its copy.
    pub(crate) fn intern_name(&mut self, name: &ModuleName) -> u32 {
        self.intern_with(name, || name.clone())
    }

    fn intern_with(&mut self, name: &str, owned: impl FnOnce() -> ModuleName) -> u32 {
        let next = self.symbol_info.len() as u32;
        let (sym, new) = self.symbols.intern(name, next, owned);
        if new {
            self.symbol_info.push(Symbol::default());
            self.answers.push(NOBODY);
        }
        sym
    }

    /// The module registered under symbol `sym`, if any.
    pub(crate) fn module_of(&self, sym: u32) -> Option<ModuleId> {
        self.symbol_info.get(sym as usize)?.module
    }

    /// Adds or removes `id` from the capability indexes.
    pub(crate) fn index_capabilities(&mut self, id: ModuleId, provides: &[String], add: bool) {
        for cap in provides {
            let sym = self.intern(cap) as usize;
            if add {
                self.symbol_info[sym].add_provider(id);
            } else {
                self.symbol_info[sym].remove_provider(id);
            }
            self.answers[sym] = self.symbol_info[sym].packed_answer();
        }
    }

    /// Adds or removes `id` under its name (symbol `sym`) in the indexes.
    pub(crate) fn index_name(&mut self, id: ModuleId, sym: u32, add: bool) {
        let sym = sym as usize;
        self.symbol_info[sym].module = add.then_some(id);
        self.answers[sym] = self.symbol_info[sym].packed_answer();
    }
}
