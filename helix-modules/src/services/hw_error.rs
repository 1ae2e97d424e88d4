//! [`HwError`]: why the hardware service refused a driver's request, for
//! every part of it (ports, IRQ lines, PCI devices, DMA, MMIO, MSI-X).

use alloc::string::String;
use core::fmt;

/// Why a hardware request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HwError {
    /// Only modules flagged DRIVER may touch hardware.
    NotADriver(String),
    /// The kernel offers no hardware (e.g. a host test registry).
    Unavailable,
    /// Some of the ports are claimed by `owner`.
    PortsInUse {
        /// First port asked for.
        base: u16,
        /// Number of ports asked for.
        count: u16,
        /// Who holds them.
        owner: String,
    },
    /// The IRQ line is claimed by `owner`.
    IrqInUse {
        /// The line.
        irq: u8,
        /// Who holds it.
        owner: String,
    },
    /// The IRQ line does not exist or cannot be routed.
    NoSuchIrq(u8),
    /// A port range that is empty or runs past port 0xffff.
    BadRange {
        /// First port asked for.
        base: u16,
        /// Number of ports asked for.
        count: u16,
    },
    /// An access past the end of a claimed range.
    OutOfRange {
        /// The offset used.
        offset: u16,
        /// Size of the claimed range.
        count: u16,
    },
    /// A 16- or 32-bit access that does not lie wholly inside the claimed
    /// range (its last byte, or all of it, is past the end).
    WideOutOfRange {
        /// The offset of the access's first byte.
        offset: u16,
        /// The access's width in bits: 16 or 32.
        bits: u8,
        /// Size of the claimed range.
        count: u16,
    },
    /// A DMA buffer access past its end.
    DmaOutOfRange {
        /// The offset used.
        offset: usize,
        /// The access's length.
        len: usize,
        /// The buffer's size.
        size: usize,
    },
    /// No DMA memory of that size: zero, over the kernel's limit per
    /// buffer, or no contiguous physical memory left.
    DmaUnavailable {
        /// The size asked for.
        len: usize,
    },
    /// The DMA buffer or mapped BAR was released (its driver stopped or
    /// faulted).
    Released,
    /// An MMIO access past the BAR, or not naturally aligned.
    MmioOutOfRange {
        /// The offset used.
        offset: u64,
        /// The access's width in bytes.
        bytes: u8,
        /// The BAR's size.
        size: u64,
    },
    /// The PCI function is not bound to this driver.
    NotBound(String),
    /// The function has no memory BAR in that slot.
    NoSuchBar(u8),
    /// The function has no I/O BAR in that slot with ports assigned (by
    /// the firmware) inside the 16-bit port space.
    NoIoBar(u8),
    /// The BAR lies where the kernel cannot map it uncached.
    BarNotMappable(u64),
    /// The function has no MSI-X capability.
    NoMsiX,
    /// The MSI-X table has no such entry.
    MsiEntry {
        /// The entry asked for.
        entry: u16,
        /// Entries in the table.
        size: u16,
    },
    /// Every interrupt vector for devices is in use.
    NoVector,
    /// The kernel knows no route from the function's INTx pin to an
    /// interrupt line on this board: the function and why.
    NoIntxRoute(String),
    /// The driver has not claimed that MSI-X entry or INTx pin (or its
    /// claim was released), so there is nothing to count or wait for.
    NotClaimed,
    /// Refused by the kernel across the loadable-module interface, which
    /// carries errors as text: the kernel's reason.
    Host(String),
}

impl fmt::Display for HwError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotADriver(m) => write!(
                f,
                "module {m} is not flagged DRIVER and may not touch hardware"
            ),
            Self::Unavailable => f.write_str("no hardware access is available"),
            Self::PortsInUse { base, count, owner } => {
                write!(
                    f,
                    "ports {base:#x}..{:#x} are claimed by {owner}",
                    u32::from(*base) + u32::from(*count)
                )
            }
            Self::IrqInUse { irq, owner } => write!(f, "IRQ {irq} is claimed by {owner}"),
            Self::NoSuchIrq(irq) => write!(f, "IRQ {irq} cannot be routed"),
            Self::BadRange { base, count } => write!(f, "bad port range {base:#x}+{count}"),
            Self::OutOfRange { offset, count } => {
                write!(
                    f,
                    "port offset {offset} is outside the claimed {count} ports"
                )
            }
            Self::WideOutOfRange {
                offset,
                bits,
                count,
            } => write!(
                f,
                "a {bits}-bit access at port offset {offset} runs past the claimed {count} ports"
            ),
            Self::DmaOutOfRange { offset, len, size } => write!(
                f,
                "a {len}-byte DMA access at offset {offset} runs past the {size}-byte buffer"
            ),
            Self::DmaUnavailable { len } => {
                write!(f, "no DMA buffer of {len} bytes is available")
            }
            Self::Released => f.write_str("the DMA buffer or mapped BAR was released"),
            Self::MmioOutOfRange {
                offset,
                bytes,
                size,
            } => write!(
                f,
                "a {bytes}-byte MMIO access at offset {offset:#x} is unaligned or past the {size}-byte BAR"
            ),
            Self::NotBound(bdf) => write!(f, "PCI function {bdf} is not bound to this driver"),
            Self::NoSuchBar(i) => write!(f, "no memory BAR {i}"),
            Self::NoIoBar(i) => write!(f, "no I/O BAR {i} with ports assigned"),
            Self::NoMsiX => f.write_str("the function has no MSI-X capability"),
            Self::MsiEntry { entry, size } => {
                write!(f, "MSI-X entry {entry} is past the table's {size}")
            }
            Self::NoVector => f.write_str("every interrupt vector for devices is in use"),
            Self::NoIntxRoute(why) => write!(f, "no INTx route for PCI function {why}"),
            Self::NotClaimed => f.write_str(
                "that interrupt (MSI-X entry or INTx pin) is not claimed by this driver",
            ),
            Self::BarNotMappable(base) => {
                write!(
                    f,
                    "the BAR at {base:#x} is outside the uncached MMIO window"
                )
            }
            Self::Host(reason) => f.write_str(reason),
        }
    }
}

impl core::error::Error for HwError {}
