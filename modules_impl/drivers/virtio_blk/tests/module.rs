//! `virtio_blk` run by a registry over `FakeHardware` and the modelled
//! legacy block device of `helix_virtio::model` (an in-memory disk): info,
//! reads and writes that land on the modelled disk at the right offsets,
//! flush, typed refusals of bad sectors and sizes, and a stop that resets
//! the device and gives everything back.

use helix_modules::services::pci::{Bar, BarKind, Bdf, Function};
use helix_modules::testing::FakeHardware;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use helix_virtio::model;
use std::sync::Arc;
use virtio_blk::VirtioBlk;

const BASE: u16 = 0xc080;
const SECTORS: u64 = 256;

fn blk_function() -> Function {
    Function {
        bdf: Bdf::new(0, 5, 0).unwrap(),
        vendor: 0x1af4,
        device: 0x1001,
        class: 0x01,
        subclass: 0x00,
        prog_if: 0,
        revision: 0,
        header_type: 0,
        multifunction: false,
        subsystem_vendor: 0x1af4,
        subsystem: 2,
        interrupt_line: 11,
        interrupt_pin: 1,
        bars: vec![Bar {
            index: 0,
            kind: BarKind::Io,
            prefetchable: false,
            base: u64::from(BASE),
            size: 0x40,
        }],
        capabilities: vec![],
        capabilities_truncated: false,
        secondary_bus: None,
    }
}

fn ask(r: &Registry, kind: &str, payload: Vec<u8>) -> Result<Vec<u8>, String> {
    let resp = r
        .request(Caller::Kernel, "block", Request::new("test", kind, payload))
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => Ok(resp.payload),
        Some(e) => Err(e.into_owned()),
    }
}

fn write_payload(sector: u64, data: &[u8]) -> Vec<u8> {
    let mut p = sector.to_le_bytes().to_vec();
    p.extend_from_slice(data);
    p
}

#[test]
fn sectors_are_read_and_written_where_they_belong() {
    let hw = FakeHardware::new();
    hw.add_pci(blk_function());
    let disk = model::install_blk(&hw, BASE, SECTORS);
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(VirtioBlk::default()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(
        ask(&r, "info", vec![]).unwrap(),
        b"sectors=256 sector_size=512 bytes=131072"
    );
    // Two sectors of a pattern at sector 10.
    let data: Vec<u8> = (0..1024).map(|i| (i * 7 % 251) as u8).collect();
    ask(&r, "write", write_payload(10, &data)).unwrap();
    assert_eq!(&disk.lock().disk[10 * 512..12 * 512], &data[..]);
    // What the disk holds comes back, here and at the last sector.
    disk.lock().disk[255 * 512..].fill(0xab);
    assert_eq!(ask(&r, "read", b"10 2".to_vec()).unwrap(), data);
    assert_eq!(ask(&r, "read", b"255 1".to_vec()).unwrap(), vec![0xab; 512]);
    ask(&r, "flush", vec![]).unwrap();
    assert_eq!(disk.lock().flushes, 1);
    assert_eq!(
        ask(&r, "stats", vec![]).unwrap(),
        b"reads=2 writes=1 flushes=1 errors=0 interrupts=0 completions=polled"
    );
}

#[test]
fn bad_sectors_and_sizes_are_refused_before_the_device_sees_them() {
    let hw = FakeHardware::new();
    hw.add_pci(blk_function());
    let disk = model::install_blk(&hw, BASE, SECTORS);
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(VirtioBlk::default()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let cases: [(&str, Vec<u8>, &str); 8] = [
        (
            "read",
            b"256 1".to_vec(),
            "sectors 256..257 are past the end of the disk (256 sectors)",
        ),
        ("read", b"250 10".to_vec(), "past the end"),
        (
            "read",
            b"0 65".to_vec(),
            "65 sectors in one request; at most 64",
        ),
        ("read", b"0 0".to_vec(), "no sectors"),
        ("read", b"one two".to_vec(), "read takes `SECTOR COUNT`"),
        (
            "write",
            write_payload(0, &[1; 100]),
            "whole number of sectors",
        ),
        ("write", vec![1, 2, 3], "write takes a sector"),
        ("write", write_payload(u64::MAX, &[0; 512]), "past the end"),
    ];
    for (kind, payload, why) in cases {
        let e = ask(&r, kind, payload).unwrap_err();
        assert!(e.contains(why), "{kind}: {e}");
    }
    assert!(
        disk.lock().disk.iter().all(|b| *b == 0),
        "the disk was touched"
    );
    assert_eq!(
        ask(&r, "stats", vec![]).unwrap(),
        b"reads=0 writes=0 flushes=0 errors=8 interrupts=0 completions=polled"
    );

    r.stop(Caller::Kernel, "virtio_blk").unwrap();
    assert_eq!(disk.lock().status, 0, "the device was reset");
    assert_eq!(hw.dma_buffers("virtio_blk"), 0);
    assert_eq!(hw.pci_holder(Bdf::new(0, 5, 0).unwrap()), None);
}
