//! Starting application processors: the real-mode trampoline and the
//! INIT-SIPI-SIPI sequence.
//!
//! An AP starts in 16-bit real mode at a page-aligned address below 1 MiB.
//! The trampoline below is copied to [`TRAMPOLINE_ADDR`]; it switches to
//! protected mode, enables PAE paging with the boot page tables (whose
//! identity map covers the trampoline and the kernel), enters long mode
//! and calls the entry function with the CPU index, on the stack the boot
//! CPU prepared. The boot CPU fills the trampoline's data slots before each
//! start, and starts APs one at a time so the slots are never shared.
//!
//! Memory protection (W^X, [`super::protect`]): the trampoline page is
//! writable and not executable while the boot CPU copies the code or fills
//! the slots, then read-only and executable before an AP is sent there;
//! never both. The AP needs no write to it: its GDT descriptors carry the
//! accessed bit already, so loading a segment does not make the CPU set it.
//! An AP that already started may keep a stale read + execute TLB entry
//! for the page while it is writable again; it never goes back there.

use super::paging::{self, Access};
use super::{apic, cpu};
use core::sync::atomic::{AtomicBool, Ordering};
use x86_64::registers::control::Cr3;

/// Physical address the trampoline runs at (STARTUP vector 0x08).
pub const TRAMPOLINE_ADDR: u64 = 0x8000;

core::arch::global_asm!(
    r#"
    .section .rodata.ap_trampoline, "a"
    .balign 16
    .global ap_trampoline_start
ap_trampoline_start:
    .code16
    cli
    cld
    xorw %ax, %ax
    movw %ax, %ds
    lgdtl (ap_gdt_ptr - ap_trampoline_start + {base})
    movl %cr0, %eax
    orl $1, %eax
    movl %eax, %cr0
    ljmpl $0x08, $(ap_pm32 - ap_trampoline_start + {base})

    .code32
ap_pm32:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    movl %cr4, %eax
    orl $0x20, %eax                 /* PAE */
    movl %eax, %cr4
    movl (ap_slot_cr3 - ap_trampoline_start + {base}), %eax
    movl %eax, %cr3
    movl $0xC0000080, %ecx          /* EFER: LME | NXE */
    rdmsr
    orl $0x900, %eax
    wrmsr
    movl %cr0, %eax
    orl $0x80010000, %eax           /* PG | WP */
    movl %eax, %cr0
    ljmpl $0x18, $(ap_lm64 - ap_trampoline_start + {base})

    .code64
ap_lm64:
    movw $0x10, %ax
    movw %ax, %ds
    movw %ax, %es
    movw %ax, %ss
    xorw %ax, %ax
    movw %ax, %fs
    movw %ax, %gs
    movq (ap_slot_stack - ap_trampoline_start + {base}), %rsp
    movq (ap_slot_cpu - ap_trampoline_start + {base}), %rdi
    movq (ap_slot_entry - ap_trampoline_start + {base}), %rax
    xorl %ebp, %ebp
    callq *%rax
1:
    cli
    hlt
    jmp 1b

    .balign 8
ap_gdt:                             /* accessed bits preset: no CPU writes */
    .quad 0
    .quad 0x00CF9B000000FFFF        /* 0x08: 32-bit code */
    .quad 0x00CF93000000FFFF        /* 0x10: data */
    .quad 0x00AF9B000000FFFF        /* 0x18: 64-bit code */
ap_gdt_end:
ap_gdt_ptr:
    .word ap_gdt_end - ap_gdt - 1
    .long ap_gdt - ap_trampoline_start + {base}

    .balign 8
    .global ap_slot_cr3, ap_slot_stack, ap_slot_entry, ap_slot_cpu
ap_slot_cr3:
    .quad 0
ap_slot_stack:
    .quad 0
ap_slot_entry:
    .quad 0
ap_slot_cpu:
    .quad 0
    .global ap_trampoline_end
ap_trampoline_end:
    .text
    "#,
    base = const TRAMPOLINE_ADDR,
    options(att_syntax)
);

unsafe extern "C" {
    static ap_trampoline_start: u8;
    static ap_trampoline_end: u8;
    static ap_slot_cr3: u8;
    static ap_slot_stack: u8;
    static ap_slot_entry: u8;
    static ap_slot_cpu: u8;
}

