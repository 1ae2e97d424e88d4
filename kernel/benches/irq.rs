//! In-kernel benchmark of interrupt delivery to a driver: TSC cycles from
//! the driver's notify (the port write that makes QEMU's virtio entropy
//! device serve a request) to the first instruction of its MSI-X handler,
//! through the kernel's vector dispatch and the containment guard.
//!
//!     cargo bench -p kernel --target x86_64-unknown-none --bench irq
//!
//! The median of 201 requests; under TCG the device model runs on QEMU's
//! own thread, so the figure is mostly emulation, and wanders from run to
//! run: compare figures of one run.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::hw::{HardwareAccess, IrqHandler};
use helix_modules::services::pci::DeviceId;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, ModuleFlags};
use helix_virtio::{Buf, LegacyDevice};
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::{kprintln, time};

kernel::entry_point!(bench_main);

const IDS: [DeviceId; 1] = [DeviceId::new(0x1af4, 0x1005)];
const ROUNDS: usize = 201;

/// When the handler last ran (TSC).
static HANDLED_AT: AtomicU64 = AtomicU64::new(0);
/// When the last notify was written (TSC).
static NOTIFIED_AT: AtomicU64 = AtomicU64::new(0);

struct Stamp;

impl IrqHandler for Stamp {
    fn handle_irq(&self) {
        HANDLED_AT.store(rdtsc(), Ordering::Relaxed);
    }
}

#[derive(Default)]
struct Probe {
    hw: Option<HardwareAccess>,
    dev: Option<(LegacyDevice, helix_modules::services::dma::DmaBuffer)>,
}

impl ModuleTrait for Probe {
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
        let hw = self.hw.as_ref().ok_or(ModuleError::Failed("no hw"))?;
        let (dev, routed) = LegacyDevice::open_with_irq(hw, 0, Some(Arc::new(Stamp)))
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
        let head = dev
            .queue
            .add(&[Buf {
                addr: buf.device_addr(),
                len: 8,
                device_writes: true,
            }])
            .map_err(|e| ModuleError::Message(alloc::format!("{e}")))?;
        NOTIFIED_AT.store(rdtsc(), Ordering::Relaxed);
        dev.transport
            .notify(0)
            .map_err(|e| ModuleError::Message(alloc::format!("{e}")))?;
        for _ in 0..10_000_000u32 {
            if let Ok(Some(u)) = dev.queue.pop_used()
                && u.head == head
            {
                return Ok(Response::ok(Vec::new()));
            }
            core::hint::spin_loop();
        }
        Err(ModuleError::Failed("no answer"))
    }
}

fn bench_main() -> ! {
    let r = kernel::bring_up::run().expect("modules and threads");
    r.stop(Caller::Kernel, "virtio_rng")
        .expect("free the device");
    r.register_v2(Probe::default()).expect("register");
    r.init(Caller::Kernel, "irq_probe").expect("init");
    r.start(Caller::Kernel, "irq_probe").expect("start");
    let mut latencies = Vec::new();
    for _ in 0..ROUNDS {
        HANDLED_AT.store(0, Ordering::Relaxed);
        r.request(
            Caller::Kernel,
            "irq_probe",
            Request::new("bench", "go", Vec::new()),
        )
        .expect("request");
        // The interrupt may land just after the answer was seen.
        let deadline = time::now_ns() + 100_000_000;
        while HANDLED_AT.load(Ordering::Relaxed) == 0 && time::now_ns() < deadline {
            core::hint::spin_loop();
        }
        let (at, from) = (
            HANDLED_AT.load(Ordering::Relaxed),
            NOTIFIED_AT.load(Ordering::Relaxed),
        );
        if at > from {
            latencies.push(at - from);
        }
    }
    latencies.sort_unstable();
    let median = latencies.get(latencies.len() / 2).copied().unwrap_or(0);
    kprintln!(
        "notify to MSI-X handler: median {median} TSC cycles ({} ns) over {} of {ROUNDS} interrupts",
        time::cycles_to_ns(median),
        latencies.len()
    );
    kernel::exit(kernel::ExitCode::Success)
}
