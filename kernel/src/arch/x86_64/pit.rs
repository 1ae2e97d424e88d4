//! The legacy 8254 PIT and 8259 PICs, used only at boot.
//!
//! The PICs are remapped away from the exception vectors and masked, so the
//! local APIC is the only interrupt source. PIT channel 2 (the speaker
//! channel, whose output can be polled at port 0x61) is the reference clock
//! for calibrating the APIC timer and the TSC.

use x86_64::instructions::port::Port;

const PIT_HZ: u64 = 1_193_182;
/// Where the PICs' vectors are parked; nothing handles them.
const PIC_PARKED_BASE: u8 = 0xe0;

/// Remaps the two 8259 PICs to vectors 0xe0..0xf0 and masks every line.
pub fn disable_legacy_pics() {
    let write = |port: u16, value: u8| {
        // SAFETY: 0x20/0x21 and 0xa0/0xa1 are the PICs' command and data
        // ports; this is the standard initialisation sequence.
        unsafe { Port::<u8>::new(port).write(value) }
    };
    write(0x20, 0x11); // ICW1: initialise, expect ICW4
    write(0xa0, 0x11);
    write(0x21, PIC_PARKED_BASE); // ICW2: vector offsets
    write(0xa1, PIC_PARKED_BASE + 8);
    write(0x21, 4); // ICW3: slave on IRQ2
    write(0xa1, 2);
    write(0x21, 1); // ICW4: 8086 mode
    write(0xa1, 1);
    write(0x21, 0xff); // mask everything
    write(0xa1, 0xff);
}

/// Runs `start`, then busy-waits `window_ms` milliseconds on PIT channel 2,
/// and returns what `start` returned. `start` runs right after the PIT is
/// armed, so whatever it samples brackets the window.
pub fn measure<T>(window_ms: u32, start: impl FnOnce() -> T) -> T {
    let count = (PIT_HZ * u64::from(window_ms) / 1000).min(0xffff) as u16;
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: ports 0x61, 0x43 and 0x42 are the PIT/speaker control ports;
    // we drive channel 2 in one-shot mode with the speaker disconnected.
    unsafe {
        let g = (gate.read() & !0x02) | 0x01;
        gate.write(g);
        command.write(0b1011_0000); // channel 2, lobyte/hibyte, mode 0
        channel2.write(count as u8);
        channel2.write((count >> 8) as u8);
        // Restart counting with a rising edge on the gate.
        let g = gate.read() & !0x01;
        gate.write(g);
        gate.write(g | 0x01);
    }
    let value = start();
    // SAFETY: reading port 0x61 only samples the channel 2 output bit.
    while unsafe { gate.read() } & 0x20 == 0 {
        core::hint::spin_loop();
    }
    value
}
