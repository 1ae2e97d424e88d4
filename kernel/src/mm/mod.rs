//! Memory management: physical frames, the kernel heap, guarded stacks,
//! module images.
//!
//! [`frame`] owns physical memory (fed from the PVH memory map, less the
//! initrd's frames), [`heap`]
//! is the global allocator and grows by mapping frames into the higher
//! half, [`stack`] hands out kernel stacks with an unmapped guard page
//! below each, [`image`] maps module binaries (W^X, relocated) in a
//! region of their own, and [`arena`] gives each loaded module a heap of its
//! own in that region. Page-table edits go through
//! [`arch::x86_64::paging`](crate::arch::x86_64::paging), which takes its
//! page-table frames from [`frame::Frames`].
//!
//! Memory sits below threads and modules: what it needs from them it gets
//! through hooks they install ([`heap::set_reclaim_hook`], called when an
//! allocation fails), and what the CPU layer needs from it is installed by
//! [`init`] (the stack-guard check the exception handler asks).

pub mod account;
pub mod arena;
pub mod classes;
pub mod frame;
pub mod heap;
pub mod image;
pub mod pressure;
pub mod stack;

use boot::{BootModule, MemoryRegion};

/// Size of a page and of a physical frame.
pub const PAGE_SIZE: u64 = crate::arch::x86_64::paging::PAGE_SIZE;

unsafe extern "C" {
    static __kernel_start: u8;
    static __kernel_end: u8;
}

/// Physical `[start, end)` of the loaded kernel image, including `.bss`.
pub fn kernel_image() -> (u64, u64) {
    // Only the symbols' addresses are taken; the linker script defines them.
    (
        (&raw const __kernel_start) as u64,
        (&raw const __kernel_end) as u64,
    )
}

/// Brings up the frame allocator, memory protection (which needs frames
/// for page tables) and the heap from the memory map, and installs the
/// stack-guard check for the exception handler. The frames of `modules`
/// (the loader's modules: the initrd, which the kernel reads in place) are
/// kept out of the frame allocator.
///
/// # Safety
/// `memory_map` and `modules` must be the loader's memory map and module
/// list: its usable RAM above the kernel image, outside the modules, is
/// free memory (the frame allocator hands it out). Called once
/// (`startup::start`).
pub unsafe fn init(memory_map: &[MemoryRegion], modules: &[BootModule]) {
    let (_, image_end) = kernel_image();
    // SAFETY: the caller passes the loader's map and modules; the map's
    // usable RAM outside the modules is unused memory. Everything below
    // `image_end` is kept out: low memory (the AP trampoline page), the
    // image with its boot stack and boot page tables in `.bss`; so are the
    // modules' frames. The start info, command line and map the loader
    // left were copied out by `bootinfo::init` before this runs.
    unsafe { frame::init(memory_map, image_end, modules) };
    crate::arch::x86_64::protect::init(&mut frame::Frames);
    crate::arch::x86_64::exceptions::set_stack_guard_check(stack::is_guard_address);
    heap::init();
}
