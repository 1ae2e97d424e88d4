//! The capability list: walked from the header's capability pointer with
//! a guard against loops and bad pointers, and the three formats drivers
//! need decoded: MSI, MSI-X, and the virtio vendor capabilities (virtio
//! 1.x, "Virtio Structure PCI Capabilities").

use crate::{Bdf, ConfigSpace, reg};
use alloc::vec::Vec;
use core::fmt;

/// At most this many capabilities are read: a list that is longer loops.
pub const MAX_CAPABILITIES: usize = 48;

/// Capability ids.
const ID_MSI: u8 = 0x05;
const ID_VENDOR: u8 = 0x09;
const ID_MSIX: u8 = 0x11;
/// The virtio vendor id: its vendor capabilities have the virtio layout.
const VIRTIO_VENDOR: u16 = 0x1af4;

/// One entry of a function's capability list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Capability {
    /// Message Signalled Interrupts.
    Msi(Msi),
    /// MSI-X.
    MsiX(MsiX),
    /// A virtio structure (a vendor capability of a virtio device).
    Virtio(VirtioCap),
    /// Any other capability: its id and where it is.
    Other {
        /// The capability id (0x01 power management, 0x10 PCI Express, ...).
        id: u8,
        /// Its offset in configuration space.
        offset: u8,
    },
}

/// The MSI capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Msi {
    /// Its offset in configuration space.
    pub offset: u8,
    /// The message address may be 64 bits wide.
    pub address_64: bool,
    /// How many vectors the function can ask for (1, 2, 4, ... 32).
    pub vectors: u8,
    /// Per-vector masking is supported.
    pub maskable: bool,
    /// MSI is enabled now.
    pub enabled: bool,
}

/// The MSI-X capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MsiX {
    /// Its offset in configuration space.
    pub offset: u8,
    /// Entries in the table (1-2048).
    pub table_size: u16,
    /// The BAR that holds the table.
    pub table_bar: u8,
    /// The table's offset inside that BAR.
    pub table_offset: u32,
    /// The BAR that holds the pending-bit array.
    pub pba_bar: u8,
    /// The pending-bit array's offset inside that BAR.
    pub pba_offset: u32,
    /// MSI-X is enabled now.
    pub enabled: bool,
}

/// Which virtio structure a virtio capability locates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtioCfg {
    /// Common configuration (type 1).
    Common,
    /// Notifications (type 2).
    Notify,
    /// The ISR status (type 3).
    Isr,
    /// Device-specific configuration (type 4).
    Device,
    /// The PCI configuration access window (type 5).
    PciCfg,
    /// Any other type (shared memory, vendor data, future ones).
    Other(u8),
}

impl VirtioCfg {
    fn from_raw(t: u8) -> Self {
        match t {
            1 => Self::Common,
            2 => Self::Notify,
            3 => Self::Isr,
            4 => Self::Device,
            5 => Self::PciCfg,
            t => Self::Other(t),
        }
    }
}

impl fmt::Display for VirtioCfg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Common => f.write_str("common"),
            Self::Notify => f.write_str("notify"),
            Self::Isr => f.write_str("isr"),
            Self::Device => f.write_str("device"),
            Self::PciCfg => f.write_str("pci-cfg"),
            Self::Other(t) => write!(f, "type {t}"),
        }
    }
}

/// A virtio structure: which one, and where in which BAR.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtioCap {
    /// Its offset in configuration space.
    pub offset: u8,
    /// The structure it locates.
    pub cfg: VirtioCfg,
    /// The BAR it lives in.
    pub bar: u8,
    /// Its offset inside the BAR.
    pub bar_offset: u32,
    /// Its length in bytes.
    pub length: u32,
    /// Notify only: the multiplier of a queue's notify offset.
    pub notify_off_multiplier: Option<u32>,
}

/// Reads the byte at `offset`.
fn read8(cs: &impl ConfigSpace, addr: Bdf, offset: u16) -> u8 {
    (cs.read32(addr, offset & !3) >> ((offset & 3) * 8)) as u8
}

