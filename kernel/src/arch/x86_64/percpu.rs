//! Which CPU am I? Each CPU's GS base points at its own [`CpuArea`], so the
//! answer is one GS-relative load, cheap enough for the timer interrupt and
//! the scheduler path, and correct after the scheduler moves a thread.

use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::VirtAddr;
use x86_64::registers::model_specific::GsBase;

/// The most CPUs the kernel supports.
pub const MAX_CPUS: usize = 16;

/// The per-CPU area GS points at. `self_addr` lets code turn the GS base
/// into a pointer; `index` is the CPU's number.
#[repr(C)]
pub struct CpuArea {
    self_addr: AtomicU64,
    index: AtomicU64,
}

static AREAS: [CpuArea; MAX_CPUS] = [const {
    CpuArea {
        self_addr: AtomicU64::new(0),
        index: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Points the calling CPU's GS base at area `index`. Called once per CPU
/// during its bring-up, before anything asks for the CPU index.
pub fn init(index: usize) {
    let area = &AREAS[index];
    area.self_addr
        .store(area as *const CpuArea as u64, Ordering::Relaxed);
    area.index.store(index as u64, Ordering::Relaxed);
    GsBase::write(VirtAddr::from_ptr(area));
}

/// The index of the CPU this code runs on.
#[inline]
pub fn cpu_index() -> usize {
    let index: u64;
    // SAFETY: `init` pointed GS at a `CpuArea` on every CPU before any
    // caller runs there; offset 8 is its `index` field.
    unsafe {
        core::arch::asm!("mov {}, gs:[8]", out(reg) index, options(nostack, readonly, preserves_flags))
    };
    index as usize
}
