//! The receiver against a modelled UART: bytes move from the device to
//! the buffer on an interrupt, reads drain in order and in bounded chunks,
//! and overflow is counted, not fatal.

use helix_modules::services::hw::{IrqHandler, PortIo, PortRange};
use serial_console::{BUFFER_CAPACITY, Receiver};
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct FakeUart {
    rx: Mutex<VecDeque<u8>>,
}

impl PortIo for FakeUart {
    fn read_u8(&self, port: u16) -> u8 {
        let mut rx = self.rx.lock().unwrap();
        match port - 0x3f8 {
            0 => rx.pop_front().unwrap_or(0),
            5 => u8::from(!rx.is_empty()) | 0x20,
            _ => 0,
        }
    }
    fn write_u8(&self, _: u16, _: u8) {}
}

fn uart() -> (Arc<FakeUart>, Receiver) {
    let dev = Arc::new(FakeUart::default());
    let io: Arc<dyn PortIo> = dev.clone();
    (dev, Receiver::new(PortRange::new(0x3f8, 8, io)))
}

#[test]
fn interrupt_moves_bytes_into_the_buffer() {
    let (dev, rx) = uart();
    dev.rx.lock().unwrap().extend(b"lsmod\r");
    rx.handle_irq();
    assert_eq!(rx.buffered(), 6);
    assert_eq!(rx.take(3), b"lsm");
    assert_eq!(rx.take(100), b"od\r");
    assert_eq!(rx.take(100), b"");
    assert_eq!(rx.counters(), (6, 0, 1));
}

#[test]
fn overflow_drops_and_counts() {
    let (dev, rx) = uart();
    dev.rx
        .lock()
        .unwrap()
        .extend(std::iter::repeat_n(b'x', BUFFER_CAPACITY + 10));
    rx.handle_irq();
    rx.handle_irq();
    let (received, dropped, interrupts) = rx.counters();
    assert_eq!(
        (received, dropped, interrupts),
        (BUFFER_CAPACITY as u64 + 10, 10, 2)
    );
    assert_eq!(rx.buffered(), BUFFER_CAPACITY);
}
