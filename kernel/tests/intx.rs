//! Legacy PCI interrupts: a driver for a function without MSI-X gets its
//! INTx pin routed through the I/O APIC. The driver here
//! (`kernel::testing::IrqProbe::intx`) takes QEMU's virtio entropy device
//! (after `virtio_rng` is stopped), leaves MSI-X off so the device raises
//! its pin, and counts the queue interrupts its handler sees after reading
//! the ISR register; the kernel's per-line count must agree. Each kick
//! sleeps until its interrupt was handled (`HardwareAccess::wait_intx`), a
//! wait with nothing coming ends at its deadline, and only the claim's
//! holder can count or wait on it. Stopping the driver releases the line,
//! and starting it again claims it again.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::services::hw::{Hardware, HwError, IrqHandler};
use helix_modules::services::pci::Bdf;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use kernel::testing::IrqProbe;
use kernel::{ktest, time};

kernel::test_kernel!();

static SEEN: AtomicU64 = AtomicU64::new(0);

struct Counts;

impl IrqHandler for Counts {
    fn handle_irq(&self) {
        SEEN.fetch_add(1, Ordering::SeqCst);
    }
}

/// The entropy device's address.
fn rng() -> Bdf {
    kernel::pci::devices()
        .iter()
        .find(|f| (f.vendor, f.device) == (0x1af4, 0x1005))
        .expect("QEMU's virtio-rng-pci")
        .bdf
}

/// Kicks the probe `n` times and waits (bounded) until its handler has
/// seen `n` more interrupts.
fn kick_and_count(r: &Registry, n: u64) {
    let before = SEEN.load(Ordering::SeqCst);
    for _ in 0..n {
        let t0 = time::now_ns();
        r.request(
            Caller::Kernel,
            "irq_probe",
            Request::new("test", "kick", Vec::new()),
        )
        .expect("kick");
        // Woken by its interrupt, not at the probe's 5 s wait deadline (a
        // kick takes about a millisecond; half the deadline is the margin).
        assert!(
            time::now_ns() - t0 < 2_500_000_000,
            "a kick's INTx wait ran to its deadline"
        );
    }
    let deadline = time::now_ns() + 5_000_000_000;
    while SEEN.load(Ordering::SeqCst) < before + n {
        assert!(
            time::now_ns() < deadline,
            "{} INTx interrupts of {n}",
            SEEN.load(Ordering::SeqCst) - before
        );
        kernel::thread::sleep_ms(1);
    }
}

ktest!(
    fn a_function_without_msix_interrupts_on_its_intx_pin() {
        let r = kernel::testing::up();
        let bdf = rng();
        // q35: bus 0, device d, INTA -> PIRQ E + (d mod 4) -> GSI 20 + that.
        let f = kernel::pci::find(bdf).expect("the function");
        assert_eq!(f.interrupt_pin, 1, "virtio uses INTA");
        assert_eq!(
            kernel::intx::route(bdf, 1),
            Ok(20 + u32::from(bdf.device()) % 4)
        );
        r.stop(Caller::Kernel, "virtio_rng")
            .expect("free the device");
        r.register_v2(IrqProbe::intx(Arc::new(Counts)))
            .expect("register");
        r.init(Caller::Kernel, "irq_probe").expect("init");
        r.start(Caller::Kernel, "irq_probe").expect("start");
        // Each kick sleeps in `wait_intx` until its interrupt was handled.
        kick_and_count(r, 5);
        // The kernel counted them for the claim; nobody else has one.
        let hw = kernel::hw::hardware();
        let count = || hw.intx_count("irq_probe", bdf);
        assert!(count().is_ok_and(|n| n >= 5), "{:?}", count());
        assert_eq!(hw.intx_count("virtio_rng", bdf), Err(HwError::NotClaimed));
        // Nothing comes without a kick: the wait ends at its deadline.
        let seen = count().expect("claimed");
        let t0 = time::now_ns();
        assert_eq!(hw.wait_intx("irq_probe", bdf, seen, 20), Ok(seen));
        assert!(time::now_ns() - t0 >= 20_000_000, "waited its 20 ms");
        // Released on stop (the count goes with the claim), and claimed
        // again on the next start.
        r.stop(Caller::Kernel, "irq_probe").expect("stop");
        assert_eq!(count(), Err(HwError::NotClaimed));
        r.start(Caller::Kernel, "irq_probe").expect("start again");
        kick_and_count(r, 3);
        assert!(count().is_ok_and(|n| n >= 3), "{:?}", count());
    }
);

ktest!(
    fn functions_off_the_known_wiring_have_no_route() {
        let _ = kernel::testing::up();
        let far = Bdf::new(0, 0x1f, 0).expect("bdf");
        assert!(kernel::intx::route(far, 1).is_err());
        let no_pin = Bdf::new(0, 1, 0).expect("bdf");
        assert!(kernel::intx::route(no_pin, 0).is_err());
    }
);
