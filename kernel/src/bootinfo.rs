//! What the loader told the kernel: the PVH start info (memory map,
//! command line, ACPI RSDP), parsed once at boot, and whether this image
//! is a test kernel.
//!
//! Everything above reads it from here: [`cmdline`] for `key=value`
//! settings, [`start_info`] for the memory map and the RSDP,
//! [`is_test_kernel`] to behave as a test kernel (quieter log, no
//! interactive console). [`init`] is called once, by the start-up code,
//! right after the serial port is up.

use crate::mm;
use ::boot::{Cmdline, PhysRead, StartInfo, StartInfoError};
use core::sync::atomic::{AtomicBool, Ordering};
use spin::Once;

/// Where the start info is parsed, in place: it holds a 4 KiB command-line
/// buffer, and moving it by value (returning it, handing it to a `Once`)
/// costs several copies on the 64 KiB boot stack in unoptimised builds.
/// Locked once by [`init`] and the lock leaked into [`START_INFO`].
static START_INFO_STORAGE: spin::Mutex<StartInfo> = spin::Mutex::new(StartInfo::new());
static START_INFO: Once<&'static StartInfo> = Once::new();
static TEST_KERNEL: AtomicBool = AtomicBool::new(false);

/// Reads physical memory through the boot identity map (first 4 GiB).
struct IdentityMap;

impl PhysRead for IdentityMap {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), StartInfoError> {
        let bad = StartInfoError::BadAddress {
            paddr,
            len: buf.len(),
        };
        let end = paddr.checked_add(buf.len() as u64).ok_or(bad)?;
        if paddr == 0 || end > mm::frame::MANAGED_LIMIT {
            return Err(bad);
        }
        // SAFETY: [paddr, end) is past address 0 and inside the
        // identity-mapped first 4 GiB (checked above; page 0 is still
        // mapped, as this runs before memory protection). The addresses
        // come from the loader's start info, which points at RAM where it
        // put these structures, so the read has no side effects; it runs
        // at boot on the boot CPU alone, so nothing writes them meanwhile.
        // `buf` is a distinct, writable Rust buffer of `buf.len()` bytes.
        unsafe { core::ptr::copy_nonoverlapping(paddr as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}

/// Parses the PVH start info at physical address `start_info_paddr` (from
/// the boot stub) and keeps it, read-only, for the rest of the run. Panics
/// if it is unusable, or if called twice.
pub fn init(start_info_paddr: u64) -> &'static StartInfo {
    let Some(mut storage) = START_INFO_STORAGE.try_lock() else {
        panic!("the kernel was started twice");
    };
    if let Err(e) = storage.parse_into(&IdentityMap, start_info_paddr) {
        panic!("unusable PVH start info at {start_info_paddr:#x}: {e}");
    }
    // Read-only from here on, for the rest of the run.
    let info: &'static StartInfo = spin::MutexGuard::leak(storage);
    START_INFO.call_once(|| info);
    info
}

/// The parsed PVH start info.
pub fn start_info() -> &'static StartInfo {
    START_INFO
        .get()
        .copied()
        .expect("start info is parsed before anything can ask for it")
}

/// The kernel command line (empty before [`init`]).
pub fn cmdline() -> Cmdline<'static> {
    Cmdline::new(START_INFO.get().map_or("", |s| s.cmdline.as_str()))
}

/// Whether this image is a test kernel (set by `test_kernel!`).
pub fn is_test_kernel() -> bool {
    TEST_KERNEL.load(Ordering::Relaxed)
}

/// Marks this image as a test kernel. Used by `test_kernel!`, before the
/// kernel starts.
#[doc(hidden)]
pub fn mark_test_kernel() {
    TEST_KERNEL.store(true, Ordering::Relaxed);
}
