//! Page-table edits for the kernel's own virtual regions.
//!
//! The boot stub identity-maps the first 4 GiB with 2 MiB pages under
//! PML4 entry 0, and page-table frames come from that range, so a physical
//! address is also a usable pointer (offset 0). Everything the kernel maps
//! later (heap, guarded stacks, module images) lives in the higher half,
//! under other PML4 entries, with 4 KiB pages so that single guard pages
//! can stay unmapped.
//! Every edit holds one lock with interrupts off.
//!
//! Memory protection ([`super::protect`] decides, this module applies):
//! [`protect_identity_map`] splits the 2 MiB identity pages that hold the
//! kernel image into 4 KiB pages with an [`Access`] each, and makes the rest
//! of the identity map non-executable; [`set_identity_access`] changes one
//! of those 4 KiB pages later (the AP trampoline), and [`set_access`] one
//! page that [`map`] mapped (module images, once filled);
//! [`release_tables`] frees the emptied page tables of a region given up;
//! [`set_identity_uncached`] makes a device window below 3 GiB uncached.
//! [`Access`] has no writable-and-executable value, so W^X holds for every
//! page set through it. [`lookup`] and [`for_each_mapping`] read the tables back, with the
//! effective permissions of every level, for tests and diagnostics.
//!
//! Frames for new page tables are not taken from anywhere in particular:
//! the caller passes a [`FrameSource`] (the memory manager's frame
//! allocator), so this module needs nothing above the CPU.

use spin::Mutex;
use x86_64::instructions::tlb;
use x86_64::registers::control::Cr3;
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::mapper::{MapToError, UnmapError};
use x86_64::structures::paging::{
    FrameAllocator, Mapper, OffsetPageTable, Page, PageTable, PageTableFlags, PhysFrame, Size4KiB,
};
use x86_64::{PhysAddr, VirtAddr};

static LOCK: Mutex<()> = Mutex::new(());

mod cache;
mod release;
mod walk;

pub use cache::set_identity_uncached;
pub use release::{release_directories, release_tables};
pub use walk::{Mapping, for_each_mapping, lookup};

/// Size of a page (and of a physical frame).
pub const PAGE_SIZE: u64 = 4096;
/// The identity map's uncached top gigabyte of the first 4 GiB, where the
/// boot code maps device registers (I/O APIC, local APIC, PCI BARs).
pub const UNCACHED_IDENTITY_MAP: core::ops::Range<u64> = (3 << 30)..(4 << 30);

/// Where the frames for new page tables come from.
///
/// # Safety
/// Every frame [`table_frame`](Self::table_frame) returns must be unused
/// by anything else (it becomes a page table, and is never given back
/// through this trait) and lie below 4 GiB, where the boot identity map
/// lets the mapper zero and read it at its physical address.
pub unsafe trait FrameSource {
    /// A free frame for a page table, or `None` when there is none.
    fn table_frame(&mut self) -> Option<PhysFrame>;
}

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
    /// The address is not in the identity map's 4 KiB part: below
    /// [`protect_identity_map`]'s split end, after it ran.
    NotSplit(u64),
    /// [`set_access`] with [`Access::None`]: taking a page away is
    /// [`unmap`], which gives its frame back.
    NoAccess(u64),
}

impl core::fmt::Display for MapError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutOfFrames => f.write_str("out of physical frames"),
            Self::AlreadyMapped(a) => write!(f, "page {a:#x} is already mapped"),
            Self::NotMapped(a) => write!(f, "page {a:#x} is not mapped"),
            Self::HugePage(a) => write!(f, "address {a:#x} is inside a huge page"),
            Self::NotSplit(a) => {
                write!(f, "address {a:#x} is not a 4 KiB page of the identity map")
            }
            Self::NoAccess(a) => write!(f, "page {a:#x}: no access means unmapping it"),
        }
    }
}

