//! The voluntary context switch, and the initial frame of a new thread.
//!
//! Every suspended thread is represented the same way: its stack pointer
//! points at an [`InterruptFrame`]. A thread preempted by the timer got
//! that frame from the interrupt stubs; a thread that yields, blocks or
//! sleeps builds an identical one in [`context_switch`]. Resuming is the
//! same for both: load the frame's address into `rsp`, restore registers,
//! `iretq`. Right after the stack switch both paths call the finish-switch
//! hook the thread layer installed ([`set_finish_switch_hook`], from
//! `thread::start`), which marks the previous thread as off this CPU, so
//! another CPU may resume it only once its stack is free. The hook runs on
//! the CPU's interrupt stack, so that resuming a thread that sits near the
//! bottom of its own stack cannot overflow it.

use super::entry::{InterruptFrame, save_registers};
use core::arch::naked_asm;
use core::sync::atomic::{AtomicUsize, Ordering};

/// What runs right after every switch and interrupt return, before the
/// frame is restored: off the previous thread's stack, on the CPU's
/// interrupt stack. Runs with interrupts off.
pub type FinishSwitchHook = extern "C" fn();

/// The installed [`FinishSwitchHook`] as an address (0: none), read by
/// [`resume_frame`]'s assembly.
static FINISH_SWITCH_HOOK: AtomicUsize = AtomicUsize::new(0);

/// Installs the function `resume_frame` calls before
/// restoring a frame (`thread::start` installs the thread layer's
/// `finish_switch`). Until then, nothing is called.
pub fn set_finish_switch_hook(hook: FinishSwitchHook) {
    FINISH_SWITCH_HOOK.store(hook as usize, Ordering::Release);
}

/// Kernel code and data selectors, as laid out by [`super::gdt`].
pub const KERNEL_CS: u64 = 0x08;
/// Kernel stack segment selector.
pub const KERNEL_SS: u64 = 0x10;
/// RFLAGS of a new thread: interrupts enabled, reserved bit 1 set.
const INITIAL_RFLAGS: u64 = 0x202;

/// Saves the current context as an [`InterruptFrame`] on the current stack,
/// stores its address in `*save_rsp`, and resumes the thread whose frame is
/// at `next_rsp`. Returns when something resumes the saved frame.
///
/// # Safety
/// Interrupts must be disabled. `next_rsp` must point at a valid frame on a
/// stack that no CPU is using; `save_rsp` must stay valid until the saved
/// frame is resumed.
#[unsafe(naked)]
pub unsafe extern "C" fn context_switch(save_rsp: *mut u64, next_rsp: u64) {
    naked_asm!(
        // Hardware part of the frame, as an interrupt would push it.
        "mov rax, rsp",
        "push {ss}",
        "lea rcx, [rax + 8]", // rsp after returning to our caller
        "push rcx",
        "pushfq",
        "push {cs}",
        "push qword ptr [rax]", // rip: our return address
        "push 0",               // error code
        "push 0",               // vector
        save_registers!(),
        "mov [rdi], rsp",
        "mov rsp, rsi",
        "jmp {resume}",
        ss = const KERNEL_SS,
        cs = const KERNEL_CS,
        resume = sym resume_frame,
    );
}

/// Finishes a switch onto the frame at `rsp`: runs the finish-switch hook
/// (which tells the thread layer the previous thread is off this CPU),
/// then restores the frame.
///
/// # Safety
/// Jumped to, never called: by [`context_switch`] and the interrupt entry
/// path, with interrupts disabled and `rsp` at a complete
/// [`InterruptFrame`] of a thread no other CPU is running.
#[unsafe(naked)]
pub(super) unsafe extern "C" fn resume_frame() {
    naked_asm!(
        // rbx is restored from the frame below, so it may hold the frame
        // address across the call; the call needs an aligned stack. rax is
        // restored from the frame too, so it may hold the hook's address
        // (a plain load: an x86 load is an acquire).
        //
        // The hook runs on this CPU's interrupt stack, not below the frame:
        // the thread being resumed may have been preempted a few bytes
        // above its guard page (a module recursing deeply), and the hook's
        // work must not run off the end of it. Interrupts are off and the
        // dispatcher (if an interrupt got here) has returned, so nothing on
        // the interrupt stack is live. Before it exists, the hook runs
        // below the frame.
        "mov rax, qword ptr [rip + {hook}]",
        "test rax, rax",
        "jz 2f",
        "mov rbx, rsp",
        "mov rcx, gs:[{irq_top}]",
        "test rcx, rcx",
        "jz 3f",
        // A frame on the interrupt stack itself (an exception raised in a
        // device interrupt's handler, returning) sits above live frames:
        // the hook then runs below it, as without an interrupt stack.
        "mov rdx, rcx",
        "sub rdx, rsp",
        "cmp rdx, {irq_size}",
        "jb 3f",
        "mov rsp, rcx",
        "jmp 4f",
        "3:",
        "and rsp, -16",
        "4:",
        "call rax",
        "mov rsp, rbx",
        "2:",
        "pop r15",
        "pop r14",
        "pop r13",
        "pop r12",
        "pop r11",
        "pop r10",
        "pop r9",
        "pop r8",
        "pop rbp",
        "pop rdi",
        "pop rsi",
        "pop rdx",
        "pop rcx",
        "pop rbx",
        "pop rax",
        "add rsp, 16",
        "iretq",
        hook = sym FINISH_SWITCH_HOOK,
        irq_top = const super::percpu::IRQ_STACK_TOP_OFFSET,
        irq_size = const super::percpu::IRQ_STACK_SIZE,
    );
}

/// Writes the first frame of a new thread just below `stack_top`, so that
/// resuming it calls `entry(arg)` on that stack with interrupts enabled.
/// Returns the frame's address (the thread's saved stack pointer).
///
/// # Safety
/// `stack_top` must be the 16-byte-aligned top of a mapped, unused stack
/// with room for the frame.
pub unsafe fn initial_frame(stack_top: u64, entry: extern "C" fn(u64) -> !, arg: u64) -> u64 {
    // Leave the entry point's stack as after a `call`: rsp = 8 mod 16, with
    // a zero return address so backtraces end there.
    let entry_rsp = stack_top - 8;
    let frame_addr = (entry_rsp - core::mem::size_of::<InterruptFrame>() as u64) & !0xf;
    let frame = InterruptFrame {
        rdi: arg,
        rip: entry as usize as u64,
        cs: KERNEL_CS,
        rflags: INITIAL_RFLAGS,
        rsp: entry_rsp,
        ss: KERNEL_SS,
        ..InterruptFrame::default()
    };
    // SAFETY: the caller guarantees the stack is mapped, unused and has room
    // for the frame below its 16-byte aligned top, so both writes land in
    // it: the zero return address at `stack_top - 8`, the frame below that
    // at `frame_addr` (16-byte aligned, so aligned for the u64 fields).
    unsafe {
        (entry_rsp as *mut u64).write(0);
        (frame_addr as *mut InterruptFrame).write(frame);
    }
    frame_addr
}
