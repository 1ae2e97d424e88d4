//! DMA buffers for drivers (the kernel's side of
//! `helix_modules::services::dma`): physically contiguous frames, zeroed,
//! reached through the identity map of the first 4 GiB (every frame the
//! allocator manages lies there, and physical addresses are what devices
//! use: there is no IOMMU on q35 as QEMU configures it here).
//!
//! Each buffer belongs to the module that allocated it and is freed by
//! [`release`] when that module stops or faults (the hardware service's
//! `release_all`). A buffer's accesses and its release take the same lock,
//! with interrupts masked (a driver's interrupt handler may read its
//! buffers), so no access reaches a frame after it was freed: later
//! accesses fail with `HwError::Released`.

use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::dma::{DmaBuffer, DmaMemory};
use helix_modules::services::hw::HwError;
use helix_modules::sync::IrqMutex;

use crate::mm::{PAGE_SIZE, frame};

/// Largest buffer, in bytes (a virtqueue of 256 entries and its rings
/// fit many times over).
pub const MAX_DMA: usize = 1 << 20;

struct Region {
    phys: u64,
    frames: usize,
    len: usize,
    /// Whether the frames still belong to the buffer.
    live: IrqMutex<bool>,
}

/// Buffers handed out, with their owners.
static REGIONS: spin::Mutex<Vec<(String, Arc<Region>)>> = spin::Mutex::new(Vec::new());

impl Region {
    /// `f` on the buffer's bytes at `offset..offset + len` (checked by
    /// `DmaBuffer`), while the buffer is live.
    fn with<R>(
        &self,
        offset: usize,
        len: usize,
        f: impl FnOnce(*mut u8) -> R,
    ) -> Result<R, HwError> {
        let live = self.live.lock();
        if !*live || offset.checked_add(len).is_none_or(|end| end > self.len) {
            return Err(HwError::Released);
        }
        Ok(f((self.phys as usize + offset) as *mut u8))
    }
}

impl DmaMemory for Region {
    fn device_addr(&self) -> u64 {
        self.phys
    }

    fn len(&self) -> usize {
        self.len
    }

    fn read(&self, offset: usize, buf: &mut [u8]) -> Result<(), HwError> {
        self.with(offset, buf.len(), |p| {
            // SAFETY: `p..p + buf.len()` lies in this live buffer's frames
            // (checked by `with`, under the lock that `release` takes before
            // it frees them), identity-mapped and owned by the buffer; the
            // device may write them concurrently, hence volatile accesses,
            // one per naturally aligned 2-, 4- or 8-byte value.
            unsafe {
                match buf.len() {
                    2 if (p as usize).is_multiple_of(2) => {
                        buf.copy_from_slice(&p.cast::<u16>().read_volatile().to_ne_bytes())
                    }
                    4 if (p as usize).is_multiple_of(4) => {
                        buf.copy_from_slice(&p.cast::<u32>().read_volatile().to_ne_bytes())
                    }
                    8 if (p as usize).is_multiple_of(8) => {
                        buf.copy_from_slice(&p.cast::<u64>().read_volatile().to_ne_bytes())
                    }
                    _ => {
                        for (i, b) in buf.iter_mut().enumerate() {
                            *b = p.add(i).read_volatile();
                        }
                    }
                }
            }
        })
    }

    fn write(&self, offset: usize, data: &[u8]) -> Result<(), HwError> {
        self.with(offset, data.len(), |p| {
            let word = |n: usize| {
                let mut b = [0u8; 8];
                b[..n].copy_from_slice(data);
                b
            };
            // SAFETY: as in `read`: inside this live buffer, under its lock.
            unsafe {
                match data.len() {
                    2 if (p as usize).is_multiple_of(2) => {
                        let b = word(2);
                        p.cast::<u16>()
                            .write_volatile(u16::from_ne_bytes([b[0], b[1]]))
                    }
                    4 if (p as usize).is_multiple_of(4) => {
                        let b = word(4);
                        p.cast::<u32>()
                            .write_volatile(u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
                    }
                    8 if (p as usize).is_multiple_of(8) => {
                        p.cast::<u64>().write_volatile(u64::from_ne_bytes(word(8)))
                    }
                    _ => {
                        for (i, b) in data.iter().enumerate() {
                            p.add(i).write_volatile(*b);
                        }
                    }
                }
            }
        })
    }
}

/// A zeroed buffer of `len` bytes for `owner`.
pub fn alloc(owner: &str, len: usize) -> Result<DmaBuffer, HwError> {
    if len == 0 || len > MAX_DMA {
        return Err(HwError::DmaUnavailable { len });
    }
    let frames = len.div_ceil(PAGE_SIZE as usize);
    let first = frame::alloc_contiguous(frames).map_err(|_| HwError::DmaUnavailable { len })?;
    let phys = first.start_address().as_u64();
    // SAFETY: the frames were just allocated for this buffer alone and lie
    // in the identity-mapped first 4 GiB (the allocator manages no others).
    unsafe { core::ptr::write_bytes(phys as *mut u8, 0, frames * PAGE_SIZE as usize) };
    let region = Arc::new(Region {
        phys,
        frames,
        len,
        live: IrqMutex::new(true),
    });
    REGIONS.lock().push((String::from(owner), region.clone()));
    Ok(DmaBuffer::new(region))
}

/// Frees every buffer of `owner`; returns how many there were.
pub fn release(owner: &str) -> usize {
    let mine: Vec<Arc<Region>> = {
        let mut regions = REGIONS.lock();
        let (mine, rest) = core::mem::take(&mut *regions)
            .into_iter()
            .partition(|(o, _)| o == owner);
        *regions = rest;
        mine.into_iter().map(|(_, r)| r).collect()
    };
    for r in &mine {
        *r.live.lock() = false;
        for i in 0..r.frames as u64 {
            let f = x86_64::structures::paging::PhysFrame::containing_address(
                x86_64::PhysAddr::new(r.phys + i * PAGE_SIZE),
            );
            // SAFETY: the buffer is no longer live (set under its lock, so
            // no access through it is in progress or can start), its frames
            // were allocated for it alone and no kernel pointer into them
            // survives; the owner's PCI devices had bus mastering turned off
            // before this (the hardware service's `release_all`), so none
            // of them can still write here.
            let _ = unsafe { frame::free(f) };
        }
    }
    mine.len()
}

/// Buffers held now, and their bytes.
pub fn stats() -> (usize, usize) {
    let regions = REGIONS.lock();
    (regions.len(), regions.iter().map(|(_, r)| r.len).sum())
}
