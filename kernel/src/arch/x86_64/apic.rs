//! The local APIC: interrupt acknowledgement and the per-CPU timer.
//!
//! Helix uses the xAPIC MMIO interface at the address in `IA32_APIC_BASE`
//! (identity-mapped, uncached, by the boot page tables). The timer runs in
//! periodic mode on [`super::idt::TIMER_VECTOR`]; its input
//! clock is unknown until [`calibrate`] measures it against the PIT.

use super::idt::{SPURIOUS_VECTOR, TIMER_VECTOR};
use core::sync::atomic::{AtomicU64, Ordering};
use x86_64::registers::model_specific::Msr;

const IA32_APIC_BASE: u32 = 0x1b;
const APIC_GLOBAL_ENABLE: u64 = 1 << 11;

const REG_ID: usize = 0x20;
const REG_TPR: usize = 0x80;
const REG_EOI: usize = 0xb0;
const REG_SVR: usize = 0xf0;
/// The first of the eight In-Service Registers (32 vectors each, 0x10
/// apart).
const REG_ISR: usize = 0x100;
const REG_ICR_LOW: usize = 0x300;
const REG_ICR_HIGH: usize = 0x310;
const REG_LVT_TIMER: usize = 0x320;
const REG_TIMER_INITIAL: usize = 0x380;
const REG_TIMER_CURRENT: usize = 0x390;
const REG_TIMER_DIVIDE: usize = 0x3e0;

const SVR_ENABLE: u32 = 1 << 8;
const LVT_MASKED: u32 = 1 << 16;
const LVT_PERIODIC: u32 = 1 << 17;
const ICR_DELIVERY_PENDING: u32 = 1 << 12;
const ICR_INIT: u32 = 0b101 << 8;
const ICR_STARTUP: u32 = 0b110 << 8;
const ICR_LEVEL_ASSERT: u32 = 1 << 14;
/// Divide configuration value for "divide by 16".
const DIVIDE_BY_16: u32 = 0b0011;

static BASE: AtomicU64 = AtomicU64::new(0);

fn reg(offset: usize) -> *mut u32 {
    (BASE.load(Ordering::Relaxed) as usize + offset) as *mut u32
}

/// Reads the register at `offset` (0 before [`init`]).
fn read(offset: usize) -> u32 {
    if BASE.load(Ordering::Relaxed) == 0 {
        return 0;
    }
    // SAFETY: a non-zero `BASE` was stored by `init`: the xAPIC's MMIO page
    // from IA32_APIC_BASE, checked to lie in the identity map's uncached
    // top gigabyte; every CPU's APIC answers at that same address for
    // itself. The offsets are architectural registers inside that page,
    // and no Rust object lives there.
    unsafe { reg(offset).read_volatile() }
}

/// Writes the register at `offset` (nothing before [`init`]).
fn write(offset: usize, value: u32) {
    if BASE.load(Ordering::Relaxed) == 0 {
        return;
    }
    // SAFETY: as in `read`: a non-zero `BASE` is the APIC's register page.
    unsafe { reg(offset).write_volatile(value) }
}

/// Enables the local APIC of the calling CPU. Panics if its registers are
/// not where the boot page tables map MMIO uncached (3-4 GiB; the default,
/// and QEMU's, is 0xfee0_0000).
pub fn init() {
    let mut msr = Msr::new(IA32_APIC_BASE);
    // SAFETY: IA32_APIC_BASE exists on every x86_64 CPU; setting the global
    // enable bit while keeping the base is the architectural way to enable
    // the xAPIC, and changes no memory.
    let base = unsafe {
        let value = msr.read();
        msr.write(value | APIC_GLOBAL_ENABLE);
        value & 0x000f_ffff_ffff_f000
    };
    assert!(
        (3 << 30..4 << 30).contains(&base),
        "local APIC registers at {base:#x}, outside the uncached identity map"
    );
    BASE.store(base, Ordering::Relaxed);
    write(REG_TPR, 0);
    write(REG_SVR, SVR_ENABLE | u32::from(SPURIOUS_VECTOR));
    write(REG_LVT_TIMER, LVT_MASKED);
}

