//! A driver whose interrupt handler panics is contained: the handler's
//! call ends, the MSI-X entry is masked, the driver is failed (by the
//! events thread: its handler ran in interrupt context) and the supervisor
//! restarts it, and the kernel and every other module go on. The driver
//! here (`kernel::testing::IrqProbe`) takes QEMU's virtio entropy device
//! (after `virtio_rng` is stopped) and panics on the first queue interrupt.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::Caller;
use helix_modules::services::hw::IrqHandler;
use helix_modules::v2::Request;
use kernel::testing::IrqProbe;
use kernel::{ktest, time};

kernel::test_kernel!();

struct Panics;

impl IrqHandler for Panics {
    fn handle_irq(&self) {
        panic!("the probe's handler panics on purpose");
    }
}

ktest!(
    fn a_panicking_interrupt_handler_fails_its_driver_not_the_kernel() {
        let r = kernel::testing::up();
        r.stop(Caller::Kernel, "virtio_rng")
            .expect("free the device");
        r.register_v2(IrqProbe::new(Arc::new(Panics)))
            .expect("register");
        r.init(Caller::Kernel, "irq_probe").expect("init");
        r.start(Caller::Kernel, "irq_probe").expect("start");
        // The device answers (the used ring is polled) and raises its
        // interrupt, whose handler panics.
        let _ = r.request(
            Caller::Kernel,
            "irq_probe",
            Request::new("test", "kick", Vec::new()),
        );
        let deadline = time::now_ns() + 5_000_000_000;
        let restarted = loop {
            let m = r.metrics("irq_probe").expect("metrics");
            if m.faults >= 1 && m.restarts >= 1 {
                break m;
            }
            assert!(time::now_ns() < deadline, "not failed and restarted: {m:?}");
            kernel::thread::sleep_ms(10);
        };
        assert!(restarted.faults >= 1);
        let status = r.status("irq_probe").unwrap();
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
        let _ = r.stop(Caller::Kernel, "irq_probe");
        let _ = r.unload(Caller::Kernel, "irq_probe");
        r.start(Caller::Kernel, "virtio_rng")
            .expect("virtio_rng again");
    }
);
