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
//!
//! Start-order planning itself ([`plan`], [`crate::Registry::resolve`]) is
//! in the `plan` submodule; which running modules need a module (why a
//! stop is refused, what a cascading stop stops) in `users`.

pub(crate) use plan::{Scratch, plan};
pub(crate) use pool::{DepPool, GraphNode};
pub(crate) use symbols::{Answer, Symbol, SymbolIndex};
pub(crate) use users::{cascade, dependents};

mod plan;
mod pool;
mod symbols;
mod users;

use alloc::vec::Vec;

use super::slot::Table;
use super::{ModuleId, ModuleState};
use crate::error::ModuleError;
use crate::flags::ModuleFlags;
use crate::v1::ModuleMetadata;
use crate::v2::Version;
use pool::Span;

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
pub(crate) enum Cmp {
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
/// its target interned, its comparators in the [`DepPool`].
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dep {
    symbol: u32,
    /// Position in the module's dependency strings (for error messages),
    /// `| OPTIONAL_DEP` if optional: packed so a `Dep` is 16 bytes, as
    /// resolution streams through all of them.
    label: u32,
    reqs: Span,
}

/// Flag in [`Dep::label`]; no module has 2^31 dependency strings.
const OPTIONAL_DEP: u32 = 1 << 31;

impl Dep {
    fn optional(&self) -> bool {
        self.label & OPTIONAL_DEP != 0
    }

    fn position(&self) -> u32 {
        self.label & !OPTIONAL_DEP
    }

    fn accepts(&self, pool: &DepPool, v: Version) -> bool {
        pool.reqs_of(self)
            .iter()
            .all(|&(cmp, r)| satisfies(cmp, v, r))
    }

    /// Registered modules that could satisfy this dependency by name (if a
    /// module has that name) or else by capability, before the version
    /// check.
    fn candidates<'t>(&self, t: &'t Table) -> impl Iterator<Item = ModuleId> + 't {
        let sym = t.symbol_info.get(self.symbol as usize);
        let by_name = sym.and_then(|s| s.module);
        let providers = sym
            .filter(|_| by_name.is_none())
            .into_iter()
            .flat_map(Symbol::providers);
        by_name.into_iter().chain(providers)
    }
}

/// The resolution view of a module: its (already validated) dependency
/// strings parsed, their targets interned, all stored in the table's
/// [`DepPool`].
pub(crate) fn node_for(t: &mut Table, meta: &ModuleMetadata) -> GraphNode {
    let mut deps = Vec::with_capacity(meta.dependencies.len());
    let mut reqs = Vec::new();
    for (k, spec) in meta.dependencies.iter().enumerate() {
        let Ok(d) = parse(spec) else { continue };
        let first = reqs.len();
        if !d.reqs.trim().is_empty() {
            reqs.extend(d.reqs.split(',').filter_map(|p| comparator(p).ok()));
        }
        deps.push(Dep {
            symbol: t.intern(d.target),
            label: k as u32 | if d.optional { OPTIONAL_DEP } else { 0 },
            reqs: pool::span(first, reqs.len() - first),
        });
    }
    t.pool.add(&meta.name, meta.version, &mut deps, &reqs)
}

fn bad(meta: &ModuleMetadata, reason: &'static str) -> ModuleError {
    ModuleError::InvalidMetadata {
        module: meta.name.clone(),
        reason,
    }
}

/// The check of a driver's PCI table, at registration and reload: an
/// entry that matches on nothing would bind every free function, bridges
/// included.
pub(crate) fn validate_pci_ids(
    meta: &ModuleMetadata,
    ids: &[crate::services::pci::DeviceId],
) -> Result<(), ModuleError> {
    if ids
        .iter()
        .any(|id| id.vendor.is_none() && id.device.is_none() && id.class.is_none())
    {
        return Err(bad(meta, "a PCI id that matches every device"));
    }
    Ok(())
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
    if slot.meta.dependencies.is_empty() {
        return Ok(());
    }
    for dep in t.pool.deps_of(node).iter().filter(|d| !d.optional()) {
        let mut any = false;
        let mut running = false;
        for m in dep.candidates(t).filter(|m| *m != id) {
            let Some(provider) = t.slot(m) else { continue };
            if dep.accepts(&t.pool, provider.meta.version) {
                any = true;
                running |= provider.state == ModuleState::Running;
            }
        }
        if running {
            continue;
        }
        let module = slot.meta.name.clone();
        let dependency = slot
            .meta
            .dependencies
            .get(dep.position() as usize)
            .cloned()
            .unwrap_or_default();
        return Err(if any {
            ModuleError::DependencyFailed { module, dependency }
        } else {
            ModuleError::DependencyMissing { module, dependency }
        });
    }
    Ok(())
}
