//! A block device in memory, for tests and as a RAM disk. It models what
//! crash safety depends on: writes are visible at once but durable only
//! after a flush, so [`MemDevice::crash_image`] can build the disk a power
//! cut would leave (any subset of the unflushed writes); and writes can be
//! made to fail after a number of sectors, leaving a multi-sector write
//! half done, and flushes after a number of flushes.

use crate::device::{BlockDevice, BlockError, SECTOR_SIZE};
use alloc::vec;
use alloc::vec::Vec;

/// An in-memory disk.
#[derive(Clone, Debug, Default)]
pub struct MemDevice {
    /// What reads see.
    visible: Vec<u8>,
    /// What survives a crash: everything flushed.
    durable: Vec<u8>,
    /// Sector writes since the last flush, in order.
    pending: Vec<(u64, [u8; SECTOR_SIZE])>,
    /// Sector writes that may still succeed; `None`: no limit.
    write_budget: Option<usize>,
    /// Flushes that may still succeed; `None`: no limit.
    flush_budget: Option<usize>,
    /// Sectors written, all time.
    sectors_written: u64,
    /// Flushes, all time.
    flushes: u64,
}

impl MemDevice {
    /// A zeroed disk of `sectors` sectors.
    pub fn new(sectors: usize) -> Self {
        Self::from_image(vec![0; sectors.saturating_mul(SECTOR_SIZE)])
    }

    /// A disk holding `image`, cut to whole sectors, all of it durable.
    pub fn from_image(mut image: Vec<u8>) -> Self {
        image.truncate(image.len() / SECTOR_SIZE * SECTOR_SIZE);
        Self {
            durable: image.clone(),
            visible: image,
            ..Self::default()
        }
    }

    /// What reads see.
    pub fn image(&self) -> &[u8] {
        &self.visible
    }

    /// Changes the disk behind the store's back (corruption tests): the
    /// change is visible and durable at once.
    pub fn edit(&mut self, change: impl FnOnce(&mut Vec<u8>)) {
        change(&mut self.visible);
        self.visible
            .truncate(self.visible.len() / SECTOR_SIZE * SECTOR_SIZE);
        self.durable = self.visible.clone();
        self.pending.clear();
    }

    /// Lets `sectors` more sectors be written, then fails every write with
    /// [`BlockError::Io`] (a multi-sector write keeps the sectors before
    /// the failing one); `None` lifts the limit.
    pub fn fail_writes_after(&mut self, sectors: Option<usize>) {
        self.write_budget = sectors;
    }

    /// Lets `flushes` more flushes succeed, then fails every flush with
    /// [`BlockError::Io`], the writes before it left unflushed; `None`
    /// lifts the limit.
    pub fn fail_flushes_after(&mut self, flushes: Option<usize>) {
        self.flush_budget = flushes;
    }

    /// Sector writes not yet flushed.
    pub fn pending_writes(&self) -> usize {
        self.pending.len()
    }

    /// Sectors written and flushes done, all time.
    pub fn counters(&self) -> (u64, u64) {
        (self.sectors_written, self.flushes)
    }

    /// The disk a power cut now would leave: everything flushed, plus the
    /// unflushed sector writes `keep` (given each one's index, oldest
    /// first) says reached the medium.
    pub fn crash_image(&self, mut keep: impl FnMut(usize) -> bool) -> Vec<u8> {
        let mut image = self.durable.clone();
        for (i, (sector, data)) in self.pending.iter().enumerate() {
            let dst = range(*sector, 1, image.len()).and_then(|r| image.get_mut(r));
            if let Some(dst) = dst.filter(|_| keep(i)) {
                dst.copy_from_slice(data);
            }
        }
        image
    }

    fn span(&self, sector: u64, len: usize) -> Result<core::ops::Range<usize>, BlockError> {
        if !len.is_multiple_of(SECTOR_SIZE) {
            return Err(BlockError::Misaligned { len });
        }
        let count = (len / SECTOR_SIZE) as u64;
        range(sector, count, self.visible.len()).ok_or(BlockError::OutOfRange { sector, count })
    }
}

/// The byte range of `count` sectors from `sector` on a disk of `len`
/// bytes, if it lies on the disk.
fn range(sector: u64, count: u64, len: usize) -> Option<core::ops::Range<usize>> {
    let start = usize::try_from(sector).ok()?.checked_mul(SECTOR_SIZE)?;
    let bytes = usize::try_from(count).ok()?.checked_mul(SECTOR_SIZE)?;
    let end = start.checked_add(bytes)?;
    (end <= len).then_some(start..end)
}

impl BlockDevice for MemDevice {
    fn sector_count(&self) -> u64 {
        (self.visible.len() / SECTOR_SIZE) as u64
    }

    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        let r = self.span(sector, buf.len())?;
        if let Some(src) = self.visible.get(r) {
            buf.copy_from_slice(src);
        }
        Ok(())
    }

    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlockError> {
        let r = self.span(sector, data.len())?;
        for (i, chunk) in data.chunks(SECTOR_SIZE).enumerate() {
            match &mut self.write_budget {
                Some(0) => return Err(BlockError::Io),
                Some(n) => *n -= 1,
                None => {}
            }
            let at = r.start + i * SECTOR_SIZE;
            if let Some(dst) = self.visible.get_mut(at..at + SECTOR_SIZE) {
                dst.copy_from_slice(chunk);
            }
            let mut copy = [0u8; SECTOR_SIZE];
            copy.copy_from_slice(chunk);
            self.pending.push((sector + i as u64, copy));
            self.sectors_written += 1;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), BlockError> {
        match &mut self.flush_budget {
            Some(0) => return Err(BlockError::Io),
            Some(n) => *n -= 1,
            None => {}
        }
        for (sector, data) in self.pending.drain(..) {
            if let Some(dst) =
                range(sector, 1, self.durable.len()).and_then(|r| self.durable.get_mut(r))
            {
                dst.copy_from_slice(&data);
            }
        }
        self.flushes += 1;
        Ok(())
    }
}