/// Walks the capability list of the function at `addr` (vendor `vendor`;
/// header type 0 or 1, whose pointer is at 0x34). Returns the entries and
/// whether the walk stopped at the guard: more than [`MAX_CAPABILITIES`]
/// entries, or a pointer into the header (below 0x40). The low two bits of
/// a pointer are reserved and masked off.
pub(crate) fn walk(cs: &impl ConfigSpace, addr: Bdf, vendor: u16) -> (Vec<Capability>, bool) {
    let mut caps = Vec::new();
    if cs.read32(addr, reg::COMMAND) >> 16 & reg::STATUS_CAP_LIST == 0 {
        return (caps, false);
    }
    let mut ptr = read8(cs, addr, reg::CAP_POINTER) & !3;
    while ptr != 0 {
        if ptr < 0x40 || caps.len() == MAX_CAPABILITIES {
            return (caps, true);
        }
        let head = cs.read32(addr, u16::from(ptr));
        let id = head as u8;
        caps.push(decode(cs, addr, vendor, ptr, id, head));
        ptr = (head >> 8) as u8 & !3;
    }
    (caps, false)
}

/// Decodes the capability `id` at `offset` whose first dword is `head`.
fn decode(
    cs: &impl ConfigSpace,
    addr: Bdf,
    vendor: u16,
    offset: u8,
    id: u8,
    head: u32,
) -> Capability {
    let at = |rel: u16| cs.read32(addr, u16::from(offset) + rel);
    let control = (head >> 16) as u16;
    match id {
        ID_MSI => Capability::Msi(Msi {
            offset,
            address_64: control & (1 << 7) != 0,
            vectors: 1 << ((control >> 1) & 0b111).min(5),
            maskable: control & (1 << 8) != 0,
            enabled: control & 1 != 0,
        }),
        ID_MSIX => {
            let table = at(4);
            let pba = at(8);
            Capability::MsiX(MsiX {
                offset,
                table_size: (control & 0x7ff) + 1,
                table_bar: (table & 0b111) as u8,
                table_offset: table & !0b111,
                pba_bar: (pba & 0b111) as u8,
                pba_offset: pba & !0b111,
                enabled: control & (1 << 15) != 0,
            })
        }
        // The virtio layout: cap_len (byte 2) is at least 16.
        ID_VENDOR if vendor == VIRTIO_VENDOR && (head >> 16) as u8 >= 16 => {
            let cfg = VirtioCfg::from_raw((head >> 24) as u8);
            Capability::Virtio(VirtioCap {
                offset,
                cfg,
                bar: at(4) as u8,
                bar_offset: at(8),
                length: at(12),
                notify_off_multiplier: (cfg == VirtioCfg::Notify && (head >> 16) as u8 >= 20)
                    .then(|| at(16)),
            })
        }
        id => Capability::Other { id, offset },
    }
}

impl fmt::Display for Capability {
    /// Compact, for `lspci`: `MSI-X 3 vectors (table BAR1+0x0, PBA BAR1+0x800)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Msi(m) => write!(
                f,
                "MSI {} vector{}{}{}",
                m.vectors,
                if m.vectors == 1 { "" } else { "s" },
                if m.address_64 { ", 64-bit" } else { "" },
                if m.maskable { ", maskable" } else { "" }
            ),
            Self::MsiX(m) => write!(
                f,
                "MSI-X {} vector{} (table BAR{}+{:#x}, PBA BAR{}+{:#x})",
                m.table_size,
                if m.table_size == 1 { "" } else { "s" },
                m.table_bar,
                m.table_offset,
                m.pba_bar,
                m.pba_offset
            ),
            Self::Virtio(v) => write!(
                f,
                "virtio {} BAR{}+{:#x} len {:#x}",
                v.cfg, v.bar, v.bar_offset, v.length
            ),
            Self::Other { id, offset } => write!(f, "cap {id:#04x} at {offset:#04x}"),
        }
    }
}
