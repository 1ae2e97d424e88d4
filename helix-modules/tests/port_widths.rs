//! 16- and 32-bit port access through a `PortRange`: the whole access must
//! lie inside the claim, the default `PortIo` wide accesses split into
//! bytes lowest first, and a refused hardware request keeps its cause when
//! it becomes a `ModuleError`.

use helix_modules::ModuleError;
use helix_modules::services::hw::{HwError, PortIo, PortRange};
use std::sync::{Arc, Mutex};

/// A device of byte-wide registers: each port reads its own low byte and
/// records every byte written.
#[derive(Default)]
struct Bytes {
    writes: Mutex<Vec<(u16, u8)>>,
}

impl PortIo for Bytes {
    fn read_u8(&self, port: u16) -> u8 {
        port as u8
    }
    fn write_u8(&self, port: u16, value: u8) {
        self.writes.lock().unwrap().push((port, value));
    }
}

/// A device with real wide registers, recording `(port, bits, value)`.
#[derive(Default)]
struct Wide {
    log: Mutex<Vec<(u16, u8, u32)>>,
}

impl PortIo for Wide {
    fn read_u8(&self, port: u16) -> u8 {
        self.log.lock().unwrap().push((port, 8, 0));
        0x11
    }
    fn write_u8(&self, port: u16, value: u8) {
        self.log.lock().unwrap().push((port, 8, value.into()));
    }
    fn read_u16(&self, port: u16) -> u16 {
        self.log.lock().unwrap().push((port, 16, 0));
        0x2222
    }
    fn write_u16(&self, port: u16, value: u16) {
        self.log.lock().unwrap().push((port, 16, value.into()));
    }
    fn read_u32(&self, port: u16) -> u32 {
        self.log.lock().unwrap().push((port, 32, 0));
        0x4444_4444
    }
    fn write_u32(&self, port: u16, value: u32) {
        self.log.lock().unwrap().push((port, 32, value));
    }
}

#[test]
fn wide_accesses_reach_the_wide_port_methods() {
    let dev = Arc::new(Wide::default());
    let ports = PortRange::new(0xcf8, 8, dev.clone());
    ports.write32(0, 0x8000_0000).unwrap();
    assert_eq!(ports.read32(4), Ok(0x4444_4444));
    ports.write16(6, 0xbeef).unwrap();
    assert_eq!(ports.read16(2), Ok(0x2222));
    assert_eq!(ports.read(7), Ok(0x11));
    assert_eq!(
        *dev.log.lock().unwrap(),
        [
            (0xcf8, 32, 0x8000_0000),
            (0xcfc, 32, 0),
            (0xcfe, 16, 0xbeef),
            (0xcfa, 16, 0),
            (0xcff, 8, 0),
        ]
    );
}

#[test]
fn the_default_wide_accesses_split_into_bytes_lowest_first() {
    let dev = Arc::new(Bytes::default());
    let ports = PortRange::new(0x40, 8, dev.clone());
    assert_eq!(ports.read16(2), Ok(0x4342));
    assert_eq!(ports.read32(4), Ok(0x4746_4544));
    ports.write16(0, 0xaabb).unwrap();
    ports.write32(4, 0x0102_0304).unwrap();
    assert_eq!(
        *dev.writes.lock().unwrap(),
        [
            (0x40, 0xbb),
            (0x41, 0xaa),
            (0x44, 0x04),
            (0x45, 0x03),
            (0x46, 0x02),
            (0x47, 0x01),
        ]
    );
}

#[test]
fn a_wide_access_must_lie_wholly_inside_the_claim() {
    let dev = Arc::new(Wide::default());
    let ports = PortRange::new(0xcf8, 8, dev.clone());
    let past = |offset, bits| HwError::WideOutOfRange {
        offset,
        bits,
        count: 8,
    };
    assert_eq!(ports.read32(5), Err(past(5, 32)), "last byte at offset 8");
    assert_eq!(ports.write32(8, 1), Err(past(8, 32)));
    assert_eq!(ports.read16(7), Err(past(7, 16)), "second byte at offset 8");
    assert_eq!(ports.write16(u16::MAX, 1), Err(past(u16::MAX, 16)));
    assert_eq!(ports.read32(u16::MAX), Err(past(u16::MAX, 32)));
    assert_eq!(
        ports.read(8),
        Err(HwError::OutOfRange {
            offset: 8,
            count: 8
        })
    );
    assert!(
        dev.log.lock().unwrap().is_empty(),
        "nothing reached the bus"
    );
    assert_eq!(ports.read32(4), Ok(0x4444_4444), "the last whole dword");
    assert_eq!(ports.read16(6), Ok(0x2222), "the last whole word");
}

#[test]
fn a_range_at_the_top_of_the_port_space_never_wraps() {
    let dev = Arc::new(Wide::default());
    // A range that claims more than the port space holds (only a careless
    // `Hardware` would hand it out): accesses past 0xffff are refused.
    let ports = PortRange::new(0xfffe, 8, dev.clone());
    assert_eq!(ports.read16(0), Ok(0x2222));
    assert!(matches!(
        ports.read32(0),
        Err(HwError::WideOutOfRange { .. })
    ));
    assert!(matches!(ports.read(2), Err(HwError::OutOfRange { .. })));
    assert_eq!(dev.log.lock().unwrap().len(), 1);
}

#[test]
fn wide_errors_render_readably() {
    assert_eq!(
        HwError::WideOutOfRange {
            offset: 6,
            bits: 32,
            count: 8
        }
        .to_string(),
        "a 32-bit access at port offset 6 runs past the claimed 8 ports"
    );
}

#[test]
fn a_hardware_refusal_keeps_its_cause_as_a_module_error() {
    fn claim() -> Result<(), ModuleError> {
        Err(HwError::PortsInUse {
            base: 0x70,
            count: 2,
            owner: "squatter".into(),
        })?;
        Ok(())
    }
    let e = claim().unwrap_err();
    assert_eq!(
        e,
        ModuleError::Hardware(HwError::PortsInUse {
            base: 0x70,
            count: 2,
            owner: "squatter".into()
        })
    );
    assert_eq!(e.to_string(), "ports 0x70..0x72 are claimed by squatter");
    let e: ModuleError = HwError::IrqInUse {
        irq: 4,
        owner: "serial_console".into(),
    }
    .into();
    assert_eq!(e.to_string(), "IRQ 4 is claimed by serial_console");
}
