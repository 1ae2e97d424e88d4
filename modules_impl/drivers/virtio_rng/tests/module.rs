//! `virtio_rng` run by a registry over `FakeHardware`, against a modelled
//! bus (the entropy device and a device of another vendor) and the
//! modelled legacy virtio entropy device of `helix_virtio::model`: it binds
//! only its device, negotiates, reads what the device writes, refuses bad
//! lengths by value, and on stop resets the device and gives back the
//! device, its ports and its DMA memory; started again it works again.

use helix_modules::services::pci::{Bar, BarKind, Bdf, Function};
use helix_modules::testing::FakeHardware;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use helix_virtio::model;
use std::sync::Arc;
use virtio_rng::VirtioRng;

const BASE: u16 = 0xc040;

fn function(bdf: Bdf, vendor: u16, device: u16, io: u16) -> Function {
    Function {
        bdf,
        vendor,
        device,
        class: 0xff,
        subclass: 0,
        prog_if: 0,
        revision: 0,
        header_type: 0,
        multifunction: false,
        subsystem_vendor: vendor,
        subsystem: 4,
        interrupt_line: 11,
        interrupt_pin: 1,
        bars: vec![Bar {
            index: 0,
            kind: BarKind::Io,
            prefetchable: false,
            base: u64::from(io),
            size: 0x20,
        }],
        capabilities: vec![],
        capabilities_truncated: false,
        secondary_bus: None,
    }
}

fn ask(r: &Registry, kind: &str, payload: &str) -> Result<Vec<u8>, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "entropy",
            Request::new("test", kind, payload.as_bytes().to_vec()),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => Ok(resp.payload),
        Some(e) => Err(e.into_owned()),
    }
}

#[test]
fn it_binds_its_device_reads_entropy_and_gives_everything_back_on_stop() {
    let hw = FakeHardware::new();
    let rng = Bdf::new(0, 3, 0).unwrap();
    let other = Bdf::new(0, 4, 0).unwrap();
    hw.add_pci(function(other, 0x8086, 0x100e, 0xc000));
    hw.add_pci(function(rng, 0x1af4, 0x1005, BASE));
    let device = model::install(&hw, BASE);
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(VirtioRng::default()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());

    assert_eq!(hw.pci_holder(rng).as_deref(), Some("virtio_rng"));
    assert_eq!(hw.pci_holder(other), None);
    assert_eq!(device.lock().status & 4, 4, "DRIVER_OK");
    assert_eq!(ask(&r, "read", "16").unwrap(), (0..16).collect::<Vec<u8>>());
    assert_eq!(ask(&r, "read", "4").unwrap(), vec![16, 17, 18, 19]);
    assert_eq!(
        ask(&r, "stats", "").unwrap(),
        b"reads=2 bytes=20 interrupts=0"
    );
    for bad in ["0", "4097", "x", ""] {
        let e = ask(&r, "read", bad).unwrap_err();
        assert!(
            e.starts_with("read needs a length in 1..=4096"),
            "{bad}: {e}"
        );
    }

    r.stop(Caller::Kernel, "virtio_rng").unwrap();
    assert_eq!(device.lock().status, 0, "the device was reset");
    assert_eq!(hw.pci_holder(rng), None);
    assert_eq!(hw.dma_buffers("virtio_rng"), 0);

    r.start(Caller::Kernel, "virtio_rng").unwrap();
    assert_eq!(ask(&r, "read", "2").unwrap(), vec![20, 21]);
}

#[test]
fn without_its_device_it_fails_to_start_and_says_why() {
    let hw = FakeHardware::new();
    hw.add_pci(function(Bdf::new(0, 4, 0).unwrap(), 0x8086, 0x100e, 0xc000));
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(VirtioRng::default()).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert!(!report.is_clean());
    let status = r.status("virtio_rng").unwrap();
    let error = status.last_error.map(|e| e.to_string()).unwrap_or_default();
    assert!(error.contains("no virtio entropy device"), "{error}");
}
