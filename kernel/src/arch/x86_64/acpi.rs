//! ACPI discovery: the CPUs and I/O APIC listed in the MADT.
//!
//! The `acpi` crate parses the tables; it is given an identity "mapping"
//! because the boot page tables map the first 4 GiB at offset 0, where
//! firmware (and QEMU) put the RSDP and the tables. The result is copied
//! into plain data ([`Platform`]) so nothing keeps pointers into firmware
//! memory. Where the RSDP is comes from the loader: the start-up code
//! passes it to [`init`] once, and nothing else can set it.

use super::paging::PAGE_SIZE;
use super::percpu::MAX_CPUS;
use acpi::madt::{Madt, MadtEntry};
use acpi::{AcpiHandler, AcpiTables, PhysicalMapping};
use core::fmt;
use core::ptr::NonNull;
use heapless::Vec;
use spin::Once;

static PLATFORM: Once<Result<Platform, AcpiDiscoveryError>> = Once::new();
/// The RSDP the loader reported (`None` inside: it reported none), set
/// once by [`init`].
static RSDP: Once<Option<u64>> = Once::new();

/// Records where the loader put the RSDP (`None`: it reported none), for
/// [`platform`] and the power-off code. Only the first call counts.
///
/// # Safety
/// `rsdp` must be the RSDP address the loader reported (the PVH start
/// info's), or `None`: the ACPI code reads the tables it leads to, and
/// trusts it to point at firmware tables, not at memory whose reading has
/// side effects.
pub unsafe fn init(rsdp: Option<u64>) {
    RSDP.call_once(|| rsdp);
}

/// The MADT contents, read once (from the RSDP given to [`init`]) and
/// kept. Before [`init`] there is nothing to read, and nothing is kept.
pub fn platform() -> Result<&'static Platform, AcpiDiscoveryError> {
    let rsdp = *RSDP.get().ok_or(AcpiDiscoveryError::NoRsdp)?;
    PLATFORM
        .call_once(|| discover(rsdp))
        .as_ref()
        .map_err(|e| *e)
}

/// The ACPI tables reachable from the RSDP the loader reported, or `None`
/// without one (or with one out of the identity map's reach).
///
/// The address is not a parameter on purpose: `AcpiTables::from_rsdp`
/// trusts it, so only the loader's word (given to [`init`]) is used.
pub(super) fn tables() -> Option<AcpiTables<IdentityMap>> {
    let rsdp = (*RSDP.get()?)?;
    if rsdp as usize >= IDENTITY_LIMIT || rsdp < PAGE_SIZE {
        return None;
    }
    // SAFETY: `rsdp` is the RSDP address from the PVH start info (the
    // contract of `init`, the only writer of `RSDP`), which the loader
    // (QEMU) fills with where it put the RSDP; it lies in the
    // identity-mapped first 4 GiB, past the unmapped page 0 (checked
    // above). The crate checks the signature and checksum before trusting
    // the contents or following any pointer in it, and every region it
    // maps goes through `IdentityMap`, which refuses what is out of reach.
    unsafe { AcpiTables::from_rsdp(IdentityMap, rsdp as usize) }.ok()
}

/// The highest physical address the identity map covers.
const IDENTITY_LIMIT: usize = 4 << 30;

#[derive(Clone, Copy, Debug)]
pub(super) struct IdentityMap;

impl AcpiHandler for IdentityMap {
    /// The region at its identity-mapped address. Panics (a reported boot
    /// failure, not a wild read) if any of it lies outside the identity
    /// map: in page 0, which is unmapped, or at or above 4 GiB.
    unsafe fn map_physical_region<T>(
        &self,
        physical_address: usize,
        size: usize,
    ) -> PhysicalMapping<Self, T> {
        let reachable = physical_address >= PAGE_SIZE as usize
            && physical_address
                .checked_add(size)
                .is_some_and(|end| end <= IDENTITY_LIMIT);
        assert!(
            reachable,
            "ACPI table at {physical_address:#x} (+{size:#x}) is outside the identity map"
        );
        // Not null: at least one page above 0 (checked above).
        let virt = NonNull::new(physical_address as *mut T).unwrap_or(NonNull::dangling());
        // SAFETY: the caller (the acpi crate) guarantees the region holds a
        // `T`; it lies inside the identity-mapped part of physical memory
        // (checked above), where a physical address is also the virtual
        // one, and ACPI table memory is not frame-allocator RAM, so nothing
        // writes it while the crate reads it.
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

/// Reads the MADT reachable from the loader's RSDP (`rsdp`, as given to
/// [`init`]: [`tables`] reads it there itself).
fn discover(rsdp: Option<u64>) -> Result<Platform, AcpiDiscoveryError> {
    let rsdp = rsdp.ok_or(AcpiDiscoveryError::NoRsdp)?;
    if rsdp as usize >= IDENTITY_LIMIT {
        return Err(AcpiDiscoveryError::RsdpOutOfReach(rsdp));
    }
    let tables = tables().ok_or(AcpiDiscoveryError::Tables)?;
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
