//! Who uses a module: the running modules that would lose a hard
//! dependency if some modules stopped, which is what makes a stop or an
//! unload refused ([`crate::ModuleError::InUse`]), and the closure of that
//! relation, which is what a cascading stop stops.
//!
//! A running module needs a module `m` through one of its hard
//! dependencies when `m` is among that dependency's acceptable providers
//! (by name, or by capability when no module has that name; version
//! requirements included) and no other acceptable provider would still
//! be running. Optional dependencies never make a module a user: they are
//! ignored when missing.

use alloc::vec;
use alloc::vec::Vec;

use super::super::slot::Table;
use super::super::{ModuleId, ModuleState};

/// The running modules outside `stopping` that would be left without a
/// running provider for some hard dependency, one of whose providers is in
/// `stopping`, once every module in `stopping` stopped. In registration
/// order. Linear in modules plus dependency candidates, times the size of
/// `stopping`.
pub(crate) fn dependents(t: &Table, stopping: &[ModuleId]) -> Vec<ModuleId> {
    let gone = |m: ModuleId| stopping.contains(&m);
    t.live()
        .filter(|s| s.state == ModuleState::Running && !gone(s.id))
        .filter(|s| {
            let Some(Some(node)) = t.graph.get(s.id.index()) else {
                return false;
            };
            t.pool
                .deps_of(node)
                .iter()
                .filter(|d| !d.optional())
                .any(|dep| {
                    let mut loses = false;
                    for m in dep.candidates(t).filter(|m| *m != s.id) {
                        let Some(provider) = t.slot(m) else { continue };
                        if !dep.accepts(&t.pool, provider.meta.version) {
                            continue;
                        }
                        if gone(m) {
                            loses = true;
                        } else if provider.state == ModuleState::Running {
                            // Another provider stays: not needed.
                            return false;
                        }
                    }
                    loses
                })
        })
        .map(|s| s.id)
        .collect()
}

/// `id` and every running module that needs it, directly or through other
/// modules in the set: what a cascading stop of `id` stops, `id` first,
/// then its dependents layer by layer (not yet in stop order).
pub(crate) fn cascade(t: &Table, id: ModuleId) -> Vec<ModuleId> {
    let mut set = vec![id];
    loop {
        let more = dependents(t, &set);
        if more.is_empty() {
            return set;
        }
        set.extend(more);
    }
}
