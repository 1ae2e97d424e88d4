//! The kernel heap: `linked_list_allocator` over a higher-half region that
//! grows on demand.
//!
//! The heap starts at [`HEAP_START`] with [`INITIAL_SIZE`] bytes mapped.
//! When an allocation does not fit, the allocator maps more frames at the
//! end of the region (at least [`GROW_STEP`], more if the request is
//! larger), extends the heap and retries; only when physical frames run
//! out does it call the reclaim hook ([`set_reclaim_hook`], installed
//! by the events thread: modules are asked to give memory back) and retry
//! once before the allocation fails. [`stats`] reports size, use, the peak
//! use and how often the heap grew, for the boot banner, the console and
//! memory pressure.
//!
//! Two things sit in front of the list: blocks of up to 2 KiB come from
//! size classes ([`super::classes`], O(1), carved from the list in chunks
//! that are never returned to it), and every block carries, just before the
//! caller's part, the owner it is charged to ([`super::account`]: the
//! module whose call or thread allocated it, or the kernel), so each
//! module's use is known and can be limited.

use crate::arch::x86_64::{cpu, paging, percpu};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use linked_list_allocator::Heap;
use spin::Mutex;

use super::classes::{self, SizeClasses};
use super::{PAGE_SIZE, account, frame};

/// First virtual address of the heap region.
pub const HEAP_START: u64 = 0xffff_8000_0000_0000;
/// Bytes mapped at boot.
pub const INITIAL_SIZE: usize = 1 << 20;
/// Smallest amount the heap grows by.
pub const GROW_STEP: usize = 256 << 10;
/// Largest the heap's virtual region may become.
pub const MAX_SIZE: usize = 1 << 30;

/// What an allocation that found no memory calls, with no lock held,
/// before it fails: frees what it can and says whether a retry is worth
/// it. It may allocate (a nested failure just fails) and may wait.
pub type ReclaimHook = fn() -> bool;

/// The installed [`ReclaimHook`] as a `usize` (0: none).
static RECLAIM_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Installs the function a failed allocation calls before it gives up
/// (`events::start` installs the one that asks modules for memory).
pub fn set_reclaim_hook(hook: ReclaimHook) {
    RECLAIM_HOOK.store(hook as usize, Ordering::Release);
}

/// Runs the reclaim hook, if one is installed: whether to retry.
fn reclaim() -> bool {
    match RECLAIM_HOOK.load(Ordering::Acquire) {
        0 => false,
        hook => {
            // SAFETY: only `set_reclaim_hook` stores here, always a
            // `ReclaimHook` cast to `usize` (never 0, handled above), so
            // this turns it back into that function pointer.
            let hook = unsafe { core::mem::transmute::<usize, ReclaimHook>(hook) };
            hook()
        }
    }
}

/// Counters describing the heap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeapStats {
    /// Bytes mapped for the heap.
    pub size: usize,
    /// Bytes allocated now.
    pub used: usize,
    /// Bytes mapped but free.
    pub free: usize,
    /// Highest `used` ever seen.
    pub peak: usize,
    /// How many times the heap grew.
    pub grows: u64,
    /// Allocations that failed even after trying to grow.
    pub failures: u64,
}

struct State {
    heap: Heap,
    /// Small blocks, served before the general heap (see `classes`).
    classes: SizeClasses,
    stats: HeapStats,
}

// SAFETY: `State` is only `!Send` because `Heap` holds raw pointers into
// the heap region, which is global kernel memory mapped the same for every
// CPU and thread; nothing in it is tied to the thread that made it. The one
// `State` lives in the `Mutex` of `HEAP`, which serialises all access.
unsafe impl Send for State {}

/// The global allocator.
pub struct KernelHeap {
    state: Mutex<State>,
}

impl State {
    /// Maps at least `bytes` more at the end of the heap and extends it.
    fn grow(&mut self, bytes: usize) -> bool {
        let size = self.heap.size();
        let bytes = bytes.max(GROW_STEP).next_multiple_of(PAGE_SIZE as usize);
        if size + bytes > MAX_SIZE {
            return false;
        }
        let end = HEAP_START + size as u64;
        let mut mapped = 0;
        while mapped < bytes {
            let Ok(f) = frame::alloc() else { break };
            // SAFETY: `f` was just allocated for this page alone, and the
            // heap region above its top is the heap's own: only `grow`
            // maps there, under the heap lock (`MAX_SIZE` keeps it below
            // the stack region).
            if unsafe { paging::map(end + mapped as u64, f, &mut frame::Frames) }.is_err() {
                // SAFETY: `f` was never mapped or used.
                let _ = unsafe { frame::free(f) };
                break;
            }
            mapped += PAGE_SIZE as usize;
        }
        if mapped == 0 {
            return false;
        }
        // SAFETY: the heap starts at `HEAP_START` (page-aligned) and was
        // only ever given whole pages, so `size` is exactly what is mapped
        // and `end` is its top; [end, end + mapped) was just mapped there,
        // is used by nothing else and stays mapped for good. (On a heap not
        // yet initialised, `extend` panics rather than trust `end`.)
        unsafe { self.heap.extend(mapped) };
        self.stats.grows += 1;
        true
    }
}

