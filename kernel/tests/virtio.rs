//! The virtio entropy driver on QEMU's real virtio-rng-pci device (the
//! runner always adds one): the kernel binds the device to `virtio_rng`
//! (and to nothing else), bytes read through the `entropy` capability are
//! not constant, bad lengths are refused by value, and stopping the driver
//! takes its device back (bus mastering off), frees its DMA memory and
//! ports, after which a start binds and reads again.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use helix_pci::{Bdf, ConfigSpace};
use kernel::{dma, ktest, pci};

kernel::test_kernel!();

fn read(r: &Registry, n: &str) -> Result<Vec<u8>, alloc::string::String> {
    let resp = r
        .request(
            Caller::Kernel,
            "entropy",
            Request::new("test", "read", n.as_bytes().to_vec()),
        )
        .map_err(|e| alloc::format!("{e}"))?;
    match resp.error {
        None => Ok(resp.payload),
        Some(e) => Err(e.into_owned()),
    }
}

/// The entropy device's address.
/// MSI-X interrupts `virtio_rng`'s claim of entry 0 (its queue) has
/// delivered.
fn msix(bdf: Bdf) -> u64 {
    kernel::msi::delivered("virtio_rng", bdf, 0).expect("virtio_rng claims entry 0")
}

fn rng() -> Bdf {
    pci::devices()
        .iter()
        .find(|f| (f.vendor, f.device) == (0x1af4, 0x1005))
        .map(|f| f.bdf)
        .expect("QEMU's virtio-rng-pci (transitional, 1af4:1005)")
}

/// A handle for running console commands here (modinfo needs none).
struct NoHost;

impl helix_modules::host::HostLink for NoHost {
    fn request(
        &self,
        _: &str,
        _: Request,
    ) -> Result<helix_modules::v2::Response, helix_modules::ModuleError> {
        Err(helix_modules::ModuleError::Failed("no host"))
    }
    fn publish(
        &self,
        _: &str,
        _: Vec<u8>,
    ) -> Result<helix_modules::DispatchSummary, helix_modules::ModuleError> {
        Err(helix_modules::ModuleError::Failed("no host"))
    }
    fn report_param(&self, _: &str, _: &str) -> Result<(), helix_modules::ModuleError> {
        Err(helix_modules::ModuleError::Failed("no host"))
    }
}

fn bus_master(bdf: Bdf) -> bool {
    pci::access().read32(bdf, 4) & 4 != 0
}

ktest!(
    fn entropy_comes_from_the_device_bound_to_virtio_rng() {
        let r = kernel::testing::up();
        let bdf = rng();
        assert_eq!(pci::holder(bdf).as_deref(), Some("virtio_rng"));
        let info = kernel::shell::commands::execute(
            "modinfo virtio_rng",
            r,
            Caller::Kernel,
            &helix_modules::v2::ModuleHandle::hosted(
                helix_modules::ModuleId::hosted(0),
                alloc::sync::Arc::new(NoHost),
            ),
        )
        .0;
        assert!(
            info.contains(&alloc::format!("devices:     {bdf} 1af4:1005")),
            "{info}"
        );
        assert!(bus_master(bdf));
        let a = read(r, "64").expect("read 64");
        let b = read(r, "64").expect("read 64 again");
        assert_eq!((a.len(), b.len()), (64, 64));
        assert_ne!(a, b, "two reads gave the same bytes");
        let distinct = {
            let mut v = a.clone();
            v.sort_unstable();
            v.dedup();
            v.len()
        };
        assert!(
            distinct > 16,
            "64 random bytes with only {distinct} values: {a:?}"
        );
        // The device's queue interrupts arrive by MSI-X and are counted.
        assert!(msix(bdf) >= 2, "MSI-X interrupts: {}", msix(bdf));
        let stats = kernel::testing::ask(r, "virtio_rng", "stats", b"").unwrap();
        assert!(!stats.ends_with("interrupts=0"), "{stats}");
        // One vector per entry: claiming entry 0 again is refused, and the
        // driver's own claim keeps counting.
        struct Nothing;
        impl helix_modules::services::hw::IrqHandler for Nothing {
            fn handle_irq(&self) {}
        }
        let again = kernel::msi::claim("virtio_rng", bdf, 0, alloc::sync::Arc::new(Nothing));
        assert!(
            matches!(
                again,
                Err(helix_modules::services::hw::HwError::IrqInUse { .. })
            ),
            "{again:?}"
        );
        let before = msix(bdf);
        read(r, "8").expect("read after the refused claim");
        // The interrupt may land just after the polled answer.
        let deadline = kernel::time::now_ns() + 5_000_000_000;
        while msix(bdf) <= before {
            assert!(
                kernel::time::now_ns() < deadline,
                "no interrupt after the read"
            );
            kernel::thread::sleep_ms(1);
        }
        let big = read(r, "4096").expect("read 4096");
        assert_eq!(big.len(), 4096);
        for bad in ["0", "4097", "many"] {
            let e = read(r, bad).unwrap_err();
            assert!(e.starts_with("read needs a length"), "{bad}: {e}");
        }
    }
);

