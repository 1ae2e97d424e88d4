//! Interrupt and exception entry: naked stubs and the saved register frame.
//!
//! Every vector enters through one 16-byte stub in [`interrupt_stubs`]. The
//! stub pushes a zero error code when the CPU does not push one, then the
//! vector number, and jumps to `interrupt_common` (exceptions) or
//! `irq_common` (device interrupts), which save every general-purpose
//! register so the stack holds a complete [`InterruptFrame`]. The Rust
//! dispatcher receives a pointer to that frame and returns the frame to
//! resume: normally the same one, or another thread's saved frame when the
//! scheduler switches from the timer interrupt. The entry loads the
//! returned pointer into `rsp` and resumes it through [`super::switch`],
//! which restores the registers and returns with `iretq`. Device interrupts
//! run their handlers on a per-CPU interrupt stack, exceptions on the stack
//! they happened on.
//!
//! These are naked functions (stable since Rust 1.88) because the
//! `x86-interrupt` ABI is unstable and cannot expose or replace the frame.

use core::arch::naked_asm;

/// Pushes every general-purpose register so that, with the vector and
/// error code below them, the stack holds an [`InterruptFrame`]. Shared by
/// interrupt entry and the voluntary context switch, whose frames must be
/// identical.
macro_rules! save_registers {
    () => {
        "push rax\npush rbx\npush rcx\npush rdx\npush rsi\npush rdi\npush rbp\npush r8\n\
         push r9\npush r10\npush r11\npush r12\npush r13\npush r14\npush r15"
    };
}
pub(super) use save_registers;

/// Distance between two consecutive stubs in [`interrupt_stubs`].
pub const STUB_STRIDE: u64 = 16;

/// Vectors for which the CPU pushes an error code, as a bit mask over 0..32:
/// #DF(8), #TS(10), #NP(11), #SS(12), #GP(13), #PF(14), #AC(17), #CP(21),
/// #VC(29), #SX(30).
pub const ERROR_CODE_VECTORS: u32 = 0x6022_7D00;

/// The complete register state saved on interrupt entry, lowest address
/// first. The layout is shared with the assembly in this file and with the
/// context switch: change both together.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
pub struct InterruptFrame {
    pub r15: u64,
    pub r14: u64,
    pub r13: u64,
    pub r12: u64,
    pub r11: u64,
    pub r10: u64,
    pub r9: u64,
    pub r8: u64,
    pub rbp: u64,
    pub rdi: u64,
    pub rsi: u64,
    pub rdx: u64,
    pub rcx: u64,
    pub rbx: u64,
    pub rax: u64,
    /// Vector number pushed by the stub.
    pub vector: u64,
    /// Error code pushed by the CPU, or 0 pushed by the stub.
    pub error_code: u64,
    /// Hardware frame: where to resume.
    pub rip: u64,
    pub cs: u64,
    pub rflags: u64,
    pub rsp: u64,
    pub ss: u64,
}

unsafe extern "C" {
    /// The first instruction of `irq_common` after the registers are saved
    /// (a label in its assembly).
    static helix_irq_saved: u8;
}

/// Whether `rip` lies in the entry code a device interrupt runs before its
/// handler: the stubs of vectors 32 and up, and `irq_common`'s register
/// saving. That code holds no lock, and the code it interrupted had
/// interrupts on, so a fault in it (the pushes running off an exhausted
/// stack) left nothing half changed.
pub fn is_irq_entry_code(rip: u64) -> bool {
    let stubs = interrupt_stubs as *const () as u64;
    let common = irq_common as *const () as u64;
    let saved = (&raw const helix_irq_saved) as u64;
    (stubs + 32 * STUB_STRIDE..stubs + 256 * STUB_STRIDE).contains(&rip)
        || (common..saved).contains(&rip)
}

/// The address of the entry stub for `vector`.
pub fn stub_address(vector: u8) -> u64 {
    interrupt_stubs as *const () as u64 + u64::from(vector) * STUB_STRIDE
}

