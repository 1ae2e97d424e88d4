//! Memory protection: page 0 unmapped, the kernel image W^X, the identity
//! map of physical memory never executable.
//!
//! The boot stub maps the first 4 GiB with 2 MiB pages, writable and
//! executable. [`init`] (from `mm::init`, once the frame allocator can give
//! page-table frames, which it passes in) splits the 2 MiB pages that hold the kernel image
//! into 4 KiB pages and gives each the access its section needs, from the
//! linker script's symbols ([`sections`]):
//!
//! | pages | access |
//! |---|---|
//! | page 0 (`0..0x1000`) | unmapped: a null read, write or call faults |
//! | `.text` | read + execute |
//! | the Xen note, `.rodata` (with the unwind tables and the GOT) | read |
//! | `.data`, test descriptors, `.bss` (boot stack, boot page tables) | read + write |
//! | the rest of the identity map (low memory, free RAM, MMIO) | read + write |
//!
//! Nothing but `.text` is executable: the rest of the identity map, the
//! heap and the stacks (mapped by [`paging::map`], always non-executable)
//! carry the no-execute bit. The one exception is the AP trampoline page
//! (`ap_startup`): writable while the boot CPU fills it, read + execute
//! while an AP runs it, never both. `EFER.NXE` (so the no-execute bit
//! exists) and `CR0.WP` (so kernel-mode writes to read-only pages fault)
//! are set by the boot stub on the boot CPU and by the trampoline on every
//! AP; [`check_this_cpu`] verifies them on each CPU and records it.

use super::paging::{self, Access, FrameSource, PAGE_SIZE};
use core::ops::Range;
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::control::{Cr0, Cr0Flags};
use x86_64::registers::model_specific::{Efer, EferFlags};

unsafe extern "C" {
    static __kernel_start: u8;
    static __text_start: u8;
    static __text_end: u8;
    static __rodata_start: u8;
    static __rodata_end: u8;
    static __data_start: u8;
    static __kernel_end: u8;
}

/// The kernel image's sections, as the linker script lays them out (each
/// range page-aligned, physical = virtual).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelSections {
    /// The whole image, `.bss` included.
    pub image: Range<u64>,
    /// Code.
    pub text: Range<u64>,
    /// Read-only data (the Xen note before `.text` is read-only too).
    pub rodata: Range<u64>,
    /// `.data`, the test descriptors and `.bss`: the writable rest.
    pub data: Range<u64>,
}

/// Where the kernel's sections are.
pub fn sections() -> KernelSections {
    // Only the symbols' addresses are taken; the linker script defines
    // them (boot/linker.ld).
    let at = |sym: *const u8| sym as u64;
    KernelSections {
        image: at(&raw const __kernel_start)..at(&raw const __kernel_end),
        text: at(&raw const __text_start)..at(&raw const __text_end),
        rodata: at(&raw const __rodata_start)..at(&raw const __rodata_end),
        data: at(&raw const __data_start)..at(&raw const __kernel_end),
    }
}

/// The access of the identity-map page at `addr` in the protected layout.
pub fn access_of(s: &KernelSections, addr: u64) -> Access {
    if addr < PAGE_SIZE {
        Access::None
    } else if s.text.contains(&addr) {
        Access::ReadExecute
    } else if (s.image.start..s.data.start).contains(&addr) {
        // The Xen note, `.rodata` and what the linker put beside it.
        Access::Read
    } else {
        Access::ReadWrite
    }
}

/// CPUs (bit per index) that passed [`check_this_cpu`].
static CHECKED_CPUS: AtomicU64 = AtomicU64::new(0);

/// Checks that the calling CPU enforces the protection (`EFER.NXE` and
/// `CR0.WP` set) and records CPU `cpu` as checked; panics if it does not.
pub fn check_this_cpu(cpu: usize) {
    assert!(
        Efer::read().contains(EferFlags::NO_EXECUTE_ENABLE),
        "CPU {cpu}: EFER.NXE is off, pages cannot be made non-executable"
    );
    assert!(
        Cr0::read().contains(Cr0Flags::WRITE_PROTECT),
        "CPU {cpu}: CR0.WP is off, kernel writes to read-only pages would not fault"
    );
    CHECKED_CPUS.fetch_or(1 << cpu, Ordering::AcqRel);
}

/// The CPUs that passed [`check_this_cpu`], one bit per CPU index.
pub fn checked_cpus() -> u64 {
    CHECKED_CPUS.load(Ordering::Acquire)
}

/// Protects the kernel image and the identity map (see the module docs),
/// with page tables from `tables`. Called once on the boot CPU, after the
/// frame allocator is up and before any other CPU starts.
pub fn init(tables: &mut impl FrameSource) {
    check_this_cpu(0);
    let s = sections();
    let split_end = s.image.end.next_multiple_of(2 << 20);
    match paging::protect_identity_map(split_end, |addr| access_of(&s, addr), tables) {
        Ok(split) => log::debug!(
            "memory protection: text {:#x}-{:#x} RX, rodata {:#x}-{:#x} R, data {:#x}-{:#x} RW, \
             page 0 unmapped, {split} 2 MiB pages split, identity map NX",
            s.text.start,
            s.text.end,
            s.rodata.start,
            s.rodata.end,
            s.data.start,
            s.data.end
        ),
        Err(e) => panic!("cannot protect the kernel image: {e}"),
    }
}
