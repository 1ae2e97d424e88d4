//! Page-table edits for the kernel's own virtual regions.
//!
//! The boot stub identity-maps the first 4 GiB with 2 MiB pages under
//! PML4 entry 0, and page-table frames come from that range, so a physical
//! address is also a usable pointer (offset 0). Everything the kernel maps
//! later (heap, guarded stacks) lives in the higher half, under other PML4
//! entries, with 4 KiB pages so that single guard pages can stay unmapped.
//! Every edit holds one lock with interrupts off.

use crate::mm::frame::{self, FrameAllocError};
use spin::Mutex;
use x86_64::registers::control::Cr3;
use x86_64::structures::paging::mapper::{MapToError, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

static LOCK: Mutex<()> = Mutex::new(());

/// Why a mapping could not be changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapError {
    /// No free frame for the page or an intermediate table.
    OutOfFrames,
    /// The page is already mapped.
    AlreadyMapped(u64),
    /// The page is not mapped.
    NotMapped(u64),
    /// The address lies inside a huge page (the identity map).
    HugePage(u64),
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutOfFrames => f.write_str("out of physical frames"),
            Self::AlreadyMapped(a) => write!(f, "page {a:#x} is already mapped"),
            Self::NotMapped(a) => write!(f, "page {a:#x} is not mapped"),
            Self::HugePage(a) => write!(f, "address {a:#x} is inside a huge page"),
        }
    }
}

impl From<FrameAllocError> for MapError {
    fn from(_: FrameAllocError) -> Self {
        Self::OutOfFrames
    }
}

/// Hands page-table frames to the `x86_64` mapper from our frame allocator.
struct TableFrames;

// SAFETY: frames come from `frame::alloc`, which never hands out a frame
// twice, and every frame below 4 GiB is identity-mapped so the mapper can
// initialise it through offset 0.
unsafe impl FrameAllocator<Size4KiB> for TableFrames {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        frame::alloc().ok()
    }
}

fn with_mapper<R>(f: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    super::cpu::without_interrupts(|| {
        let _guard = LOCK.lock();
        let (pml4_frame, _) = Cr3::read();
        let pml4 = pml4_frame.start_address().as_u64() as *mut PageTable;
        // SAFETY: CR3 holds the active PML4, identity-mapped; `LOCK` makes
        // this the only live reference to the tables for the closure's
        // duration, and physical memory is mapped at offset 0.
        let mut mapper = unsafe { OffsetPageTable::new(&mut *pml4, VirtAddr::new(0)) };
        f(&mut mapper)
    })
}

/// Maps the 4 KiB page at `virt` to `frame`, writable and non-executable.
pub fn map(virt: u64, frame: PhysFrame) -> Result<(), MapError> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    with_mapper(|m| {
        // SAFETY: `virt` is in a kernel-owned higher-half region that nothing
        // else maps, and `frame` was allocated for this mapping alone.
        match unsafe { m.map_to(page, frame, flags, &mut TableFrames) } {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(MapToError::FrameAllocationFailed) => Err(MapError::OutOfFrames),
            Err(MapToError::PageAlreadyMapped(_)) => Err(MapError::AlreadyMapped(virt)),
            Err(MapToError::ParentEntryHugePage) => Err(MapError::HugePage(virt)),
        }
    })
}

/// Unmaps the 4 KiB page at `virt` and returns the frame it mapped.
pub fn unmap(virt: u64) -> Result<PhysFrame, MapError> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    with_mapper(|m| match m.unmap(page) {
        Ok((frame, flush)) => {
            flush.flush();
            Ok(frame)
        }
        Err(UnmapError::ParentEntryHugePage) => Err(MapError::HugePage(virt)),
        Err(_) => Err(MapError::NotMapped(virt)),
    })
}

/// The physical address `virt` maps to, if any.
pub fn translate(virt: u64) -> Option<PhysAddr> {
    use x86_64::structures::paging::Translate;
    with_mapper(|m| m.translate_addr(VirtAddr::new(virt)))
}