/// Set by an AP once it runs Rust code; the boot CPU waits for it.
static STARTED: AtomicBool = AtomicBool::new(false);

/// Marks the calling AP as started. Called first thing by its entry.
pub fn report_started() {
    STARTED.store(true, Ordering::Release);
}

/// Where the slot `sym` of the trampoline image lives once copied.
fn slot(sym: *const u8) -> *mut u64 {
    let offset = sym as u64 - (&raw const ap_trampoline_start) as u64;
    (TRAMPOLINE_ADDR + offset) as *mut u64
}

/// Runs `f` with the trampoline page writable and not executable, then
/// makes it read-only and executable for the next AP. Only the boot CPU
/// touches the page meanwhile: APs start one at a time, and one that has
/// reported in has left the trampoline.
fn while_writable<R>(f: impl FnOnce() -> R) -> R {
    let set = |access| {
        paging::set_identity_access(TRAMPOLINE_ADDR, access)
            .unwrap_or_else(|e| panic!("AP trampoline page: {e}"))
    };
    set(Access::ReadWrite);
    let result = f();
    set(Access::ReadExecute);
    result
}

/// Copies the trampoline to [`TRAMPOLINE_ADDR`].
///
/// # Safety
/// Called on the boot CPU before the first AP starts, and never while an
/// AP may be running the trampoline (it rewrites the code there).
pub unsafe fn install_trampoline() {
    let start = &raw const ap_trampoline_start;
    let len = (&raw const ap_trampoline_end) as usize - start as usize;
    while_writable(|| {
        // SAFETY: the page at 0x8000 is the kernel's for this: the first
        // MiB is identity-mapped (this page writable for the copy), the
        // frame allocator never hands out memory below the kernel image,
        // no Rust object lives there, and the loader's structures were
        // copied out at boot. The image (under one page) does not overlap
        // it, and no AP runs there now (the caller's promise).
        unsafe { core::ptr::copy_nonoverlapping(start, TRAMPOLINE_ADDR as *mut u8, len) }
    });
}

/// Starts the AP with local APIC id `apic_id` as CPU `index`, running
/// `entry(index)` on the stack whose top is `stack_top`. Returns whether it
/// reported in within the timeout. `now_ns` is the clock the waits are
/// timed with (the kernel's, calibrated: nanoseconds, never going back).
///
/// # Safety
/// [`install_trampoline`] ran. `stack_top` is the 16-byte aligned top of a
/// mapped stack that is this AP's alone and stays so while it runs there.
/// APs are started one at a time, from the boot CPU: no AP may be in the
/// trampoline (the previous one reported in, or none is started after one
/// that did not), and `apic_id` names a CPU that is not running yet.
pub unsafe fn start_ap(
    apic_id: u32,
    index: usize,
    stack_top: u64,
    entry: extern "C" fn(u64) -> !,
    now_ns: fn() -> u64,
) -> bool {
    let (pml4, _) = Cr3::read();
    while_writable(|| {
        // SAFETY: the slots are in the trampoline page, which the caller
        // installed and `while_writable` made writable for this closure;
        // `slot` turns each symbol into its place in that copy, 8-aligned.
        // No AP is reading them: the caller starts APs one at a time, each
        // after the previous one reported in (or was given up on, and then
        // no other is started).
        unsafe {
            slot(&raw const ap_slot_cr3).write_volatile(pml4.start_address().as_u64());
            slot(&raw const ap_slot_stack).write_volatile(stack_top);
            slot(&raw const ap_slot_entry).write_volatile(entry as usize as u64);
            slot(&raw const ap_slot_cpu).write_volatile(index as u64);
        }
    });
    STARTED.store(false, Ordering::Release);
    let page = (TRAMPOLINE_ADDR >> 12) as u8;
    apic::send_init(apic_id);
    // 10 ms, halting between timer ticks when interrupts are on.
    let end = now_ns().saturating_add(10_000_000);
    while now_ns() < end {
        if cpu::interrupts_enabled() {
            cpu::halt();
        } else {
            core::hint::spin_loop();
        }
    }
    for _ in 0..2 {
        apic::send_startup(apic_id, page);
        let deadline = now_ns() + 100_000_000;
        while now_ns() < deadline {
            if STARTED.load(Ordering::Acquire) {
                return true;
            }
            core::hint::spin_loop();
        }
    }
    false
}
