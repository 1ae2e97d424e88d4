//! The physical frame allocator: a bitmap over the first 4 GiB.
//!
//! One bit per 4 KiB frame (set = free), seeded from the usable RAM regions
//! of the memory map above the kernel image, less the frames of the modules
//! the loader placed in RAM (QEMU's `-initrd`, which the kernel reads in
//! place: [`bootinfo::initrd`](crate::bootinfo::initrd)), so firmware
//! areas, the loader's structures and modules and the image itself are
//! never handed out. Allocation is
//! next-fit from a hint, skipping full 64-frame words; freeing moves the
//! hint back, so a freed frame is the next one reused. Freeing a frame that
//! is already free, or one the allocator never managed, is an error rather
//! than silent corruption. Memory above 4 GiB is left unused: the boot
//! identity map, through which page tables are reached, ends there.

use crate::arch::x86_64::paging::FrameSource;
use boot::{BootModule, MemoryKind, MemoryRegion};
use spin::Mutex;
use x86_64::PhysAddr;
use x86_64::structures::paging::{PhysFrame, Size4KiB};

use super::PAGE_SIZE;

/// Highest physical address (exclusive) the allocator manages.
pub const MANAGED_LIMIT: u64 = 4 << 30;
const FRAMES: usize = (MANAGED_LIMIT / PAGE_SIZE) as usize;
const WORDS: usize = FRAMES / 64;

/// Errors of the frame allocator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameAllocError {
    /// No free frame is left.
    OutOfMemory,
    /// The frame is already free: a double free.
    AlreadyFree(u64),
    /// The frame is outside the memory the allocator manages.
    NotManaged(u64),
}

impl core::fmt::Display for FrameAllocError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutOfMemory => f.write_str("no free physical frames"),
            Self::AlreadyFree(a) => write!(f, "frame {a:#x} freed twice"),
            Self::NotManaged(a) => write!(f, "frame {a:#x} is not managed by the allocator"),
        }
    }
}

/// A snapshot of the allocator's counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameStats {
    /// Frames that were ever usable.
    pub total: usize,
    /// Frames free now.
    pub free: usize,
    /// Frames of usable RAM kept out for the loader's modules (the
    /// initrd): never handed out, and not counted in `total`.
    pub kept: usize,
}

struct Bitmap {
    free_bits: [u64; WORDS],
    managed: [u64; WORDS],
    hint: usize,
    free: usize,
    total: usize,
    kept: usize,
}

static BITMAP: Mutex<Bitmap> = Mutex::new(Bitmap {
    free_bits: [0; WORDS],
    managed: [0; WORDS],
    hint: 0,
    free: 0,
    total: 0,
    kept: 0,
});

impl Bitmap {
    fn add_range(&mut self, start: u64, end: u64) {
        let first = start.div_ceil(PAGE_SIZE);
        let last = end.min(MANAGED_LIMIT) / PAGE_SIZE;
        for idx in first..last {
            let (w, b) = ((idx / 64) as usize, idx % 64);
            if self.managed[w] & (1 << b) == 0 {
                self.managed[w] |= 1 << b;
                self.free_bits[w] |= 1 << b;
                self.free += 1;
                self.total += 1;
            }
        }
    }

    /// Takes every managed frame that `[start, end)` touches out of the
    /// allocator (a partly covered frame too), so it is never handed out;
    /// returns how many it took. Only for frames that are still free.
    fn remove_range(&mut self, start: u64, end: u64) -> usize {
        let first = start / PAGE_SIZE;
        let last = end.div_ceil(PAGE_SIZE).min(FRAMES as u64);
        let mut removed = 0;
        for idx in first..last {
            let (w, b) = ((idx / 64) as usize, idx % 64);
            if self.managed[w] & (1 << b) != 0 {
                self.managed[w] &= !(1 << b);
                if self.free_bits[w] & (1 << b) != 0 {
                    self.free_bits[w] &= !(1 << b);
                    self.free -= 1;
                }
                self.total -= 1;
                removed += 1;
            }
        }
        removed
    }

    fn alloc(&mut self) -> Option<usize> {
        for step in 0..WORDS {
            let w = (self.hint + step) % WORDS;
            let word = self.free_bits[w];
            if word != 0 {
                let b = word.trailing_zeros() as usize;
                self.free_bits[w] &= !(1 << b);
                self.free -= 1;
                self.hint = w;
                return Some(w * 64 + b);
            }
        }
        None
    }

