//! Size classes in front of the kernel heap: small blocks come from
//! per-size free lists in O(1), so the common allocation (a request, a
//! string, a small vector) never walks `linked_list_allocator`'s hole list,
//! whose first-fit search grows with fragmentation (an allocation cost a
//! few thousand TSC cycles under TCG once modules were loaded; a class hit
//! costs a few hundred).
//!
//! Classes are powers of two from [`MIN_BLOCK`] to [`MAX_BLOCK`] bytes, all
//! 16-byte aligned. An empty class is refilled with a chunk carved from the
//! general heap ([`CHUNK`] bytes, or one block for the largest classes);
//! freed blocks go back to their class's list and are reused, never
//! returned to the general heap (so the heap's `used` counts them as in
//! use until the kernel reboots: [`SizeClasses::free_bytes`] says how much
//! of that is actually free). Everything here runs under the heap's lock.

use core::ptr::null_mut;

/// The smallest block.
pub const MIN_BLOCK: usize = 32;
/// The largest block served from a class; larger ones use the general heap.
pub const MAX_BLOCK: usize = 2048;
/// The alignment every class block has.
pub const ALIGN: usize = 16;
/// How much a refill carves from the general heap at once.
pub const CHUNK: usize = 4096;
/// Number of classes (32, 64, ..., 2048).
pub const CLASSES: usize = (MAX_BLOCK / MIN_BLOCK).trailing_zeros() as usize + 1;

/// The free lists: each head points at a free block whose first word points
/// at the next (null ends the list).
pub struct SizeClasses {
    heads: [*mut u8; CLASSES],
    free_bytes: usize,
}

impl Default for SizeClasses {
    fn default() -> Self {
        Self::new()
    }
}

impl SizeClasses {
    /// Empty lists.
    pub const fn new() -> Self {
        Self {
            heads: [null_mut(); CLASSES],
            free_bytes: 0,
        }
    }

    /// The class for a block of `size` bytes aligned to `align`, if one
    /// serves it.
    pub fn class_of(size: usize, align: usize) -> Option<usize> {
        if align > ALIGN || size > MAX_BLOCK {
            return None;
        }
        let block = size.max(MIN_BLOCK).next_power_of_two();
        Some((block / MIN_BLOCK).trailing_zeros() as usize)
    }

    /// The block size of `class`.
    pub const fn block_size(class: usize) -> usize {
        MIN_BLOCK << class
    }

    /// Bytes in blocks that sit free in the lists.
    pub fn free_bytes(&self) -> usize {
        self.free_bytes
    }

    /// A free block of `class`, if the list has one.
    pub fn take(&mut self, class: usize) -> Option<*mut u8> {
        let head = self.heads[class];
        if head.is_null() {
            return None;
        }
        // SAFETY: every block on the list was given to `give` or carved by
        // `refill`: a live, 16-byte aligned block of the class's size that
        // nobody else uses, whose first word holds the next pointer.
        let next = unsafe { head.cast::<*mut u8>().read() };
        self.heads[class] = next;
        self.free_bytes -= Self::block_size(class);
        Some(head)
    }

    /// Puts a block of `class` back on its list.
    ///
    /// # Safety
    /// `block` must be a block of `class` (from `take`, or carved by
    /// `refill`) that nothing uses any more.
    pub unsafe fn give(&mut self, class: usize, block: *mut u8) {
        // SAFETY: the caller hands over a whole, unused, aligned block of at
        // least one pointer's size: its first word may hold the link.
        unsafe { block.cast::<*mut u8>().write(self.heads[class]) };
        self.heads[class] = block;
        self.free_bytes += Self::block_size(class);
    }

    /// Adds the `len` bytes at `chunk` (16-byte aligned, from the general
    /// heap, never freed there) to `class` as free blocks.
    ///
    /// # Safety
    /// `chunk..chunk + len` must be memory this allocator owns and nothing
    /// else uses, aligned to [`ALIGN`].
    pub unsafe fn refill(&mut self, class: usize, chunk: *mut u8, len: usize) {
        let size = Self::block_size(class);
        let mut offset = 0;
        while offset + size <= len {
            // SAFETY: each block lies inside the chunk the caller owns, and
            // blocks do not overlap; block starts stay 16-byte aligned
            // because sizes are multiples of 16.
            unsafe { self.give(class, chunk.add(offset)) };
            offset += size;
        }
    }

    /// How many bytes to carve for a refill of `class`.
    pub const fn refill_bytes(class: usize) -> usize {
        let size = Self::block_size(class);
        if size >= CHUNK { size } else { CHUNK }
    }
}
