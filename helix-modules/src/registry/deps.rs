//! Dependencies: the dependency-string syntax, metadata validation at
//! registration, start-order planning (Kahn's algorithm, linear in modules
//! plus edges, with cycles reported by name) and the run-time check that a
//! module's hard dependencies are running.
//!
//! Syntax of a dependency string: `[?]target[ op version[, op version]...]`
//! - `target` is a module name or a capability (`provides`); a module name
//!   takes precedence when both exist.
//! - a leading `?` makes the dependency optional: it orders start-up when
//!   present and is ignored when missing or failed.
//! - `op` is one of `>=`, `>`, `<=`, `<`, `=`, `^` (same major version and
//!   at least the given one); `version` is `major[.minor[.patch]]`, missing
//!   parts are 0. All comparators must hold.
//!
//! Examples: `timer`, `?trace`, `scheduler>=1.2`, `alloc>=1.0, <2`,
//! `net^2.1`.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

use super::slot::{GraphNode, Table};
use super::{ModuleId, ModuleState, Registry};
use crate::error::ModuleError;
use crate::flags::ModuleFlags;
use crate::v1::ModuleMetadata;
use crate::v2::Version;

/// A parsed dependency string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct DepSpec<'a> {
    pub(crate) optional: bool,
    pub(crate) target: &'a str,
    /// The comparator list, already validated by `parse`.
    reqs: &'a str,
}

/// Module names: letters, digits, `-` and `_`.
fn name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '-' || c == '_'
}

/// Capability names may also use `.`, `:` and `/` as separators.
fn capability_char(c: char) -> bool {
    name_char(c) || matches!(c, '.' | ':' | '/')
}

fn well_formed(s: &str, allowed: fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().all(allowed)
}

pub(crate) fn parse(spec: &str) -> Result<DepSpec<'_>, &'static str> {
    let s = spec.trim();
    let (optional, s) = match s.strip_prefix('?') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let end = s.find(['<', '>', '=', '^']).unwrap_or(s.len());
    let target = s[..end].trim();
    if !well_formed(target, capability_char) {
        return Err("the target must be a module or capability name");
    }
    let reqs = &s[end..];
    if !reqs.trim().is_empty() {
        for piece in reqs.split(',') {
            comparator(piece)?;
        }
    }
    Ok(DepSpec {
        optional,
        target,
        reqs,
    })
}

#[derive(Clone, Copy, Debug)]
enum Cmp {
    Ge,
    Gt,
    Le,
    Lt,
    Eq,
    Caret,
}

fn comparator(piece: &str) -> Result<(Cmp, Version), &'static str> {
    let p = piece.trim();
    let (cmp, rest) = [
        (">=", Cmp::Ge),
        ("<=", Cmp::Le),
        (">", Cmp::Gt),
        ("<", Cmp::Lt),
        ("=", Cmp::Eq),
        ("^", Cmp::Caret),
    ]
    .iter()
    .find_map(|(op, c)| p.strip_prefix(op).map(|r| (*c, r)))
    .ok_or("each requirement must start with >=, >, <=, <, = or ^")?;
    let mut parts = [0u16; 3];
    for (n, part) in rest.trim().split('.').enumerate() {
        let slot = parts
            .get_mut(n)
            .ok_or("a version has at most three parts")?;
        *slot = part.parse().map_err(|_| "a version part is not a number")?;
    }
    Ok((cmp, Version::new(parts[0], parts[1], parts[2])))
}

fn satisfies(cmp: Cmp, v: Version, r: Version) -> bool {
    match cmp {
        Cmp::Ge => v >= r,
        Cmp::Gt => v > r,
        Cmp::Le => v <= r,
        Cmp::Lt => v < r,
        Cmp::Eq => v == r,
        Cmp::Caret => v.major == r.major && v >= r,
    }
}

/// A dependency as the registry keeps it: parsed once at registration,
/// its target interned.
#[derive(Clone, Debug)]
pub(crate) struct Dep {
    symbol: u32,
    optional: bool,
    /// Position in the module's dependency strings, for error messages.
    position: u32,
    reqs: Vec<(Cmp, Version)>,
}

impl Dep {
    fn accepts(&self, v: Version) -> bool {
        self.reqs.iter().all(|&(cmp, r)| satisfies(cmp, v, r))
    }

