//! What the loader told the kernel: the PVH start info (memory map,
//! command line, ACPI RSDP, modules), parsed once at boot, the initrd the
//! loader placed in memory, and whether this image is a test kernel.
//!
//! Everything above reads it from here: [`cmdline`] for `key=value`
//! settings, [`start_info`] for the memory map and the RSDP, [`initrd`]
//! for the initrd's bytes (QEMU's `-initrd` file, read in place; its
//! frames are kept out of the frame allocator by `mm::init`),
//! [`is_test_kernel`] to behave as a test kernel (quieter log, no
//! interactive console). [`init`] is called once, by the start-up code,
//! right after the serial port is up.

use crate::mm;
use ::boot::{BootModule, Cmdline, PhysRead, StartInfo, StartInfoError};
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

/// Why the kernel does not use the initrd the loader passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitrdRefused {
    /// It ends past 4 GiB, outside the identity map through which the
    /// kernel reads it.
    OutsideIdentityMap {
        /// Its physical address.
        paddr: u64,
        /// Its size in bytes.
        size: u64,
    },
}

impl core::fmt::Display for InitrdRefused {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::OutsideIdentityMap { paddr, size } => write!(
                f,
                "initrd at {paddr:#x}+{size:#x} ignored: it ends past 4 GiB, outside the \
                 identity map the kernel reads it through"
            ),
        }
    }
}

/// The initrd's place in memory, if the loader passed one: the first
/// module, as QEMU passes its `-initrd` file; `Err` if the kernel cannot
/// use it.
fn initrd_module() -> Option<Result<BootModule, InitrdRefused>> {
    let m = *START_INFO.get()?.initrd()?;
    if m.end() > mm::frame::MANAGED_LIMIT {
        return Some(Err(InitrdRefused::OutsideIdentityMap {
            paddr: m.paddr,
            size: m.size,
        }));
    }
    Some(Ok(m))
}

/// The initrd's bytes, read-only, where the loader put them; `None` if the
/// kernel was booted without one, or with one it cannot use
/// ([`initrd_refused`] says why; the start-up code logs it).
pub fn initrd() -> Option<&'static [u8]> {
    let m = initrd_module()?.ok()?;
    if m.size == 0 {
        return Some(&[]);
    }
    // SAFETY: `[m.paddr, m.end())` is a range the loader filled with the
    // initrd: not null and not wrapping (checked by the start-info parser),
    // ending at or below 4 GiB (checked above), so inside the identity map,
    // which stays readable (memory protection unmaps page 0 only, and
    // `m.paddr` is not 0) and maps it at its physical address. Its size
    // fits in `isize` (at most 4 GiB). Nothing writes it for the rest of
    // the run: `mm::init` keeps its frames out of the frame allocator (the
    // only source of memory the kernel writes outside its image and the
    // AP trampoline page, neither of which the loader puts modules in), so
    // shared `'static` references to it are sound. `u8` has no alignment
    // or validity requirement.
    Some(unsafe { core::slice::from_raw_parts(m.paddr as *const u8, m.size as usize) })
}

/// Why the initrd the loader passed is not used, if it is not.
pub fn initrd_refused() -> Option<InitrdRefused> {
    initrd_module()?.err()
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

/// Why a numeric command-line setting was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumberError {
    /// The value is not a whole number.
    NotANumber,
    /// The value is outside the setting's range.
    OutOfRange,
}

impl NumberError {
    /// The reason, as messages put it.
    pub const fn reason(self) -> &'static str {
        match self {
            Self::NotANumber => "not a whole number",
            Self::OutOfRange => "out of range",
        }
    }
}

impl core::fmt::Display for NumberError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.reason())
    }
}

/// The whole number `key=N` on `cmdline` sets, if it is there and within
/// `range`: the one parser behind the kernel's numeric settings
/// (`supervisor.*`, `budget.*`).
pub fn number(
    cmdline: &Cmdline<'_>,
    key: &str,
    range: core::ops::RangeInclusive<u64>,
) -> Result<Option<u64>, NumberError> {
    let Some(text) = cmdline.get(key) else {
        return Ok(None);
    };
    let value: u64 = text.parse().map_err(|_| NumberError::NotANumber)?;
    if range.contains(&value) {
        Ok(Some(value))
    } else {
        Err(NumberError::OutOfRange)
    }
}
