//! The driver through a registry whose hardware is a modelled CMOS: it
//! answers `get_time`, `get_unix` and `stats` (the shared request
//! vocabulary: every shipped module answers `stats`).

use cmos_rtc::CmosRtc;
use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use std::sync::{Arc, Mutex};

/// A CMOS holding 2026-11-22 15:06:28 (BCD, 24-hour).
#[derive(Debug)]
struct FakeCmos {
    index: Mutex<u8>,
    regs: [u8; 128],
}

impl FakeCmos {
    fn new() -> Self {
        let mut regs = [0; 128];
        for (r, v) in [
            (0x00, 0x28),
            (0x02, 0x06),
            (0x04, 0x15),
            (0x07, 0x22),
            (0x08, 0x11),
            (0x09, 0x26),
            (0x32, 0x20),
            (0x0b, 0x02),
        ] {
            regs[r] = v;
        }
        Self {
            index: Mutex::new(0),
            regs,
        }
    }
}

impl PortIo for FakeCmos {
    fn read_u8(&self, _: u16) -> u8 {
        self.regs[usize::from(*self.index.lock().unwrap() & 0x7f)]
    }
    fn write_u8(&self, _: u16, value: u8) {
        *self.index.lock().unwrap() = value;
    }
}

#[derive(Debug)]
struct FakeHw(Arc<FakeCmos>);

impl Hardware for FakeHw {
    fn claim_ports(&self, _: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        Ok(PortRange::new(base, count, self.0.clone()))
    }
    fn claim_irq(&self, _: &str, irq: u8, _: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        Err(HwError::NoSuchIrq(irq))
    }
    fn release_all(&self, _: &str) -> usize {
        0
    }
}

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "cmos_rtc",
            Request::new("test", kind, Vec::new()),
        )
        .unwrap();
    match resp.error {
        None => Ok(String::from_utf8(resp.payload).unwrap()),
        Some(e) => Err(e.into_owned()),
    }
}

#[test]
fn answers_time_and_stats() {
    let r = Registry::builder()
        .hardware(Arc::new(FakeHw(Arc::new(FakeCmos::new()))))
        .build();
    r.register_v2(CmosRtc::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(ask(&r, "stats").unwrap(), "reads=0 failures=0 healthy=true");
    assert_eq!(ask(&r, "get_time").unwrap(), "2026-11-22T15:06:28Z");
    assert!(ask(&r, "get_unix").unwrap().parse::<u64>().is_ok());
    assert_eq!(ask(&r, "stats").unwrap(), "reads=2 failures=0 healthy=true");
    let refused = ask(&r, "reboot").unwrap_err();
    assert!(
        refused.contains("try get_time, get_unix, stats"),
        "{refused}"
    );
}
