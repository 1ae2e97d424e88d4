//! Where the dependency graph lives: one [`GraphNode`] per module, whose
//! name, dependencies and version comparators sit in shared pools
//! ([`DepPool`]) instead of per-module heap blocks.
//!
//! Why pools: resolving thousands of modules reads every module's
//! dependencies and name once. Per-module vectors and strings are separate
//! allocations scattered across a heap that also holds everything else
//! registration allocated, so each read was a cache miss once the heap
//! outgrew the caches, and resolution slowed down per module as the
//! registry grew. Pools keep those reads sequential, in registration order.
//! Entries of unloaded or replaced modules become garbage, reclaimed by
//! compaction once garbage outweighs live data (amortised O(1) per entry).

use alloc::string::String;
use alloc::vec::Vec;
use core::ops::Range;

use super::{Cmp, Dep};
use crate::v2::Version;

/// A slice of one of the pools.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    start: u32,
    len: u32,
}

impl Span {
    pub(crate) fn range(self) -> Range<usize> {
        self.start as usize..self.start as usize + self.len as usize
    }

    fn len(self) -> usize {
        self.len as usize
    }
}

/// Appends `items` to `pool` and returns where they went.
fn append<T: Clone>(pool: &mut Vec<T>, items: &[T]) -> Span {
    let start = pool.len() as u32;
    pool.extend_from_slice(items);
    Span {
        start,
        len: items.len() as u32,
    }
}

/// One module as dependency resolution sees it; the spans index the
/// registry's [`DepPool`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct GraphNode {
    pub(crate) version: Version,
    /// The module's name, in [`DepPool::names`].
    pub(crate) name: Span,
    /// The dependency strings, parsed and interned at registration, in
    /// [`DepPool::deps`].
    pub(crate) deps: Span,
}

/// The pools the [`GraphNode`]s point into.
#[derive(Debug, Default)]
pub(crate) struct DepPool {
    /// Module names, back to back.
    names: String,
    pub(crate) deps: Vec<Dep>,
    /// Version comparators; each [`Dep`] has a span of them.
    pub(crate) reqs: Vec<(Cmp, Version)>,
    /// Entries (name bytes, deps, comparators) in use, and no longer used.
    live: usize,
    garbage: usize,
}

impl DepPool {
    /// The name stored at `span`.
    pub(crate) fn name(&self, span: Span) -> &str {
        self.names.get(span.range()).unwrap_or_default()
    }

    /// The dependencies of `node`.
    pub(crate) fn deps_of(&self, node: &GraphNode) -> &[Dep] {
        self.deps.get(node.deps.range()).unwrap_or_default()
    }

    /// The comparators of `dep`.
    pub(crate) fn reqs_of(&self, dep: &Dep) -> &[(Cmp, Version)] {
        self.reqs.get(dep.reqs.range()).unwrap_or_default()
    }

    /// Stores a module's name and dependencies (each with the comparators
    /// in `reqs` at the span it carries relative to `reqs`'s start).
    pub(crate) fn add(
        &mut self,
        name: &str,
        version: Version,
        deps: &mut [Dep],
        reqs: &[(Cmp, Version)],
    ) -> GraphNode {
        let req_base = self.reqs.len() as u32;
        for dep in deps.iter_mut() {
            dep.reqs.start += req_base;
        }
        append(&mut self.reqs, reqs);
        let start = self.names.len() as u32;
        self.names.push_str(name);
        let node = GraphNode {
            version,
            name: Span {
                start,
                len: name.len() as u32,
            },
            deps: append(&mut self.deps, deps),
        };
        self.live += size(&node, self);
        node
    }

    /// Marks a node's entries as garbage (its module was unloaded or
    /// replaced), compacting `graph` and the pools when garbage dominates.
    pub(crate) fn retire(&mut self, node: &GraphNode, graph: &mut [Option<GraphNode>]) {
        let n = size(node, self);
        self.live = self.live.saturating_sub(n);
        self.garbage += n;
        // The floor keeps a few unloads in a small registry from copying.
        if self.garbage > self.live.max(1024) {
            self.compact(graph);
        }
    }

    /// Rewrites the pools with only the entries of the nodes in `graph`.
    fn compact(&mut self, graph: &mut [Option<GraphNode>]) {
        let mut fresh = DepPool::default();
        for node in graph.iter_mut().flatten() {
            let mut deps: Vec<Dep> = self.deps_of(node).to_vec();
            let mut reqs = Vec::new();
            for dep in deps.iter_mut() {
                let own = self.reqs_of(dep);
                dep.reqs = Span {
                    start: reqs.len() as u32,
                    len: own.len() as u32,
                };
                reqs.extend_from_slice(own);
            }
            *node = fresh.add(self.name(node.name), node.version, &mut deps, &reqs);
        }
        *self = fresh;
    }
}

/// The pool entries `node` uses.
fn size(node: &GraphNode, pool: &DepPool) -> usize {
    let reqs: usize = pool.deps_of(node).iter().map(|d| d.reqs.len()).sum();
    node.name.len() + node.deps.len() + reqs
}

/// A span of `len` entries starting at `start`, for [`DepPool::add`]'s
/// relative comparator spans.
pub(crate) fn span(start: usize, len: usize) -> Span {
    Span {
        start: start as u32,
        len: len as u32,
    }
}
