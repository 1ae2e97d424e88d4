//! DMA memory in [`FakeHardware`]: buffers backed by host memory, with
//! made-up device addresses, that a device model reads and writes by
//! device address ([`FakeHardware::dma_read`], [`FakeHardware::dma_write`])
//! as a real device would; freed (every access then fails with
//! [`HwError::Released`]) by `release_all`, as the kernel does.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec;
use alloc::vec::Vec;
use spin::Mutex;

use super::FakeHardware;
use crate::services::dma::{DmaBuffer, DmaMemory};
use crate::services::hw::HwError;

/// Where fake device addresses start.
const FIRST_ADDR: u64 = 0x1000_0000;
/// Largest buffer handed out (as the kernel limits them too).
pub const MAX_DMA: usize = 1 << 20;

/// One fake buffer: its bytes, or `None` once released.
struct Region {
    addr: u64,
    len: usize,
    bytes: Mutex<Option<Vec<u8>>>,
}

impl DmaMemory for Region {
    fn device_addr(&self) -> u64 {
        self.addr
    }
    fn len(&self) -> usize {
        self.len
    }
    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), HwError> {
        let bytes = self.bytes.lock();
        let bytes = bytes.as_ref().ok_or(HwError::Released)?;
        buf.copy_from_slice(&bytes[offset..offset + buf.len()]);
        Ok(())
    }
    fn write(&self, offset: usize, data: &[u8]) -> Result<(), HwError> {
        let mut bytes = self.bytes.lock();
        let bytes = bytes.as_mut().ok_or(HwError::Released)?;
        bytes[offset..offset + data.len()].copy_from_slice(data);
        Ok(())
    }
}

/// Every buffer handed out, with its owner.
#[derive(Default)]
pub(super) struct DmaState {
    regions: Vec<(String, Arc<Region>)>,
    next: u64,
}

impl DmaState {
    pub(super) fn alloc(&mut self, owner: &str, len: usize) -> Result<DmaBuffer, HwError> {
        if len == 0 || len > MAX_DMA {
            return Err(HwError::DmaUnavailable { len });
        }
        let addr = FIRST_ADDR + self.next;
        // Page-aligned, with a gap, so stray device addresses find nothing.
        self.next += (len as u64).next_multiple_of(4096) + 4096;
        let region = Arc::new(Region {
            addr,
            len,
            bytes: Mutex::new(Some(vec![0; len])),
        });
        self.regions.push((String::from(owner), region.clone()));
        Ok(DmaBuffer::new(region))
    }

    /// Frees `owner`'s buffers; returns how many.
    pub(super) fn release(&mut self, owner: &str) -> usize {
        let before = self.regions.len();
        self.regions.retain(|(o, r)| {
            let keep = o != owner;
            if !keep {
                *r.bytes.lock() = None;
            }
            keep
        });
        before - self.regions.len()
    }

    fn find(&self, addr: u64, len: usize) -> Result<(&Region, usize), HwError> {
        self.regions
            .iter()
            .map(|(_, r)| &**r)
            .find(|r| addr >= r.addr && addr + len as u64 <= r.addr + r.len as u64)
            .map(|r| (r, (addr - r.addr) as usize))
            .ok_or(HwError::DmaOutOfRange {
                offset: addr as usize,
                len,
                size: 0,
            })
    }
}

impl FakeHardware {
    /// What a device reads at device address `addr`: `len` bytes inside
    /// one live buffer, else [`HwError::DmaOutOfRange`].
    pub fn dma_read(&self, addr: u64, len: usize) -> Result<Vec<u8>, HwError> {
        let dma = self.shared.dma.lock();
        let (region, offset) = dma.find(addr, len)?;
        let mut buf = vec![0; len];
        region.read(offset, &mut buf)?;
        Ok(buf)
    }

    /// What a device writes at device address `addr`.
    pub fn dma_write(&self, addr: u64, data: &[u8]) -> Result<(), HwError> {
        let dma = self.shared.dma.lock();
        let (region, offset) = dma.find(addr, data.len())?;
        region.write(offset, data)
    }

    /// Buffers `owner` holds.
    pub fn dma_buffers(&self, owner: &str) -> usize {
        self.shared
            .dma
            .lock()
            .regions
            .iter()
            .filter(|(o, _)| o == owner)
            .count()
    }
}
