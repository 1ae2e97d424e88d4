//! Faults on purpose: the instructions the fault-matrix and protection
//! tests (and the console's `crashtest` style modules) use to provoke each
//! kind of CPU exception. Each one faults when the machine is set up as the
//! kernel sets it up; none returns normally then.
//!
//! The ones whose target is fixed ([`null_read`], [`general_protection`],
//! [`invalid_opcode`], [`divide_error`], and [`overflow_stack`], which runs
//! into the stack's guard page) are safe: they fault wherever they run. The ones that take an address ([`load`], [`store`], [`jump`]) are
//! `unsafe fn`s: aimed at memory that does not fault, they would read,
//! write or run it, so the caller states why that cannot do harm.

/// Reads a `u64` at `addr` (a page fault if nothing is mapped there, a
/// general protection fault if `addr` is not canonical).
///
/// # Safety
/// The read must fault, or else be harmless: `addr` unmapped or
/// non-canonical, or a readable, 8-byte aligned `u64` that no one writes
/// meanwhile and whose read has no side effect (not MMIO).
pub unsafe fn load(addr: u64) -> u64 {
    // SAFETY: the caller guarantees the read faults (and never completes)
    // or reads a plain `u64` that nothing writes concurrently.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Writes `value` at `addr`: a page fault if `addr` is unmapped or
/// read-only.
///
/// # Safety
/// The write must fault, or else be harmless: `addr` unmapped, read-only
/// (kernel text, `.rodata`) or non-canonical, and if protection failed, an
/// 8-byte aligned `u64` that already holds `value` and that nothing else
/// accesses meanwhile.
pub unsafe fn store(addr: u64, value: u64) {
    // SAFETY: the caller guarantees the write faults (and never completes)
    // or stores the value already there, where nothing else looks.
    unsafe { core::ptr::write_volatile(addr as *mut u64, value) }
}

/// A null pointer read (page 0 is never mapped).
pub fn null_read() -> u64 {
    // SAFETY: `protect::init` unmaps page 0 during `mm::init`, before any
    // code that could call this runs, and nothing maps it again: the read
    // faults.
    unsafe { load(0) }
}

/// A general protection fault: a non-canonical address.
pub fn general_protection() -> u64 {
    // SAFETY: a non-canonical address always raises #GP; the read never
    // happens.
    unsafe { load(0x8000_0000_0000_0000) }
}

/// An invalid opcode (`ud2`).
pub fn invalid_opcode() {
    // SAFETY: `ud2` only raises #UD; it reads and writes nothing.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
}

/// A divide error: `div` by zero (Rust's `/` would panic first).
pub fn divide_error() -> u64 {
    let zero = core::hint::black_box(0u64);
    let mut out = 1u64;
    // SAFETY: a `div` by zero only raises #DE; the registers it would
    // write are declared.
    unsafe {
        core::arch::asm!("xor edx, edx", "div {0}", in(reg) zero, inout("rax") out, out("rdx") _, options(nomem, nostack));
    }
    out
}

/// Calls the code at `addr` (an instruction-fetch fault where it is not
/// executable or not mapped).
///
/// # Safety
/// The fetch must fault, or else be harmless: `addr` unmapped or not
/// executable, and if protection failed, the start of code that is safe to
/// call as `extern "C" fn()` (a lone `ret`, say) and stays there while it
/// runs.
pub unsafe fn jump(addr: u64) {
    // SAFETY: the caller guarantees the fetch faults, or that `addr` is
    // code safe to call as `extern "C" fn()`; the call clobbers what such a
    // function may. No function pointer is made, so 0 is fine (it faults).
    unsafe { core::arch::asm!("call {0}", in(reg) addr, clobber_abi("C")) };
}

/// Recurses until the stack runs into its guard page: a page fault that
/// the CPU cannot deliver on that stack, so a double fault on its IST
/// stack, reported as a kernel stack overflow. Never returns.
#[inline(never)]
#[allow(unconditional_recursion)]
pub fn overflow_stack(depth: u64) -> u64 {
    let pad = [depth; 32];
    core::hint::black_box(&pad);
    overflow_stack(depth + 1) + core::hint::black_box(pad[1])
}
