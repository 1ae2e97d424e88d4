//! Faults on purpose: the instructions the fault-matrix and protection
//! tests (and the console's `crashtest` style modules) use to provoke each
//! kind of CPU exception, behind safe functions, so no test or module needs
//! assembly or `unsafe` of its own. Each one faults when the machine is set
//! up as the kernel sets it up; none returns normally then.

/// Reads a `u64` at `addr` (a page fault if nothing is mapped there, a
/// general protection fault if `addr` is not canonical).
pub fn load(addr: u64) -> u64 {
    // SAFETY: a volatile read has no effect beyond the access itself; the
    // point is the fault it raises, which the kernel reports or contains.
    unsafe { core::ptr::read_volatile(addr as *const u64) }
}

/// Writes `value` at `addr`: a page fault if `addr` is unmapped or
/// read-only.
pub fn store(addr: u64, value: u64) {
    // SAFETY: as for `load`: the write is meant to fault. Callers only aim
    // it at unmapped or read-only memory (the tests check it faulted).
    unsafe { core::ptr::write_volatile(addr as *mut u64, value) }
}

/// A null pointer read (page 0 is never mapped).
pub fn null_read() -> u64 {
    load(0)
}

/// A general protection fault: a non-canonical address.
pub fn general_protection() -> u64 {
    load(0x8000_0000_0000_0000)
}

/// An invalid opcode (`ud2`).
pub fn invalid_opcode() {
    // SAFETY: `ud2` only raises #UD.
    unsafe { core::arch::asm!("ud2", options(nomem, nostack)) };
}

/// A divide error: `div` by zero (Rust's `/` would panic first).
pub fn divide_error() -> u64 {
    let zero = core::hint::black_box(0u64);
    let mut out = 1u64;
    // SAFETY: a `div` by zero only raises #DE.
    unsafe {
        core::arch::asm!("xor edx, edx", "div {0}", in(reg) zero, inout("rax") out, out("rdx") _, options(nomem, nostack));
    }
    out
}

/// Calls the code at `addr` (an instruction-fetch fault where it is not
/// executable or not mapped).
pub fn jump(addr: u64) {
    // SAFETY: the call is meant to fault on the fetch; callers aim it at
    // memory that is not executable.
    let f: extern "C" fn() = unsafe { core::mem::transmute(addr as usize) };
    f();
}