/// The APIC id of the calling CPU.
pub fn id() -> u32 {
    read(REG_ID) >> 24
}

/// Signals the end of the current interrupt to the local APIC.
pub fn end_of_interrupt() {
    if BASE.load(Ordering::Relaxed) != 0 {
        write(REG_EOI, 0);
    }
}

/// Ends every interrupt the calling CPU's APIC has in service; returns
/// how many. For a CPU abandoning interrupt handling half way: a device
/// interrupt whose delivery or entry faulted (a stack ran out under it)
/// never reaches the handler that would have acknowledged it, and an
/// unacknowledged vector blocks itself and every lower-priority one.
pub fn end_all_in_service() -> u32 {
    let pending: u32 = (0..8).map(|i| read(REG_ISR + 0x10 * i).count_ones()).sum();
    for _ in 0..pending {
        end_of_interrupt();
    }
    pending
}

/// Measures the timer's input clock (after the divide-by-16) in Hz, and the
/// TSC frequency, over `window_ms` of the PIT. Returns `(apic_hz, tsc_hz)`.
pub fn calibrate(window_ms: u32) -> (u64, u64) {
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_MASKED);
    let tsc_start = super::pit::measure(window_ms, || {
        write(REG_TIMER_INITIAL, u32::MAX);
        super::cpu::rdtsc()
    });
    let apic_ticks = u64::from(u32::MAX - read(REG_TIMER_CURRENT));
    let tsc_ticks = super::cpu::rdtsc() - tsc_start;
    write(REG_TIMER_INITIAL, 0);
    let per_second = |ticks: u64| ticks * 1000 / u64::from(window_ms);
    (per_second(apic_ticks), per_second(tsc_ticks))
}

/// Starts the timer in periodic mode at `hz` interrupts per second, given
/// the input clock `apic_hz` measured by [`calibrate`].
pub fn start_periodic(apic_hz: u64, hz: u32) {
    let count = (apic_hz / u64::from(hz.max(1))).clamp(1, u64::from(u32::MAX)) as u32;
    write(REG_TIMER_DIVIDE, DIVIDE_BY_16);
    write(REG_LVT_TIMER, LVT_PERIODIC | u32::from(TIMER_VECTOR));
    write(REG_TIMER_INITIAL, count);
}

fn send_icr(apic_id: u32, low: u32) {
    write(REG_ICR_HIGH, apic_id << 24);
    write(REG_ICR_LOW, low);
    while read(REG_ICR_LOW) & ICR_DELIVERY_PENDING != 0 {
        core::hint::spin_loop();
    }
}

/// Sends an INIT IPI to the CPU with local APIC id `apic_id`.
pub fn send_init(apic_id: u32) {
    send_icr(apic_id, ICR_INIT | ICR_LEVEL_ASSERT);
}

/// Sends a STARTUP IPI: the CPU starts in real mode at `page << 12`.
pub fn send_startup(apic_id: u32, page: u8) {
    send_icr(apic_id, ICR_STARTUP | ICR_LEVEL_ASSERT | u32::from(page));
}

/// Sends a fixed interrupt on `vector` to the CPU with id `apic_id`.
pub fn send_ipi(apic_id: u32, vector: u8) {
    send_icr(apic_id, u32::from(vector));
}

/// Stops (`true`) or resumes the calling CPU's periodic timer.
pub fn mask_timer(masked: bool) {
    let lvt = read(REG_LVT_TIMER);
    write(
        REG_LVT_TIMER,
        if masked {
            lvt | LVT_MASKED
        } else {
            lvt & !LVT_MASKED
        },
    );
}

/// Enables the calling CPU's APIC and starts its periodic timer with an
/// input clock measured earlier on the boot CPU (all APICs share it).
pub fn init_secondary(apic_hz: u64, hz: u32) {
    init();
    start_periodic(apic_hz, hz);
}
