//! Split virtqueues (virtio 1.x §2.7, legacy layout) in a DMA buffer.
//!
//! For a queue of `N` entries the buffer holds, from its start: the
//! descriptor table (`N` × 16 bytes: address u64, length u32, flags u16,
//! next u16), the available ring (flags u16, index u16, `N` × u16 heads,
//! used_event u16), then, at the next [`LEGACY_ALIGN`] boundary, the used
//! ring (flags u16, index u16, `N` × {id u32, len u32}, avail_event u16).
//! All fields are little-endian. The driver publishes a chain by writing
//! its descriptors and the ring entry, then (after a fence) the available
//! index; it reads the used index, then (after a fence) the entries it
//! covers. Descriptors come back to the free list when their chain is used.

use alloc::vec::Vec;
use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::HardwareAccess;

use crate::VirtioError;

/// The used ring's alignment in the legacy layout (the page size the
/// legacy transport's queue address counts in).
pub const LEGACY_ALIGN: usize = 4096;

const DESC_LEN: usize = 16;
/// Descriptor flag: the chain continues at `next`.
const F_NEXT: u16 = 1;
/// Descriptor flag: the device writes this buffer.
const F_WRITE: u16 = 2;

/// One buffer of a chain: where the device finds it, how long it is, and
/// whether the device writes it (else reads it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buf {
    /// Device address (a DMA buffer's `device_addr` plus an offset).
    pub addr: u64,
    /// Length in bytes.
    pub len: u32,
    /// The device writes it (an answer); else it reads it (a request).
    pub device_writes: bool,
}

/// A chain the device finished: its head descriptor and the bytes it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Used {
    /// The head descriptor [`SplitQueue::add`] returned.
    pub head: u16,
    /// Bytes the device wrote into the chain's writable buffers.
    pub len: u32,
}

/// A split virtqueue (see the module docs).
#[derive(Debug)]
pub struct SplitQueue {
    mem: DmaBuffer,
    size: u16,
    avail: usize,
    used: usize,
    free: Vec<u16>,
    /// Descriptors in each in-flight chain, by head (0: not in flight).
    in_flight: Vec<u16>,
    /// Each descriptor's successor in its chain, as this driver linked it.
    /// The descriptor table is memory the device can write, so a finished
    /// chain goes back to the free list by this copy, never by the `next`
    /// fields there: a device scribbling on them cannot make the driver
    /// hand one descriptor out twice.
    chain_next: Vec<u16>,
    avail_idx: u16,
    last_used: u16,
}

/// Bytes a legacy queue of `size` entries needs, and where its available
/// and used rings start.
pub fn layout(size: u16) -> (usize, usize, usize) {
    let n = usize::from(size);
    let avail = n * DESC_LEN;
    let used = (avail + 6 + 2 * n).next_multiple_of(LEGACY_ALIGN);
    (used + 6 + 8 * n, avail, used)
}

impl SplitQueue {
    /// A queue of `size` entries (a power of two up to 32768, the size the
    /// device reports) in a fresh DMA buffer from `hw`.
    pub fn new(hw: &HardwareAccess, size: u16) -> Result<Self, VirtioError> {
        if size == 0 || !size.is_power_of_two() || size > 32768 {
            return Err(VirtioError::BadQueueSize(size));
        }
        let (len, avail, used) = layout(size);
        let mem = hw.alloc_dma(len)?;
        Ok(SplitQueue {
            mem,
            size,
            avail,
            used,
            free: (0..size).rev().collect(),
            in_flight: alloc::vec![0; usize::from(size)],
            chain_next: alloc::vec![0; usize::from(size)],
            avail_idx: 0,
            last_used: 0,
        })
    }

    /// Where the device finds the queue.
    pub fn device_addr(&self) -> u64 {
        self.mem.device_addr()
    }

    /// Entries.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// Descriptors free now.
    pub fn free_descriptors(&self) -> usize {
        self.free.len()
    }

    /// Queues a chain of `bufs` (requests first, then what the device
    /// writes, as virtio wants) and publishes it; returns its head. The
    /// caller then notifies the device.
    pub fn add(&mut self, bufs: &[Buf]) -> Result<u16, VirtioError> {
        if bufs.is_empty() || bufs.len() > usize::from(self.size) {
            return Err(VirtioError::BadChain(bufs.len()));
        }
        if bufs.len() > self.free.len() {
            return Err(VirtioError::QueueFull);
        }
        let ids: Vec<u16> = (0..bufs.len()).filter_map(|_| self.free.pop()).collect();
        for (i, (buf, &id)) in bufs.iter().zip(&ids).enumerate() {
            let next = ids.get(i + 1).copied();
            let mut flags = if buf.device_writes { F_WRITE } else { 0 };
            if next.is_some() {
                flags |= F_NEXT;
            }
            let at = usize::from(id) * DESC_LEN;
            self.mem.write_u64(at, buf.addr)?;
            self.mem.write_u32(at + 8, buf.len)?;
            self.mem.write_u16(at + 12, flags)?;
            self.mem.write_u16(at + 14, next.unwrap_or(0))?;
            self.chain_next[usize::from(id)] = next.unwrap_or(0);
        }
        let head = ids[0];
        self.in_flight[usize::from(head)] = ids.len() as u16;
        let slot = usize::from(self.avail_idx % self.size);
        self.mem.write_u16(self.avail + 4 + 2 * slot, head)?;
        // The descriptors and the ring entry before the index that
        // publishes them.
        self.mem.fence();
        self.avail_idx = self.avail_idx.wrapping_add(1);
        self.mem.write_u16(self.avail + 2, self.avail_idx)?;
        self.mem.fence();
        Ok(head)
    }

    /// The next chain the device finished, if any; its descriptors go back
    /// to the free list.
    pub fn pop_used(&mut self) -> Result<Option<Used>, VirtioError> {
        let device_idx = self.mem.read_u16(self.used + 2)?;
        if device_idx == self.last_used {
            return Ok(None);
        }
        // The index before the entries it covers.
        self.mem.fence();
        let slot = usize::from(self.last_used % self.size);
        let id = self.mem.read_u32(self.used + 4 + 8 * slot)?;
        let len = self.mem.read_u32(self.used + 8 + 8 * slot)?;
        let head = u16::try_from(id)
            .ok()
            .filter(|h| *h < self.size && self.in_flight[usize::from(*h)] > 0)
            .ok_or(VirtioError::BadUsedId(id))?;
        self.last_used = self.last_used.wrapping_add(1);
        // Walk the chain back onto the free list, by the driver's own
        // links and count.
        let mut id = head;
        for _ in 0..self.in_flight[usize::from(head)] {
            self.free.push(id);
            id = self.chain_next[usize::from(id)];
        }
        self.in_flight[usize::from(head)] = 0;
        Ok(Some(Used { head, len }))
    }
}
