//! ACPI discovery: the CPUs and I/O APIC listed in the MADT.
//!
//! The `acpi` crate parses the tables; it is given an identity "mapping"
//! because the boot page tables map the first 4 GiB at offset 0, where
//! firmware (and QEMU) put the RSDP and the tables. The result is copied
//! into plain data ([`Platform`]) so nothing keeps pointers into firmware
//! memory.

use super::percpu::MAX_CPUS;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use core::fmt;
use core::ptr::NonNull;
use heapless::Vec;
use spin::Once;

static PLATFORM: Once<Result<Platform, AcpiDiscoveryError>> = Once::new();

/// The MADT contents, read once (from the RSDP at `rsdp`) and kept.
pub fn platform(rsdp: Option<u64>) -> Result<&'static Platform, AcpiDiscoveryError> {
    PLATFORM
        .call_once(|| discover(rsdp))
        .as_ref()
        .map_err(|e| *e)
}

/// The highest physical address the identity map covers.
const IDENTITY_LIMIT: usize = 4 << 30;

#[derive(Clone, Copy, Debug)]
pub(super) struct IdentityMap;

impl AcpiHandler for IdentityMap {
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        // The tables sit in the identity-mapped first 4 GiB; a table the
        // firmware put elsewhere would be unreadable, and `discover`
        // refuses the RSDP before the crate could follow such a pointer.
        let virt = NonNull::new(physical_address as *mut T).unwrap_or(NonNull::dangling());
        // SAFETY: the caller (the acpi crate) guarantees the region holds a
        // `T`; physical and virtual addresses are equal below 4 GiB.
        unsafe { PhysicalMapping::new(physical_address, virt, size, size, *self) }
    }

    fn unmap_physical_region<T>(_region: &PhysicalMapping<Self, T>) {}
}

/// One processor from the MADT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuEntry {
    /// Its local APIC id.
    pub apic_id: u8,
    /// Whether firmware marks it usable (enabled or online-capable).
    pub usable: bool,
}

/// An ISA IRQ that firmware routes to a different global interrupt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IrqOverride {
    /// ISA IRQ number.
    pub irq: u8,
    /// Global system interrupt it arrives on.
    pub gsi: u32,
    /// MPS INTI flags (polarity and trigger mode).
    pub flags: u16,
}

/// What the MADT says about the machine.
#[derive(Debug, Clone, Default)]
pub struct Platform {
    /// Processors in MADT order (the BSP is usually first).
    pub cpus: Vec<CpuEntry, MAX_CPUS>,
    /// Physical address of the first I/O APIC, and its first GSI.
    pub ioapic: Option<(u64, u32)>,
    /// ISA IRQ overrides.
    pub overrides: Vec<IrqOverride, 16>,
    /// Processors beyond [`MAX_CPUS`] that were ignored.
    pub ignored_cpus: usize,
}

impl Platform {
    /// The GSI an ISA IRQ arrives on, and its INTI flags.
    pub fn isa_irq(&self, irq: u8) -> (u32, u16) {
        self.overrides
            .iter()
            .find(|o| o.irq == irq)
            .map_or((u32::from(irq), 0), |o| (o.gsi, o.flags))
    }
}

/// Why ACPI discovery failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcpiDiscoveryError {
    /// The loader gave no RSDP.
    NoRsdp,
    /// The RSDP lies outside the identity-mapped first 4 GiB.
    RsdpOutOfReach(u64),
    /// The tables are malformed or the MADT is missing.
    Tables,
}

impl fmt::Display for AcpiDiscoveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoRsdp => f.write_str("no ACPI RSDP from the loader"),
            Self::RsdpOutOfReach(a) => write!(f, "ACPI RSDP at {a:#x} is above 4 GiB"),
            Self::Tables => f.write_str("ACPI tables are malformed or have no MADT"),
        }
    }
}

/// Reads the MADT reachable from the RSDP at `rsdp`.
pub fn discover(rsdp: Option<u64>) -> Result<Platform, AcpiDiscoveryError> {
    let rsdp = rsdp.ok_or(AcpiDiscoveryError::NoRsdp)?;
    if rsdp as usize >= IDENTITY_LIMIT {
        return Err(AcpiDiscoveryError::RsdpOutOfReach(rsdp));
    }
    // SAFETY: the loader reported an RSDP at this address; the crate
    // validates its signature and checksum before following any pointer.
    let tables = unsafe { AcpiTables::from_rsdp(IdentityMap, rsdp as usize) }
        .map_err(|_| AcpiDiscoveryError::Tables)?;
    let madt = tables
        .find_table::<Madt>()
        .map_err(|_| AcpiDiscoveryError::Tables)?;
    let mut p = Platform::default();
    for entry in madt.get().entries() {
        match entry {
            MadtEntry::LocalApic(e) => {
                let flags = e.flags;
                let cpu = CpuEntry {
                    apic_id: e.apic_id,
                    usable: flags & 0b11 != 0,
                };
                if p.cpus.push(cpu).is_err() {
                    p.ignored_cpus += 1;
                }
            }
            MadtEntry::IoApic(e) if p.ioapic.is_none() => {
                p.ioapic = Some((u64::from(e.io_apic_address), e.global_system_interrupt_base));
            }
            MadtEntry::InterruptSourceOverride(e) => {
                let _ = p.overrides.push(IrqOverride {
                    irq: e.irq,
                    gsi: e.global_system_interrupt,
                    flags: e.flags,
                });
            }
            _ => {}
        }
    }
    Ok(p)
}