    /// The first run of `count` free frames (first fit, from the bottom:
    /// contiguous runs are rarer than single frames, so no hint), taken.
    fn alloc_run(&mut self, count: usize) -> Option<usize> {
        let is_free = |bm: &Self, i: usize| bm.free_bits[i / 64] & (1 << (i % 64)) != 0;
        let (mut start, mut len) = (0, 0);
        let mut i = 0;
        while i < FRAMES && len < count {
            if self.free_bits[i / 64] == 0 {
                // A whole word taken: the run starts over after it.
                i = (i / 64 + 1) * 64;
                len = 0;
                continue;
            }
            if is_free(self, i) {
                if len == 0 {
                    start = i;
                }
                len += 1;
            } else {
                len = 0;
            }
            i += 1;
        }
        if len < count || count == 0 {
            return None;
        }
        for idx in start..start + count {
            self.free_bits[idx / 64] &= !(1 << (idx % 64));
        }
        self.free -= count;
        Some(start)
    }

    fn free(&mut self, idx: usize) -> Result<(), FrameAllocError> {
        let addr = idx as u64 * PAGE_SIZE;
        let (w, b) = (idx / 64, idx % 64);
        if w >= WORDS || self.managed[w] & (1 << b) == 0 {
            return Err(FrameAllocError::NotManaged(addr));
        }
        if self.free_bits[w] & (1 << b) != 0 {
            return Err(FrameAllocError::AlreadyFree(addr));
        }
        self.free_bits[w] |= 1 << b;
        self.free += 1;
        self.hint = w;
        Ok(())
    }
}

/// Marks the usable RAM of `map` at or above `reserved_below` as free,
/// except the frames that `modules` (the loader's modules: the initrd)
/// touch, which are kept out for good ([`FrameStats::kept`]).
///
/// # Safety
/// Every `Ram` region of `map` at or above `reserved_below`, outside
/// `modules`, must be memory nothing uses (the loader's memory map and
/// module list, with `reserved_below` past the kernel image, as `mm::init`
/// passes): from now on it is handed out.
pub unsafe fn init(map: &[MemoryRegion], reserved_below: u64, modules: &[BootModule]) {
    crate::arch::x86_64::cpu::without_interrupts(|| {
        let mut bm = BITMAP.lock();
        for r in map.iter().filter(|r| r.kind == MemoryKind::Ram) {
            let start = r.start.max(reserved_below);
            if start < r.end() {
                bm.add_range(start, r.end());
            }
        }
        for m in modules {
            let kept = bm.remove_range(m.paddr, m.end());
            bm.kept += kept;
        }
    });
}

/// Allocates one frame. Its contents are whatever was there before.
pub fn alloc() -> Result<PhysFrame, FrameAllocError> {
    let idx = crate::arch::x86_64::cpu::without_interrupts(|| BITMAP.lock().alloc());
    let idx = idx.ok_or(FrameAllocError::OutOfMemory)?;
    Ok(PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(
        idx as u64 * PAGE_SIZE,
    )))
}

/// Allocates `count` physically contiguous frames and returns the first
/// (for DMA buffers); each is freed on its own with [`free`].
pub fn alloc_contiguous(count: usize) -> Result<PhysFrame, FrameAllocError> {
    let idx = crate::arch::x86_64::cpu::without_interrupts(|| BITMAP.lock().alloc_run(count));
    let idx = idx.ok_or(FrameAllocError::OutOfMemory)?;
    Ok(PhysFrame::<Size4KiB>::containing_address(PhysAddr::new(
        idx as u64 * PAGE_SIZE,
    )))
}

/// Returns `frame` to the allocator. A frame that is already free, or one
/// the allocator does not manage, is refused.
///
/// # Safety
/// Nothing may use `frame` any more: no mapping but the identity map may
/// point at it, it must not be a page table, and no pointer into it may
/// be used again. The next [`alloc()`] may hand it to someone else.
pub unsafe fn free(frame: PhysFrame) -> Result<(), FrameAllocError> {
    let idx = (frame.start_address().as_u64() / PAGE_SIZE) as usize;
    if idx >= FRAMES {
        return Err(FrameAllocError::NotManaged(frame.start_address().as_u64()));
    }
    crate::arch::x86_64::cpu::without_interrupts(|| BITMAP.lock().free(idx))
}

/// This allocator as the source of page-table frames for
/// [`paging`](crate::arch::x86_64::paging).
#[derive(Debug, Clone, Copy, Default)]
pub struct Frames;

// SAFETY: `table_frame` returns frames from `alloc`, which hands a frame
// out once until it is freed, and freeing one (`free`, an `unsafe fn`)
// requires that nothing uses it any more, so each is unused; every frame
// it manages lies below `MANAGED_LIMIT`, 4 GiB, inside the identity map.
unsafe impl FrameSource for Frames {
    fn table_frame(&mut self) -> Option<PhysFrame> {
        alloc().ok()
    }
}

/// Current counters.
pub fn stats() -> FrameStats {
    crate::arch::x86_64::cpu::without_interrupts(|| {
        let bm = BITMAP.lock();
        FrameStats {
            total: bm.total,
            free: bm.free,
            kept: bm.kept,
        }
    })
}
