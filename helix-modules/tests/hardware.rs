//! Hardware access: only DRIVER modules get it, claims go to the kernel's
//! `Hardware` under the module's name, and port ranges are bounds-checked.

use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
use helix_modules::{Caller, ModuleError, ModuleFlags, Registry};
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
struct FakeIo {
    writes: Mutex<Vec<(u16, u8)>>,
}

impl PortIo for FakeIo {
    fn read_u8(&self, port: u16) -> u8 {
        port as u8
    }
    fn write_u8(&self, port: u16, value: u8) {
        self.writes.lock().unwrap().push((port, value));
    }
}

#[derive(Debug, Default)]
struct FakeHw {
    io: Arc<FakeIo>,
    claims: Mutex<Vec<(String, u16, u16)>>,
}

impl Hardware for FakeHw {
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let mut c = self.claims.lock().unwrap();
        if let Some((o, _, _)) = c.iter().find(|(_, b, n)| base < b + n && *b < base + count) {
            return Err(HwError::PortsInUse {
                base,
                count,
                owner: o.clone(),
            });
        }
        c.push((owner.to_string(), base, count));
        Ok(PortRange::new(base, count, self.io.clone()))
    }
    fn claim_irq(&self, _: &str, irq: u8, _: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        Err(HwError::NoSuchIrq(irq))
    }
    fn release_all(&self, owner: &str) -> usize {
        let mut c = self.claims.lock().unwrap();
        let before = c.len();
        c.retain(|(o, _, _)| o != owner);
        before - c.len()
    }
}

static SEEN: Mutex<Vec<Result<(), HwError>>> = Mutex::new(Vec::new());

struct Dev {
    name: &'static str,
    flags: ModuleFlags,
}

impl ModuleTrait for Dev {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.name)
            .version(1, 0, 0)
            .flags(self.flags)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        let result = ctx.hardware().and_then(|hw| {
            let ports = hw.claim_ports(0x70, 2)?;
            ports.write(1, 0xab)?;
            assert_eq!(ports.read(0)?, 0x70);
            assert_eq!(
                ports.read(2),
                Err(HwError::OutOfRange {
                    offset: 2,
                    count: 2
                })
            );
            Ok(())
        });
        SEEN.lock().unwrap().push(result);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

#[test]
fn only_drivers_get_hardware_and_claims_are_exclusive() {
    let hw = Arc::new(FakeHw::default());
    let r = Registry::builder().hardware(hw.clone()).build();
    r.register_v2(Dev {
        name: "rtc",
        flags: ModuleFlags::DRIVER,
    })
    .unwrap();
    r.register_v2(Dev {
        name: "rtc2",
        flags: ModuleFlags::DRIVER,
    })
    .unwrap();
    r.register_v2(Dev {
        name: "plain",
        flags: ModuleFlags::empty(),
    })
    .unwrap();
    r.start_all(Caller::Kernel);
    let seen = SEEN.lock().unwrap().clone();
    assert_eq!(seen[0], Ok(()));
    assert_eq!(
        seen[1],
        Err(HwError::PortsInUse {
            base: 0x70,
            count: 2,
            owner: "rtc".into()
        })
    );
    assert_eq!(seen[2], Err(HwError::NotADriver("plain".into())));
    assert_eq!(hw.io.writes.lock().unwrap().as_slice(), &[(0x71, 0xab)]);
    assert_eq!(hw.release_all("rtc"), 1);

    let bare = Registry::new();
    bare.register_v2(Dev {
        name: "lonely",
        flags: ModuleFlags::DRIVER,
    })
    .unwrap();
    bare.start_all(Caller::Kernel);
    assert_eq!(
        SEEN.lock().unwrap().last().cloned(),
        Some(Err(HwError::Unavailable))
    );
}

#[test]
fn errors_render_readably() {
    assert_eq!(
        HwError::PortsInUse {
            base: 0x70,
            count: 2,
            owner: "rtc".into()
        }
        .to_string(),
        "ports 0x70..0x72 are claimed by rtc"
    );
    assert_eq!(
        HwError::OutOfRange {
            offset: 9,
            count: 2
        }
        .to_string(),
        "port offset 9 is outside the claimed 2 ports"
    );
}
