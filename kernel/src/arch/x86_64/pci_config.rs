//! PCI configuration-space access for `helix_pci`: ECAM, the memory-mapped
//! window the ACPI MCFG table describes (q35: 0xb000_0000, buses 0-255),
//! mapped uncached; or, on a machine without MCFG, the legacy mechanism
//! through ports 0xCF8 (address) and 0xCFC (data), which reaches the first
//! 256 bytes of each function only.
//!
//! The `acpi` crate's `PciConfigRegions` needs its `allocator_api`
//! feature (nightly), so the MCFG entries are read from its `Mcfg` table
//! directly. Only segment 0 is used; the window must lie in the identity
//! map (below 4 GiB), else the ports are used.

use super::acpi;
use super::cpu::without_interrupts;
use super::paging;
use ::acpi::mcfg::Mcfg;
use core::ops::RangeInclusive;
use helix_pci::{Bdf, ConfigSpace};
use spin::Mutex;
use x86_64::instructions::port::Port;

/// The highest address the identity map covers.
const IDENTITY_LIMIT: u64 = 4 << 30;

/// An ECAM window: physical (= identity-mapped virtual) base of bus 0's
/// space, and the buses it decodes.
#[derive(Debug, Clone)]
pub struct Ecam {
    base: u64,
    buses: RangeInclusive<u8>,
}

impl Ecam {
    /// Where bus 0's configuration space starts.
    pub fn base(&self) -> u64 {
        self.base
    }

    /// The buses the window decodes.
    pub fn buses(&self) -> RangeInclusive<u8> {
        self.buses.clone()
    }

    /// The register's address, or `None` outside the window.
    fn register(&self, addr: Bdf, offset: u16) -> Option<*mut u32> {
        if !self.buses.contains(&addr.bus()) || offset >= 4096 {
            return None;
        }
        Some((self.base + addr.ecam_offset() + u64::from(offset & !3)) as *mut u32)
    }
}

impl ConfigSpace for Ecam {
    fn read32(&self, addr: Bdf, offset: u16) -> u32 {
        match self.register(addr, offset) {
            // SAFETY: an `Ecam` is only made by `ecam()`, from the MCFG's
            // window, which it checked lies in the identity map and mapped
            // uncached; `register` keeps the address inside the window and
            // 4-aligned. It is device memory, not Rust memory: an aligned
            // 32-bit read is a configuration read, with no effect on
            // memory the kernel owns.
            Some(p) => unsafe { p.read_volatile() },
            None => u32::MAX,
        }
    }

    fn write32(&self, addr: Bdf, offset: u16, value: u32) {
        if let Some(p) = self.register(addr, offset) {
            // SAFETY: as for `read32`: an aligned register inside the
            // uncached, identity-mapped ECAM window, not Rust memory. What
            // the write does to the device is the caller's concern
            // (enumeration restores what it probes).
            unsafe { p.write_volatile(value) }
        }
    }
}

/// The MCFG's segment-0 ECAM window, mapped uncached, or `None` without
/// an MCFG, without a segment-0 entry, or with one outside the identity
/// map. Runs at boot before the APs start (see
/// [`paging::set_identity_uncached`]).
pub fn ecam() -> Option<Ecam> {
    let tables = acpi::tables()?;
    let mcfg = tables.find_table::<Mcfg>().ok()?;
    let entry = *mcfg
        .get()
        .entries()
        .iter()
        .find(|e| e.pci_segment_group == 0)?;
    let (base, start, end) = (
        entry.base_address,
        entry.bus_number_start,
        entry.bus_number_end,
    );
    let from = base.checked_add(u64::from(start) << 20)?;
    let to = base.checked_add((u64::from(end) + 1) << 20)?;
    if start > end || from < paging::PAGE_SIZE || to > IDENTITY_LIMIT {
        return None;
    }
    paging::set_identity_uncached(from, to).ok()?;
    Some(Ecam {
        base,
        buses: start..=end,
    })
}

