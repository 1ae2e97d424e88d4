//! DMA memory for drivers: buffers a device reads and writes directly,
//! granted by the kernel through [`HardwareAccess::alloc_dma`](super::hw::HardwareAccess::alloc_dma).
//!
//! A [`DmaBuffer`] is physically contiguous, zeroed when allocated, and has
//! the address the device must be given ([`DmaBuffer::device_addr`]). The
//! driver (which stays `#![forbid(unsafe_code)]`) reaches its bytes only
//! through bounds-checked accessors; multi-byte values are little-endian,
//! each one a single access of its width, so a device never sees half of
//! an index. [`DmaBuffer::fence`] orders the driver's accesses against the
//! device's, as a virtqueue needs (descriptors written before the index
//! that publishes them; the used index read before the entries it
//! covers). The kernel owns the memory: it is freed when the driver stops
//! or faults, after which every access fails with [`HwError::Released`].

use alloc::sync::Arc;
use core::fmt;

use super::hw::HwError;

/// Physically contiguous memory a device can access, implemented by the
/// kernel (and by `helix_modules::testing::FakeHardware` on the host).
///
/// `read` and `write` get ranges already checked against [`len`](Self::len);
/// they fail only when the memory was released.
pub trait DmaMemory: Send + Sync {
    /// The address the device uses for the first byte.
    fn device_addr(&self) -> u64;
    /// Length in bytes.
    fn len(&self) -> usize;
    /// Whether the memory has no bytes (never for an allocation).
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Copies `buf.len()` bytes at `offset` into `buf`, in one access per
    /// naturally aligned 2-, 4- or 8-byte `buf` (see [`DmaBuffer`]).
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), HwError>;
    /// Copies `data` to `offset`, likewise.
    fn write(&self, offset: usize, data: &[u8]) -> Result<(), HwError>;
}

/// A driver's DMA buffer (see the module docs). Cheap to clone; every
/// clone names the same memory.
#[derive(Clone)]
pub struct DmaBuffer {
    mem: Arc<dyn DmaMemory>,
}

impl fmt::Debug for DmaBuffer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "DmaBuffer({:#x}, {} bytes)",
            self.mem.device_addr(),
            self.mem.len()
        )
    }
}

impl DmaBuffer {
    /// Wraps memory the kernel (or a test double) allocated.
    pub fn new(mem: Arc<dyn DmaMemory>) -> Self {
        DmaBuffer { mem }
    }

    /// The address to give the device.
    pub fn device_addr(&self) -> u64 {
        self.mem.device_addr()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.mem.len()
    }

    /// Whether the buffer has no bytes (never true for an allocation).
    pub fn is_empty(&self) -> bool {
        self.mem.len() == 0
    }

    fn check(&self, offset: usize, len: usize) -> Result<(), HwError> {
        match offset.checked_add(len) {
            Some(end) if end <= self.mem.len() => Ok(()),
            _ => Err(HwError::DmaOutOfRange {
                offset,
                len,
                size: self.mem.len(),
            }),
        }
    }

    /// Reads `buf.len()` bytes at `offset`.
    pub fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), HwError> {
        self.check(offset, buf.len())?;
        self.mem.read(offset, buf)
    }

    /// Writes `data` at `offset`.
    pub fn write(&self, offset: usize, data: &[u8]) -> Result<(), HwError> {
        self.check(offset, data.len())?;
        self.mem.write(offset, data)
    }

    /// Reads a little-endian `u16` at `offset` in one access.
    pub fn read_u16(&self, offset: usize) -> Result<u16, HwError> {
        let mut b = [0; 2];
        self.read(offset, &mut b).map(|()| u16::from_le_bytes(b))
    }

    /// Reads a little-endian `u32` at `offset` in one access.
    pub fn read_u32(&self, offset: usize) -> Result<u32, HwError> {
        let mut b = [0; 4];
        self.read(offset, &mut b).map(|()| u32::from_le_bytes(b))
    }

    /// Reads a little-endian `u64` at `offset` in one access.
    pub fn read_u64(&self, offset: usize) -> Result<u64, HwError> {
        let mut b = [0; 8];
        self.read(offset, &mut b).map(|()| u64::from_le_bytes(b))
    }

    /// Writes a little-endian `u16` at `offset` in one access.
    pub fn write_u16(&self, offset: usize, value: u16) -> Result<(), HwError> {
        self.write(offset, &value.to_le_bytes())
    }

    /// Writes a little-endian `u32` at `offset` in one access.
    pub fn write_u32(&self, offset: usize, value: u32) -> Result<(), HwError> {
        self.write(offset, &value.to_le_bytes())
    }

    /// Writes a little-endian `u64` at `offset` in one access.
    pub fn write_u64(&self, offset: usize, value: u64) -> Result<(), HwError> {
        self.write(offset, &value.to_le_bytes())
    }

    /// Orders every access before it against every access after it, as
    /// the device sees them.
    pub fn fence(&self) {
        core::sync::atomic::fence(core::sync::atomic::Ordering::SeqCst);
    }
}