// SAFETY: `alloc` returns null or a block of at least `layout`'s size and
// alignment that no other live allocation overlaps: blocks of
// `Block::layout` come either from `linked_list_allocator`, which hands out
// disjoint blocks at least as large and as aligned, or from a size class,
// whose blocks are disjoint pieces (of the class's size, 16-byte aligned,
// at least `Block::layout`'s size) of chunks taken from that same allocator
// and never given back to it, each on at most one free list or in use; the
// caller's part starts `offset` bytes in, a multiple of the caller's
// alignment, with `layout.size()` bytes after it. `dealloc` gives back
// exactly the block `alloc` got, to the class or list it came from (the
// class is a function of the layout). The heap is only touched under
// its mutex, taken with interrupts off, so an interrupt cannot re-enter it
// on this CPU; reclaim (which may wait) runs with the lock released. Heap
// memory stays mapped for good once given to the allocator.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let word = cpu::without_interrupts(percpu::charge);
        let owner = word & !percpu::CHARGE_KERNEL_WORK;
        let limited = word & percpu::CHARGE_KERNEL_WORK == 0;
        let Some(block) = Block::for_layout(layout) else {
            return null_mut();
        };
        if !account::charge(owner, layout.size() as u64, limited) {
            // Over the owner's limit: fail this allocation only.
            return null_mut();
        }
        let raw = match self.try_alloc(block.layout) {
            Some(p) => p,
            // Out of memory even after growing: ask the modules to give
            // memory back (only possible from a context that may wait),
            // then retry.
            None => match reclaim().then(|| self.try_alloc(block.layout)).flatten() {
                Some(p) => p,
                None => {
                    account::uncharge(owner, layout.size() as u64);
                    account::count_failure(owner);
                    cpu::without_interrupts(|| self.state.lock().stats.failures += 1);
                    if owner == 0 {
                        log::error!(
                            "out of memory: an allocation of {} bytes failed and no module could give memory back",
                            layout.size()
                        );
                    }
                    return null_mut();
                }
            },
        };
        // SAFETY: `raw` is a fresh block of `block.layout` from the heap,
        // owned by this allocation (see `Block` for its layout).
        unsafe { block.seal(raw, owner) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ptr.is_null() {
            return;
        }
        let Some(block) = Block::for_layout(layout) else {
            return;
        };
        // SAFETY: the caller guarantees `ptr` came from `alloc` with this
        // `layout`, i.e. from `seal` with `Block::for_layout(layout)`, the
        // same `block` as here.
        let (raw, owner) = unsafe { block.open(ptr) };
        account::uncharge(owner, layout.size() as u64);
        let Some(raw) = NonNull::new(raw) else { return };
        let class = SizeClasses::class_of(block.layout.size(), block.layout.align());
        cpu::without_interrupts(|| {
            let mut s = self.state.lock();
            match class {
                // SAFETY: a block of this layout came from this class (the
                // class is a function of the layout, as in `try_alloc`), and
                // the caller does not use it again.
                Some(class) => unsafe { s.classes.give(class, raw.as_ptr()) },
                // SAFETY: `raw` is the block `alloc` got from the general
                // heap with `block.layout`, and the caller does not use it
                // again.
                None => unsafe { s.heap.deallocate(raw, block.layout) },
            }
        });
    }
}

/// A heap block as the allocator lays it out: a header recording the owner
/// (see [`account`]), then the caller's part at the caller's alignment.
struct Block {
    /// The whole block's layout.
    layout: Layout,
    /// Bytes before the caller's part: at least the header, and a multiple
    /// of the caller's alignment so the caller's part stays aligned.
    offset: usize,
}

/// Bytes of the header (the owner, padded so the caller's part is 16-byte
/// aligned as `linked_list_allocator` blocks are).
const HEADER: usize = 16;

impl Block {
    fn for_layout(layout: Layout) -> Option<Self> {
        let offset = HEADER.max(layout.align());
        let size = layout.size().checked_add(offset)?;
        let layout = Layout::from_size_align(size, layout.align().max(HEADER)).ok()?;
        Some(Self { layout, offset })
    }

    /// Writes the header of block `raw` and returns the caller's part.
    ///
    /// # Safety
    /// `raw` must be a live block of `self.layout`.
    unsafe fn seal(&self, raw: *mut u8, owner: u32) -> *mut u8 {
        // SAFETY: the caller gives a live block of `self.layout`:
        // `offset + size` bytes, aligned to at least 16 (`HEADER`). `offset`
        // is at least `HEADER`, so `raw + offset - HEADER` lies inside the
        // block, and it is a multiple of 16 (`offset` is a power of two
        // >= 16, from an alignment), so aligned for the u32 written there.
        unsafe {
            let user = raw.add(self.offset);
            user.sub(HEADER).cast::<u32>().write(owner);
            user
        }
    }