/// The 0xCF8/0xCFC mechanism: one address write and one data access, under
/// a lock with interrupts off so the pair is never split.
#[derive(Debug)]
pub struct Ports {
    lock: Mutex<()>,
}

/// The legacy mechanism's ports.
const ADDRESS_PORT: u16 = 0xcf8;
const DATA_PORT: u16 = 0xcfc;

impl Ports {
    /// The mechanism (every machine with a PCI host bridge has it).
    pub const fn new() -> Self {
        Self {
            lock: Mutex::new(()),
        }
    }

    /// Runs `f` with the address register pointing at the register, or
    /// returns `None` for an offset past 255 (out of this mechanism's reach).
    fn with_address<R>(
        &self,
        addr: Bdf,
        offset: u16,
        f: impl FnOnce(&mut Port<u32>) -> R,
    ) -> Option<R> {
        if offset >= 256 {
            return None;
        }
        let address = 1 << 31
            | u32::from(addr.bus()) << 16
            | u32::from(addr.device()) << 11
            | u32::from(addr.function()) << 8
            | u32::from(offset & 0xfc);
        Some(without_interrupts(|| {
            let _guard = self.lock.lock();
            // SAFETY: 0xCF8 is the host bridge's configuration address
            // register: writing it selects a register and has no other
            // effect; the lock keeps the address and data accesses paired.
            unsafe { Port::<u32>::new(ADDRESS_PORT).write(address) };
            f(&mut Port::new(DATA_PORT))
        }))
    }
}

impl Default for Ports {
    fn default() -> Self {
        Self::new()
    }
}

impl ConfigSpace for Ports {
    fn read32(&self, addr: Bdf, offset: u16) -> u32 {
        // SAFETY: reading 0xCFC, with 0xCF8 just set under the lock, is a
        // configuration read of the selected register; no memory is touched.
        self.with_address(addr, offset, |data| unsafe { data.read() })
            .unwrap_or(u32::MAX)
    }

    fn write32(&self, addr: Bdf, offset: u16, value: u32) {
        // SAFETY: writing 0xCFC, with 0xCF8 just set under the lock, is a
        // configuration write of the selected register; no memory is
        // touched (the device's reaction is the caller's concern, as with
        // ECAM).
        self.with_address(addr, offset, |data| unsafe { data.write(value) });
    }
}

/// How the kernel reaches configuration space.
#[derive(Debug)]
pub enum Access {
    /// ECAM from the MCFG.
    Ecam(Ecam),
    /// Ports 0xCF8/0xCFC (no usable MCFG).
    Ports(Ports),
}

impl Access {
    /// ECAM if the MCFG gives a usable window, else the ports.
    pub fn discover() -> Self {
        ecam().map_or_else(|| Self::Ports(Ports::new()), Self::Ecam)
    }

    /// The buses to start enumerating from: the window's first bus, or 0.
    pub fn root_bus(&self) -> u8 {
        match self {
            Self::Ecam(e) => *e.buses.start(),
            Self::Ports(_) => 0,
        }
    }
}

impl core::fmt::Display for Access {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Ecam(e) => write!(
                f,
                "ECAM at {:#x} (buses {}-{})",
                e.base,
                e.buses.start(),
                e.buses.end()
            ),
            Self::Ports(_) => f.write_str("ports 0xcf8/0xcfc"),
        }
    }
}

impl ConfigSpace for Access {
    fn read32(&self, addr: Bdf, offset: u16) -> u32 {
        match self {
            Self::Ecam(e) => e.read32(addr, offset),
            Self::Ports(p) => p.read32(addr, offset),
        }
    }

    fn write32(&self, addr: Bdf, offset: u16, value: u32) {
        match self {
            Self::Ecam(e) => e.write32(addr, offset, value),
            Self::Ports(p) => p.write32(addr, offset, value),
        }
    }
}
