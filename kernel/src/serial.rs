//! The COM1 serial console: where every line the kernel prints goes.
//!
//! [`init`] sets the UART up (8-N-1, FIFO on) with `uart_16550`; from then
//! on the kernel writes it with plain port I/O: wait until the line status
//! register says the transmit holding register is empty, write the byte.
//! Lines end in `\r\n` for terminals; the QEMU runner strips the `\r` when
//! the output is not a terminal.
//!
//! **One message at a time.** A message (one `kprint!`, one log record) is
//! written under the console flag `BUSY`, taken with interrupts off, so
//! messages from several CPUs do not mix and an interrupt handler that
//! logs cannot deadlock against the code it interrupted. The flag orders
//! output and guards no memory: the UART's registers are not Rust memory,
//! so two writers at once can only interleave their bytes. That is what
//! makes the bounded waits sound. A writer that cannot get the flag within
//! [`WAIT_CYCLES`] (its holder died in a panic, say, and will never clear
//! it) writes anyway and clears it after, so the console never stays
//! locked. The panic path ([`write_fmt_panicking`]) waits less
//! ([`PANIC_WAIT_CYCLES`]) and then writes around the holder without
//! touching the flag: no lock is ever forced open under a CPU that may
//! still be using it.
//!
//! **COM1 is shared, by design** (docs/architecture.md §10). The kernel owns
//! the UART and its transmit side: [`init`] sets the line, and from then on
//! the kernel only writes the transmit holding register and reads the line
//! status; it never reads received bytes. The hardware claim table
//! (`crate::hw`) reserves ports [`COM1`]`..COM1 + 8` for the kernel and
//! lends them, whole and to one driver at a time, to the driver that owns
//! the *receive* side (the `serial_console` module: received data,
//! interrupt enable, modem control, its loopback self-test); no other claim
//! may touch them. The borrower leaves the line settings (line control,
//! divisor latch, FIFO control) as [`init`] set them.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, Ordering};
use uart_16550::{Config, Uart16550};
use x86_64::instructions::port::Port;

/// I/O port base of COM1.
pub const COM1: u16 = 0x3f8;
/// Ports of the UART at [`COM1`] (its eight registers).
pub const COM1_PORTS: u16 = 8;
/// Transmit holding register (write) at offset 0.
const THR: u16 = 0;
/// Line status register at offset 5, and its "transmit holding register
/// empty" bit.
const LSR: u16 = 5;
const LSR_THR_EMPTY: u8 = 1 << 5;
/// How long (TSC cycles, about a second) a writer waits for `BUSY`
/// before it writes anyway.
pub const WAIT_CYCLES: u64 = 1 << 31;
/// How long (TSC cycles, some tens of milliseconds) the panic path waits
/// for `BUSY` before it writes around its holder.
pub const PANIC_WAIT_CYCLES: u64 = 1 << 26;
/// Polls of the line status per byte before a byte is sent anyway (a UART
/// that never reports ready must not hang the kernel).
const READY_POLLS: u32 = 100_000;

/// Whether [`init`] found and set up the UART; nothing is written before.
static READY: AtomicBool = AtomicBool::new(false);
/// A message is being written (see the module docs): orders output, guards
/// no memory.
static BUSY: AtomicBool = AtomicBool::new(false);

/// Initialises COM1 (8-N-1, FIFO on). Called first thing at boot.
pub fn init() {
    // SAFETY: 0x3f8 is COM1 on every PC-compatible machine QEMU emulates.
    // Port I/O touches no memory Rust knows of. The kernel owns the UART:
    // `crate::hw` reserves its eight ports, lending them only to the one
    // driver that reads the receive side, and that driver cannot exist
    // yet (this runs first thing at boot, before any module is loaded).
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else {
        return;
    };
    if uart.init(Config::default()).is_ok() {
        READY.store(true, Ordering::Release);
    }
}

/// Writes to COM1's transmit holding register, byte by byte, `\n` as
/// `\r\n`.
struct Transmitter;

impl Transmitter {
    fn send(byte: u8) {
        let mut lsr = Port::<u8>::new(COM1 + LSR);
        let mut thr = Port::<u8>::new(COM1 + THR);
        // SAFETY: COM1's line status and transmit holding registers are the
        // kernel's own (reserved in `crate::hw`; the driver it lends COM1 to
        // works the receive side). Port I/O reads and writes no memory Rust
        // knows of, so two writers at once (after a wait ran out, or the
        // panic path writing around a holder) interleave their bytes and do
        // nothing worse. Reading the line status may clear an error flag
        // (overrun) the receiving driver would otherwise have seen: a lost
        // diagnostic at worst.
        unsafe {
            for _ in 0..READY_POLLS {
                if lsr.read() & LSR_THR_EMPTY != 0 {
                    break;
                }
                core::hint::spin_loop();
            }
            thr.write(byte);
        }
    }
}

impl Write for Transmitter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for &b in s.as_bytes() {
            if b == b'\n' {
                Self::send(b'\r');
            }
            Self::send(b);
        }
        Ok(())
    }
}

/// Takes `BUSY`, waiting at most `cycles` TSC cycles; returns whether it
/// was taken.
fn take_busy(cycles: u64) -> bool {
    let start = crate::arch::x86_64::cpu::rdtsc();
    loop {
        if BUSY
            .compare_exchange_weak(false, true, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
        {
            return true;
        }
        if crate::arch::x86_64::cpu::rdtsc().wrapping_sub(start) > cycles {
            return false;
        }
        core::hint::spin_loop();
    }
}

/// Writes formatted text to the console, as one message.
pub fn write_fmt(args: fmt::Arguments<'_>) {
    if !READY.load(Ordering::Acquire) {
        return;
    }
    crate::arch::x86_64::cpu::without_interrupts(|| {
        // Taken or not (its holder is gone or stuck), write, then clear it:
        // it guards no memory, and clearing it unblocks everyone else.
        take_busy(WAIT_CYCLES);
        let _ = Transmitter.write_fmt(args);
        BUSY.store(false, Ordering::Release);
    });
}

/// Writes formatted text from the panic path, without waiting long and
/// without touching a console flag another CPU may hold.
///
/// It waits for `BUSY` a short, bounded time. If its holder (another CPU
/// in the middle of a message, or the code this CPU was running when it
/// faulted) does not let go, it writes straight to the transmit register
/// anyway, around the holder, and leaves the flag alone: the cost is
/// interleaved bytes on the wire, never memory unsafety (see the module
/// docs).
pub fn write_fmt_panicking(args: fmt::Arguments<'_>) {
    if !READY.load(Ordering::Acquire) {
        return;
    }
    crate::arch::x86_64::cpu::without_interrupts(|| {
        let taken = take_busy(PANIC_WAIT_CYCLES);
        let _ = Transmitter.write_fmt(args);
        if taken {
            BUSY.store(false, Ordering::Release);
        }
    });
}

/// Prints to the serial console.
#[macro_export]
macro_rules! kprint {
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!($($arg)*)) };
}

/// Prints a line to the serial console.
#[macro_export]
macro_rules! kprintln {
    () => { $crate::serial::write_fmt(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::serial::write_fmt(format_args!("{}\n", format_args!($($arg)*))) };
}