    /// The block and owner of the caller's part `user`.
    ///
    /// # Safety
    /// `user` must come from `seal` with the same layout.
    unsafe fn open(&self, user: *mut u8) -> (*mut u8, u32) {
        // SAFETY: the caller gives a `user` that `seal` returned for this
        // layout: the block starts `offset` bytes before it, and `seal`
        // wrote the owner, aligned, `HEADER` bytes before it, inside the
        // block, which is still live.
        unsafe {
            let owner = user.sub(HEADER).cast::<u32>().read();
            (user.sub(self.offset), owner)
        }
    }
}

impl KernelHeap {
    /// One allocation attempt, growing the heap if needed. Reports the new
    /// memory situation to the pressure tracker whenever the heap grew.
    fn try_alloc(&self, layout: Layout) -> Option<*mut u8> {
        let class = SizeClasses::class_of(layout.size(), layout.align());
        cpu::without_interrupts(|| {
            let mut s = self.state.lock();
            let ptr = match class {
                Some(class) => s.take_small(class)?,
                None => s.take_general(layout)?,
            };
            let used = s.used();
            s.stats.peak = s.stats.peak.max(used);
            Some(ptr)
        })
    }
}

impl State {
    /// Bytes in use by callers (blocks free in the class lists are not).
    fn used(&self) -> usize {
        self.heap.used() - self.classes.free_bytes()
    }

    /// A block of `layout` from the general heap, growing it if needed.
    fn take_general(&mut self, layout: Layout) -> Option<*mut u8> {
        let ptr = match self.heap.allocate_first_fit(layout) {
            Ok(p) => p,
            Err(()) if self.grow(layout.size() + layout.align()) => {
                let frames = frame::stats();
                let available = self.heap.free() as u64 + frames.free as u64 * PAGE_SIZE;
                super::pressure::observe(available, frames.total as u64 * PAGE_SIZE);
                self.heap.allocate_first_fit(layout).ok()?
            }
            Err(()) => return None,
        };
        Some(ptr.as_ptr())
    }

    /// A block of size class `class`, refilling the class from the general
    /// heap when its list is empty.
    fn take_small(&mut self, class: usize) -> Option<*mut u8> {
        if let Some(p) = self.classes.take(class) {
            return Some(p);
        }
        let bytes = SizeClasses::refill_bytes(class);
        let chunk = Layout::from_size_align(bytes, classes::ALIGN).ok()?;
        let chunk_ptr = self.take_general(chunk)?;
        // SAFETY: `chunk_ptr` is a fresh, 16-byte aligned block of `bytes`
        // from the general heap; it now belongs to the class lists for good.
        unsafe { self.classes.refill(class, chunk_ptr, bytes) };
        self.classes.take(class)
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    state: Mutex::new(State {
        heap: Heap::empty(),
        classes: SizeClasses::new(),
        stats: zero_stats(),
    }),
};

const fn zero_stats() -> HeapStats {
    HeapStats {
        size: 0,
        used: 0,
        free: 0,
        peak: 0,
        grows: 0,
        failures: 0,
    }
}

/// Maps the initial heap. Panics if memory is too short to boot at all,
/// and if called twice.
pub fn init() {
    static DONE: AtomicBool = AtomicBool::new(false);
    assert!(
        !DONE.swap(true, Ordering::AcqRel),
        "the kernel heap is initialised twice"
    );
    for off in (0..INITIAL_SIZE as u64).step_by(PAGE_SIZE as usize) {
        let f = frame::alloc().expect("no physical memory for the initial kernel heap");
        // SAFETY: `f` was just allocated for this page alone, and the heap
        // region is the heap's own: nothing but this function (once,
        // `DONE`) and `grow` maps there.
        unsafe { paging::map(HEAP_START + off, f, &mut frame::Frames) }
            .expect("cannot map the initial kernel heap");
    }
    cpu::without_interrupts(|| {
        // SAFETY: this runs once (`DONE`), on the still empty heap;
        // [HEAP_START, HEAP_START + INITIAL_SIZE) was just mapped, is used
        // by nothing else, and stays mapped for the rest of the run.
        unsafe {
            HEAP.state
                .lock()
                .heap
                .init(HEAP_START as *mut u8, INITIAL_SIZE)
        };
    });
}

/// Current heap counters.
pub fn stats() -> HeapStats {
    cpu::without_interrupts(|| {
        let s = HEAP.state.lock();
        HeapStats {
            size: s.heap.size(),
            used: s.used(),
            free: s.heap.free() + s.classes.free_bytes(),
            ..s.stats
        }
    })
}
