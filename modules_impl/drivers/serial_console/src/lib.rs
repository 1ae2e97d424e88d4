//! Serial console input: the receive side of a 16550 UART, interrupt
//! driven.
//!
//! A v2 module flagged DRIVER that provides `"console"`. It claims the
//! UART's eight ports and its IRQ line through the kernel's hardware
//! service (COM1: 0x3f8, IRQ 4 by default; boot-only parameters `port` and
//! `irq`, set on the kernel command line),
//! enables the received-data interrupt, and on each interrupt moves every
//! waiting byte into a bounded buffer. The kernel keeps writing its own
//! output to the same UART's transmit register; this driver touches only
//! the receive path and the interrupt enable. Requests:
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
