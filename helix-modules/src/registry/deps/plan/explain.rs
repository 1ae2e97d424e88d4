//! Why the modules a plan could not place stay out: each is on a cycle or
//! behind one (or behind a module that is), named with the dependency
//! string that holds it; and the first cycle by name. Only read when
//! Kahn's algorithm stalls, so it re-reads the edge list instead of
//! keeping more state in the main loop.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::super::super::ModuleId;
use super::super::super::slot::Table;
use super::Edge;
use crate::error::ModuleError;

/// The modules Kahn's algorithm could not place (`!done`), each with why:
/// on a cycle, or behind one. Also returns the first cycle by name.
pub(super) fn explain(
    t: &Table,
    edges: &[Edge],
    done: &[bool],
) -> (Vec<(ModuleId, ModuleError)>, Option<Vec<String>>) {
    let n = done.len();
    // Incoming edges per module; `edges` is already grouped by dependent.
    let mut in_start = vec![0u32; n + 1];
    for e in edges {
        in_start[e.to as usize + 1] += 1;
    }
    for v in 0..n {
        in_start[v + 1] += in_start[v];
    }
    let name = |v: usize| {
        t.slot(ModuleId(v as u32))
            .map(|s| s.meta.name.clone())
            .unwrap_or_default()
    };
    // A remaining hard predecessor of `v` and the dependency string to it.
    let blocker = |v: usize| {
        edges[in_start[v] as usize..in_start[v + 1] as usize]
            .iter()
            .copied()
            .find(|e| !e.optional() && !done[e.from as usize])
    };
    // Walk backwards along remaining hard edges; a node seen twice in the
    // same walk closes a cycle.
    const UNSEEN: u32 = u32::MAX;
    let mut walk_of = vec![UNSEEN; n];
    let mut blocked = Vec::new();
    let mut first_cycle = None;
    for start in 0..n {
        if done[start] || walk_of[start] != UNSEEN {
            continue;
        }
        let mut path = Vec::new();
        let mut v = start;
        loop {
            walk_of[v] = start as u32;
            path.push(v);
            let Some(e) = blocker(v) else { break };
            let u = e.from as usize;
            if walk_of[u] == start as u32 {
                let pos = path.iter().position(|&p| p == u).unwrap_or(0);
                // Each member depends on the next; start at the earliest
                // registered so the report does not depend on the walk.
                let mut members: Vec<usize> = path[pos..].to_vec();
                let first = members
                    .iter()
                    .enumerate()
                    .min_by_key(|(_, m)| **m)
                    .map_or(0, |(i, _)| i);
                members.rotate_left(first);
                let names: Vec<String> = members.iter().map(|&m| name(m)).collect();
                for &m in &members {
                    blocked.push((ModuleId(m as u32), ModuleError::Cycle(names.clone())));
                    walk_of[m] = u32::MAX - 1;
                }
                first_cycle.get_or_insert(names);
                break;
            }
            if walk_of[u] != UNSEEN {
                break;
            }
            v = u;
        }
        for &p in &path {
            if walk_of[p] == start as u32
                && let Some(e) = blocker(p)
                && let Some(slot) = t.slot(ModuleId(p as u32))
            {
                blocked.push((
                    ModuleId(p as u32),
                    ModuleError::DependencyFailed {
                        module: slot.meta.name.clone(),
                        dependency: slot.meta.dependencies[e.position()].clone(),
                    },
                ));
            }
        }
    }
    (blocked, first_cycle)
}