ktest!(
    fn stopping_the_driver_takes_its_device_memory_and_ports_back() {
        let r = kernel::testing::up();
        let bdf = rng();
        read(r, "8").expect("running");
        let (buffers, _) = dma::stats();
        assert!(buffers >= 2, "the queue and the data buffer: {buffers}");
        r.stop(Caller::Kernel, "virtio_rng").expect("stop");
        assert_eq!(pci::holder(bdf), None);
        assert!(!bus_master(bdf), "bus mastering left on");
        assert_eq!(dma::stats().0, buffers - 2);
        assert!(read(r, "8").is_err());
        // Nobody else may take its ports while it is unbound.
        let bar = pci::devices()
            .iter()
            .find(|f| f.bdf == bdf)
            .unwrap()
            .bar(0)
            .unwrap()
            .base;
        let hw = kernel::hw::hardware();
        let refused =
            helix_modules::services::hw::Hardware::claim_ports(&*hw, "intruder", bar as u16, 4);
        assert!(refused.is_err(), "an unbound device's I/O BAR was lent");

        r.start(Caller::Kernel, "virtio_rng").expect("start again");
        assert_eq!(pci::holder(bdf).as_deref(), Some("virtio_rng"));
        assert_eq!(read(r, "8").map(|v| v.len()), Ok(8));
    }
);

ktest!(
    fn a_bound_devices_memory_bar_is_mapped_checked_and_released() {
        use helix_modules::services::hw::{Hardware, HwError};
        use helix_modules::services::pci::DeviceId;
        let r = kernel::testing::up();
        r.stop(Caller::Kernel, "virtio_rng")
            .expect("stop the driver");
        let hw = kernel::hw::hardware();
        let ids = [DeviceId::new(0x1af4, 0x1005)];
        let f = hw
            .bind_pci("mmio_test", &ids)
            .pop()
            .expect("the rng, bound");
        // Another module gets neither the device nor its registers.
        assert!(hw.bind_pci("other", &ids).is_empty());
        assert!(matches!(
            hw.map_bar("other", f.bdf, 4),
            Err(HwError::NotBound(_))
        ));
        assert_eq!(
            hw.map_bar("mmio_test", f.bdf, 0).unwrap_err(),
            HwError::NoSuchBar(0)
        );
        // BAR 4 holds the modern virtio structures; the common
        // configuration (at the offset its capability names) says the
        // entropy device has one queue and offers VIRTIO_F_VERSION_1.
        let common = f
            .virtio_caps()
            .find(|c| c.cfg == helix_pci::VirtioCfg::Common)
            .expect("a common configuration capability");
        let bar = hw.map_bar("mmio_test", f.bdf, common.bar).expect("map");
        let at = u64::from(common.bar_offset);
        assert_eq!(bar.read16(at + 0x12), Ok(1), "num_queues");
        bar.write32(at, 1).expect("device_feature_select = 1");
        assert_eq!(bar.read32(at + 4).map(|f| f & 1), Ok(1), "VERSION_1");
        assert!(matches!(
            bar.read32(bar.size()),
            Err(HwError::MmioOutOfRange { .. })
        ));
        assert!(matches!(
            bar.read32(at + 2),
            Err(HwError::MmioOutOfRange { .. })
        ));
        // Released with the device: the mapping is dead, the device free.
        hw.release_all("mmio_test");
        assert_eq!(bar.read16(at + 0x12), Err(HwError::Released));
        assert_eq!(pci::holder(f.bdf), None);
        r.start(Caller::Kernel, "virtio_rng")
            .expect("start the driver again");
        assert_eq!(read(r, "4").map(|v| v.len()), Ok(4));
    }
);

ktest!(
    fn the_kernels_randomness_was_seeded_from_the_entropy_device() {
        kernel::testing::up();
        assert_eq!(kernel::random::source(), kernel::random::Source::Entropy);
        let draws: Vec<u64> = (0..8).map(|_| kernel::random::next_u64()).collect();
        let mut distinct = draws.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), 8, "{draws:?}");
    }
);
