//! [`KernelAlloc`], a module binary's global allocator: blocks from the
//! kernel's arena for the image, with the small ones kept on per-size free
//! lists in the module so that most allocations and frees cost no call
//! into the kernel (each call is a crossing of the interface and a lock).
//!
//! The lists use the kernel arena's own size classes (powers of two from
//! 32 to 2048 bytes, 16-byte aligned), so a small block is the same block
//! on both sides: a refill asks the kernel for one 4 KiB chunk of a class
//! and carves it, and a block freed while the lists are busy goes back to
//! the kernel as it is. The lists are guarded by a try-lock, never waited
//! for: the kernel may end a module's call anywhere (its budget ran out),
//! even holding it, and then the lists stay locked and every allocation
//! simply goes to the kernel.

use super::services;
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::null_mut;
use core::sync::atomic::{AtomicBool, AtomicPtr, Ordering};

/// The smallest class block.
const MIN_BLOCK: usize = 32;
/// The largest class block.
const MAX_BLOCK: usize = 2048;
/// Every class block's alignment.
const ALIGN: usize = 16;
/// Bytes asked of the kernel per refill.
const CHUNK: usize = 4096;
const CLASSES: usize = (MAX_BLOCK / MIN_BLOCK).trailing_zeros() as usize + 1;

/// The free lists: each head points at a free block whose first word
/// points at the next.
static HEADS: [AtomicPtr<u8>; CLASSES] = [const { AtomicPtr::new(null_mut()) }; CLASSES];
static BUSY: AtomicBool = AtomicBool::new(false);

fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > ALIGN || layout.size() > MAX_BLOCK {
        return None;
    }
    let block = layout.size().max(MIN_BLOCK).next_power_of_two();
    Some((block / MIN_BLOCK).trailing_zeros() as usize)
}

/// The free lists, if no one holds them.
struct Lists;

impl Lists {
    fn try_take() -> Option<Lists> {
        BUSY.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| Lists)
    }

    fn pop(&self, class: usize) -> *mut u8 {
        let head = HEADS[class].load(Ordering::Relaxed);
        if !head.is_null() {
            // SAFETY: a block on a list is free, at least a pointer in size
            // and aligned, and its first word holds the next block.
            let next = unsafe { head.cast::<*mut u8>().read() };
            HEADS[class].store(next, Ordering::Relaxed);
        }
        head
    }

    /// # Safety
    /// `block` must be a free block of `class`'s size, unused from now on.
    unsafe fn push(&self, class: usize, block: *mut u8) {
        // SAFETY: the caller's contract: the block is ours to link.
        unsafe {
            block
                .cast::<*mut u8>()
                .write(HEADS[class].load(Ordering::Relaxed))
        };
        HEADS[class].store(block, Ordering::Relaxed);
    }
}

impl Drop for Lists {
    fn drop(&mut self) {
        BUSY.store(false, Ordering::Release);
    }
}

fn kernel_alloc(size: usize, align: usize) -> *mut u8 {
    match services() {
        Some(s) => (s.alloc)(s.host, size, align),
        None => null_mut(),
    }
}

fn kernel_free(ptr: *mut u8, size: usize, align: usize) {
    if let Some(s) = services() {
        (s.dealloc)(s.host, ptr, size, align);
    }
}

/// The global allocator of a module binary (see the module docs).
#[derive(Debug, Clone, Copy)]
pub struct KernelAlloc;

// SAFETY: every block handed out is a kernel arena block of at least
// `size` bytes aligned to `align` (class blocks: a class of at least the
// size, 16-byte aligned, carved from a chunk the kernel gave and never
// handed out twice); `dealloc` puts each back where it can be reused.
unsafe impl GlobalAlloc for KernelAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let Some(class) = class_of(layout) else {
            return kernel_alloc(layout.size(), layout.align());
        };
        let size = MIN_BLOCK << class;
        let Some(lists) = Lists::try_take() else {
            return kernel_alloc(size, ALIGN);
        };
        let block = lists.pop(class);
        if !block.is_null() {
            return block;
        }
        let chunk = kernel_alloc(CHUNK.max(size), ALIGN);
        if chunk.is_null() {
            return null_mut();
        }
        let mut offset = size;
        while offset + size <= CHUNK.max(size) {
            // SAFETY: each block lies inside the chunk the kernel just gave
            // (ours alone), blocks do not overlap, and starts stay 16-byte
            // aligned (sizes are multiples of 16).
            unsafe { lists.push(class, chunk.add(offset)) };
            offset += size;
        }
        chunk
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(class) = class_of(layout) else {
            return kernel_free(ptr, layout.size(), layout.align());
        };
        let size = MIN_BLOCK << class;
        match Lists::try_take() {
            // SAFETY: `ptr` is a block `alloc` handed out for this layout,
            // so one of this class, and the caller no longer uses it.
            Some(lists) => unsafe { lists.push(class, ptr) },
            // The kernel arena uses the same classes: the block is one of
            // its class blocks of this size.
            None => kernel_free(ptr, size, ALIGN),
        }
    }
}
