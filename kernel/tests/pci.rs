//! PCI on QEMU's q35 as the kernel enumerates it at boot: exactly the
//! machine's functions (host bridge, ISA bridge, SATA, SMBus) and the
//! virtio-rng device `scripts/qemu-runner.sh` always adds, with their
//! classes, BARs and MSI-X; ECAM (from the MCFG) and the 0xCF8/0xCFC ports
//! read the same registers; the ECAM window is mapped uncached; holders
//! are recorded per function. The full list is printed for the record.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use helix_pci::{BarKind, Bdf, ConfigSpace, VirtioCfg};
use kernel::arch::x86_64::paging;
use kernel::arch::x86_64::pci_config::{Access, Ports};
use kernel::{kprintln, ktest, pci};

kernel::test_kernel!();

fn at(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf::new(bus, device, function).unwrap()
}

ktest!(
    fn q35_functions_and_classes() {
        let listed: Vec<String> = pci::devices()
            .iter()
            .map(|f| {
                kprintln!("{f:?}");
                format!(
                    "{} {:04x}:{:04x} {:02x}.{:02x}",
                    f.bdf, f.vendor, f.device, f.class, f.subclass
                )
            })
            .collect();
        assert_eq!(
            listed,
            [
                "00:00.0 8086:29c0 06.00",
                "00:01.0 1af4:1005 00.ff",
                "00:1f.0 8086:2918 06.01",
                "00:1f.2 8086:2922 01.06",
                "00:1f.3 8086:2930 0c.05",
            ]
        );
        let isa = pci::find(at(0, 0x1f, 0)).unwrap();
        assert!(
            isa.multifunction,
            "the ISA bridge is function 0 of a multi-function device"
        );
        assert_eq!(
            pci::find(at(0, 0x1f, 2)).unwrap().class_name(),
            "SATA controller"
        );
    }
);

ktest!(
    fn virtio_rng_has_bars_msix_and_virtio_structures() {
        let rng = pci::find(at(0, 1, 0)).unwrap();
        assert_eq!(
            (rng.subsystem_vendor, rng.subsystem),
            (0x1af4, 4),
            "virtio device type 4"
        );
        let kinds: Vec<_> = rng.bars.iter().map(|b| (b.index, b.kind, b.size)).collect();
        assert_eq!(
            kinds,
            [
                (0, BarKind::Io, 0x20),
                (1, BarKind::Memory32, 0x1000),
                (4, BarKind::Memory64, 0x4000)
            ]
        );
        assert!(
            rng.bars.iter().all(|b| b.base != 0),
            "firmware assigned every BAR: {:?}",
            rng.bars
        );
        let msix = rng.msix().expect("MSI-X");
        assert_eq!((msix.table_size, msix.table_bar, msix.pba_bar), (2, 1, 1));
        let cfgs: Vec<_> = rng.virtio_caps().map(|c| c.cfg).collect();
        for cfg in [
            VirtioCfg::Common,
            VirtioCfg::Notify,
            VirtioCfg::Isr,
            VirtioCfg::Device,
        ] {
            assert!(cfgs.contains(&cfg), "{cfg} missing from {cfgs:?}");
        }
        let notify = rng
            .virtio_caps()
            .find(|c| c.cfg == VirtioCfg::Notify)
            .unwrap();
        assert!(notify.notify_off_multiplier.is_some());
        assert!(!rng.capabilities_truncated);
    }
);

ktest!(
    fn ecam_from_mcfg_and_ports_agree() {
        let Access::Ecam(ecam) = pci::access() else {
            panic!("q35 has an MCFG, but the kernel uses {}", pci::access());
        };
        assert_eq!((ecam.base(), ecam.buses()), (0xb000_0000, 0..=255));
        let ports = Ports::new();
        // Every slot of bus 0, present or not, and every function of the
        // multi-function device: ids, class, header and BARs.
        let mut addrs: Vec<Bdf> = (0..32).map(|d| at(0, d, 0)).collect();
        addrs.extend((1..8).map(|f| at(0, 0x1f, f)));
        let mut present = 0;
        for a in addrs {
            for offset in (0..0x40).step_by(4) {
                let (e, p) = (ecam.read32(a, offset), ports.read32(a, offset));
                assert_eq!(e, p, "{a} register {offset:#x}: ECAM {e:#x}, ports {p:#x}");
            }
            present += usize::from(ecam.read32(a, 0) != u32::MAX);
        }
        assert_eq!(present, pci::devices().len());
        // Past 256 bytes only ECAM reaches (PCI Express extended space).
        assert_eq!(ports.read32(at(0, 0, 0), 0x100), u32::MAX);
    }
);

ktest!(
    fn ecam_window_is_uncached_and_bars_restored() {
        for addr in [0xb000_0000u64, 0xb7ff_f000, 0xbfff_f000] {
            let m = paging::lookup(addr).unwrap();
            assert!(m.uncached && !m.executable, "{addr:#x}: {m:?}");
        }
        assert!(
            !paging::lookup(0x20_0000).unwrap().uncached,
            "RAM stays cached"
        );
        for f in pci::devices() {
            for bar in &f.bars {
                let now = pci::access().read32(f.bdf, 0x10 + u16::from(bar.index) * 4);
                let mask = if bar.kind == BarKind::Io { !3 } else { !0xf };
                assert_eq!(
                    u64::from(now & mask),
                    bar.base & 0xffff_ffff,
                    "{} {bar}",
                    f.bdf
                );
            }
            let command = pci::access().read32(f.bdf, 4) & 0xffff;
            kprintln!("{} command {command:#06x}", f.bdf);
        }
    }
);

ktest!(
    fn holders_are_recorded_per_function() {
        let rng = at(0, 1, 0);
        assert_eq!(pci::holder(rng), None);
        pci::set_holder(rng, Some(String::from("virtio_rng")));
        assert_eq!(pci::holder(rng).as_deref(), Some("virtio_rng"));
        assert_eq!(pci::holder(at(0, 0x1f, 2)), None);
        pci::set_holder(rng, None);
        assert_eq!(pci::holder(rng), None);
    }
);
