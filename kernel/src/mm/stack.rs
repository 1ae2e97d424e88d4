//! Kernel stacks with an unmapped guard page below each.
//!
//! Stacks live in their own higher-half region, one [`SLOT_SIZE`] slot per
//! stack: the lowest page of a slot is never mapped, the stack's pages sit
//! right above it. Running off the bottom of a stack therefore faults on
//! the guard page instead of silently overwriting whatever lies below, and
//! the exception handler recognises the address with [`is_guard_address`]
//! and reports a stack overflow. Freed slots are reused.

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
static FREE_SLOTS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

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
    pages: usize,
}

impl KernelStack {
    /// Maps a stack of `pages` pages with a guard page below it.
    pub fn new(pages: usize) -> Result<Self, StackError> {
        if pages == 0 || pages > MAX_PAGES {
            return Err(StackError::BadSize(pages));
        }
        let slot = match cpu::without_interrupts(|| FREE_SLOTS.lock().pop()) {
            Some(s) => s,
            None => {
                let s = NEXT_SLOT.fetch_add(1, Ordering::Relaxed);
                if s >= MAX_STACKS {
                    NEXT_SLOT.fetch_sub(1, Ordering::Relaxed);
                    return Err(StackError::NoSlot);
                }
                s
            }
        };
        let mut stack = Self { slot, pages: 0 };
        for _ in 0..pages {
            let f = frame::alloc().map_err(|_| StackError::OutOfMemory)?;
            let virt = stack.bottom() + stack.pages as u64 * PAGE_SIZE;
            // SAFETY: `f` was just allocated for this page alone, and `virt`
            // is in `slot`, which this stack took from `FREE_SLOTS` or
            // `NEXT_SLOT` and so owns alone (a freed slot's pages were all
            // unmapped before it was put back).
            if unsafe { paging::map(virt, f, &mut frame::Frames) }.is_err() {
                // SAFETY: `f` was never mapped or used.
                let _ = unsafe { frame::free(f) };
                return Err(StackError::OutOfMemory);
            }
            stack.pages += 1;
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
    fn drop(&mut self) {
        for i in 0..self.pages {
            if let Ok(f) = paging::unmap(self.bottom() + i as u64 * PAGE_SIZE) {
                // SAFETY: `f` backed this stack page only (mapped in `new`)
                // and is now unmapped. Nothing runs on the stack any more:
                // code is only put on it through `switch::initial_frame` or
                // `cpu::call_on_stack`, whose callers must keep the
                // `KernelStack` alive while it is in use.
                let _ = unsafe { frame::free(f) };
            }
        }
        let slot = self.slot;
        cpu::without_interrupts(|| FREE_SLOTS.lock().push(slot));
    }
}

/// Whether `addr` falls in the guard page of any stack slot.
pub fn is_guard_address(addr: u64) -> bool {
    let used = NEXT_SLOT.load(Ordering::Relaxed);
    addr >= REGION_START
        && addr < REGION_START + used * SLOT_SIZE
        && (addr - REGION_START) % SLOT_SIZE < PAGE_SIZE
}
