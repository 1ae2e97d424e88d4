//! Resuming the test runner after a panic: a minimal setjmp/longjmp.
//!
//! Helix builds with `panic = "abort"` (no unwinding on this target), so a
//! panicking test cannot unwind back to the runner. Instead the runner calls
//! each test through [`catch_call`], which records the callee-saved
//! registers, stack pointer, return address and RFLAGS in a [`JumpBuffer`].
//! The panic handler calls [`resume`] with that buffer: execution continues
//! as if `catch_call` had returned 1. Frames in between are abandoned
//! without running destructors, exactly like an abort of that one test, so
//! a test that panics while holding a lock leaves it held; kernel locks are
//! taken with interrupts off and never across test code, which keeps this
//! safe in practice. Restoring RFLAGS matters: a panic from an interrupt or
//! exception handler would otherwise leave interrupts disabled.

use core::arch::naked_asm;

/// Saved execution state of a `catch_call` site.
#[derive(Debug, Default)]
#[repr(C)]
pub struct JumpBuffer {
    rbx: u64,
    rbp: u64,
    r12: u64,
    r13: u64,
    r14: u64,
    r15: u64,
    rsp: u64,
    rip: u64,
    rflags: u64,
}

/// Calls `f(arg)` after saving the caller's state in `buf`. Returns 0 when
/// `f` returns, 1 when [`resume`] was called with `buf`. Either way it
/// returns once, with the caller's callee-saved registers and stack
/// pointer as they were, so the caller sees an ordinary call.
///
/// # Safety
/// `buf` must stay valid (and not be moved or reused) until this call
/// returns, and `f` must be safe to call with `arg`. Whoever may call
/// [`resume`] with `buf` must stop doing so once this call has returned.
#[unsafe(naked)]
pub unsafe extern "C" fn catch_call(
    buf: *mut JumpBuffer,
    f: extern "C" fn(*mut u8),
    arg: *mut u8,
) -> u64 {
    naked_asm!(
        "mov [rdi + 0x00], rbx",
        "mov [rdi + 0x08], rbp",
        "mov [rdi + 0x10], r12",
        "mov [rdi + 0x18], r13",
        "mov [rdi + 0x20], r14",
        "mov [rdi + 0x28], r15",
        "lea rax, [rsp + 8]", // the caller's rsp after our return
        "mov [rdi + 0x30], rax",
        "mov rax, [rsp]", // our return address
        "mov [rdi + 0x38], rax",
        "pushfq",
        "pop rax",
        "mov [rdi + 0x40], rax",
        // Entry rsp is 8 mod 16; realign so `f` starts with the ABI's layout.
        "sub rsp, 8",
        "mov rdi, rdx",
        "call rsi",
        "add rsp, 8",
        "xor eax, eax",
        "ret",
    );
}

/// Continues execution at the `catch_call` that filled `buf`, which then
/// returns 1.
///
/// # Safety
/// `buf` must have been filled by a `catch_call` that has not returned yet,
/// on the current thread (whose stack holds that call's caller; the CPU
/// may differ if the thread moved, and the code calling `resume` may be on
/// an interrupt stack). Every frame between that `catch_call` and here is
/// abandoned: its destructors do not run, so what it owned leaks and locks
/// it held stay held, and nothing may still point into it (no one else may
/// hold a reference to a local of an abandoned frame). The callers, the
/// test runner and `crate::contain`, abandon only the test's or the module
/// call's own frames, and take their catch point down before resuming.
#[unsafe(naked)]
pub unsafe extern "C" fn resume(buf: *const JumpBuffer) -> ! {
    naked_asm!(
        "mov rbx, [rdi + 0x00]",
        "mov rbp, [rdi + 0x08]",
        "mov r12, [rdi + 0x10]",
        "mov r13, [rdi + 0x18]",
        "mov r14, [rdi + 0x20]",
        "mov r15, [rdi + 0x28]",
        "mov rsp, [rdi + 0x30]",
        "push qword ptr [rdi + 0x40]",
        "popfq",
        "mov eax, 1",
        "jmp qword ptr [rdi + 0x38]",
    );
}
