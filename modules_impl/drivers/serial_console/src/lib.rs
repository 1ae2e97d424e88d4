//! Serial console input: the receive side of a 16550 UART, interrupt
//! driven.
//!
//! A v2 module flagged DRIVER that provides `"console"`. It claims the
//! UART's eight ports and its IRQ line through the kernel's hardware
//! service (COM1: 0x3f8, IRQ 4 by default; boot-only parameters `port` and
//! `irq`, set on the kernel command line),
//! enables the received-data interrupt, and on each interrupt moves every
//! waiting byte into a bounded buffer.
//!
//! COM1 is shared with the kernel, by design: the kernel owns the UART and
//! writes its own output to the transmit register, and its hardware
//! service lends the whole eight-port range to one driver at a time (only
//! the whole range: any other claim touching COM1 is refused as the
//! kernel's). This driver is that borrower and owns the receive side:
//! received data, the interrupt enable, modem control (OUT2, and loopback
//! for `self_test`, whose pattern it writes to the transmit register). It
//! leaves the line settings (line control, divisor, FIFO control) as the
//! kernel set them. Requests:
//!
//! - `read`: takes up to [`READ_CHUNK`] buffered bytes (possibly none);
//! - `stats`: `received=N dropped=N interrupts=N buffered=N`;
//! - `self_test`: loops the UART back on itself, sends a pattern and checks
//!   it comes back through the interrupt path, then restores normal mode.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

mod module;
mod receiver;

pub use module::{READ_CHUNK, SerialConsole};
pub use receiver::{BUFFER_CAPACITY, Receiver};