/// Hands page-table frames to the `x86_64` mapper from a [`FrameSource`].
struct TableFrames<'a, F: FrameSource>(&'a mut F);

// SAFETY: `allocate_frame` must return frames no one else uses. They come
// from a `FrameSource`, whose implementer guarantees exactly that, and
// that they lie below 4 GiB, so the mapper can zero them through the
// identity map (offset 0).
unsafe impl<F: FrameSource> FrameAllocator<Size4KiB> for TableFrames<'_, F> {
    fn allocate_frame(&mut self) -> Option<PhysFrame<Size4KiB>> {
        self.0.table_frame()
    }
}

fn with_mapper<R>(f: impl FnOnce(&mut OffsetPageTable<'static>) -> R) -> R {
    super::cpu::without_interrupts(|| {
        let _guard = LOCK.lock();
        let (pml4_frame, _) = Cr3::read();
        let pml4 = pml4_frame.start_address().as_u64() as *mut PageTable;
        // SAFETY: CR3 holds the active PML4. Every page table lives below
        // 4 GiB (the boot stub's in the image, later ones from a
        // `FrameSource`, whose contract keeps them there), where physical
        // memory is identity-mapped, which is all `OffsetPageTable` reads through
        // offset 0. `LOCK` (held, interrupts off, until the closure
        // returns) is taken by every Rust access to the tables, so this is
        // the only reference to them meanwhile.
        let mut mapper = unsafe { OffsetPageTable::new(&mut *pml4, VirtAddr::new(0)) };
        f(&mut mapper)
    })
}

/// Maps the 4 KiB page at `virt` to `frame`, writable and non-executable,
/// taking any page table it needs from `tables`. A page already mapped is
/// refused (`AlreadyMapped`), and so is one inside a 2 MiB page
/// (`HugePage`).
///
/// # Safety
/// `frame` must be the caller's alone: allocated for this mapping and not
/// mapped or used anywhere else (its identity-map alias aside, which
/// nothing touches). `virt` must be in a region the caller owns, so that
/// no one holds a pointer that the new mapping would give meaning to.
pub unsafe fn map(
    virt: u64,
    frame: PhysFrame,
    tables: &mut impl FrameSource,
) -> Result<(), MapError> {
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    let flags = PageTableFlags::PRESENT | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE;
    with_mapper(|m| {
        // SAFETY: the caller guarantees `frame` is used by nothing else and
        // `virt` is theirs; `map_to` refuses a page already mapped, so no
        // live mapping changes under anyone.
        match unsafe { m.map_to(page, frame, flags, &mut TableFrames(tables)) } {
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

/// Sets the access of the 4 KiB page at `virt`, mapped by [`map`], and
/// flushes this CPU's TLB entry for it. Other CPUs are not told: the caller
/// must know that none of them has used the page since its access last
/// changed (a region no other CPU has seen yet, say). [`Access::None`] is
/// refused (`NoAccess`): use [`unmap`].
pub fn set_access(virt: u64, access: Access) -> Result<(), MapError> {
    use x86_64::structures::paging::mapper::FlagUpdateError;
    if access == Access::None {
        return Err(MapError::NoAccess(virt));
    }
    let page = Page::<Size4KiB>::containing_address(VirtAddr::new(virt));
    with_mapper(|m| {
        // SAFETY: only the leaf's access bits change, to a value `Access`
        // allows (never writable and executable); the frame stays the
        // same, so no one's memory changes under them. A page that
        // becomes read-only or non-executable makes later accesses fault
        // rather than do harm.
        match unsafe { m.update_flags(page, access.flags()) } {
            Ok(flush) => {
                flush.flush();
                Ok(())
            }
            Err(FlagUpdateError::ParentEntryHugePage) => Err(MapError::HugePage(virt)),
            Err(FlagUpdateError::PageNotMapped) => Err(MapError::NotMapped(virt)),
        }
    })
}

/// The physical address `virt` maps to, if any.
pub fn translate(virt: u64) -> Option<PhysAddr> {
    use x86_64::structures::paging::Translate;
    with_mapper(|m| m.translate_addr(VirtAddr::new(virt)))
}

/// Size of a 2 MiB page.
const HUGE_PAGE_SIZE: u64 = 2 << 20;
/// The caching bits a leaf keeps when its 2 MiB page is split (the top
/// gigabyte of the identity map is uncached MMIO).
const CACHE_BITS: PageTableFlags = PageTableFlags::WRITE_THROUGH.union(PageTableFlags::NO_CACHE);

/// What the CPU may do with a page. There is deliberately no value that is
/// both writable and executable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Not mapped: every access faults.
    None,
    /// Readable only.
    Read,
    /// Readable and writable, never executable.
    ReadWrite,
    /// Readable and executable, never writable.
    ReadExecute,
}

impl Access {
    /// The leaf-entry flags for this access (empty for [`Access::None`]).
    fn flags(self) -> PageTableFlags {
        let present = PageTableFlags::PRESENT;
        match self {
            Self::None => PageTableFlags::empty(),
            Self::Read => present | PageTableFlags::NO_EXECUTE,
            Self::ReadWrite => present | PageTableFlags::WRITABLE | PageTableFlags::NO_EXECUTE,
            Self::ReadExecute => present,
        }
    }
}

/// The page table at physical address `addr`, through the identity map.
///
/// # Safety
/// `addr` must be the address of a page table (a frame below 4 GiB, so
/// identity-mapped), the caller must hold `LOCK`, and the reference must
/// not outlive that.
unsafe fn table_at<'a>(addr: PhysAddr) -> &'a mut PageTable {
    // SAFETY: guaranteed by the caller: `addr` is an identity-mapped page
    // table and `LOCK` makes this the only reference to it.
    unsafe { &mut *(addr.as_u64() as *mut PageTable) }
}

/// The page directories of the identity map (PML4 entry 0), with the
/// virtual address each starts at.
///
/// # Safety
/// `pml4` must be the active PML4 and the caller must hold `LOCK` (be
/// inside [`with_mapper`]) for as long as the directories are used.
unsafe fn identity_directories(pml4: &PageTable) -> impl Iterator<Item = (u64, &mut PageTable)> {
    let entry = &pml4[0];
    let pdpt = if entry.flags().contains(PageTableFlags::PRESENT) {
        // SAFETY: a present PML4 entry points at a PDPT the boot stub built
        // in the identity-mapped image; the caller holds `LOCK`.
        Some(unsafe { table_at(entry.addr()) })
    } else {
        None
    };
    pdpt.into_iter()
        .flat_map(|pdpt| pdpt.iter_mut().enumerate())
        .filter(|(_, e)| {
            let f = e.flags();
            f.contains(PageTableFlags::PRESENT) && !f.contains(PageTableFlags::HUGE_PAGE)
        })
        .map(|(i, e)| {
            // SAFETY: a present, non-huge PDPT entry points at a page
            // directory in identity-mapped memory; `LOCK` is held.
            (i as u64 * (1 << 30), unsafe { table_at(e.addr()) })
        })
}

/// Protects the identity map: each 2 MiB page that starts below
/// `split_end` becomes a table of 4 KiB pages whose access `policy` gives
/// (called with each page's address; caching bits are kept), and every
/// other 2 MiB page becomes non-executable. Returns how many 2 MiB pages
/// were split. Runs once, at boot, on the boot CPU, before any other CPU
/// uses these tables: only this CPU's TLB is flushed.
///
/// Page-table frames come from `tables`. Panics if `EFER.NXE` is off: the
/// no-execute bit is reserved without it.
pub fn protect_identity_map(
    split_end: u64,
    policy: impl Fn(u64) -> Access,
    tables: &mut impl FrameSource,
) -> Result<usize, MapError> {
    if !Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE) {
        // Setting bit 63 without NXE would make every page fault as
        // reserved; the boot stub enables it, so this is a broken boot.
        panic!("EFER.NXE is off: the no-execute bit cannot be used");
    }
    with_mapper(|m| {
        let mut split = 0;
        let mut result = Ok(());
        // SAFETY: `with_mapper` holds `LOCK`, and `m` wraps the active PML4.
        let dirs = unsafe { identity_directories(m.level_4_table()) };
        'dirs: for (base, pd) in dirs {
            for (i, entry) in pd.iter_mut().enumerate() {
                let flags = entry.flags();
                let start = base + i as u64 * HUGE_PAGE_SIZE;
                if !flags.contains(PageTableFlags::PRESENT | PageTableFlags::HUGE_PAGE) {
                    continue;
                }
                if start >= split_end {
                    entry.set_flags(flags | PageTableFlags::NO_EXECUTE);
                    continue;
                }
                let Some(frame) = tables.table_frame() else {
                    result = Err(MapError::OutOfFrames);
                    break 'dirs;
                };
                // Bit 12 of a 2 MiB entry is PAT, not address: mask it.
                let phys = entry.addr().as_u64() & !(HUGE_PAGE_SIZE - 1);
                // SAFETY: the frame source gave the frame for this table
                // alone and it lies below 4 GiB (the `FrameSource`
                // contract), so it is identity-mapped; `LOCK` is held.
                let pt = unsafe { table_at(frame.start_address()) };
                for (k, leaf) in pt.iter_mut().enumerate() {
                    let offset = k as u64 * PAGE_SIZE;
                    match policy(start + offset) {
                        Access::None => leaf.set_unused(),
                        access => leaf.set_addr(
                            PhysAddr::new(phys + offset),
                            access.flags() | (flags & CACHE_BITS),
                        ),
                    }
                }
                // One 8-byte store swaps the 2 MiB page for the table; the
                // code and stack running now stay mapped either way, and
                // stale TLB entries are dropped below. The directory entry
                // allows everything; the leaves decide.
                entry.set_addr(
                    frame.start_address(),
                    PageTableFlags::PRESENT | PageTableFlags::WRITABLE,
                );
                split += 1;
            }
        }
        tlb::flush_all();
        result.map(|()| split)
    })
}

/// Sets the access of the 4 KiB identity-map page at `addr` (one that
/// [`protect_identity_map`] split), flushing this CPU's TLB entry for it.
/// Other CPUs are not told: the caller must know that none of them uses
/// the page while its access changes.
pub fn set_identity_access(addr: u64, access: Access) -> Result<(), MapError> {
    let addr = addr & !(PAGE_SIZE - 1);
    with_mapper(|m| {
        // SAFETY: `with_mapper` holds `LOCK`, and `m` wraps the active PML4.
        let (base, pd) = unsafe { identity_directories(m.level_4_table()) }
            .find(|(base, _)| (*base..*base + (1 << 30)).contains(&addr))
            .ok_or(MapError::NotSplit(addr))?;
        let entry = &pd[((addr - base) / HUGE_PAGE_SIZE) as usize];
        let flags = entry.flags();
        if !flags.contains(PageTableFlags::PRESENT) || flags.contains(PageTableFlags::HUGE_PAGE) {
            return Err(MapError::NotSplit(addr));
        }
        // SAFETY: a present, non-huge directory entry of the identity map
        // points at a page table `protect_identity_map` allocated; `LOCK`
        // is held.
        let pt = unsafe { table_at(entry.addr()) };
        let leaf = &mut pt[((addr % HUGE_PAGE_SIZE) / PAGE_SIZE) as usize];
        let cache = leaf.flags() & CACHE_BITS;
        match access {
            Access::None => leaf.set_unused(),
            access => leaf.set_addr(PhysAddr::new(addr), access.flags() | cache),
        }
        tlb::flush(VirtAddr::new(addr));
        Ok(())
    })
}
