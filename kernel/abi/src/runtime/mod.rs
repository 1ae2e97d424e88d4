//! The module side of the interface, linked into every module binary.
//!
//! The entry point ([`entry`], put in the binary by [`crate::export_module!`])
//! keeps the kernel's [`Services`] table, which lives as long as the image,
//! and returns the module's [`crate::Descriptor`]. From then on:
//! - the binary's global allocator is [`KernelAlloc`], which allocates in
//!   the arena the kernel keeps for this image (freed whole on unload),
//!   keeping freed small blocks for reuse so most allocations never cross
//!   to the kernel;
//! - its panic handler ([`panic()`]) hands the message to the kernel, which
//!   ends the current call as a fault of the module;
//! - the kernel calls the [`crate::Ops`] of `bridge`, which turn each call
//!   back into the module's `ModuleTrait` method, and the module's context,
//!   handle and hardware access forward to the kernel through `link`.

mod alloc_cache;
mod bridge;
mod describe;
mod link;

use crate::types::{Bytes, Services, Sink};
use alloc::vec::Vec;
use core::ffi::c_void;
use core::fmt::Write;
use core::sync::atomic::{AtomicPtr, Ordering};

pub use alloc_cache::KernelAlloc;
pub use bridge::entry;

/// The kernel's services, set once by the entry point.
static SERVICES: AtomicPtr<Services> = AtomicPtr::new(core::ptr::null_mut());

/// The kernel's services. Before the entry point ran there are none, and
/// module code cannot run then (the kernel calls the entry point first).
fn services() -> Option<&'static Services> {
    let p = SERVICES.load(Ordering::Acquire);
    // SAFETY: a non-null pointer was stored by `bridge::entry` from the
    // kernel, which keeps the table alive and unchanged for as long as the
    // image is mapped, and so for as long as this code can run.
    unsafe { p.as_ref() }
}

/// A panic message, cut to fit: the panic handler must not allocate.
struct PanicText {
    buf: [u8; 256],
    len: usize,
}

impl Write for PanicText {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        for &b in s.as_bytes() {
            if self.len == self.buf.len() {
                break;
            }
            self.buf[self.len] = b;
            self.len += 1;
        }
        Ok(())
    }
}

/// The panic handler of a module binary: the kernel ends the current call
/// as a fault of the module, with the message (and location) as its report.
pub fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let mut text = PanicText {
        buf: [0; 256],
        len: 0,
    };
    let _ = write!(text, "{}", info.message());
    if let Some(l) = info.location() {
        let _ = write!(text, " at {}:{}", l.file(), l.line());
    }
    match services() {
        Some(s) => (s.fault)(s.host, Bytes::of(&text.buf[..text.len])),
        // No kernel to report to: nothing can have called in.
        None => loop {
            core::hint::spin_loop();
        },
    }
}

/// Logs `msg` through the kernel's logger at `level` (1 error .. 5 trace).
pub fn log(level: u32, msg: &str) {
    if let Some(s) = services() {
        (s.log)(s.host, level, Bytes::str(msg));
    }
}

/// A sink that appends to a `Vec<u8>` in this binary's heap.
fn vec_sink(vec: &mut Vec<u8>) -> Sink {
    extern "C" fn write(ctx: *mut c_void, ptr: *const u8, len: usize) {
        // SAFETY: `ctx` is the `Vec` `vec_sink` was made from, alive and not
        // otherwise borrowed while the callee runs (the sink does not
        // outlive the call it is passed to); `ptr` and `len` are the
        // writer's bytes, valid for the call (see `Sink`).
        let (vec, bytes) = unsafe {
            (
                &mut *(ctx as *mut Vec<u8>),
                core::slice::from_raw_parts(ptr, len),
            )
        };
        vec.extend_from_slice(bytes);
    }
    Sink {
        ctx: vec as *mut Vec<u8> as *mut c_void,
        write,
    }
}

/// Writes `bytes` into `sink`.
fn put(sink: Sink, bytes: &[u8]) {
    (sink.write)(sink.ctx, bytes.as_ptr(), bytes.len());
}

/// The bytes of a [`Bytes`] the kernel passed.
///
/// # Safety
/// `b` must come from the kernel for the current call (valid for it).
unsafe fn slice<'a>(b: Bytes) -> &'a [u8] {
    if b.len == 0 {
        return &[];
    }
    // SAFETY: the caller's contract: the kernel's range, valid for the call.
    unsafe { core::slice::from_raw_parts(b.ptr, b.len) }
}

/// The text of a [`Bytes`] the kernel passed (lossy on bad UTF-8).
///
/// # Safety
/// As for [`slice`].
unsafe fn text(b: Bytes) -> alloc::string::String {
    // SAFETY: forwarded contract.
    alloc::string::String::from_utf8_lossy(unsafe { slice(b) }).into_owned()
}

/// Puts the allocator, the panic handler and the entry point in a module
/// binary for the v2 module type `$module` (which implements `ModuleTrait`
/// and `Default`). The binary's crate root is then:
///
/// ```ignore
/// #![no_std]
/// #![no_main]
/// helix_abi::export_module!(event_log::EventLog);
/// ```
#[macro_export]
macro_rules! export_module {
    ($module:ty) => {
        #[global_allocator]
        static HELIX_MODULE_ALLOCATOR: $crate::runtime::KernelAlloc = $crate::runtime::KernelAlloc;

        /// The binary's ABI stamp, read by the kernel before it maps it.
        #[used]
        #[unsafe(link_section = ".note.helix.abi")]
        static HELIX_MODULE_ABI_NOTE: $crate::AbiNote = $crate::AbiNote::CURRENT;

        #[panic_handler]
        fn helix_module_panic(info: &::core::panic::PanicInfo<'_>) -> ! {
            $crate::runtime::panic(info)
        }

        /// The module binary's entry point (its ELF entry).
        #[unsafe(no_mangle)]
        pub extern "C" fn _start(services: *const $crate::Services) -> *const $crate::Descriptor {
            $crate::runtime::entry::<$module>(services)
        }
    };
}
