//! Kernel stacks with an unmapped guard page below each.
//!
//! Stacks live in their own higher-half region, one [`SLOT_SIZE`] slot per
//! stack: the lowest page of a slot is never mapped, the stack's pages sit
//! right above it. Running off the bottom of a stack therefore faults on
//! the guard page instead of silently overwriting whatever lies below, and
//! the exception handler recognises the address with [`is_guard_address`]
//! and reports a stack overflow. Freed slots are reused.
//!
//! A freed stack keeps its pages mapped: the next stack in that slot
//! reuses them (mapping more if it is larger). A page of a stack slot is
//! therefore never unmapped or mapped to another frame, which is what keeps
//! a stale TLB entry harmless: the kernel does not shoot down other CPUs'
//! TLBs, and a CPU that ran a thread whose stack was freed may still cache
//! that stack's translations. Were its frames handed to another stack, that
//! CPU would write a new thread's stack through the old entry into some
//! other thread's. The cost is that a freed stack's frames stay with its
//! slot (at most the peak of stacks alive at once).

use crate::arch::x86_64::{cpu, paging};
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use spin::Mutex;

use super::{PAGE_SIZE, frame};

/// First virtual address of the stack region.
pub const REGION_START: u64 = 0xffff_9000_0000_0000;
/// Virtual space per stack, guard page included.
pub const SLOT_SIZE: u64 = 1 << 20;
/// Most stacks that can exist at once.
pub const MAX_STACKS: u64 = 4096;
/// Largest stack, in pages (the slot minus its guard page).
pub const MAX_PAGES: usize = (SLOT_SIZE / PAGE_SIZE) as usize - 1;

static NEXT_SLOT: AtomicU64 = AtomicU64::new(0);
/// Freed slots, with how many pages each still has mapped.
static FREE_SLOTS: Mutex<Vec<(u64, usize)>> = Mutex::new(Vec::new());

/// Why a stack could not be created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StackError {
    /// Zero pages, or more than [`MAX_PAGES`].
    BadSize(usize),
    /// Every slot of the region is in use.
    NoSlot,
    /// Physical memory ran out while mapping the stack.
    OutOfMemory,
}

impl core::fmt::Display for StackError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::BadSize(n) => write!(f, "stack of {n} pages (must be 1..={MAX_PAGES})"),
            Self::NoSlot => write!(f, "all {MAX_STACKS} stack slots are in use"),
            Self::OutOfMemory => f.write_str("out of memory for a stack"),
        }
    }
}

/// A mapped kernel stack; unmapped and its frames freed on drop.
#[derive(Debug)]
pub struct KernelStack {
    slot: u64,
    /// Usable pages, from the bottom up.
    pages: usize,
    /// Pages mapped in the slot (at least `pages`): what an earlier, larger
    /// stack in the slot left mapped.
    mapped: usize,
}

impl KernelStack {
    /// Maps a stack of `pages` pages with a guard page below it.
    pub fn new(pages: usize) -> Result<Self, StackError> {
        if pages == 0 || pages > MAX_PAGES {
            return Err(StackError::BadSize(pages));
        }
        let (slot, mapped) = match cpu::without_interrupts(|| FREE_SLOTS.lock().pop()) {
            Some(free) => free,
            None => {
                let s = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
                if s >= MAX_STACKS {
                    NEXT_SLOT.fetch_sub(1, Ordering::Relaxed);
                    return Err(StackError::NoSlot);
                }
                (s, 0)
            }
        };
        // Dropping it on an error below gives the slot back, with what is
        // mapped in it so far.
        let mut stack = Self {
            slot,
            pages,
            mapped,
        };
        while stack.mapped < pages {
            let f = frame::alloc().map_err(|_| StackError::OutOfMemory)?;
            let virt = stack.bottom() + stack.mapped as u64 * PAGE_SIZE;
            // SAFETY: `f` was just allocated for this page alone, and `virt`
            // is in `slot`, which this stack took from `FREE_SLOTS` or
            // `NEXT_SLOT` and so owns alone; pages at and above `mapped`
            // were never mapped in this slot.
            if unsafe { paging::map(virt, f, &mut frame::Frames) }.is_err() {
                // SAFETY: `f` was never mapped or used.
                let _ = unsafe { frame::free(f) };
                return Err(StackError::OutOfMemory);
            }
            stack.mapped += 1;
        }
        Ok(stack)
    }

    /// Lowest usable address (just above the guard page).
    pub fn bottom(&self) -> u64 {
        REGION_START + self.slot * SLOT_SIZE + PAGE_SIZE
    }

    /// One past the highest usable address: the initial stack pointer.
    pub fn top(&self) -> u64 {
        self.bottom() + self.pages as u64 * PAGE_SIZE
    }

    /// Address range of the guard page.
    pub fn guard(&self) -> core::ops::Range<u64> {
        self.bottom() - PAGE_SIZE..self.bottom()
    }
}

impl Drop for KernelStack {
    /// Gives the slot back with its pages still mapped (see the module
    /// docs for why they are not unmapped).
    fn drop(&mut self) {
        let free = (self.slot, self.mapped);
        cpu::without_interrupts(|| FREE_SLOTS.lock().push(free));
    }
}

/// Whether `addr` falls in the guard page of any stack slot.
pub fn is_guard_address(addr: u64) -> bool {
    let used = NEXT_SLOT.load(Ordering::Relaxed);
    addr >= REGION_START
        && addr < REGION_START + used * SLOT_SIZE
        && (addr - REGION_START) % SLOT_SIZE < PAGE_SIZE
}