    /// Registered modules that could satisfy this dependency by name (if a
    /// module has that name) or else by capability, before the version
    /// check.
    fn candidates<'t>(&self, t: &'t Table) -> impl Iterator<Item = ModuleId> + 't {
        let sym = t.symbol_info.get(self.symbol as usize);
        let by_name = sym.and_then(|s| s.module);
        let providers: &[ModuleId] = match (by_name, sym) {
            (None, Some(s)) => &s.providers,
            _ => &[],
        };
        by_name.into_iter().chain(providers.iter().copied())
    }
}

/// The resolution view of a module: its (already validated) dependency
/// strings parsed and their targets interned.
pub(crate) fn node_for(t: &mut Table, meta: &ModuleMetadata) -> GraphNode {
    let mut deps = Vec::with_capacity(meta.dependencies.len());
    for (k, spec) in meta.dependencies.iter().enumerate() {
        let Ok(d) = parse(spec) else { continue };
        let reqs = if d.reqs.trim().is_empty() {
            Vec::new()
        } else {
            d.reqs
                .split(',')
                .filter_map(|p| comparator(p).ok())
                .collect()
        };
        deps.push(Dep {
            symbol: t.intern(d.target),
            optional: d.optional,
            position: k as u32,
            reqs,
        });
    }
    GraphNode {
        name: meta.name.clone(),
        version: meta.version,
        deps,
    }
}

fn bad(meta: &ModuleMetadata, reason: &'static str) -> ModuleError {
    ModuleError::InvalidMetadata {
        module: meta.name.clone(),
        reason,
    }
}

/// The registration checks.
pub(crate) fn validate_metadata(meta: &ModuleMetadata) -> Result<(), ModuleError> {
    if meta.name.is_empty() {
        return Err(bad(meta, "the name is empty"));
    }
    if !well_formed(&meta.name, name_char) {
        return Err(bad(meta, "the name may only use letters, digits, - and _"));
    }
    if meta.flags.bits() & !ModuleFlags::all().bits() != 0 {
        return Err(bad(meta, "unknown flag bits"));
    }
    if meta.flags.contains(ModuleFlags::USERSPACE) {
        return Err(ModuleError::Unsupported {
            module: meta.name.clone(),
            flag: ModuleFlags::USERSPACE,
        });
    }
    if !meta
        .provides
        .iter()
        .all(|c| well_formed(c, capability_char))
    {
        return Err(bad(meta, "a capability name is empty or malformed"));
    }
    for spec in &meta.dependencies {
        let dep = parse(spec).map_err(|reason| ModuleError::InvalidDependency {
            module: meta.name.clone(),
            spec: spec.clone(),
            reason,
        })?;
        if dep.target == meta.name || meta.provides.iter().any(|c| c == dep.target) {
            return Err(bad(meta, "the module depends on itself"));
        }
    }
    for (i, p) in meta.params.iter().enumerate() {
        if p.name.is_empty() || meta.params[..i].iter().any(|q| q.name == p.name) {
            return Err(bad(meta, "a parameter name is empty or declared twice"));
        }
        if p.validate(p.default).is_err() {
            return Err(bad(meta, "a parameter default fails its own validation"));
        }
    }
    Ok(())
}

/// Checks that every hard dependency of `id` has a running provider.
pub(crate) fn check_running(t: &Table, id: ModuleId) -> Result<(), ModuleError> {
    let (Some(slot), Some(Some(node))) = (t.slot(id), t.graph.get(id.index())) else {
        return Ok(());
    };
    for dep in node.deps.iter().filter(|d| !d.optional) {
        let mut any = false;
        let mut running = false;
        for m in dep.candidates(t).filter(|m| *m != id) {
            let Some(provider) = t.slot(m) else { continue };
            if dep.accepts(provider.meta.version) {
                any = true;
                running |= provider.state == ModuleState::Running;
            }
        }
        let module = slot.meta.name.clone();
        let dependency = slot
            .meta
            .dependencies
            .get(dep.position as usize)
            .cloned()
            .unwrap_or_default();
        if !any {
            return Err(ModuleError::DependencyMissing { module, dependency });
        }
        if !running {
            return Err(ModuleError::DependencyFailed { module, dependency });
        }
    }
    Ok(())
}

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

