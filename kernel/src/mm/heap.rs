//! The kernel heap: `linked_list_allocator` over a higher-half region that
//! grows on demand.
//!
//! The heap starts at [`HEAP_START`] with [`INITIAL_SIZE`] bytes mapped.
//! When an allocation does not fit, the allocator maps more frames at the
//! end of the region (at least [`GROW_STEP`], more if the request is
//! larger), extends the heap and retries; only when physical frames run out
//! does the allocation fail. [`stats`] reports size, use, the peak use and
//! how often the heap grew, for the boot banner, the console and memory
//! pressure.

use crate::arch::x86_64::{cpu, paging};
use core::alloc::{GlobalAlloc, Layout};
use core::ptr::{NonNull, null_mut};
use linked_list_allocator::Heap;
use spin::Mutex;

use super::{PAGE_SIZE, frame};

/// First virtual address of the heap region.
pub const HEAP_START: u64 = 0xffff_8000_0000_0000;
/// Bytes mapped at boot.
pub const INITIAL_SIZE: usize = 1 << 20;
/// Smallest amount the heap grows by.
pub const GROW_STEP: usize = 256 << 10;
/// Largest the heap's virtual region may become.
pub const MAX_SIZE: usize = 1 << 30;

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
    stats: HeapStats,
}

// SAFETY: the raw pointers inside `Heap` refer to the heap region, which is
// global kernel memory valid from any CPU; the mutex serialises all access.
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
            if paging::map(end + mapped as u64, f).is_err() {
                let _ = frame::free(f);
                break;
            }
            mapped += PAGE_SIZE as usize;
        }
        if mapped == 0 {
            return false;
        }
        // SAFETY: [end, end + mapped) was just mapped, directly follows the
        // heap's current top, and belongs to nothing else.
        unsafe { self.heap.extend(mapped) };
        self.stats.grows += 1;
        true
    }
}

// SAFETY: allocation and deallocation are serialised by the mutex (taken
// with interrupts off, so an interrupt cannot re-enter it on this CPU), and
// `linked_list_allocator` returns non-overlapping blocks of the layout
// requested. Reclaim runs with the lock released.
unsafe impl GlobalAlloc for KernelHeap {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(p) = self.try_alloc(layout) {
            return p;
        }
        // Out of memory even after growing: ask the modules to give memory
        // back (only possible from a context that may wait), then retry.
        if crate::events::reclaim()
            && let Some(p) = self.try_alloc(layout)
        {
            return p;
        }
        cpu::without_interrupts(|| self.state.lock().stats.failures += 1);
        null_mut()
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let Some(ptr) = NonNull::new(ptr) else { return };
        cpu::without_interrupts(|| {
            // SAFETY: the caller guarantees `ptr` came from `alloc` with
            // this `layout` and is not used again.
            unsafe { self.state.lock().heap.deallocate(ptr, layout) }
        });
    }
}

impl KernelHeap {
    /// One allocation attempt, growing the heap if needed. Reports the new
    /// memory situation to the pressure tracker whenever the heap grew.
    fn try_alloc(&self, layout: Layout) -> Option<*mut u8> {
        cpu::without_interrupts(|| {
            let mut s = self.state.lock();
            let ptr = match s.heap.allocate_first_fit(layout) {
                Ok(p) => Some(p),
                Err(()) if s.grow(layout.size() + layout.align()) => {
                    let frames = frame::stats();
                    let available = s.heap.free() as u64 + frames.free as u64 * PAGE_SIZE;
                    super::pressure::observe(available, frames.total as u64 * PAGE_SIZE);
                    s.heap.allocate_first_fit(layout).ok()
                }
                Err(()) => None,
            }?;
            let used = s.heap.used();
            s.stats.peak = s.stats.peak.max(used);
            Some(ptr.as_ptr())
        })
    }
}

#[global_allocator]
static HEAP: KernelHeap = KernelHeap {
    state: Mutex::new(State {
        heap: Heap::empty(),
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

/// Maps the initial heap. Panics if memory is too short to boot at all.
pub fn init() {
    for off in (0..INITIAL_SIZE as u64).step_by(PAGE_SIZE as usize) {
        let f = frame::alloc().expect("no physical memory for the initial kernel heap");
        paging::map(HEAP_START + off, f).expect("cannot map the initial kernel heap");
    }
    cpu::without_interrupts(|| {
        // SAFETY: the region was just mapped and is used by nothing else.
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
            used: s.heap.used(),
            free: s.heap.free(),
            ..s.stats
        }
    })
}
