//! The receiver against a modelled UART on a `FakeHardware` machine: bytes
//! move from the device to the buffer on an interrupt, reads drain in
//! order and in bounded chunks, and overflow is counted, not fatal.

use helix_modules::services::hw::Hardware;
use helix_modules::testing::FakeHardware;
use serial_console::{BUFFER_CAPACITY, Receiver};
use std::sync::Arc;

/// A UART at 0x3f8 whose received bytes are the values queued on its
/// receive register; the line status register says whether any are left
/// (data ready) and that the transmitter is empty.
fn uart() -> (FakeHardware, Arc<Receiver>) {
    let hw = FakeHardware::new();
    hw.on_read(0x3fd, |hw, _| u32::from(hw.queued(0x3f8) > 0) | 0x20);
    let rx = Arc::new(Receiver::new(hw.claim_ports("serial", 0x3f8, 8).unwrap()));
    hw.claim_irq("serial", 4, rx.clone()).unwrap();
    (hw, rx)
}

#[test]
fn interrupt_moves_bytes_into_the_buffer() {
    let (hw, rx) = uart();
    hw.queue_reads(0x3f8, *b"lsmod\r");
    hw.raise_irq(4).unwrap();
    assert_eq!(hw.queued(0x3f8), 0);
    assert_eq!(rx.buffered(), 6);
    assert_eq!(rx.take(3), b"lsm");
    assert_eq!(rx.take(100), b"od\r");
    assert_eq!(rx.take(100), b"");
    assert_eq!(rx.counters(), (6, 0, 1));
}

#[test]
fn overflow_drops_and_counts() {
    let (hw, rx) = uart();
    hw.queue_reads(0x3f8, std::iter::repeat_n(b'x', BUFFER_CAPACITY + 10));
    hw.raise_irq(4).unwrap();
    hw.raise_irq(4).unwrap();
    let (received, dropped, interrupts) = rx.counters();
    assert_eq!(
        (received, dropped, interrupts),
        (BUFFER_CAPACITY as u64 + 10, 10, 2)
    );
    assert_eq!(rx.buffered(), BUFFER_CAPACITY);
}

#[test]
fn an_interrupt_with_nothing_waiting_reads_only_the_status() {
    let (hw, rx) = uart();
    hw.raise_irq(4).unwrap();
    assert_eq!(rx.counters(), (0, 0, 1));
    let ports: Vec<u16> = hw.accesses().iter().map(|a| a.port).collect();
    assert_eq!(ports, [0x3fd]);
}
