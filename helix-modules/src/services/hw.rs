//! Hardware access for DRIVER modules: I/O ports and interrupt lines,
//! granted by the kernel, exclusively, one owner at a time.
//!
//! A module flagged [`ModuleFlags::DRIVER`](crate::ModuleFlags::DRIVER)
//! gets a [`HardwareAccess`] from [`Context::hardware`](crate::v2::Context::hardware)
//! in `init`; every other module gets [`HwError::NotADriver`]. Through it
//! the driver claims the port range and IRQ line of its device. A claim
//! either succeeds exclusively or names the current owner, so two drivers
//! never fight over one device. The kernel implements [`Hardware`] and
//! releases whatever a module still holds when it stops, so a driver that
//! forgets to clean up cannot keep a device.
//!
//! Ports are reached only through the [`PortRange`] a claim returns, which
//! checks every offset against the claimed size, so a driver (which stays
//! `#![forbid(unsafe_code)]`) cannot touch another device's registers.

use alloc::string::String;
use alloc::sync::Arc;
use core::fmt;

/// Raw port I/O, implemented by the kernel.
pub trait PortIo: Send + Sync {
    /// Reads the byte at `port`.
    fn read_u8(&self, port: u16) -> u8;
    /// Writes `value` to `port`.
    fn write_u8(&self, port: u16, value: u8);
}

/// A driver's interrupt handler. Runs in interrupt context on the CPU that
/// took the interrupt: it must be short, must not block, and may only take
/// [`IrqMutex`](crate::sync::IrqMutex) locks. The kernel acknowledges the
/// interrupt after it returns.
pub trait IrqHandler: Send + Sync {
    /// Services the device.
    fn handle_irq(&self);
}

/// What the kernel offers drivers.
pub trait Hardware: Send + Sync + fmt::Debug {
    /// Claims `count` ports from `base` for `owner`.
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError>;
    /// Routes ISA interrupt `irq` to `handler` for `owner` and unmasks it.
    fn claim_irq(&self, owner: &str, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError>;
    /// Gives up every claim of `owner` (masking its IRQs first); returns
    /// how many claims there were.
    fn release_all(&self, owner: &str) -> usize;
}

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
        }
    }
}

/// A claimed, bounds-checked range of I/O ports.
#[derive(Clone)]
pub struct PortRange {
    base: u16,
    count: u16,
    io: Arc<dyn PortIo>,
}

impl fmt::Debug for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PortRange({:#x}+{})", self.base, self.count)
    }
}

impl PortRange {
    /// A range over `io`. Called by [`Hardware`] implementations when a
    /// claim succeeds (and by tests, over a test double of a device).
    pub fn new(base: u16, count: u16, io: Arc<dyn PortIo>) -> Self {
        Self { base, count, io }
    }

    /// First port of the range.
    pub fn base(&self) -> u16 {
        self.base
    }

    /// Number of ports in the range.
    pub fn count(&self) -> u16 {
        self.count
    }

    fn port(&self, offset: u16) -> Result<u16, HwError> {
        if offset < self.count {
            Ok(self.base + offset)
        } else {
            Err(HwError::OutOfRange {
                offset,
                count: self.count,
            })
        }
    }

    /// Reads the port at `offset` within the range.
    pub fn read(&self, offset: u16) -> Result<u8, HwError> {
        Ok(self.io.read_u8(self.port(offset)?))
    }

    /// Writes the port at `offset` within the range.
    pub fn write(&self, offset: u16, value: u8) -> Result<(), HwError> {
        self.io.write_u8(self.port(offset)?, value);
        Ok(())
    }
}

/// A driver's handle on the kernel's [`Hardware`], with its name attached
/// to every claim.
#[derive(Clone)]
pub struct HardwareAccess {
    hw: Arc<dyn Hardware>,
    owner: String,
}

impl fmt::Debug for HardwareAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HardwareAccess({})", self.owner)
    }
}

impl HardwareAccess {
    pub(crate) fn new(hw: Arc<dyn Hardware>, owner: String) -> Self {
        Self { hw, owner }
    }

    /// Claims `count` ports from `base`.
    pub fn claim_ports(&self, base: u16, count: u16) -> Result<PortRange, HwError> {
        self.hw.claim_ports(&self.owner, base, count)
    }

    /// Routes ISA interrupt `irq` to `handler`.
    pub fn claim_irq(&self, irq: u8, handler: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        self.hw.claim_irq(&self.owner, irq, handler)
    }

    /// Releases every claim this driver holds.
    pub fn release_all(&self) -> usize {
        self.hw.release_all(&self.owner)
    }
}
