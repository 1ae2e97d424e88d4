//! What the console's reporting commands print: `modinfo`, `params`,
//! `threads`, `cpus`, `mem`, `audit`, `health` and `metrics`, each built
//! from the registry, the thread table or the memory counters. The
//! commands that change something live in `commands`.

use crate::arch::x86_64::percpu::MAX_CPUS;
use crate::{mm, smp, thread, time};
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use helix_modules::{Caller, Registry};

/// One metrics family of the heap counters: name, type, help, value.
type MemoryFamily = (
    &'static str,
    &'static str,
    &'static str,
    fn(&mm::account::Usage) -> u64,
);

/// `text`, or `-` when empty.
pub(super) fn or_dash(text: &str) -> &str {
    if text.is_empty() { "-" } else { text }
}

/// `key=value`, with ` (boot only)` for a parameter set on the kernel
/// command line only.
pub(super) fn param_line(p: &helix_modules::ParamValue) -> String {
    if p.is_boot_only() {
        format!("{p} (boot only)")
    } else {
        p.to_string()
    }
}

/// One module in detail. Everything but the parameters comes from the
/// module's status, so a Failed module still shows its info, version and
/// flags; parameters that cannot be resolved (the value that made `init`
/// fail) are shown as that error.
pub(super) fn modinfo(r: &Registry, name: &str) -> Result<String, String> {
    let s = r.status(name).map_err(|e| e.to_string())?;
    let m = r.metrics(name).map_err(|e| e.to_string())?;
    let mut out = String::new();
    let _ = writeln!(out, "name:        {}", s.name);
    let _ = writeln!(out, "description: {}", or_dash(&s.description));
    let _ = writeln!(out, "author:      {}", or_dash(&s.author));
    let _ = writeln!(out, "license:     {}", or_dash(&s.license));
    let _ = writeln!(out, "version:     {}", s.version);
    let _ = writeln!(out, "api:         v{}", s.api);
    let devices = crate::pci::held_by(name);
    if !devices.is_empty() {
        let _ = writeln!(out, "devices:     {}", devices.join(", "));
    }
    match crate::loadable::info(name) {
        Some(l) => {
            let _ = writeln!(out, "origin:      loaded from {}", l.file);
            let _ = writeln!(
                out,
                "binary abi:  {}.{}, layout hash {:#018x}",
                l.abi.0, l.abi.1, l.layout_hash
            );
            let _ = writeln!(
                out,
                "signer:      {}",
                l.verdict
                    .as_deref()
                    .unwrap_or("- (no security module was running)")
            );
            let _ = writeln!(
                out,
                "image:       {} bytes; arena {} bytes in use, {} mapped, limit {}",
                l.image_bytes, l.arena_used, l.arena_mapped, l.arena_limit
            );
        }
        None => {
            let _ = writeln!(out, "origin:      built-in");
        }
    }
    let _ = writeln!(
        out,
        "state:       {}{}",
        s.state,
        if s.held {
            " (held by the supervisor)"
        } else {
            ""
        }
    );
    let _ = writeln!(out, "health:      {}", s.health);
    let _ = writeln!(out, "flags:       {}", s.flags);
    let _ = writeln!(
        out,
        "provides:    {}",
        if s.provides.is_empty() {
            "-".into()
        } else {
            s.provides.join(", ")
        }
    );
    let _ = writeln!(
        out,
        "depends on:  {}",
        if s.dependencies.is_empty() {
            "-".into()
        } else {
            s.dependencies.join(", ")
        }
    );
    let _ = writeln!(out, "priority:    {}", s.priority);
    if let Some(u) = crate::modules::memory_of(r, name) {
        let limit = if u.limit == crate::mm::account::UNLIMITED {
            String::from("no limit")
        } else {
            format!("limit {} bytes", u.limit)
        };
        let _ = writeln!(
            out,
            "memory:      {} bytes in use, peak {}, {} failed allocations, {limit}",
            u.in_use, u.peak, u.failures
        );
    }
    let _ = writeln!(out, "faults:      {}", m.faults);
    if let Some(e) = &s.last_error {
        let _ = writeln!(out, "last error:  {e}");
    }
    match r.params(name) {
        Ok(list) => {
            for p in list {
                let _ = writeln!(out, "param:       {}", param_line(&p));
            }
        }
        Err(e) => {
            let _ = writeln!(out, "params:      error: {e}");
        }
    }
    let _ = writeln!(
        out,
        "events:      {} handled, {} ignored, {} failed, {} skipped",
        m.events_handled, m.events_ignored, m.events_failed, m.events_skipped
    );
    let _ = writeln!(
        out,
        "requests:    {} served, {} failed",
        m.requests_served, m.requests_failed
    );
    let _ = write!(
        out,
        "in handlers: {} us",
        time::cycles_to_ns(m.handler_time) / 1000
    );
    Ok(out)
}

pub(super) fn params(r: &Registry, name: &str) -> Result<String, String> {
    let list = r.params(name).map_err(|e| e.to_string())?;
    if list.is_empty() {
        return Ok(format!("{name} has no parameters"));
    }
    Ok(list
        .iter()
        .map(|p| format!("{name}.{}", param_line(p)))
        .collect::<Vec<_>>()
        .join("\n"))
}

