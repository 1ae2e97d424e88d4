//! Memory-mapped device registers for drivers: a memory BAR of a PCI
//! function bound to the driver, mapped uncached by the kernel
//! ([`HardwareAccess::map_bar`](super::hw::HardwareAccess::map_bar)).
//!
//! An [`Mmio`] checks every access against the BAR's size and the access's
//! natural alignment before the kernel performs it, as one access of its
//! width (8, 16, 32 or 64 bits); once the driver is released (stopped or
//! faulted) every access fails with [`HwError::Released`].

use alloc::sync::Arc;
use core::fmt;

use super::hw::HwError;

/// The kernel's side of a mapped BAR: accesses already checked.
pub trait MmioIo: Send + Sync {
    /// Reads `bytes` (1, 2, 4 or 8) at `offset`.
    fn read(&self, offset: u64, bytes: u8) -> Result<u64, HwError>;
    /// Writes the low `bytes` of `value` at `offset`.
    fn write(&self, offset: u64, bytes: u8, value: u64) -> Result<(), HwError>;
}

/// A driver's mapped BAR (see the module docs). Cheap to clone.
#[derive(Clone)]
pub struct Mmio {
    io: Arc<dyn MmioIo>,
    size: u64,
}

impl fmt::Debug for Mmio {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Mmio({} bytes)", self.size)
    }
}

impl Mmio {
    /// A BAR of `size` bytes reached through `io`.
    pub fn new(io: Arc<dyn MmioIo>, size: u64) -> Self {
        Mmio { io, size }
    }

    /// The BAR's size in bytes.
    pub fn size(&self) -> u64 {
        self.size
    }

    fn check(&self, offset: u64, bytes: u8) -> Result<(), HwError> {
        let inside = offset
            .checked_add(u64::from(bytes))
            .is_some_and(|end| end <= self.size);
        if inside && offset.is_multiple_of(u64::from(bytes)) {
            Ok(())
        } else {
            Err(HwError::MmioOutOfRange {
                offset,
                bytes,
                size: self.size,
            })
        }
    }

    fn read(&self, offset: u64, bytes: u8) -> Result<u64, HwError> {
        self.check(offset, bytes)?;
        self.io.read(offset, bytes)
    }

    fn write(&self, offset: u64, bytes: u8, value: u64) -> Result<(), HwError> {
        self.check(offset, bytes)?;
        self.io.write(offset, bytes, value)
    }

    /// Reads the byte at `offset`.
    pub fn read8(&self, offset: u64) -> Result<u8, HwError> {
        self.read(offset, 1).map(|v| v as u8)
    }
    /// Reads 16 bits at `offset` (2-aligned).
    pub fn read16(&self, offset: u64) -> Result<u16, HwError> {
        self.read(offset, 2).map(|v| v as u16)
    }
    /// Reads 32 bits at `offset` (4-aligned).
    pub fn read32(&self, offset: u64) -> Result<u32, HwError> {
        self.read(offset, 4).map(|v| v as u32)
    }
    /// Reads 64 bits at `offset` (8-aligned).
    pub fn read64(&self, offset: u64) -> Result<u64, HwError> {
        self.read(offset, 8)
    }
    /// Writes a byte at `offset`.
    pub fn write8(&self, offset: u64, value: u8) -> Result<(), HwError> {
        self.write(offset, 1, value.into())
    }
    /// Writes 16 bits at `offset` (2-aligned).
    pub fn write16(&self, offset: u64, value: u16) -> Result<(), HwError> {
        self.write(offset, 2, value.into())
    }
    /// Writes 32 bits at `offset` (4-aligned).
    pub fn write32(&self, offset: u64, value: u32) -> Result<(), HwError> {
        self.write(offset, 4, value.into())
    }
    /// Writes 64 bits at `offset` (8-aligned).
    pub fn write64(&self, offset: u64, value: u64) -> Result<(), HwError> {
        self.write(offset, 8, value)
    }
}
