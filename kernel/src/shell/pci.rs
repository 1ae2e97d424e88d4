//! `lspci`: the PCI functions enumerated at boot, one line each
//! (`bb:dd.f vvvv:dddd class-name (cc.ss.pp) rev NN`), then, indented, the
//! module holding it (`driver: NAME`, `-` for none, as `lspci -k` shows
//! the kernel driver), its BARs and its capabilities.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use helix_pci::{Capability, Function};

/// The whole listing, led by how configuration space was reached.
pub fn lspci() -> String {
    let functions = crate::pci::devices();
    let mut out = format!(
        "{} PCI function{} through {}\n",
        functions.len(),
        if functions.len() == 1 { "" } else { "s" },
        crate::pci::access()
    );
    for f in functions {
        describe(&mut out, f);
    }
    out.truncate(out.trim_end().len());
    out
}

/// One function's lines.
fn describe(out: &mut String, f: &Function) {
    let _ = writeln!(
        out,
        "{} {:04x}:{:04x} {} ({:02x}.{:02x}.{:02x}) rev {:02x}",
        f.bdf,
        f.vendor,
        f.device,
        f.class_name(),
        f.class,
        f.subclass,
        f.prog_if,
        f.revision
    );
    let holder = crate::pci::holder(f.bdf);
    let _ = writeln!(out, "  driver: {}", holder.as_deref().unwrap_or("-"));
    for bar in &f.bars {
        let _ = writeln!(out, "  {bar}");
    }
    let mut virtio = Vec::new();
    let mut other = Vec::new();
    for cap in &f.capabilities {
        match cap {
            Capability::Virtio(v) => {
                virtio.push(format!("{}@BAR{}+{:#x}", v.cfg, v.bar, v.bar_offset));
            }
            Capability::Other { id, offset } => other.push(format!("{id:#04x}@{offset:#04x}")),
            cap => {
                let _ = writeln!(out, "  {cap}");
            }
        }
    }
    if !virtio.is_empty() {
        let _ = writeln!(out, "  virtio: {}", virtio.join(" "));
    }
    if !other.is_empty() {
        let _ = writeln!(out, "  other capabilities: {}", other.join(" "));
    }
    if f.capabilities_truncated {
        let _ = writeln!(
            out,
            "  (capability list cut short: it loops or points into the header)"
        );
    }
}