/// All 256 entry stubs, laid out [`STUB_STRIDE`] bytes apart.
///
/// # Safety
/// Never call it: only its address is used, to fill the IDT. The stubs
/// expect the frame the CPU pushes on an interrupt, not a call.
#[unsafe(naked)]
pub unsafe extern "C" fn interrupt_stubs() {
    naked_asm!(
        ".set helix_vector, 0",
        ".rept 256",
        ".balign 16",
        ".if helix_vector < 32",
        ".if (({mask} >> helix_vector) & 1) == 0",
        "push 0",
        ".endif",
        ".else",
        "push 0",
        ".endif",
        "push helix_vector",
        ".if helix_vector < 32",
        "jmp {common}",
        ".else",
        "jmp {irq_common}",
        ".endif",
        ".set helix_vector, helix_vector + 1",
        ".endr",
        mask = const ERROR_CODE_VECTORS,
        common = sym interrupt_common,
        irq_common = sym irq_common,
    );
}

/// Saves the registers, calls the dispatcher, and resumes the frame it
/// returns: the entry of exceptions (vectors 0 to 31), which are handled
/// on the stack they happened on (a fault belongs to the code that made
/// it, and the containment resumes that code's caller there).
///
/// # Safety
/// Only jumped to, by the stubs in [`interrupt_stubs`], with the CPU's
/// interrupt frame, an error code and the vector on the stack.
#[unsafe(naked)]
unsafe extern "C" fn interrupt_common() {
    naked_asm!(
        save_registers!(),
        // The CPU aligned rsp to 16 before pushing its 5-word frame; with the
        // 2 stub words and 15 registers (22 words) it is aligned again here.
        "mov rdi, rsp",
        "cld",
        "call {dispatch}",
        // The dispatcher returns the frame to resume: this one, or another
        // thread's. Finishing the switch restores it (see `switch`).
        "mov rsp, rax",
        "jmp {resume}",
        dispatch = sym super::interrupts::dispatch,
        resume = sym super::switch::resume_frame,
    );
}

/// The entry of device interrupts (vectors 32 and up): as
/// [`interrupt_common`], but the dispatcher runs on this CPU's interrupt
/// stack, so that a thread deep in its own stack (a module recursing
/// towards its guard page) is not overflowed by the handler. The frame
/// stays on the interrupted stack, where the scheduler (which resumes
/// another thread by its frame) and the containment (which rewrites the
/// frame of a call out of budget) expect it. Without an interrupt stack
/// yet (early boot), or when already on it, the dispatcher runs where it
/// is.
///
/// # Safety
/// As [`interrupt_common`].
#[unsafe(naked)]
unsafe extern "C" fn irq_common() {
    naked_asm!(
        save_registers!(),
        // Nothing up to here takes a lock or changes kernel state: a fault
        // before this label (the pushes running off an exhausted stack)
        // interrupted code that had interrupts on (a device interrupt was
        // delivered to it) and left nothing half done; see
        // [`is_irq_entry_code`].
        ".global helix_irq_saved",
        "helix_irq_saved:",
        "mov rdi, rsp",
        "cld",
        "mov rax, gs:[{irq_top}]",
        "test rax, rax",
        "jz 2f",
        // Already on the interrupt stack: 0 <= top - rsp < size.
        "mov rcx, rax",
        "sub rcx, rsp",
        "cmp rcx, {irq_size}",
        "jb 2f",
        "mov rsp, rax",
        "2:",
        "call {dispatch}",
        "mov rsp, rax",
        "jmp {resume}",
        dispatch = sym super::interrupts::dispatch,
        resume = sym super::switch::resume_frame,
        irq_top = const super::percpu::IRQ_STACK_TOP_OFFSET,
        irq_size = const super::percpu::IRQ_STACK_SIZE,
    );
}
