//! Start-order planning: Kahn's algorithm over the interned dependency
//! graph, with cycles reported by name, and [`Registry::resolve`] on top.
//!
//! The cost is linear in modules plus edges, and the layout is chosen so
//! that it stays linear in practice too, once the graph no longer fits in
//! the first cache levels: modules are numbered by their raw ids, the
//! inputs are read in sequential passes (the graph nodes, the pooled
//! dependencies), who answers a name is one read in the table's compact
//! [`Table::answers`], the per-module state is flat arrays (dependents in
//! compressed sparse rows, not per-node vectors), and the edge list itself
//! is only re-read on the rare path that explains a cycle or a blocked
//! module.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::slot::Table;
use super::super::{ModuleId, Registry};
use super::Answer;
use crate::error::ModuleError;

mod explain;

use explain::explain;

/// A start order and the modules that cannot be placed in it.
pub(crate) struct Plan {
    /// Topological order: every provider before its dependents.
    pub(crate) order: Vec<ModuleId>,
    /// Modules on a cycle ([`ModuleError::Cycle`]) or behind one
    /// ([`ModuleError::DependencyFailed`]).
    pub(crate) blocked: Vec<(ModuleId, ModuleError)>,
    /// The first cycle found, by name.
    pub(crate) first_cycle: Option<Vec<String>>,
}

/// Set in an edge's target (in [`Scratch::out_to`]) or label (in [`Edge`])
/// when the dependency is optional. Module ids and dependency positions
/// stay far below 2^31 (each id is a registration holding a slot).
const OPTIONAL: u32 = 1 << 31;

/// A dependency edge provider -> dependent, by raw module id.
#[derive(Clone, Copy)]
struct Edge {
    from: u32,
    to: u32,
    /// The dependency's position in the dependent's list, `| OPTIONAL`.
    label: u32,
}

impl Edge {
    fn optional(self) -> bool {
        self.label & OPTIONAL != 0
    }

    fn position(self) -> usize {
        (self.label & !OPTIONAL) as usize
    }
}

/// The working memory of [`plan`]: the graph by raw module id
/// (`ModuleId::index`; ids of unloaded modules are holes with no edges) and
/// Kahn's algorithm's state. The table keeps one between calls, so that
/// planning a large registry does not allocate (and have the allocator
/// fault in fresh pages for) the same arrays every time.
///
/// Kahn's algorithm reads its per-module state at random (it visits
/// modules in queue order), so per edge it touches one `u32` per module
/// ([`Scratch::indegree`]), not a 16-byte record: 40 KB rather than 160 KB
/// at 10,000 modules. Measured: planning slowed per module with size from
/// such random reads, not from allocation (page faults do not grow) nor
/// extra work (instruction counts scale linearly).
#[derive(Default)]
pub(crate) struct Scratch {
    /// Every edge, grouped by dependent in ascending order.
    edges: Vec<Edge>,
    /// Per module id, incoming edges not yet consumed.
    indegree: Vec<u32>,
    /// Per module id plus one, where its dependents start in `out_to`
    /// (compressed sparse rows: module `u`'s are `out[u]..out[u + 1]`).
    out: Vec<u32>,
    /// The dependents of every module, back to back, each an id
    /// `| OPTIONAL` for optional edges.
    out_to: Vec<u32>,
    /// Placed, or a hole.
    done: Vec<bool>,
    /// The order being built, which is also Kahn's queue.
    placed: Vec<u32>,
}

/// Empties `v` and fills it with `len` copies of `value`, keeping its
/// allocation.
fn reset<T: Clone>(v: &mut Vec<T>, len: usize, value: T) {
    v.clear();
    v.resize(len, value);
}

