//! `helix_modules::testing::FakeHardware` (feature `testing`): claims
//! behave like the kernel's, ports answer from queues, closures and
//! presets, every access is logged with its width, interrupts reach the
//! claimed handler, and a driver run by a registry over the fake reports a
//! refused claim with the holder's name.

use helix_modules::services::hw::{Hardware, HardwareAccess, HwError, IrqHandler, PortRange};
use helix_modules::testing::{Access, Direction, FakeHardware, IRQ_LINES, RaiseError, Width};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleState, Registry};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};

/// An IRQ handler that counts its calls.
#[derive(Default)]
struct Counter(AtomicU32);

impl IrqHandler for Counter {
    fn handle_irq(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl Counter {
    fn get(&self) -> u32 {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn port_claims_are_exclusive_and_name_the_holder() {
    let hw = FakeHardware::new();
    let rtc = hw.claim_ports("rtc", 0x70, 2).unwrap();
    assert_eq!((rtc.base(), rtc.count()), (0x70, 2));
    for (base, count) in [(0x70, 1), (0x71, 4), (0x60, 0x11), (0x00, 0xffff)] {
        assert_eq!(
            hw.claim_ports("other", base, count).unwrap_err(),
            HwError::PortsInUse {
                base,
                count,
                owner: "rtc".into()
            }
        );
    }
    assert!(hw.claim_ports("other", 0x72, 1).is_ok(), "adjacent is free");
    assert!(hw.claim_ports("other", 0x6f, 1).is_ok(), "adjacent is free");
    assert_eq!(hw.port_owner(0x71).as_deref(), Some("rtc"));
    assert_eq!(hw.port_owner(0x72).as_deref(), Some("other"));
    assert_eq!(hw.port_owner(0x73), None);
}

#[test]
fn bad_ranges_are_refused() {
    let hw = FakeHardware::new();
    for (base, count) in [(0x80, 0), (0xffff, 2), (0xff00, 0x101)] {
        assert_eq!(
            hw.claim_ports("d", base, count).unwrap_err(),
            HwError::BadRange { base, count }
        );
    }
    assert!(hw.claim_ports("d", 0xffff, 1).is_ok(), "the last port");
}

#[test]
fn release_all_gives_back_every_claim_of_one_owner() {
    let hw = FakeHardware::new();
    hw.claim_ports("uart", 0x3f8, 8).unwrap();
    hw.claim_ports("uart", 0x2f8, 8).unwrap();
    hw.claim_irq("uart", 4, Arc::new(Counter::default()))
        .unwrap();
    hw.claim_ports("rtc", 0x70, 2).unwrap();
    assert_eq!(hw.release_all("uart"), 3);
    assert_eq!(hw.release_all("uart"), 0);
    assert_eq!(hw.irq_owner(4), None);
    assert!(hw.claim_ports("next", 0x3f8, 8).is_ok());
    assert!(
        hw.claim_irq("next", 4, Arc::new(Counter::default()))
            .is_ok()
    );
    assert_eq!(hw.port_owner(0x70).as_deref(), Some("rtc"));
}

#[test]
fn irq_claims_are_exclusive_and_raising_calls_the_handler() {
    let hw = FakeHardware::new();
    let first = Arc::new(Counter::default());
    hw.claim_irq("uart", 4, first.clone()).unwrap();
    assert_eq!(
        hw.claim_irq("mouse", 4, Arc::new(Counter::default())),
        Err(HwError::IrqInUse {
            irq: 4,
            owner: "uart".into()
        })
    );
    assert_eq!(hw.irq_owner(4).as_deref(), Some("uart"));
    hw.raise_irq(4).unwrap();
    hw.raise_irq(4).unwrap();
    assert_eq!(first.get(), 2);

    assert_eq!(hw.raise_irq(3), Err(RaiseError::NotClaimed(3)));
    assert_eq!(
        hw.raise_irq(IRQ_LINES),
        Err(RaiseError::NoSuchLine(IRQ_LINES))
    );
    assert_eq!(
        hw.claim_irq("d", IRQ_LINES, Arc::new(Counter::default())),
        Err(HwError::NoSuchIrq(IRQ_LINES))
    );
    hw.make_unroutable(9);
    assert_eq!(
        hw.claim_irq("d", 9, Arc::new(Counter::default())),
        Err(HwError::NoSuchIrq(9))
    );
    assert_eq!(
        RaiseError::NotClaimed(3).to_string(),
        "IRQ 3 is not claimed: no handler to call"
    );
    assert_eq!(
        RaiseError::NoSuchLine(20).to_string(),
        "IRQ 20 does not exist (lines 0..16)"
    );
}

#[test]
fn ports_answer_queue_then_closure_then_value_then_all_ones() {
    let hw = FakeHardware::new();
    let ports = hw.claim_ports("d", 0x100, 8).unwrap();
    assert_eq!(ports.read(0), Ok(0xff), "nothing behind the port");
    assert_eq!(ports.read16(0), Ok(0xffff));
    assert_eq!(ports.read32(0), Ok(0xffff_ffff));

    hw.set_port(0x101, 0x1234_5678);
    assert_eq!(ports.read(1), Ok(0x78), "masked to the width");
    assert_eq!(ports.read16(1), Ok(0x5678));
    assert_eq!(ports.read32(1), Ok(0x1234_5678));
    assert_eq!(ports.read(1), Ok(0x78), "a preset stays");

    hw.on_read(0x101, |_, width| u32::from(width.bits()));
    assert_eq!(ports.read(1), Ok(8), "a closure beats the preset");
    assert_eq!(ports.read16(1), Ok(16));

    hw.queue_reads(0x101, [1u8, 2, 3]);
    assert_eq!(hw.queued(0x101), 3);
    assert_eq!(ports.read(1), Ok(1), "the queue comes first");
    assert_eq!(ports.read32(1), Ok(2));
    assert_eq!(ports.read(1), Ok(3));
    assert_eq!(hw.queued(0x101), 0);
    assert_eq!(ports.read(1), Ok(8), "then the closure again");
}

#[test]
fn writes_are_kept_unless_a_closure_takes_them() {
    let hw = FakeHardware::new();
    let ports = hw.claim_ports("d", 0x200, 4).unwrap();
    ports.write16(0, 0xabcd).unwrap();
    assert_eq!(hw.port_value(0x200), Some(0xabcd));
    assert_eq!(ports.read(0), Ok(0xcd), "a plain port reads back");

    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    hw.on_write(0x202, move |_, width, value| {
        log.lock().unwrap().push((width, value));
    });
    ports.write(2, 7).unwrap();
    ports.write16(2, 0x1234).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [(Width::U8, 7), (Width::U16, 0x1234)]
    );
    assert_eq!(hw.port_value(0x202), None, "the closure took them");
    assert_eq!(hw.writes_to(0x202), [7, 0x1234]);
}

#[test]
fn the_log_records_port_width_direction_and_value() {
    let hw = FakeHardware::new();
    let ports = hw.claim_ports("pci", 0xcf8, 8).unwrap();
    hw.set_port(0xcfc, 0x29c0_8086);
    ports.write32(0, 0x8000_0000).unwrap();
    assert_eq!(ports.read32(4), Ok(0x29c0_8086));
    assert_eq!(ports.read16(4), Ok(0x8086));
    ports.write(7, 1).unwrap();
    let log = hw.accesses();
    assert_eq!(
        log,
        [
            Access::write(0xcf8, Width::U32, 0x8000_0000),
            Access::read(0xcfc, Width::U32, 0x29c0_8086),
            Access::read(0xcfc, Width::U16, 0x8086),
            Access::write(0xcff, Width::U8, 1),
        ]
    );
    assert_eq!(log[1].direction, Direction::Read);
    assert_eq!(log[0].to_string(), "out32 0xcf8 <- 0x80000000");
    assert_eq!(log[2].to_string(), "in16 0xcfc -> 0x8086");
    assert_eq!(hw.take_accesses().len(), 4);
    assert!(hw.accesses().is_empty());
    assert_eq!(
        ports.read32(5),
        Err(HwError::WideOutOfRange {
            offset: 5,
            bits: 32,
            count: 8
        })
    );
    assert!(hw.accesses().is_empty(), "a refused access is not made");
}

#[test]
fn closures_may_call_back_into_the_fake() {
    // A device that raises its interrupt when told to, and whose handler
    // reads the device: nothing deadlocks.
    struct Drain {
        ports: PortRange,
        got: Mutex<Vec<u8>>,
    }
    impl IrqHandler for Drain {
        fn handle_irq(&self) {
            while self.ports.read(1) == Ok(1) {
                let byte = self.ports.read(0).unwrap();
                self.got.lock().unwrap().push(byte);
            }
        }
    }
    let hw = FakeHardware::new();
    let rx = Arc::new(Mutex::new(VecDeque::from(b"hi".to_vec())));
    let data = rx.clone();
    hw.on_read(0x10, move |_, _| {
        data.lock().unwrap().pop_front().map_or(0, u32::from)
    });
    let status = rx.clone();
    hw.on_read(0x11, move |_, _| {
        u32::from(!status.lock().unwrap().is_empty())
    });
    hw.on_write(0x12, |hw, _, irq| hw.raise_irq(irq as u8).unwrap());

    let drain = Arc::new(Drain {
        ports: hw.claim_ports("dev", 0x10, 3).unwrap(),
        got: Mutex::new(Vec::new()),
    });
    hw.claim_irq("dev", 5, drain.clone()).unwrap();
    drain.ports.write(2, 5).unwrap();
    assert_eq!(*drain.got.lock().unwrap(), b"hi");
    assert_eq!(hw.writes_to(0x12), [5]);
}

#[test]
fn clones_and_ranges_share_one_machine() {
    let hw = FakeHardware::new();
    let other = hw.clone();
    let ports = other.claim_ports("d", 0x80, 1).unwrap();
    ports.write(0, 0x42).unwrap();
    assert_eq!(hw.writes_to(0x80), [0x42]);
    assert_eq!(hw.port_owner(0x80).as_deref(), Some("d"));
    assert!(format!("{hw:?}").contains("1 port claims"));
    drop(other);
    let kept = {
        let gone = FakeHardware::new();
        gone.set_port(0x60, 0x1c);
        gone.claim_ports("d", 0x60, 1).unwrap()
    };
    assert_eq!(kept.read(0), Ok(0x1c), "a range keeps its machine alive");
}

/// A driver that claims the CMOS ports in `start` with `?`.
#[derive(Default)]
struct Clock {
    hw: Option<HardwareAccess>,
    ports: Option<PortRange>,
}

impl ModuleTrait for Clock {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("clock").flags(ModuleFlags::DRIVER)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hardware"))?;
        let ports = hw.claim_ports(0x70, 2)?;
        ports.write(0, 0x0a)?;
        self.ports = Some(ports);
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        self.ports = None;
        if let Some(hw) = &self.hw {
            hw.release_all();
        }
        Ok(())
    }
}

#[test]
fn a_driver_refused_its_ports_reports_who_holds_them() {
    let hw = FakeHardware::new();
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(Clock::default()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(hw.port_owner(0x70).as_deref(), Some("clock"));
    assert_eq!(hw.writes_to(0x70), [0x0a]);

    r.stop(Caller::Kernel, "clock").unwrap();
    assert_eq!(hw.port_owner(0x70), None, "released on stop");
    let squatter = hw.claim_ports("squatter", 0x71, 1).unwrap();
    let err = r.start(Caller::Kernel, "clock").unwrap_err();
    let status = r.status("clock").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    let ModuleError::StepFailed { reason, .. } = status.last_error.clone().unwrap() else {
        panic!("{:?}", status.last_error);
    };
    assert_eq!(
        *reason,
        ModuleError::Hardware(HwError::PortsInUse {
            base: 0x70,
            count: 2,
            owner: "squatter".into()
        })
    );
    assert_eq!(
        err.to_string(),
        "module `clock` failed to start: ports 0x70..0x72 are claimed by squatter"
    );

    drop(squatter);
    assert_eq!(hw.release_all("squatter"), 1);
    r.restart(Caller::Kernel, "clock").unwrap();
    assert_eq!(r.status("clock").unwrap().state, ModuleState::Running);
}

#[test]
fn a_plain_module_is_refused_hardware_with_the_reason() {
    struct Plain;
    impl ModuleTrait for Plain {
        fn info(&self) -> ModuleInfo {
            ModuleInfo::new("plain")
        }
        fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
            ctx.hardware()?;
            Ok(())
        }
        fn start(&mut self) -> Result<(), ModuleError> {
            Ok(())
        }
        fn stop(&mut self) -> Result<(), ModuleError> {
            Ok(())
        }
    }
    let r = Registry::builder()
        .hardware(Arc::new(FakeHardware::new()))
        .build();
    r.register_v2(Plain).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let last = r.status("plain").unwrap().last_error.unwrap().to_string();
    assert!(
        last.ends_with("module plain is not flagged DRIVER and may not touch hardware"),
        "{last}"
    );
}
