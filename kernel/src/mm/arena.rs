//! Module arenas: the heap of one loaded module, in a slot of the module
//! image region of its own, so that unloading the module frees all of its
//! memory at once, whatever it leaked, and its use is known exactly.
//!
//! An [`Arena`] maps nothing until its first allocation and then grows by
//! mapping frames (writable, never executable) at its top, up to its limit
//! (at most one slot, [`SLOT_SIZE`]); inside, small blocks come from
//! size classes ([`SizeClasses`], as in the kernel heap: a module's
//! allocations are mostly small and frequent) carved from a
//! `linked_list_allocator` heap, which serves the larger ones. Frees are checked against
//! the mapped range, because they come from module code: a block outside
//! it is refused rather than written to. Dropping the arena unmaps every
//! page and frees its frames and page tables.

use crate::arch::x86_64::paging;
use core::alloc::Layout;
use core::ptr::NonNull;
use linked_list_allocator::Heap;

use super::classes::SizeClasses;
use super::image::{ImageError, SLOT_SIZE, release_slot, take_slot};
use super::{PAGE_SIZE, frame};

/// Smallest growth step: a module that allocates often does not map page
/// by page.
const GROW_STEP: u64 = 4 * PAGE_SIZE;

/// One loaded module's heap (see the module docs).
pub struct Arena {
    base: u64,
    pages: u64,
    limit: u64,
    heap: Heap,
    classes: SizeClasses,
}

impl core::fmt::Debug for Arena {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "Arena({:#x}, {} of {} bytes mapped, {} used)",
            self.base,
            self.mapped(),
            self.limit,
            self.used()
        )
    }
}

impl Arena {
    /// An empty arena that may grow to `limit` bytes (clamped to a slot).
    pub fn new(limit: u64) -> Result<Self, ImageError> {
        Ok(Arena {
            base: take_slot()?,
            pages: 0,
            limit: limit.clamp(PAGE_SIZE, SLOT_SIZE),
            heap: Heap::empty(),
            classes: SizeClasses::new(),
        })
    }

    /// Bytes in blocks handed out and not freed.
    pub fn used(&self) -> u64 {
        if self.pages == 0 {
            0
        } else {
            (self.heap.used() - self.classes.free_bytes()) as u64
        }
    }

    /// Bytes mapped.
    pub fn mapped(&self) -> u64 {
        self.pages * PAGE_SIZE
    }

    /// Whether the `len` bytes at `addr` lie in the mapped part.
    pub fn contains(&self, addr: u64, len: u64) -> bool {
        addr >= self.base
            && addr
                .checked_add(len)
                .is_some_and(|end| end <= self.base + self.mapped())
    }

    /// Sets the most bytes it may map (clamped like [`Arena::new`]'s);
    /// what is mapped already stays.
    pub fn set_limit(&mut self, limit: u64) {
        self.limit = limit.clamp(PAGE_SIZE, SLOT_SIZE);
    }

    /// The most bytes it may map.
    pub fn limit(&self) -> u64 {
        self.limit
    }

    /// A block for `layout`, growing the arena if it must; `None` when the
    /// limit (or physical memory) is reached.
    pub fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        let Some(class) = SizeClasses::class_of(layout.size(), layout.align()) else {
            return self.alloc_large(layout);
        };
        if let Some(p) = self.classes.take(class) {
            return NonNull::new(p);
        }
        let bytes = SizeClasses::refill_bytes(class);
        let chunk =
            self.alloc_large(Layout::from_size_align(bytes, super::classes::ALIGN).ok()?)?;
        // SAFETY: the chunk was just carved from this arena's heap for the
        // class alone, aligned to the classes' alignment, and is never given
        // back to the heap.
        unsafe { self.classes.refill(class, chunk.as_ptr(), bytes) };
        self.classes.take(class).and_then(NonNull::new)
    }

    /// A block from the general heap, growing the arena if it must.
    fn alloc_large(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        if self.pages > 0
            && let Ok(p) = self.heap.allocate_first_fit(layout)
        {
            return Some(p);
        }
        // Room for the block wherever the free list ends, its alignment
        // padding and the allocator's bookkeeping.
        let want = (layout.size() as u64)
            .checked_add(layout.align() as u64)?
            .checked_add(64)?
            .max(GROW_STEP)
            .checked_next_multiple_of(PAGE_SIZE)?;
        self.grow(want)?;
        self.heap.allocate_first_fit(layout).ok()
    }

    /// Frees `ptr`, a block of `layout` from [`Arena::alloc`]; a pointer
    /// outside the mapped range is refused (`false`) and nothing written.
    ///
    /// # Safety
    /// A block inside the range must be one `alloc` returned for `layout`
    /// and not freed since: the arena's own bookkeeping is inside the
    /// range too, so the caller (the module) can only corrupt its own heap.
    pub unsafe fn dealloc(&mut self, ptr: *mut u8, layout: Layout) -> bool {
        let inside = self.contains(ptr as u64, layout.size() as u64);
        let Some(ptr) = NonNull::new(ptr).filter(|_| inside && self.pages > 0) else {
            return false;
        };
        match SizeClasses::class_of(layout.size(), layout.align()) {
            // SAFETY: inside the arena; by the caller's contract a block
            // `alloc` handed out for this layout, so one of this class.
            Some(class) => unsafe { self.classes.give(class, ptr.as_ptr()) },
            // SAFETY: inside the arena's mapped heap; the caller's contract
            // for the rest.
            None => unsafe { self.heap.deallocate(ptr, layout) },
        }
        true
    }

    /// Maps `bytes` more (a multiple of the page size) at the top.
    fn grow(&mut self, bytes: u64) -> Option<()> {
        let pages = bytes / PAGE_SIZE;
        if self.mapped() + bytes > self.limit {
            return None;
        }
        let first = self.pages;
        for i in 0..pages {
            let f = frame::alloc().ok()?;
            let virt = self.base + (first + i) * PAGE_SIZE;
            // SAFETY: `f` was just allocated for this page alone; `virt` is
            // in this arena's slot, which `take_slot` handed to it alone.
            if unsafe { paging::map(virt, f, &mut frame::Frames) }.is_err() {
                // SAFETY: `f` was never mapped or used.
                let _ = unsafe { frame::free(f) };
                return None;
            }
            self.pages += 1;
        }
        if first == 0 {
            // SAFETY: `[base, base + bytes)` was just mapped, writable, for
            // this arena alone, and nothing else points into it.
            unsafe { self.heap.init(self.base as *mut u8, bytes as usize) };
        } else {
            // SAFETY: the pages just mapped follow the heap's top directly.
            unsafe { self.heap.extend(bytes as usize) };
        }
        Some(())
    }
}

impl Drop for Arena {
    fn drop(&mut self) {
        for i in 0..self.pages {
            if let Ok(f) = paging::unmap(self.base + i * PAGE_SIZE) {
                // SAFETY: `f` backed this arena's page only; whoever drops
                // the arena guarantees nothing uses its blocks any more (the
                // loaded module that owned them is gone).
                let _ = unsafe { frame::free(f) };
            }
        }
        release_slot(self.base);
    }
}
