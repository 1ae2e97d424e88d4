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
use helix_modules::Caller;
use helix_modules::services::hw::IrqHandler;
use helix_modules::v2::Request;
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::testing::IrqProbe;
use kernel::{kprintln, time};

kernel::entry_point!(bench_main);

const ROUNDS: usize = 201;

/// When the handler last ran (TSC).
static HANDLED_AT: AtomicU64 = AtomicU64::new(0);

struct Stamp;

impl IrqHandler for Stamp {
    fn handle_irq(&self) {
        HANDLED_AT.store(rdtsc(), Ordering::Relaxed);
    }
}

fn bench_main() -> ! {
    let r = kernel::bring_up::run().expect("modules and threads");
    r.stop(Caller::Kernel, "virtio_rng")
        .expect("free the device");
    let probe = IrqProbe::new(Arc::new(Stamp));
    let notified_at = probe.notified_at();
    r.register_v2(probe).expect("register");
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
            notified_at.load(Ordering::Relaxed),
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
