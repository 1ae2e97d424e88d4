//! The I/O APIC: routes device interrupt lines (global system interrupts)
//! to vectors on a chosen CPU.
//!
//! Helix uses the first I/O APIC the MADT lists, at its MMIO address in the
//! uncached top gigabyte of the boot identity map. Every line starts masked;
//! [`route`] programs and unmasks one, [`mask`] silences it again.

use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};

const REG_SELECT: u64 = 0x00;
const REG_WINDOW: u64 = 0x10;
const REG_VERSION: u32 = 0x01;
const REDIRECTION_BASE: u32 = 0x10;

const MASKED: u32 = 1 << 16;
const LEVEL_TRIGGERED: u32 = 1 << 15;
const ACTIVE_LOW: u32 = 1 << 13;

static BASE: AtomicU64 = AtomicU64::new(0);
static GSI_BASE: AtomicU32 = AtomicU32::new(0);
static LINES: AtomicU32 = AtomicU32::new(0);

/// Serialises the select/window pair: two CPUs interleaving them would
/// program the wrong register. Taken with interrupts off, so an interrupt
/// handler that masks a line cannot deadlock against its own CPU.
static REGS: spin::Mutex<()> = spin::Mutex::new(());

/// Reads register `reg` (0 before [`init`]).
fn read(reg: u32) -> u32 {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return 0;
    }
    super::cpu::without_interrupts(|| {
        let _pair = REGS.lock();
        // SAFETY: a non-zero `BASE` was stored by `init`, whose caller
        // promised it is the MMIO base of an I/O APIC, identity-mapped
        // uncached and driven by nothing else; the select/window pair is
        // its register interface (used whole under `REGS`) and no Rust
        // object lives there.
        unsafe {
            ((base + REG_SELECT) as *mut u32).write_volatile(reg);
            ((base + REG_WINDOW) as *const u32).read_volatile()
        }
    })
}

/// Writes register `reg` (nothing before [`init`]).
fn write(reg: u32, value: u32) {
    let base = BASE.load(Ordering::Relaxed);
    if base == 0 {
        return;
    }
    super::cpu::without_interrupts(|| {
        let _pair = REGS.lock();
        // SAFETY: as in `read`: a non-zero `BASE` is an I/O APIC's
        // registers, and `REGS` keeps the pair whole.
        unsafe {
            ((base + REG_SELECT) as *mut u32).write_volatile(reg);
            ((base + REG_WINDOW) as *mut u32).write_volatile(value);
        }
    })
}

/// Takes over the I/O APIC at `base` serving GSIs from `gsi_base`, and
/// masks all of its lines.
///
/// # Safety
/// `base` must be the MMIO address of an I/O APIC (from the firmware's
/// MADT), inside the identity map's uncached top gigabyte and not 0, and
/// nothing else may drive that I/O APIC: its registers are written at
/// `base` and `base + 0x10` from now on.
pub unsafe fn init(base: u64, gsi_base: u32) {
    BASE.store(base, Ordering::Relaxed);
    GSI_BASE.store(gsi_base, Ordering::Relaxed);
    let lines = ((read(REG_VERSION) >> 16) & 0xff) + 1;
    LINES.store(lines, Ordering::Relaxed);
    for line in 0..lines {
        write(REDIRECTION_BASE + 2 * line, MASKED);
    }
}

fn line_of(gsi: u32) -> Option<u32> {
    if BASE.load(Ordering::Relaxed) == 0 {
        return None;
    }
    let line = gsi.checked_sub(GSI_BASE.load(Ordering::Relaxed))?;
    (line < LINES.load(Ordering::Relaxed)).then_some(line)
}

/// Delivers `gsi` as `vector` to the CPU with APIC id `apic_id`. `flags`
/// are MPS INTI flags from the MADT (0 = the bus default: ISA lines are
/// edge-triggered, active high). Returns false if no I/O APIC serves `gsi`.
pub fn route(gsi: u32, vector: u8, apic_id: u32, flags: u16) -> bool {
    let Some(line) = line_of(gsi) else {
        return false;
    };
    let mut low = u32::from(vector);
    if flags & 0b11 == 0b11 {
        low |= ACTIVE_LOW;
    }
    if (flags >> 2) & 0b11 == 0b11 {
        low |= LEVEL_TRIGGERED;
    }
    write(REDIRECTION_BASE + 2 * line + 1, apic_id << 24);
    write(REDIRECTION_BASE + 2 * line, low);
    true
}

/// Masks `gsi`.
pub fn mask(gsi: u32) {
    if let Some(line) = line_of(gsi) {
        write(REDIRECTION_BASE + 2 * line, MASKED);
    }
}
