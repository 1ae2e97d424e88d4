//! The legacy 8259 programmable interrupt controllers, silenced at boot.
//!
//! The PICs are remapped away from the exception vectors and every line is
//! masked, so the local APIC (and, for device IRQs, the I/O APIC) is the only
//! interrupt source.

use x86_64::instructions::port::Port;

/// Where the PICs' vectors are parked; nothing handles them.
const PIC_PARKED_BASE: u8 = 0xe0;

/// Remaps the two 8259 PICs to vectors 0xe0..0xf0 and masks every line.
pub fn disable_legacy_pics() {
    let write = |port: u16, value: u8| {
        // SAFETY: 0x20/0x21 and 0xa0/0xa1 are the PICs' command and data
        // ports, the kernel's own (reserved in `crate::hw`, so no driver
        // holds them). Port I/O touches no memory Rust knows of; this is the
        // standard initialisation sequence, and it leaves every line masked
        // and the vectors parked where nothing expects them.
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
