//! Small CPU primitives: timestamp counter, halting, interrupt flag and the
//! CPUID brand string for the boot banner.

use core::arch::x86_64::{__cpuid, _rdtsc};

/// Reads the timestamp counter.
#[inline]
pub fn rdtsc() -> u64 {
    // SAFETY: RDTSC has no side effects beyond reading the counter, and every
    // x86_64 CPU implements it.
    unsafe { _rdtsc() }
}

/// Halts until the next interrupt (interrupts must be enabled to wake).
#[inline]
pub fn halt() {
    x86_64::instructions::hlt();
}

/// Halts forever with interrupts disabled: the end of the line.
pub fn halt_forever() -> ! {
    loop {
        x86_64::instructions::interrupts::disable();
        x86_64::instructions::hlt();
    }
}

/// Runs `f` with interrupts disabled on this CPU, restoring the flag after.
#[inline]
pub fn without_interrupts<R>(f: impl FnOnce() -> R) -> R {
    x86_64::instructions::interrupts::without_interrupts(f)
}

/// Enables interrupts on this CPU.
#[inline]
pub fn enable_interrupts() {
    x86_64::instructions::interrupts::enable();
}

/// Disables interrupts on this CPU; returns whether they were enabled.
pub fn disable_interrupts() -> bool {
    let were = interrupts_enabled();
    x86_64::instructions::interrupts::disable();
    were
}

/// Re-enables interrupts if `were_enabled` (undoes [`disable_interrupts`]).
pub fn restore_interrupts(were_enabled: bool) {
    if were_enabled {
        x86_64::instructions::interrupts::enable();
    }
}

/// Whether interrupts are enabled on this CPU.
#[inline]
pub fn interrupts_enabled() -> bool {
    x86_64::instructions::interrupts::are_enabled()
}

/// The CPU's brand string (CPUID leaves 0x8000_0002..=0x8000_0004), trimmed.
///
/// Returns the vendor id when the brand leaves are not implemented.
pub fn model_name(buf: &mut [u8; 48]) -> &str {
    let max_ext = __cpuid(0x8000_0000).eax;
    let len = if max_ext >= 0x8000_0004 {
        for (i, leaf) in (0x8000_0002u32..=0x8000_0004).enumerate() {
            let r = __cpuid(leaf);
            for (j, reg) in [r.eax, r.ebx, r.ecx, r.edx].iter().enumerate() {
                let at = i * 16 + j * 4;
                buf[at..at + 4].copy_from_slice(&reg.to_le_bytes());
            }
        }
        48
    } else {
        let r = __cpuid(0);
        for (j, reg) in [r.ebx, r.edx, r.ecx].iter().enumerate() {
            buf[j * 4..j * 4 + 4].copy_from_slice(&reg.to_le_bytes());
        }
        12
    };
    let text = &buf[..len];
    let end = text.iter().position(|&b| b == 0).unwrap_or(len);
    core::str::from_utf8(&text[..end])
        .unwrap_or("unknown CPU")
        .trim()
}

/// Switches to the stack whose top is `top` and calls `f` there.
///
/// # Safety
/// `top` must be the 16-byte-aligned top of a mapped stack that stays
/// valid for as long as `f` runs, and nothing may rely on the current stack
/// afterwards.
pub unsafe fn call_on_stack(top: u64, f: extern "C" fn() -> !) -> ! {
    // SAFETY: guaranteed by the caller; `call` leaves rsp at 8 mod 16 on
    // entry to `f`, as the ABI expects.
    unsafe {
        core::arch::asm!(
            "mov rsp, {top}",
            "xor ebp, ebp",
            "call {f}",
            "ud2",
            top = in(reg) top,
            f = in(reg) f,
            options(noreturn)
        )
    }
}
