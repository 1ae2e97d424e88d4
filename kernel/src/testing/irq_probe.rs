//! [`IrqProbe`]: a test driver for QEMU's virtio entropy device with an
//! interrupt handler of the test's choosing, on MSI-X or (with
//! [`IrqProbe::intx`]) on the legacy INTx pin, for test kernels and
//! benches that need a real device interrupt (the IRQ containment test,
//! the INTx test, the interrupt latency bench). Stop `virtio_rng` first: the probe binds the same
//! device. Each request (`kick`) queues one buffer, stamps the time of the
//! notify ([`IrqProbe::notified_at`]) and waits for the device's answer;
//! on the INTx pin it sleeps until the interrupt has been handled
//! (`LegacyDevice::transfer`, through `HardwareAccess::wait_intx`).

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::dma::DmaBuffer;
use helix_modules::services::hw::{HardwareAccess, IrqHandler};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};
use helix_virtio::{Buf, IsrThen, LegacyDevice, QueueIrq};

/// QEMU's virtio-rng-pci (transitional).
const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1005)];

/// The test driver (see the module docs). Registered as `irq_probe`.
pub struct IrqProbe {
    handler: Arc<dyn IrqHandler>,
    /// The interrupt comes on the INTx pin, not MSI-X.
    intx: bool,
    notified_at: Arc<AtomicU64>,
    hw: Option<HardwareAccess>,
    dev: Option<(LegacyDevice, DmaBuffer)>,
}

impl IrqProbe {
    /// A probe whose queue interrupts go to `handler`.
    pub fn new(handler: Arc<dyn IrqHandler>) -> Self {
        IrqProbe {
            handler,
            intx: false,
            notified_at: Arc::new(AtomicU64::new(0)),
            hw: None,
            dev: None,
        }
    }

    /// A probe whose queue interrupts come on the function's INTx pin (MSI-X
    /// left off) and go to `handler` once the device's ISR register says
    /// they are its (reading it lowers the line).
    pub fn intx(handler: Arc<dyn IrqHandler>) -> Self {
        IrqProbe {
            intx: true,
            ..Self::new(handler)
        }
    }

    /// The TSC at the last notify, shared with the caller.
    pub fn notified_at(&self) -> Arc<AtomicU64> {
        self.notified_at.clone()
    }
}

impl ModuleTrait for IrqProbe {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("irq_probe")
            .flags(ModuleFlags::DRIVER)
            .pci_ids(&IDS)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hardware"))?;
        let dev = if self.intx {
            // The pin even though the function has MSI-X: claimed here
            // rather than by `open_with_irq`, which would prefer MSI-X.
            let mut dev = LegacyDevice::open(hw, 0)?;
            let isr = IsrThen::new(dev.transport.clone(), self.handler.clone());
            hw.claim_intx(&dev.function, Arc::new(isr))?;
            dev.irq = QueueIrq::Intx;
            dev
        } else {
            let dev = LegacyDevice::open_with_irq(hw, 0, Some(self.handler.clone()))?;
            if dev.irq != QueueIrq::MsiX {
                return Err(ModuleError::Failed("MSI-X not routed"));
            }
            dev
        };
        self.dev = Some((dev, hw.alloc_dma(64)?));
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        if let Some((dev, _)) = self.dev.take() {
            dev.transport.reset()?;
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
            len: 8,
            device_writes: true,
        }];
        // On the INTx pin the answer comes with an interrupt: the library
        // sleeps until it has been handled.
        if self.intx {
            let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hardware"))?;
            dev.transfer(hw, &chain)?;
            return Ok(Response::ok(Vec::new()));
        }
        let head = dev.queue.add(&chain)?;
        self.notified_at
            .store(crate::arch::x86_64::cpu::rdtsc(), Ordering::Relaxed);
        dev.transport.notify(0)?;
        for _ in 0..10_000_000u32 {
            if let Some(u) = dev.queue.pop_used()?
                && u.head == head
            {
                return Ok(Response::ok(Vec::new()));
            }
            core::hint::spin_loop();
        }
        Err(ModuleError::Failed("the device did not answer"))
    }
}
