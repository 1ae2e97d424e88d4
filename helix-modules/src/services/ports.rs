//! I/O ports for drivers: the raw access the kernel implements
//! ([`PortIo`]) and the claimed range a driver reaches it through
//! ([`PortRange`]), which checks every access against the claim (a 16- or
//! 32-bit access must lie wholly inside it). Both are re-exported from
//! [`super::hw`], where claims are made.

use alloc::sync::Arc;
use core::fmt;

use super::hw_error::HwError;

/// Raw port I/O, implemented by the kernel.
///
/// The 16- and 32-bit accesses have default implementations that split
/// them into byte accesses at consecutive ports, lowest byte first: what
/// the bus does when a wide access reaches an 8-bit device. The kernel
/// (and any model of a device with wide registers) overrides them with
/// real wide accesses.
pub trait PortIo: Send + Sync {
    /// Reads the byte at `port`.
    fn read_u8(&self, port: u16) -> u8;
    /// Writes `value` to `port`.
    fn write_u8(&self, port: u16, value: u8);

    /// Reads 16 bits at `port` (by default, bytes at `port` and `port + 1`).
    fn read_u16(&self, port: u16) -> u16 {
        u16::from_le_bytes([self.read_u8(port), self.read_u8(port.wrapping_add(1))])
    }

    /// Writes 16 bits to `port` (by default, bytes to `port` and `port + 1`).
    fn write_u16(&self, port: u16, value: u16) {
        let [lo, hi] = value.to_le_bytes();
        self.write_u8(port, lo);
        self.write_u8(port.wrapping_add(1), hi);
    }

    /// Reads 32 bits at `port` (by default, bytes at `port..port + 4`).
    fn read_u32(&self, port: u16) -> u32 {
        let mut bytes = [0; 4];
        for (i, b) in (0u16..).zip(bytes.iter_mut()) {
            *b = self.read_u8(port.wrapping_add(i));
        }
        u32::from_le_bytes(bytes)
    }

    /// Writes 32 bits to `port` (by default, bytes to `port..port + 4`).
    fn write_u32(&self, port: u16, value: u32) {
        for (i, b) in (0u16..).zip(value.to_le_bytes()) {
            self.write_u8(port.wrapping_add(i), b);
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
    /// A range over `io`. Called by [`Hardware`](super::hw::Hardware) implementations when a
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
        match self.base.checked_add(offset) {
            Some(port) if offset < self.count => Ok(port),
            _ => Err(HwError::OutOfRange {
                offset,
                count: self.count,
            }),
        }
    }

    /// The port of a `bits`-wide access at `offset`, if the whole access
    /// (`offset..offset + bits / 8`) lies inside the range.
    fn wide_port(&self, offset: u16, bits: u8) -> Result<u16, HwError> {
        let end = u32::from(offset) + u32::from(bits / 8);
        let last_port = u32::from(self.base) + end - 1;
        match u16::try_from(u32::from(self.base) + u32::from(offset)) {
            Ok(port) if end <= u32::from(self.count) && last_port <= 0xffff => Ok(port),
            _ => Err(HwError::WideOutOfRange {
                offset,
                bits,
                count: self.count,
            }),
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

    /// Reads 16 bits at `offset`; both bytes (`offset`, `offset + 1`) must
    /// be inside the range, or the access is refused with
    /// [`HwError::WideOutOfRange`].
    pub fn read16(&self, offset: u16) -> Result<u16, HwError> {
        Ok(self.io.read_u16(self.wide_port(offset, 16)?))
    }

    /// Writes 16 bits at `offset`, bounds-checked as [`PortRange::read16`].
    pub fn write16(&self, offset: u16, value: u16) -> Result<(), HwError> {
        self.io.write_u16(self.wide_port(offset, 16)?, value);
        Ok(())
    }

    /// Reads 32 bits at `offset`; all four bytes (`offset..offset + 4`)
    /// must be inside the range, or the access is refused with
    /// [`HwError::WideOutOfRange`].
    pub fn read32(&self, offset: u16) -> Result<u32, HwError> {
        Ok(self.io.read_u32(self.wide_port(offset, 32)?))
    }

    /// Writes 32 bits at `offset`, bounds-checked as [`PortRange::read32`].
    pub fn write32(&self, offset: u16, value: u32) -> Result<(), HwError> {
        self.io.write_u32(self.wide_port(offset, 32)?, value);
        Ok(())
    }
}