/// Orders every registered module. O(modules + edges): one pass builds the
/// edge lists through the hash indexes, Kahn's algorithm consumes each edge
/// once, and the cycle search walks each remaining node once.
pub(crate) fn plan(t: &Table) -> Plan {
    // One pass over the (large) slots gathers what the random accesses
    // below need into compact arrays.
    let mut ids: Vec<ModuleId> = Vec::with_capacity(t.graph.len());
    let mut nodes: Vec<&GraphNode> = Vec::with_capacity(t.graph.len());
    let mut index = vec![u32::MAX; t.graph.len()];
    for (raw, node) in t.graph.iter().enumerate() {
        if let Some(node) = node {
            index[raw] = ids.len() as u32;
            ids.push(ModuleId(raw as u32));
            nodes.push(node);
        }
    }
    let n = ids.len();
    // Edges provider -> dependent, labelled with the dependency's position.
    let mut edges: Vec<(u32, u32, u32, bool)> = Vec::new();
    for (v, node) in nodes.iter().enumerate() {
        for dep in &node.deps {
            for u in dep.candidates(t) {
                let u = index.get(u.index()).copied().unwrap_or(u32::MAX);
                if u != u32::MAX && u as usize != v && dep.accepts(nodes[u as usize].version) {
                    edges.push((u, v as u32, dep.position, dep.optional));
                }
            }
        }
    }
    let csr = |key: fn(&(u32, u32, u32, bool)) -> u32| {
        let mut start = vec![0u32; n + 1];
        for e in &edges {
            start[key(e) as usize + 1] += 1;
        }
        for i in 0..n {
            start[i + 1] += start[i];
        }
        let mut fill = start.clone();
        let mut list = vec![0u32; edges.len()];
        for (ei, e) in edges.iter().enumerate() {
            let slot = &mut fill[key(e) as usize];
            list[*slot as usize] = ei as u32;
            *slot += 1;
        }
        (start, list)
    };
    let (out_start, out_list) = csr(|e| e.0);
    let (in_start, in_list) = csr(|e| e.1);

    let mut indegree = vec![0u32; n];
    let mut hard_left = vec![0u32; n];
    for e in &edges {
        indegree[e.1 as usize] += 1;
        if !e.3 {
            hard_left[e.1 as usize] += 1;
        }
    }
    let mut done = vec![false; n];
    let mut queue: VecDeque<u32> = (0..n as u32)
        .filter(|&v| indegree[v as usize] == 0)
        .collect();
    let mut order = Vec::with_capacity(n);
    loop {
        while let Some(u) = queue.pop_front() {
            done[u as usize] = true;
            order.push(ids[u as usize]);
            for &ei in &out_list[out_start[u as usize] as usize..out_start[u as usize + 1] as usize]
            {
                let e = edges[ei as usize];
                let v = e.1 as usize;
                if !e.3 {
                    hard_left[v] -= 1;
                }
                indegree[v] -= 1;
                if indegree[v] == 0 {
                    queue.push_back(v as u32);
                }
            }
        }
        // Stalled: an optional edge on a cycle must not hold back modules
        // whose hard dependencies are all placed, so release those.
        let mut released = false;
        for v in 0..n {
            if !done[v] && indegree[v] > 0 && hard_left[v] == 0 {
                indegree[v] = 0;
                queue.push_back(v as u32);
                released = true;
            }
        }
        if !released {
            break;
        }
    }

    let name = |v: usize| {
        t.slot(ids[v])
            .map(|s| s.meta.name.clone())
            .unwrap_or_default()
    };
    // A remaining hard predecessor of `v` and the dependency string to it.
    let blocker = |v: usize| {
        in_list[in_start[v] as usize..in_start[v + 1] as usize]
            .iter()
            .map(|&ei| edges[ei as usize])
            .find(|e| !e.3 && !done[e.0 as usize])
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
            let u = e.0 as usize;
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
                    blocked.push((ids[m], ModuleError::Cycle(names.clone())));
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
                && let Some(slot) = t.slot(ids[p])
            {
                blocked.push((
                    ids[p],
                    ModuleError::DependencyFailed {
                        module: slot.meta.name.clone(),
                        dependency: slot.meta.dependencies[e.2 as usize].clone(),
                    },
                ));
            }
        }
    }
    Plan {
        order,
        blocked,
        first_cycle,
    }
}

impl Registry {
    /// The start order of every registered module: each module after the
    /// modules and capability providers it depends on (syntax in the
    /// [module docs](self)); ties keep registration order. A cycle is
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
            .map(|node| node.name.clone())
            .collect())
    }
}
