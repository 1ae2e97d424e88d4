//! Caching of identity-mapped MMIO below 3 GiB. The boot code (`boot/`) maps the
//! top gigabyte of the first 4 GiB uncached; device windows below it
//! (q35's PCI ECAM at 0xb000_0000) are mapped write-back like RAM until
//! [`set_identity_uncached`] changes them.

use super::{
    CACHE_BITS, HUGE_PAGE_SIZE, MapError, PageTableFlags, identity_directories, table_at,
    with_mapper,
};
use x86_64::instructions::tlb;

/// Makes the identity map uncached (PCD and PWT: the default PAT's UC)
/// from `start` to `end`, rounded out to 2 MiB pages, whether a page is
/// still a 2 MiB page or was split into 4 KiB ones. Returns how many 2 MiB
/// pages were covered; `NotMapped` if part of the range is not identity
/// mapped (at or above 4 GiB). Only this CPU's TLB is flushed: the caller
/// runs it before any other CPU has touched the range (the PCI
/// enumeration, at boot, before the APs start).
///
/// The range must be device memory: caching RAM differently from its
/// other mappings would break coherence.
pub fn set_identity_uncached(start: u64, end: u64) -> Result<usize, MapError> {
    let first = start & !(HUGE_PAGE_SIZE - 1);
    let last = end.div_ceil(HUGE_PAGE_SIZE) * HUGE_PAGE_SIZE;
    with_mapper(|m| {
        let mut covered = 0;
        let mut page = first;
        while page < last {
            // SAFETY: `with_mapper` holds `LOCK`, and `m` wraps the active
            // PML4 (taken again each page: the iterator borrows it).
            let (base, pd) = unsafe { identity_directories(m.level_4_table()) }
                .find(|(base, _)| (*base..*base + (1 << 30)).contains(&page))
                .ok_or(MapError::NotMapped(page))?;
            let entry = &mut pd[((page - base) / HUGE_PAGE_SIZE) as usize];
            let flags = entry.flags();
            if !flags.contains(PageTableFlags::PRESENT) {
                return Err(MapError::NotMapped(page));
            }
            if flags.contains(PageTableFlags::HUGE_PAGE) {
                entry.set_flags(flags | CACHE_BITS);
            } else {
                // SAFETY: a present, non-huge directory entry of the
                // identity map points at a page table that
                // `protect_identity_map` allocated; `LOCK` is held.
                let pt = unsafe { table_at(entry.addr()) };
                for leaf in pt.iter_mut().filter(|l| !l.is_unused()) {
                    let f = leaf.flags();
                    leaf.set_flags(f | CACHE_BITS);
                }
            }
            covered += 1;
            page += HUGE_PAGE_SIZE;
        }
        tlb::flush_all();
        Ok(covered)
    })
}
