//! PCI for Helix: what lives in configuration space, read through a
//! [`ConfigSpace`] the kernel implements (ECAM or the 0xCF8/0xCFC ports),
//! and turned into plain data: [`scan`] finds every function behind the
//! given buses (following bridges), and each [`Function`] carries its ids,
//! class, decoded and sized [`Bar`]s and walked [`Capability`] list (MSI,
//! MSI-X and the virtio vendor capabilities decoded). [`DeviceId`] matches
//! functions the way Linux's `pci_device_id` tables do, and
//! [`class_name`] names a class for `lspci`. With the `testing` feature,
//! `model` is a modelled bus (q35's functions and virtio devices) that
//! behaves like hardware under BAR sizing.
//!
//! Why not the `pci_types` crate: its access trait, `ConfigRegionAccess`,
//! has `unsafe fn read`/`write`, so every implementation (the kernel's,
//! and the modelled bus this crate's tests and the drivers' tests run
//! against) would have to be `unsafe` code, and this crate is
//! `#![forbid(unsafe_code)]`. Its BAR sizing also leaves the command
//! register alone while a BAR reads all ones, and the virtio capabilities
//! it does not decode are the ones the drivers need. The register layouts
//! used here are few (the type 0 and type 1 headers, three capability
//! formats) and each is written down once, in this crate.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod bar;
mod caps;
mod function;
mod ids;
#[cfg(feature = "testing")]
pub mod model;
mod scan;
pub mod wire;

pub use bar::{Bar, BarKind};
pub use caps::{Capability, MAX_CAPABILITIES, Msi, MsiX, VirtioCap, VirtioCfg};
pub use function::Function;
pub use ids::{DeviceId, class_name, find_match};
pub use scan::{probe, scan};

use core::fmt;

/// Access to PCI configuration space: aligned 32-bit reads and writes of
/// one function's registers. Offsets are bytes from the start of the
/// function's space (0..4096 with ECAM, 0..256 through the legacy ports);
/// an implementation ignores the low two bits. A read of a function that
/// is not there, or of an offset the mechanism cannot reach, returns all
/// ones (what the bus returns); such a write is dropped.
pub trait ConfigSpace {
    /// The register at `offset` of the function at `addr`.
    fn read32(&self, addr: Bdf, offset: u16) -> u32;
    /// Writes the register at `offset` of the function at `addr`.
    fn write32(&self, addr: Bdf, offset: u16, value: u32);
}

impl<T: ConfigSpace + ?Sized> ConfigSpace for &T {
    fn read32(&self, addr: Bdf, offset: u16) -> u32 {
        (**self).read32(addr, offset)
    }

    fn write32(&self, addr: Bdf, offset: u16, value: u32) {
        (**self).write32(addr, offset, value);
    }
}

/// A function's address on segment 0: bus (0-255), device (0-31) and
/// function (0-7). Displayed as `lspci` does, `bb:dd.f` in hex.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Bdf {
    bus: u8,
    device: u8,
    function: u8,
}

impl Bdf {
    /// The address, or `None` when `device` is over 31 or `function`
    /// over 7.
    pub const fn new(bus: u8, device: u8, function: u8) -> Option<Self> {
        if device < 32 && function < 8 {
            Some(Self {
                bus,
                device,
                function,
            })
        } else {
            None
        }
    }

    /// The bus number.
    pub const fn bus(self) -> u8 {
        self.bus
    }

    /// The device number (0-31).
    pub const fn device(self) -> u8 {
        self.device
    }

    /// The function number (0-7).
    pub const fn function(self) -> u8 {
        self.function
    }

    /// The function's offset inside an ECAM window that starts at bus 0:
    /// bus in bits 20-27, device in 15-19, function in 12-14.
    pub const fn ecam_offset(self) -> u64 {
        ((self.bus as u64) << 20) | ((self.device as u64) << 15) | ((self.function as u64) << 12)
    }
}

impl fmt::Display for Bdf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:02x}:{:02x}.{:x}",
            self.bus, self.device, self.function
        )
    }
}

/// Configuration-space register offsets of the common header, the type 0
/// (endpoint) header and the type 1 (bridge) header.
pub mod reg {
    /// Vendor id (bits 0-15) and device id (16-31).
    pub const ID: u16 = 0x00;
    /// Command (bits 0-15) and status (16-31).
    pub const COMMAND: u16 = 0x04;
    /// Revision (bits 0-7), prog-if (8-15), subclass (16-23), class (24-31).
    pub const CLASS: u16 = 0x08;
    /// Cache line, latency timer, header type (bits 16-23), BIST.
    pub const HEADER: u16 = 0x0c;
    /// The first base address register.
    pub const BAR0: u16 = 0x10;
    /// Type 1: primary, secondary (bits 8-15) and subordinate bus numbers.
    pub const BRIDGE_BUSES: u16 = 0x18;
    /// Type 0: subsystem vendor id (bits 0-15) and subsystem id (16-31).
    pub const SUBSYSTEM: u16 = 0x2c;
    /// The capability pointer (bits 0-7), in both header types.
    pub const CAP_POINTER: u16 = 0x34;
    /// Interrupt line (bits 0-7) and pin (8-15), in both header types.
    pub const INTERRUPT: u16 = 0x3c;
    /// Command bits: I/O space (bit 0) and memory space (bit 1) decoding.
    pub const COMMAND_DECODE: u32 = 0b11;
    /// Status bit: the function has a capability list.
    pub const STATUS_CAP_LIST: u32 = 1 << 4;
}
