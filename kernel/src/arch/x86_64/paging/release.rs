//! Giving page-table frames back: once a region's pages are unmapped and
//! nothing will use its addresses again (an unloaded module's image or
//! arena slot), the emptied page tables under it, and the page directories
//! of whole gigabytes, are unlinked and their frames returned.

use super::{HUGE_PAGE_SIZE, PageTable, PageTableFlags, PhysFrame, table_at, with_mapper};
use x86_64::VirtAddr;
use x86_64::instructions::tlb;

/// Unlinks every page table that maps a 2 MiB-aligned 2 MiB block inside
/// `[start, end)` and maps nothing any more, flushes this CPU's TLB and
/// paging-structure caches, and hands each table's frame to `release`
/// (called with the page-table lock held and interrupts off: it must not
/// map, but may free the frame). Returns how many tables were released.
/// Higher-level tables are kept (they may map other blocks later).
///
/// Other CPUs are not told: one of them may still cache a directory entry
/// pointing at a released table, for addresses inside `[start, end)` only,
/// so the caller must know that no code uses those addresses again.
pub fn release_tables(start: u64, end: u64, mut release: impl FnMut(PhysFrame)) -> usize {
    let first = start.next_multiple_of(HUGE_PAGE_SIZE);
    with_mapper(|m| {
        let mut released = 0;
        let mut block = first;
        while block.checked_add(HUGE_PAGE_SIZE).is_some_and(|e| e <= end) {
            let Ok(addr) = VirtAddr::try_new(block) else {
                break;
            };
            let mut table: &mut PageTable = m.level_4_table_mut();
            let indexes = [addr.p4_index(), addr.p3_index()];
            let mut present = true;
            for index in indexes {
                let entry = &table[index];
                let flags = entry.flags();
                if !flags.contains(PageTableFlags::PRESENT)
                    || flags.contains(PageTableFlags::HUGE_PAGE)
                {
                    present = false;
                    break;
                }
                // SAFETY: a present, non-huge entry above the leaves points
                // at the next table, identity-mapped; `LOCK` is held.
                table = unsafe { table_at(entry.addr()) };
            }
            if present {
                let entry = &mut table[addr.p2_index()];
                let flags = entry.flags();
                if flags.contains(PageTableFlags::PRESENT)
                    && !flags.contains(PageTableFlags::HUGE_PAGE)
                {
                    let frame = PhysFrame::containing_address(entry.addr());
                    // SAFETY: a present, non-huge directory entry points at
                    // a page table, identity-mapped; `LOCK` is held.
                    let pt = unsafe { table_at(entry.addr()) };
                    if pt.iter().all(|e| e.is_unused()) {
                        entry.set_unused();
                        // Reloading CR3 drops this CPU's cached directory
                        // entries too, before the frame is reused.
                        tlb::flush_all();
                        release(frame);
                        released += 1;
                    }
                }
            }
            block += HUGE_PAGE_SIZE;
        }
        released
    })
}

/// Unlinks every page directory that maps a 1 GiB-aligned 1 GiB block
/// inside `[start, end)` and maps nothing any more, flushes this CPU's
/// TLB and paging-structure caches, and hands each directory's frame to
/// `release` (same rules as [`release_tables`], whose caller contract
/// applies: nothing maps or uses those addresses again).
pub fn release_directories(start: u64, end: u64, mut release: impl FnMut(PhysFrame)) -> usize {
    const GIB: u64 = 1 << 30;
    with_mapper(|m| {
        let mut released = 0;
        let mut block = start.next_multiple_of(GIB);
        while block.checked_add(GIB).is_some_and(|e| e <= end) {
            let Ok(addr) = VirtAddr::try_new(block) else {
                break;
            };
            let l4 = &m.level_4_table_mut()[addr.p4_index()];
            let flags = l4.flags();
            if flags.contains(PageTableFlags::PRESENT) && !flags.contains(PageTableFlags::HUGE_PAGE)
            {
                // SAFETY: a present level-4 entry points at a PDPT,
                // identity-mapped; `LOCK` is held.
                let pdpt = unsafe { table_at(l4.addr()) };
                let entry = &mut pdpt[addr.p3_index()];
                let flags = entry.flags();
                if flags.contains(PageTableFlags::PRESENT)
                    && !flags.contains(PageTableFlags::HUGE_PAGE)
                {
                    let frame = PhysFrame::containing_address(entry.addr());
                    // SAFETY: a present, non-huge PDPT entry points at a
                    // page directory, identity-mapped; `LOCK` is held.
                    let pd = unsafe { table_at(entry.addr()) };
                    if pd.iter().all(|e| e.is_unused()) {
                        entry.set_unused();
                        tlb::flush_all();
                        release(frame);
                        released += 1;
                    }
                }
            }
            block += GIB;
        }
        released
    })
}
