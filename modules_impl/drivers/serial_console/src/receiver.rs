//! The interrupt half of the driver: drains the UART into a ring buffer.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::hw::{IrqHandler, PortRange};
use helix_modules::sync::IrqMutex;

/// Bytes buffered before new input is dropped (and counted).
pub const BUFFER_CAPACITY: usize = 4096;

/// Receiver buffer register (offset 0, read).
pub(crate) const RBR: u16 = 0;
/// Transmit holding register (offset 0, write).
pub(crate) const THR: u16 = 0;
/// Interrupt enable register.
pub(crate) const IER: u16 = 1;
/// Modem control register.
pub(crate) const MCR: u16 = 4;
/// Line status register.
pub(crate) const LSR: u16 = 5;
/// LSR: a received byte is waiting.
pub(crate) const LSR_DATA_READY: u8 = 0x01;
/// LSR: the transmitter can take a byte.
pub(crate) const LSR_THR_EMPTY: u8 = 0x20;

/// Moves received bytes from the UART into a buffer, from interrupt
/// context.
pub struct Receiver {
    ports: PortRange,
    buffer: IrqMutex<VecDeque<u8>>,
    received: AtomicU64,
    dropped: AtomicU64,
    interrupts: AtomicU64,
}

impl Receiver {
    /// A receiver for the UART behind `ports`. The buffer is allocated
    /// here, once, so the interrupt path never allocates.
    pub fn new(ports: PortRange) -> Self {
        Self {
            ports,
            buffer: IrqMutex::new(VecDeque::with_capacity(BUFFER_CAPACITY)),
            received: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            interrupts: AtomicU64::new(0),
        }
    }

    /// The UART's ports.
    pub fn ports(&self) -> &PortRange {
        &self.ports
    }

    /// Moves every waiting byte into the buffer; returns how many arrived.
    pub fn drain_uart(&self) -> usize {
        let mut n = 0;
        let mut buf = self.buffer.lock();
        // Bounded: a stuck data-ready bit cannot keep us here forever.
        for _ in 0..BUFFER_CAPACITY {
            match self.ports.read(LSR) {
                Ok(lsr) if lsr & LSR_DATA_READY != 0 => {}
                _ => break,
            }
            let Ok(byte) = self.ports.read(RBR) else {
                break;
            };
            n += 1;
            if buf.len() < BUFFER_CAPACITY {
                buf.push_back(byte);
            } else {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.received.fetch_add(n as u64, Ordering::Relaxed);
        n
    }

    /// Takes up to `max` buffered bytes.
    pub fn take(&self, max: usize) -> Vec<u8> {
        let mut buf = self.buffer.lock();
        let n = max.min(buf.len());
        buf.drain(..n).collect()
    }

    /// Bytes waiting in the buffer.
    pub fn buffered(&self) -> usize {
        self.buffer.lock().len()
    }

    /// `(received, dropped, interrupts)` since the driver started.
    pub fn counters(&self) -> (u64, u64, u64) {
        (
            self.received.load(Ordering::Relaxed),
            self.dropped.load(Ordering::Relaxed),
            self.interrupts.load(Ordering::Relaxed),
        )
    }
}

impl IrqHandler for Receiver {
    fn handle_irq(&self) {
        self.interrupts.fetch_add(1, Ordering::Relaxed);
        self.drain_uart();
    }
}
