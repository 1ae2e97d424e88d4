//! The lsmod-style module table ([`format_table`]): one row per module
//! with its version, API generation, state, origin, flags, capabilities,
//! dependencies and devices, a failed module's reason and why a module
//! was not started.

use super::SKIPPED;
use crate::kprintln;
use alloc::string::String;
use alloc::vec::Vec;
use helix_modules::{ModuleFlags, ModuleStatus, Registry};

/// Flag names as the lsmod column shows them (`ESSENTIAL | SCHEDULER`, `-` for none).
pub fn flag_list(flags: ModuleFlags) -> String {
    // `ESSENTIAL | SCHEDULER`, `-` for none: the flags' own Display.
    alloc::format!("{flags}")
}

fn or_dash(list: &[String]) -> String {
    if list.is_empty() {
        String::from("-")
    } else {
        list.join(",")
    }
}

/// Prints [`format_table`].
pub fn print_table(r: &Registry) {
    kprintln!("{}", format_table(r));
}

/// One row per module: name, version, API generation (v1 or v2), state,
/// flags, provides and dependencies, plus the reason for any failure.
pub fn format_table(r: &Registry) -> String {
    let mut out = alloc::format!(
        "{:<16} {:<8} {:<3} {:<11} {:<12} {:<24} {:<16} DEPENDS ON",
        "MODULE",
        "VERSION",
        "API",
        "ORIGIN",
        "STATE",
        "FLAGS",
        "PROVIDES"
    );
    for m in r.list() {
        out.push('\n');
        format_row(&mut out, &m);
        // The PCI devices a driver holds, under its row.
        let held = crate::pci::held_by(&m.name);
        if !held.is_empty() {
            out.push_str("\n  devices: ");
            out.push_str(&held.join(", "));
        }
    }
    out
}

fn format_row(out: &mut String, m: &ModuleStatus) {
    let version = alloc::format!("{}", m.version);
    // Built into the kernel image, or loaded from a binary (its image size).
    let origin = match crate::loadable::info(&m.name) {
        Some(l) => alloc::format!("loaded:{}K", l.image_bytes.div_ceil(1024)),
        None => String::from("built-in"),
    };
    let state = if m.standby_for.is_some() {
        String::from("standby")
    } else {
        alloc::format!("{}{}", m.state, if m.held { " (held)" } else { "" })
    };
    let _ = core::fmt::write(
        out,
        format_args!(
            "{:<16} {:<8} {:<3} {:<11} {:<12} {:<24} {:<16} {}",
            m.name,
            version,
            alloc::format!("v{}", m.api),
            origin,
            state,
            flag_list(m.flags),
            or_dash(&m.provides),
            or_dash(&m.dependencies)
        ),
    );
    if m.state == helix_modules::ModuleState::Failed
        && let Some(e) = &m.last_error
    {
        // The first line: an exception's register dump is for modinfo.
        let reason = alloc::format!("{e}");
        let first = reason.lines().next().unwrap_or("");
        let more = if reason.contains('\n') {
            " (modinfo has the rest)"
        } else {
            ""
        };
        let _ = core::fmt::write(out, format_args!("\n    reason: {first}{more}"));
    }
    if let Some(holder) = &m.standby_for {
        let _ = core::fmt::write(
            out,
            format_args!(
                "\n    standby: {holder} holds the {} role",
                m.flags
                    .intersection(ModuleFlags::EXCLUSIVE)
                    .iter_names()
                    .map(|(n, _)| n)
                    .collect::<Vec<_>>()
                    .join(",")
            ),
        );
        return;
    }
    if matches!(
        m.state,
        helix_modules::ModuleState::Registered | helix_modules::ModuleState::Initialized
    ) && let Some((_, why)) = SKIPPED.lock().iter().find(|(n, _)| *n == m.name)
    {
        let _ = core::fmt::write(out, format_args!("\n    skipped: {why}"));
    }
}
