//! The legacy 8254 programmable interval timer, used only at boot.
//!
//! PIT channel 2 (the speaker channel, whose output can be polled at port
//! 0x61) is the reference clock for calibrating the local APIC timer and the
//! TSC (`apic`); nothing else uses the PIT.

use x86_64::instructions::port::Port;

const PIT_HZ: u64 = 1_193_182;
/// Runs `start`, then busy-waits `window_ms` milliseconds on PIT channel 2,
/// and returns what `start` returned. `start` runs right after the PIT is
/// armed, so whatever it samples brackets the window.
pub fn measure<T>(window_ms: u32, start: impl FnOnce() -> T) -> T {
    let count = (PIT_HZ * u64::from(window_ms) / 1000).min(0xffff) as u16;
    let mut gate = Port::<u8>::new(0x61);
    let mut command = Port::<u8>::new(0x43);
    let mut channel2 = Port::<u8>::new(0x42);
    // SAFETY: ports 0x61, 0x43 and 0x42 are the PIT/speaker control ports,
    // the kernel's own (reserved in `crate::hw`, so no driver holds them).
    // Port I/O touches no memory Rust knows of; we drive channel 2 in
    // one-shot mode with the speaker disconnected. (Only `time::init` on
    // the boot CPU measures; two measurements at once would spoil the
    // numbers, not memory.)
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
    // SAFETY: as above; reading port 0x61 only samples the gate and the
    // channel 2 output bit.
    while unsafe { gate.read() } & 0x20 == 0 {
        core::hint::spin_loop();
    }
    value
}
