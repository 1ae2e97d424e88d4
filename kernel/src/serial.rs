//! The COM1 serial console: where every line the kernel prints goes.
//!
//! Output is serialised by one lock taken with interrupts disabled, so an
//! interrupt handler that logs cannot deadlock against the code it
//! interrupted. Lines end in `\r\n` for terminals; the QEMU runner strips
//! the `\r` when the output is not a terminal. The panic path uses
//! [`write_fmt_panicking`], which takes the lock over if its holder can no
//! longer release it.

use core::fmt::{self, Write};
use spin::Mutex;
use uart_16550::backend::PioBackend;
use uart_16550::{Config, Uart16550};

/// I/O port base of COM1.
pub const COM1: u16 = 0x3f8;

static PORT: Mutex<Option<Uart16550<PioBackend>>> = Mutex::new(None);

/// Initialises COM1 (8-N-1, FIFO on). Called first thing at boot.
pub fn init() {
    // SAFETY: 0x3f8 is COM1 on every PC-compatible machine QEMU emulates,
    // and this is the only driver that owns it.
    let Ok(mut uart) = (unsafe { Uart16550::new_port(COM1) }) else {
        return;
    };
    if uart.init(Config::default()).is_ok() {
        *PORT.lock() = Some(uart);
    }
}

struct Writer<'a>(&'a mut Uart16550<PioBackend>);

impl Write for Writer<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        for chunk in s.split_inclusive('\n') {
            match chunk.strip_suffix('\n') {
                Some(line) => {
                    self.0.send_bytes_exact(line.as_bytes());
                    self.0.send_bytes_exact(b"\r\n");
                }
                None => self.0.send_bytes_exact(chunk.as_bytes()),
            }
        }
        Ok(())
    }
}

/// Writes formatted text to the console.
pub fn write_fmt(args: fmt::Arguments<'_>) {
    crate::arch::x86_64::cpu::without_interrupts(|| {
        if let Some(uart) = PORT.lock().as_mut() {
            let _ = Writer(uart).write_fmt(args);
        }
    });
}

/// Writes formatted text from the panic path, taking the console over if
/// its lock is held (the holder was interrupted by the fault and will never
/// release it). Output from the two may interleave; losing the panic
/// message would be worse.
pub fn write_fmt_panicking(args: fmt::Arguments<'_>) {
    if PORT.is_locked() {
        // SAFETY: we are on the panic path with interrupts off; the holder
        // cannot make progress before we are done, and a half-written line
        // is the only consequence of sharing the UART.
        unsafe { PORT.force_unlock() };
    }
    write_fmt(args);
}

/// Reads one received byte, if one is waiting.
pub fn try_read_byte() -> Option<u8> {
    crate::arch::x86_64::cpu::without_interrupts(|| PORT.lock().as_mut()?.try_receive_byte().ok())
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
