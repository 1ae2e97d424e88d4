//! A driver whose interrupt handler panics is contained: the handler's
//! call ends, the MSI-X entry is masked, the driver is failed (by the
//! events thread: its handler ran in interrupt context) and the supervisor
//! restarts it, and the kernel and every other module go on. The driver
//! here takes QEMU's virtio entropy device (after `virtio_rng` is stopped)
//! and panics on the first queue interrupt.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::hw::{HardwareAccess, IrqHandler};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, ModuleFlags};
use helix_virtio::{Buf, LegacyDevice};
use kernel::{ktest, time};

kernel::test_kernel!();

const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1005)];

struct Panics;

impl IrqHandler for Panics {
    fn handle_irq(&self) {
        panic!("bad_irq's handler panics on purpose");
    }
}

#[derive(Default)]
struct BadIrq {
    hw: Option<HardwareAccess>,
    dev: Option<(LegacyDevice, helix_modules::services::dma::DmaBuffer)>,
}

impl ModuleTrait for BadIrq {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("bad_irq")
            .flags(ModuleFlags::DRIVER)
            .pci_ids(&IDS)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hw"))?;
        let (dev, routed) = LegacyDevice::open_with_irq(hw, 0, Some(Arc::new(Panics)))
            .map_err(|e| ModuleError::Message(alloc::format!("{e}")))?;
        if !routed {
            return Err(ModuleError::Failed("MSI-X not routed"));
        }
        self.dev = Some((dev, hw.alloc_dma(64)?));
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        if let Some((dev, _)) = self.dev.take() {
            let _ = dev.transport.reset();
        }
        Ok(())
    }
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        let (dev, buf) = self
            .dev
            .as_mut()
            .ok_or(ModuleError::Failed("not started"))?;
        let chain = [Buf {
            addr: buf.device_addr(),
            len: 16,
            device_writes: true,
        }];
        dev.round_trip(&chain, 10_000_000)
            .map_err(|e| ModuleError::Message(alloc::format!("{e}")))?;
        Ok(Response::ok(Vec::new()))
    }
}

ktest!(
    fn a_panicking_interrupt_handler_fails_its_driver_not_the_kernel() {
        let r = kernel::testing::up();
        r.stop(Caller::Kernel, "virtio_rng")
            .expect("free the device");
        r.register_v2(BadIrq::default()).expect("register");
        r.init(Caller::Kernel, "bad_irq").expect("init");
        r.start(Caller::Kernel, "bad_irq").expect("start");
        // The device answers (the used ring is polled) and raises its
        // interrupt, whose handler panics.
        let _ = r.request(
            Caller::Kernel,
            "bad_irq",
            Request::new("test", "kick", Vec::new()),
        );
        let deadline = time::now_ns() + 5_000_000_000;
        let restarted = loop {
            let m = r.metrics("bad_irq").expect("metrics");
            if m.faults >= 1 && m.restarts >= 1 {
                break m;
            }
            assert!(time::now_ns() < deadline, "not failed and restarted: {m:?}");
            kernel::thread::sleep_ms(10);
        };
        assert!(restarted.faults >= 1);
        let status = r.status("bad_irq").unwrap();
        let last = status
            .last_error
            .map(|e| alloc::format!("{e}"))
            .unwrap_or_default();
        assert!(
            last.contains("its interrupt handler")
                || status.state == helix_modules::ModuleState::Running,
            "{last}"
        );
        // Everything else still works.
        assert!(kernel::testing::ask(r, "event_log", "counts", b"").is_ok());
        // Give the device back to its driver.
        let _ = r.stop(Caller::Kernel, "bad_irq");
        let _ = r.unload(Caller::Kernel, "bad_irq");
        r.start(Caller::Kernel, "virtio_rng")
            .expect("virtio_rng again");
    }
);
