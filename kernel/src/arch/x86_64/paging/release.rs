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
pub fn release_tables(start: u64, end: u64, release: impl FnMut(PhysFrame)) -> usize {
    release_empty(start, end, 2, release)
}

/// Unlinks every page directory that maps a 1 GiB-aligned 1 GiB block
/// inside `[start, end)` and maps nothing any more, flushes this CPU's
/// TLB and paging-structure caches, and hands each directory's frame to
/// `release` (same rules as [`release_tables`], whose caller contract
/// applies: nothing maps or uses those addresses again).
pub fn release_directories(start: u64, end: u64, release: impl FnMut(PhysFrame)) -> usize {
    release_empty(start, end, 1, release)
}

/// The walk both share: for each block inside `[start, end)` that one
/// table `depth` levels below the top maps (2: a page table, 2 MiB; 1: a
/// page directory, 1 GiB), follows the entries down to the one pointing
/// at that table, and unlinks and releases the table if it maps nothing.
fn release_empty(start: u64, end: u64, depth: usize, mut release: impl FnMut(PhysFrame)) -> usize {
    let size = if depth == 2 { HUGE_PAGE_SIZE } else { 1 << 30 };
    with_mapper(|m| {
        let mut released = 0;
        let mut block = start.next_multiple_of(size);
        while block.checked_add(size).is_some_and(|e| e <= end) {
            let Ok(addr) = VirtAddr::try_new(block) else {
                break;
            };
            block += size;
            let indexes = [addr.p4_index(), addr.p3_index(), addr.p2_index()];
            let mut table: &mut PageTable = m.level_4_table_mut();
            let mut present = true;
            for &index in &indexes[..depth] {
                let flags = table[index].flags();
                if !flags.contains(PageTableFlags::PRESENT)
                    || flags.contains(PageTableFlags::HUGE_PAGE)
                {
                    present = false;
                    break;
                }
                // SAFETY: a present, non-huge entry above the leaves points
                // at the next table, identity-mapped; `LOCK` is held.
                table = unsafe { table_at(table[index].addr()) };
            }
            if !present {
                continue;
            }
            let entry = &mut table[indexes[depth]];
            let flags = entry.flags();
            if !flags.contains(PageTableFlags::PRESENT) || flags.contains(PageTableFlags::HUGE_PAGE)
            {
                continue;
            }
            let frame = PhysFrame::containing_address(entry.addr());
            // SAFETY: a present, non-huge entry above the leaves points at
            // the table to release, identity-mapped; `LOCK` is held.
            let child = unsafe { table_at(entry.addr()) };
            if child.iter().all(|e| e.is_unused()) {
                entry.set_unused();
                // Reloading CR3 drops this CPU's cached entries for the
                // table too, before the frame is reused.
                tlb::flush_all();
                release(frame);
                released += 1;
            }
        }
        released
    })
}
