//! Reading the active page tables back: every present leaf mapping with
//! the permissions all its levels grant together ([`for_each_mapping`],
//! [`lookup`]), for the memory-protection checks and tests. Read only;
//! edits are in the parent module.

use x86_64::VirtAddr;
use x86_64::registers::model_specific::{Efer, EferFlags};
use x86_64::structures::paging::{PageTable, PageTableFlags};

use super::{table_at, with_mapper};

/// One leaf of the page tables, with the permissions every level grants
/// together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mapping {
    /// First virtual address of the page.
    pub virt: u64,
    /// Physical address it maps to.
    pub phys: u64,
    /// Page size: 4 KiB, 2 MiB or 1 GiB.
    pub size: u64,
    /// Writable at every level.
    pub writable: bool,
    /// No level forbids instruction fetches (and `EFER.NXE` is on, else
    /// everything is executable).
    pub executable: bool,
    /// The leaf has caching disabled (PCD): device memory.
    pub uncached: bool,
}

/// Visits every present leaf below `table` (at `level`, 4 = PML4), whose
/// first address is `base`, with `writable`/`executable` as the levels
/// above allow.
///
/// # Safety
/// `table` must be a page table of the active hierarchy at `level`, and the
/// caller must hold `LOCK` (be inside [`with_mapper`]).
unsafe fn walk(
    table: &PageTable,
    level: u8,
    base: u64,
    (writable, executable): (bool, bool),
    nx_enabled: bool,
    f: &mut impl FnMut(&Mapping),
) {
    let shift = 12 + 9 * u32::from(level - 1);
    for (i, entry) in table.iter().enumerate() {
        let flags = entry.flags();
        if !flags.contains(PageTableFlags::PRESENT) {
            continue;
        }
        let virt = VirtAddr::new_truncate(base | ((i as u64) << shift)).as_u64();
        let perms = (
            writable && flags.contains(PageTableFlags::WRITABLE),
            executable && !(nx_enabled && flags.contains(PageTableFlags::NO_EXECUTE)),
        );
        if level == 1 || (level <= 3 && flags.contains(PageTableFlags::HUGE_PAGE)) {
            let size = 1u64 << shift;
            f(&Mapping {
                virt,
                phys: entry.addr().as_u64() & !(size - 1),
                size,
                writable: perms.0,
                executable: perms.1,
                uncached: flags.contains(PageTableFlags::NO_CACHE),
            });
        } else {
            // SAFETY: a present non-leaf entry points at the next-level
            // table, identity-mapped; the caller holds `LOCK`.
            unsafe {
                walk(
                    table_at(entry.addr()),
                    level - 1,
                    virt,
                    perms,
                    nx_enabled,
                    f,
                )
            };
        }
    }
}

/// Calls `f` with every present leaf mapping of the active page tables, in
/// address order. `f` runs with the page-table lock held and interrupts
/// off: it must not allocate, map or block.
pub fn for_each_mapping(mut f: impl FnMut(&Mapping)) {
    let nx_enabled = Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE);
    with_mapper(|m| {
        // SAFETY: `with_mapper` holds `LOCK`, and `m` wraps the active PML4.
        unsafe { walk(m.level_4_table(), 4, 0, (true, true), nx_enabled, &mut f) }
    });
}

/// The leaf mapping that contains `virt`, if it is mapped.
pub fn lookup(virt: u64) -> Option<Mapping> {
    let nx_enabled = Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE);
    let virt = VirtAddr::try_new(virt).ok()?;
    with_mapper(|m| {
        let mut table: &PageTable = m.level_4_table();
        let (mut writable, mut executable) = (true, true);
        for level in (1..=4u8).rev() {
            let shift = 12 + 9 * u32::from(level - 1);
            let entry = &table[((virt.as_u64() >> shift) & 0x1ff) as usize];
            let flags = entry.flags();
            if !flags.contains(PageTableFlags::PRESENT) {
                return None;
            }
            writable &= flags.contains(PageTableFlags::WRITABLE);
            executable &= !(nx_enabled && flags.contains(PageTableFlags::NO_EXECUTE));
            if level == 1 || (level <= 3 && flags.contains(PageTableFlags::HUGE_PAGE)) {
                let size = 1u64 << shift;
                return Some(Mapping {
                    virt: virt.as_u64() & !(size - 1),
                    phys: entry.addr().as_u64() & !(size - 1),
                    size,
                    writable,
                    executable,
                    uncached: flags.contains(PageTableFlags::NO_CACHE),
                });
            }
            // SAFETY: a present non-leaf entry points at the next-level
            // table, identity-mapped; `LOCK` is held.
            table = unsafe { table_at(entry.addr()) };
        }
        None
    })
}
