//! Leaving QEMU: the `isa-debug-exit` device the runner always attaches.
//!
//! Writing `v` to port 0xf4 makes QEMU exit with status `(v << 1) | 1`, so
//! [`ExitCode::Success`] becomes 33 and [`ExitCode::Failure`] 35. The runner
//! maps 33 to 0; any other status, including 0 for a reset, is a failure.

use x86_64::instructions::port::Port;

const DEBUG_EXIT_PORT: u16 = 0xf4;

/// How the run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u32)]
pub enum ExitCode {
    /// Everything went as expected (QEMU status 33).
    Success = 0x10,
    /// A test failed or the kernel panicked (QEMU status 35).
    Failure = 0x11,
}

/// Exits QEMU with `code` if the exit device is there; returns otherwise.
pub fn try_exit(code: ExitCode) {
    // SAFETY: port 0xf4 is the isa-debug-exit device in every QEMU
    // configuration we boot (ports 0xf4-0xf7, all four written by this
    // 32-bit `out`, reserved for the kernel in `crate::hw`); on a machine
    // without it the write is ignored. Port I/O touches no memory Rust
    // knows of; with the device, QEMU exits, which is what was asked.
    unsafe {
        Port::<u32>::new(DEBUG_EXIT_PORT).write(code as u32);
    }
}

/// Exits QEMU with `code`. Without the exit device, halts.
pub fn exit(code: ExitCode) -> ! {
    try_exit(code);
    super::cpu::halt_forever()
}