pub(super) fn threads() -> String {
    let list = thread::list();
    // Columns as wide as their longest entry, so long names keep them aligned.
    let name_w = list.iter().map(|t| t.name.len()).max().unwrap_or(0).max(4);
    let owner_w = list
        .iter()
        .map(|t| t.owner.as_deref().map_or(1, str::len))
        .max()
        .unwrap_or(0)
        .max(5);
    let mut out = format!(
        "{:>4} {:<name_w$} {:<9} {:<owner_w$} {:>10} {:>9}\n",
        "ID", "NAME", "STATE", "OWNER", "RUN_MS", "SWITCHES"
    );
    for t in list {
        let _ = writeln!(
            out,
            "{:>4} {:<name_w$} {:<9} {:<owner_w$} {:>10} {:>9}",
            t.id,
            t.name,
            format!("{:?}", t.state).to_lowercase(),
            t.owner.as_deref().unwrap_or("-"),
            t.run_ns / 1_000_000,
            t.switches
        );
    }
    out.trim_end().to_string()
}

pub(super) fn cpus() -> String {
    let stats = thread::scheduler().map(|s| s.stats());
    let mut out = format!(
        "{:>3} {:<8} {:>7} {:>7} {:>8} {:>9} {:>8}\n",
        "CPU", "STATE", "APIC_ID", "QUEUED", "RUNNING", "SWITCHES", "TICKS"
    );
    for cpu in 0..smp::cpu_count().min(MAX_CPUS) {
        let c = stats.as_ref().and_then(|s| s.cpus.get(cpu));
        let running = c
            .and_then(|c| c.running)
            .map_or(String::from("-"), |t| t.to_string());
        let _ = writeln!(
            out,
            "{:>3} {:<8} {:>7} {:>7} {:>8} {:>9} {:>8}",
            cpu,
            if smp::is_online(cpu) {
                "online"
            } else {
                "offline"
            },
            smp::apic_id(cpu),
            c.map_or(0, |c| c.queued),
            running,
            c.map_or(0, |c| c.switches),
            c.map_or(0, |c| c.ticks)
        );
    }
    out.trim_end().to_string()
}

pub(super) fn mem() -> String {
    let h = mm::heap::stats();
    let f = mm::frame::stats();
    let (available, total) = mm::pressure::snapshot();
    let level = mm::pressure::current().map_or(String::from("none"), |l| format!("{l:?}"));
    let kept = if f.kept > 0 {
        format!(", {} more kept for the initrd", f.kept)
    } else {
        String::new()
    };
    format!(
        "heap:     {} KiB mapped, {} KiB used, {} KiB free, peak {} KiB, grew {} times, {} failed allocations\n\
         frames:   {} free of {} ({} MiB of {} MiB){kept}\n\
         pressure: {level} ({} MiB of {} MiB available)\n\
         heap use: {} bytes",
        h.size >> 10,
        h.used >> 10,
        h.free >> 10,
        h.peak >> 10,
        h.grows,
        h.failures,
        f.free,
        f.total,
        (f.free * 4) >> 10,
        (f.total * 4) >> 10,
        available >> 20,
        total >> 20,
        h.used
    )
}

pub(super) fn audit(r: &Registry, caller: Caller) -> Result<String, String> {
    let entries = r.audit_log(caller).map_err(|e| e.to_string())?;
    if entries.is_empty() {
        return Ok(String::from("no privileged operations yet"));
    }
    let mut out: Vec<String> = entries.iter().map(ToString::to_string).collect();
    let dropped = r.audit_dropped();
    if dropped > 0 {
        out.insert(0, format!("({dropped} older entries dropped)"));
    }
    Ok(out.join("\n"))
}

pub(super) fn health(r: &Registry) -> String {
    r.list()
        .iter()
        .map(|m| {
            format!(
                "{:<16} {:<10} {}{}",
                m.name,
                m.state.to_string(),
                m.health,
                if m.held { " (held)" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The registry's metrics plus the kernel's per-module heap counters, in
/// the Prometheus text format.
pub(super) fn metrics(r: &Registry) -> String {
    let mut out = r.render_metrics();
    let modules = r.list();
    let families: [MemoryFamily; 3] = [
        (
            "helix_module_memory_bytes",
            "gauge",
            "Heap bytes the module holds.",
            |u| u.in_use,
        ),
        (
            "helix_module_memory_peak_bytes",
            "gauge",
            "Most heap bytes the module held at once.",
            |u| u.peak,
        ),
        (
            "helix_module_alloc_failures_total",
            "counter",
            "Allocations of the module that failed (its limit, or no memory).",
            |u| u.failures,
        ),
    ];
    for (name, kind, help, value) in families {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for m in &modules {
            let u = crate::mm::account::usage(crate::modules::owner_of(m.id));
            let _ = writeln!(out, "{name}{{module=\"{}\"}} {}", m.name, value(&u));
        }
    }
    out
}