/// Finds every edge. O(modules + edges) in sequential passes, except the
/// lookups of who answers a name (and, for versioned dependencies, of the
/// candidate's version).
fn build(t: &Table, s: &mut Scratch) {
    let n = t.graph.len();
    let Scratch {
        edges,
        indegree,
        out,
        out_to,
        done,
        ..
    } = s;
    edges.clear();
    // Holes count as done: never placed, never blamed.
    done.clear();
    done.extend(t.graph.iter().map(Option::is_none));
    reset(indegree, n, 0);
    // Out-degrees first, at `out[u]`; turned into offsets below.
    reset(out, n + 1, 0);
    for (v, node) in t.graph.iter().enumerate() {
        let Some(node) = node else { continue };
        for dep in t.pool.deps_of(node) {
            let versioned = !t.pool.reqs_of(dep).is_empty();
            let mut edge = |u: ModuleId| {
                let u = u.index();
                // Only versioned dependencies look at the candidate's
                // version: one random read fewer for the others.
                if u == v
                    || u >= n
                    || versioned
                        && !t.graph[u]
                            .as_ref()
                            .is_some_and(|c| dep.accepts(&t.pool, c.version))
                {
                    return;
                }
                let optional = if dep.optional() { OPTIONAL } else { 0 };
                edges.push(Edge {
                    from: u as u32,
                    to: v as u32,
                    label: dep.position() | optional,
                });
                indegree[v] += 1;
                out[u] += 1;
            };
            match t.answer(dep.symbol) {
                Answer::Nobody => {}
                Answer::One(u) => edge(u),
                Answer::Several => dep.candidates(t).for_each(edge),
            }
        }
    }
    // Counts -> end offsets; filling backwards then turns each into its
    // start offset and keeps every module's dependents in edge order.
    let mut total = 0;
    for at in out.iter_mut() {
        total += *at;
        *at = total;
    }
    reset(out_to, edges.len(), 0);
    for e in edges.iter().rev() {
        let at = &mut out[e.from as usize];
        *at -= 1;
        out_to[*at as usize] = e.to | (e.label & OPTIONAL);
    }
}

/// Orders every registered module. O(modules + edges): Kahn's algorithm
/// consumes each edge once, and only when something could not be placed
/// does the cycle search build the incoming edges and walk each remaining
/// node once.
pub(crate) fn plan(t: &Table) -> Plan {
    // Not reentrant (no module code runs under the table lock), but a
    // fresh scratch is a correct fallback should that ever change.
    let mut fresh = Scratch::default();
    let mut kept = t.plan_scratch.try_borrow_mut();
    let s = match kept.as_deref_mut() {
        Ok(s) => s,
        Err(_) => &mut fresh,
    };
    build(t, s);
    let Scratch {
        edges,
        indegree,
        out,
        out_to,
        done,
        placed,
    } = s;
    let n = t.graph.len();
    let live = done.iter().filter(|d| !**d).count();
    // The queue is the order itself: `placed[..head]` are processed and
    // `placed[..len]` queued. It is sized up front (no module is queued
    // twice) so that the loop below can write every dependent at `len`
    // and only count it when it became ready.
    reset(placed, n + 1, 0);
    let mut len = 0;
    for v in 0..n {
        placed[len] = v as u32;
        len += usize::from(!done[v] && indegree[v] == 0);
    }
    let mut head = 0;
    loop {
        while head < len {
            let u = placed[head] as usize;
            head += 1;
            done[u] = true;
            for &to in &out_to[out[u] as usize..out[u + 1] as usize] {
                let v = (to & !OPTIONAL) as usize;
                // Branch-free on purpose: the count is a random read, an
                // L2 hit once the registry has thousands of modules, and a
                // mispredicted branch on it would wait for every one in
                // turn instead of overlapping them. A module released
                // below (count 0) still has optional predecessors that may
                // be placed after it: it stays at 0 and is not queued.
                let left = indegree[v];
                indegree[v] = left - u32::from(left != 0);
                placed[len] = v as u32;
                len += usize::from(left == 1);
            }
        }
        placed.truncate(len);
        if !release(t, edges, indegree, done, placed) {
            break;
        }
        len = placed.len();
        placed.resize(n + 1, 0);
    }
    let order = placed.iter().map(|&v| ModuleId(v)).collect();
    let (blocked, first_cycle) = if placed.len() == live {
        (Vec::new(), None)
    } else {
        explain(t, edges, done)
    };
    Plan {
        order,
        blocked,
        first_cycle,
    }
}

