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
