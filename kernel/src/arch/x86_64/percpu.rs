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
    /// Whom the running code's heap allocations are charged to (0: the
    /// kernel). The thread layer saves and loads it at every switch, so it
    /// follows the thread; memory accounting reads it on every allocation.
    charge: AtomicU64,
    /// The top of this CPU's interrupt stack (0 until the thread layer
    /// makes one): device interrupts run on it, not on the stack of the
    /// thread they interrupt (see `entry::interrupt_common`).
    irq_stack_top: AtomicU64,
}

/// Where [`CpuArea`]'s `irq_stack_top` lies, for the entry assembly.
pub const IRQ_STACK_TOP_OFFSET: usize = 24;
/// Size of each CPU's interrupt stack, in bytes (the entry assembly tells
/// whether it already runs on it from this).
pub const IRQ_STACK_SIZE: u64 = 32 * 1024;

const _: () = assert!(core::mem::offset_of!(CpuArea, irq_stack_top) == IRQ_STACK_TOP_OFFSET);

static AREAS: [CpuArea; MAX_CPUS] = [const {
    CpuArea {
        self_addr: AtomicU64::new(0),
        index: AtomicU64::new(0),
        charge: AtomicU64::new(0),
        irq_stack_top: AtomicU64::new(0),
    }
}; MAX_CPUS];

/// Whom allocations on this CPU are charged to now (interrupts should be
/// off, or the answer may be another CPU's by the time it is used).
#[inline]
pub fn charge() -> u32 {
    AREAS[cpu_index()].charge.load(Ordering::Relaxed) as u32
}

/// The charge word's top bit: the running code works on its owner's behalf
/// inside the kernel (a module's call into the registry), so the owner's
/// memory limit does not apply to it; the bytes are still charged to the
/// owner (the rest of the word).
pub const CHARGE_KERNEL_WORK: u32 = 1 << 31;

/// Marks (or unmarks) the running code as kernel work on its owner's
/// behalf (see [`CHARGE_KERNEL_WORK`]). Interrupts must be off.
#[inline]
pub fn set_kernel_work(on: bool) {
    let c = &AREAS[cpu_index()].charge;
    let bit = u64::from(CHARGE_KERNEL_WORK);
    if on {
        c.fetch_or(bit, Ordering::Relaxed);
    } else {
        c.fetch_and(!bit, Ordering::Relaxed);
    }
}

/// Sets whom allocations on this CPU are charged to; returns the previous
/// value. Interrupts must be off (the value belongs to the running thread).
#[inline]
pub fn set_charge(owner: u32) -> u32 {
    AREAS[cpu_index()]
        .charge
        .swap(u64::from(owner), Ordering::Relaxed) as u32
}

/// Gives CPU `index` its interrupt stack. Until this is called, that CPU's
/// interrupts run on the interrupted stack.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped, writable stack of at
/// least [`IRQ_STACK_SIZE`] bytes that nothing else uses and that stays
/// mapped for the rest of the run: the entry assembly switches to it.
pub unsafe fn set_irq_stack(index: usize, top: u64) {
    AREAS[index].irq_stack_top.store(top, Ordering::Release);
}

/// Points the calling CPU's GS base at area `index`. Called first thing in
/// each CPU's bring-up (`startup::start` for the boot CPU, `smp::ap_entry`
/// for the others), before anything asks for the CPU index; calling it
/// again on the same CPU with the same index does nothing.
///
/// Panics if `index` is out of range, if the area is already another
/// CPU's, or if this CPU already has another one: one area, one CPU, so
/// two CPUs never share an index.
pub fn init(index: usize) {
    let area = &AREAS[index];
    let addr = area as *const CpuArea as u64;
    let current = GsBase::read().as_u64();
    if current == addr {
        return;
    }
    assert!(
        current == 0,
        "CPU {index}: this CPU already has a per-CPU area at {current:#x}"
    );
    assert!(
        area.self_addr
            .compare_exchange(0, addr, Ordering::AcqRel, Ordering::Acquire)
            .is_ok(),
        "per-CPU area {index} already belongs to another CPU"
    );
    area.index.store(index as u64, Ordering::Relaxed);
    GsBase::write(VirtAddr::from_ptr(area));
}

/// The index of the CPU this code runs on.
#[inline]
pub fn cpu_index() -> usize {
    let index: u64;
    // SAFETY: every CPU runs `init` before any code that can get here (the
    // boot CPU first thing in `startup::start`, an AP first thing in
    // `smp::ap_entry`), and nothing else writes the GS base, so GS points at
    // this CPU's `CpuArea`, a static; offset 8 is its `index` field (the
    // struct is `repr(C)`), an `AtomicU64` read here as a plain load, which
    // is atomic for an aligned u64 on x86_64.
    unsafe {
        core::arch::asm!("mov {}, gs:[8]", out(reg) index, options(nostack, readonly, preserves_flags))
    };
    index as usize
}