/// Kahn's algorithm stalled: an optional edge on a cycle must not hold
/// back modules whose hard dependencies are all placed, so queue those.
/// Returns whether any was. Hard dependencies left are counted here, on
/// this rare path, not kept up to date per edge (which would double what
/// the main loop reads at random): O(modules + edges) per stall.
fn release(
    t: &Table,
    edges: &[Edge],
    indegree: &mut [u32],
    done: &[bool],
    placed: &mut Vec<u32>,
) -> bool {
    let n = done.len();
    // Everything placed (no cycle, the usual case): nothing to count.
    if (0..n).all(|v| done[v] || indegree[v] == 0) {
        return false;
    }
    // Hard edges not consumed: their provider was not placed. A hole
    // (done but never placed) never consumes its edges either.
    let placed_already = |u: usize| done[u] && t.graph.get(u).is_some_and(Option::is_some);
    let mut hard = vec![0u32; n];
    for e in edges {
        if !e.optional() && !placed_already(e.from as usize) {
            hard[e.to as usize] += 1;
        }
    }
    let mut released = false;
    for v in 0..n {
        if !done[v] && indegree[v] > 0 && hard[v] == 0 {
            indegree[v] = 0;
            placed.push(v as u32);
            released = true;
        }
    }
    released
}

impl Registry {
    /// The start order of every registered module: each module after the
    /// modules and capability providers it depends on (dependency strings:
    /// `[?]target[ op version[, op version]...]`, `?` for optional, `op`
    /// one of `>=`, `>`, `<=`, `<`, `=`, `^`); ties keep registration
    /// order. A cycle is
    /// [`ModuleError::Cycle`] naming its modules in dependency order.
    /// Linear in modules plus dependency edges.
    ///
    /// ```
    /// # use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
    /// # use helix_modules::{ModuleError, Registry};
    /// # struct M(ModuleInfo);
    /// # impl ModuleTrait for M {
    /// #     fn info(&self) -> ModuleInfo { self.0 }
    /// #     fn init(&mut self, _: &Context) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn start(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// #     fn stop(&mut self) -> Result<(), ModuleError> { Ok(()) }
    /// # }
    /// let r = Registry::new();
    /// r.register_v2(M(ModuleInfo::new("app").dependencies(&["net>=1", "?trace"])))?;
    /// r.register_v2(M(ModuleInfo::new("e1000").version(1, 0, 0).provides(&["net"])))?;
    /// assert_eq!(r.resolve()?, ["e1000", "app"]);
    ///
    /// r.register_v2(M(ModuleInfo::new("a").dependencies(&["b"])))?;
    /// r.register_v2(M(ModuleInfo::new("b").dependencies(&["a"])))?;
    /// assert_eq!(r.resolve(), Err(ModuleError::Cycle(vec!["a".into(), "b".into()])));
    /// # Ok::<(), ModuleError>(())
    /// ```
    pub fn resolve(&self) -> Result<Vec<String>, ModuleError> {
        let t = self.inner.table.lock();
        let plan = plan(&t);
        if let Some(cycle) = plan.first_cycle {
            return Err(ModuleError::Cycle(cycle));
        }
        Ok(plan
            .order
            .iter()
            .filter_map(|id| t.graph.get(id.index()).and_then(Option::as_ref))
            .map(|node| String::from(t.pool.name(node.name)))
            // `filter_map` hides the length from `collect`, which would
            // then grow the vector step by step.
            .fold(Vec::with_capacity(plan.order.len()), |mut names, name| {
                names.push(name);
                names
            }))
    }
}
