//! The PCI functions of the machine, enumerated once at boot (through
//! ECAM from the ACPI MCFG table, or ports 0xCF8/0xCFC without one; see
//! `arch::x86_64::pci_config`) and kept as plain data for the console's
//! `lspci` and for binding drivers, with a record of which module holds
//! each function (docs/architecture.md §10).
//!
//! Enumeration maps the ECAM window uncached and flushes only the boot
//! CPU's TLB, so [`init`] runs before the application processors start
//! (`bring_up::run` calls it first); a kernel that never calls it
//! enumerates on the first [`devices`].

use crate::arch::x86_64::cpu::without_interrupts;
use crate::arch::x86_64::pci_config::Access;
use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use helix_modules::services::hw::HwError;
use helix_pci::{Bdf, Function};
use spin::{Mutex, Once};

/// How configuration space is reached, and what was found there.
struct Bus {
    access: Access,
    functions: Vec<Function>,
}

static BUS: Once<Bus> = Once::new();
/// The module holding each function (absent: none).
static HOLDERS: Mutex<BTreeMap<Bdf, String>> = Mutex::new(BTreeMap::new());

/// Enumerates PCI (once; later calls return the same list) and logs how
/// many functions were found and how. Call it before the APs start.
pub fn init() -> &'static [Function] {
    let bus = BUS.call_once(|| {
        let access = Access::discover();
        let root = access.root_bus();
        let functions = helix_pci::scan(&access, root..=root);
        log::info!("PCI: {} functions through {access}", functions.len());
        Bus { access, functions }
    });
    &bus.functions
}

/// Every present function, sorted by address (enumerating first if
/// [`init`] has not run).
pub fn devices() -> &'static [Function] {
    init()
}

/// The function at `bdf`, if present.
pub fn find(bdf: Bdf) -> Option<&'static Function> {
    devices().iter().find(|f| f.bdf == bdf)
}

/// How configuration space is reached (ECAM, or the ports), for the
/// console and for code that reads a function's registers again.
pub fn access() -> &'static Access {
    init();
    &BUS.get().unwrap_or_else(|| unreachable!("init ran")).access
}

/// Records that module `holder` holds the function at `bdf` (`None`: no
/// module does any more). The binding code calls it when it gives a
/// driver its device and when it takes it back.
pub fn set_holder(bdf: Bdf, holder: Option<String>) {
    without_interrupts(|| {
        let mut holders = HOLDERS.lock();
        match holder {
            Some(name) => holders.insert(bdf, name),
            None => holders.remove(&bdf),
        };
    });
}

/// The module holding the function at `bdf`, if any.
pub fn holder(bdf: Bdf) -> Option<String> {
    without_interrupts(|| HOLDERS.lock().get(&bdf).cloned())
}

/// The function at `bdf`, if `owner` holds it: what claiming one of its
/// resources (a BAR, an MSI-X entry, its INTx pin) first checks.
pub fn bound(owner: &str, bdf: Bdf) -> Result<&'static Function, HwError> {
    let held = without_interrupts(|| HOLDERS.lock().get(&bdf).is_some_and(|h| h == owner));
    find(bdf)
        .filter(|_| held)
        .ok_or_else(|| HwError::NotBound(alloc::format!("{bdf}")))
}

/// The functions `owner` holds, as `bus:dev.fn vendor:device` (for
/// `lsmod` and `modinfo`), read under one lock.
pub fn held_by(owner: &str) -> Vec<String> {
    let mine: Vec<Bdf> = without_interrupts(|| {
        HOLDERS
            .lock()
            .iter()
            .filter(|(_, h)| *h == owner)
            .map(|(bdf, _)| *bdf)
            .collect()
    });
    devices()
        .iter()
        .filter(|f| mine.contains(&f.bdf))
        .map(|f| alloc::format!("{} {:04x}:{:04x}", f.bdf, f.vendor, f.device))
        .collect()
}

/// Command register bits: I/O space, memory space, bus master.
const COMMAND_IO: u32 = 1;
const COMMAND_MEMORY: u32 = 1 << 1;
const COMMAND_BUS_MASTER: u32 = 1 << 2;

/// Sets or clears `bits` in the function's command register (the status
/// half is written as zeroes, which clears nothing: its bits are
/// write-one-to-clear).
fn command(bdf: Bdf, bits: u32, on: bool) {
    use helix_pci::ConfigSpace;
    let cs = access();
    let old = cs.read32(bdf, helix_pci::reg::COMMAND) & 0xffff;
    let new = if on { old | bits } else { old & !bits };
    cs.write32(bdf, helix_pci::reg::COMMAND, new);
}

/// Binds to `owner` every function matching one of `ids` that no module
/// holds (turning on its I/O, memory and bus-master decoding), and returns
/// every matching function `owner` holds: the hardware service's
/// `bind_pci` (docs/architecture.md §10).
pub fn bind(owner: &str, ids: &[helix_pci::DeviceId]) -> Vec<Function> {
    let mut bound = Vec::new();
    for f in devices() {
        if !ids.iter().any(|id| id.matches(f)) {
            continue;
        }
        let mine = without_interrupts(|| {
            let mut holders = HOLDERS.lock();
            match holders.get(&f.bdf) {
                Some(h) => h == owner,
                None => {
                    holders.insert(f.bdf, String::from(owner));
                    true
                }
            }
        });
        if mine {
            command(
                f.bdf,
                COMMAND_IO | COMMAND_MEMORY | COMMAND_BUS_MASTER,
                true,
            );
            bound.push(f.clone());
        }
    }
    bound
}

/// Takes back every function `owner` holds, bus mastering off first so
/// the device stops reaching memory; returns how many.
pub fn release(owner: &str) -> usize {
    let mine: Vec<Bdf> = without_interrupts(|| {
        let mut holders = HOLDERS.lock();
        let mine: Vec<Bdf> = holders
            .iter()
            .filter(|(_, h)| *h == owner)
            .map(|(b, _)| *b)
            .collect();
        for b in &mine {
            holders.remove(b);
        }
        mine
    });
    for &bdf in &mine {
        command(bdf, COMMAND_BUS_MASTER, false);
    }
    mine.len()
}

/// The module holding a function whose I/O BAR overlaps ports
/// `base..base + count`, if it is not `owner`: a driver claims only the
/// ports of its own devices (or of no device).
pub fn io_holder_other_than(owner: &str, base: u16, count: u16) -> Option<String> {
    let (start, end) = (u64::from(base), u64::from(base) + u64::from(count));
    devices().iter().find_map(|f| {
        let overlaps = f
            .bars
            .iter()
            .any(|b| b.kind == helix_pci::BarKind::Io && b.base < end && start < b.base + b.size);
        let holder = holder(f.bdf);
        (overlaps && holder.as_deref() != Some(owner))
            .then(|| holder.unwrap_or_else(|| alloc::format!("PCI {} (not bound to it)", f.bdf)))
    })
}
