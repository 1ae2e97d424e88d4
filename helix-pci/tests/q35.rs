//! Enumeration against the modelled bus: q35's functions and two virtio
//! devices parsed to the exact values, BAR sizing (32-bit, 64-bit, I/O,
//! 16-bit I/O decoders) with every register restored, capability walks
//! that loop or point into the header, bridges followed, absent
//! functions, and device-ID matching.

use helix_pci::model::{ModelBus, ModelFunction};
use helix_pci::{
    Bar, BarKind, Bdf, Capability, ConfigSpace, DeviceId, Msi, MsiX, VirtioCap, VirtioCfg,
    class_name, find_match, probe, scan,
};

fn at(bus: u8, device: u8, function: u8) -> Bdf {
    Bdf::new(bus, device, function).unwrap()
}

#[test]
fn q35_lists_exactly_its_functions() {
    let bus = ModelBus::q35();
    let found = scan(&bus, 0..=0);
    let listed: Vec<_> = found
        .iter()
        .map(|f| {
            format!(
                "{} {:04x}:{:04x} {:02x}.{:02x}.{:02x} {}",
                f.bdf,
                f.vendor,
                f.device,
                f.class,
                f.subclass,
                f.prog_if,
                f.class_name()
            )
        })
        .collect();
    assert_eq!(
        listed,
        [
            "00:00.0 8086:29c0 06.00.00 host bridge",
            "00:01.0 1af4:1005 00.ff.00 unclassified device",
            "00:02.0 1af4:1001 01.00.00 SCSI storage controller",
            "00:1f.0 8086:2918 06.01.00 ISA bridge",
            "00:1f.2 8086:2922 01.06.01 SATA controller",
            "00:1f.3 8086:2930 0c.05.00 SMBus",
        ]
    );
    let isa = &found[3];
    assert!(isa.multifunction && isa.header_type == 0 && isa.revision == 2);
    assert_eq!((isa.subsystem_vendor, isa.subsystem), (0x1af4, 0x1100));
    let sata = &found[4];
    assert_eq!((sata.interrupt_line, sata.interrupt_pin), (10, 1));
    assert!(
        sata.multifunction,
        "QEMU sets the bit on every ICH9 function"
    );
    assert_eq!(
        sata.capabilities,
        [
            Capability::Msi(Msi {
                offset: 0x80,
                address_64: true,
                vectors: 1,
                maskable: false,
                enabled: false
            }),
            Capability::Other {
                id: 0x12,
                offset: 0xa8
            },
        ]
    );
    assert_eq!(found[0].subsystem, 0x1100);
}

#[test]
fn virtio_function_is_fully_decoded() {
    let bus = ModelBus::q35();
    let blk = probe(&bus, at(0, 2, 0)).unwrap();
    assert_eq!((blk.subsystem_vendor, blk.subsystem), (0x1af4, 2));
    assert_eq!(
        blk.bars,
        [
            Bar {
                index: 0,
                kind: BarKind::Io,
                prefetchable: false,
                base: 0xc000,
                size: 0x80
            },
            Bar {
                index: 1,
                kind: BarKind::Memory32,
                prefetchable: false,
                base: 0xfebf_e000,
                size: 0x1000
            },
            Bar {
                index: 4,
                kind: BarKind::Memory64,
                prefetchable: true,
                base: 0xfebf_8000,
                size: 0x4000
            },
        ]
    );
    assert_eq!(
        blk.msix(),
        Some(&MsiX {
            offset: 0x98,
            table_size: 2,
            table_bar: 1,
            table_offset: 0,
            pba_bar: 1,
            pba_offset: 0x800,
            enabled: false,
        })
    );
    let virtio: Vec<_> = blk.virtio_caps().copied().collect();
    let cap = |offset, cfg, bar, bar_offset, length, mult| VirtioCap {
        offset,
        cfg,
        bar,
        bar_offset,
        length,
        notify_off_multiplier: mult,
    };
    assert_eq!(
        virtio,
        [
            cap(0x84, VirtioCfg::PciCfg, 0, 0, 0, None),
            cap(0x70, VirtioCfg::Notify, 4, 0x3000, 0x1000, Some(4)),
            cap(0x60, VirtioCfg::Device, 4, 0x2000, 0x1000, None),
            cap(0x50, VirtioCfg::Isr, 4, 0x1000, 0x1000, None),
            cap(0x40, VirtioCfg::Common, 4, 0, 0x1000, None),
        ]
    );
    assert!(!blk.capabilities_truncated);
    assert_eq!(blk.capabilities.len(), 6);
    assert_eq!(blk.bars[1].to_string(), "BAR1 mem32 0xfebfe000 size 4 KiB");
    assert_eq!(
        blk.capabilities[0].to_string(),
        "MSI-X 2 vectors (table BAR1+0x0, PBA BAR1+0x800)"
    );
}

#[test]
fn sizing_restores_every_register() {
    let bus = ModelBus::q35();
    let before: Vec<u32> = (0..64).map(|r| bus.register(at(0, 2, 0), r * 4)).collect();
    scan(&bus, 0..=0);
    assert!(bus.writes() > 0, "sizing must write");
    let after: Vec<u32> = (0..64).map(|r| bus.register(at(0, 2, 0), r * 4)).collect();
    assert_eq!(before, after);
}

#[test]
fn decoding_is_off_while_a_bar_holds_all_ones() {
    /// Records the command register whenever a BAR holds all ones' readback.
    struct Watch(ModelBus, std::cell::Cell<bool>);
    impl ConfigSpace for Watch {
        fn read32(&self, a: Bdf, o: u16) -> u32 {
            self.0.read32(a, o)
        }
        fn write32(&self, a: Bdf, o: u16, v: u32) {
            if (0x10..0x28).contains(&o) && v == u32::MAX && self.0.read32(a, 4) & 0b11 != 0 {
                self.1.set(true);
            }
            self.0.write32(a, o, v);
        }
    }
    let w = Watch(ModelBus::q35(), std::cell::Cell::new(false));
    assert_eq!(scan(&w, 0..=0).len(), 6);
    assert!(!w.1.get(), "a BAR was sized with decoding on");
}

#[test]
fn bar_kinds_and_sizes() {
    let mut bus = ModelBus::new();
    bus.add(
        ModelFunction::new(at(0, 3, 0), 0x1234, 0x5678, [2, 0, 0], 1)
            .io_bar(0, 0x1000, 0x100, false)
            .mem64_bar(1, 0x8_0000_0000, 0x2_0000_0000, false)
            .mem32_bar(3, 0xe000_0000, 0x0100_0000, true)
            .mem32_bar(5, 0xfeb0_0000, 16, false),
    );
    let f = probe(&bus, at(0, 3, 0)).unwrap();
    assert_eq!(
        f.bars,
        [
            Bar {
                index: 0,
                kind: BarKind::Io,
                prefetchable: false,
                base: 0x1000,
                size: 0x100
            },
            Bar {
                index: 1,
                kind: BarKind::Memory64,
                prefetchable: false,
                base: 0x8_0000_0000,
                size: 0x2_0000_0000
            },
            Bar {
                index: 3,
                kind: BarKind::Memory32,
                prefetchable: true,
                base: 0xe000_0000,
                size: 0x0100_0000
            },
            Bar {
                index: 5,
                kind: BarKind::Memory32,
                prefetchable: false,
                base: 0xfeb0_0000,
                size: 16
            },
        ]
    );
    let shown: Vec<_> = f.bars.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "BAR0 io 0x1000 size 256 bytes",
            "BAR1 mem64 0x800000000 size 8 GiB",
            "BAR3 mem32 0xe0000000 size 16 MiB prefetchable",
            "BAR5 mem32 0xfeb00000 size 16 bytes",
        ]
    );
    assert_eq!(
        f.bar(2),
        None,
        "the upper half of a 64-bit BAR is not a BAR"
    );
}

#[test]
fn a_64_bit_bar_in_the_last_slot_is_left_out() {
    let mut bus = ModelBus::new();
    let mut f = ModelFunction::new(at(0, 4, 0), 0x1234, 1, [2, 0, 0], 0).mem32_bar(
        0,
        0xf000_0000,
        4096,
        false,
    );
    // Slot 5 claims to be 64-bit: there is no slot 6 for its upper half.
    f.set_byte(0x24, 0b100);
    bus.add(f);
    let f = probe(&bus, at(0, 4, 0)).unwrap();
    assert_eq!(f.bars.len(), 1);
}

#[test]
fn capability_loop_terminates() {
    let mut bus = ModelBus::new();
    // 0x40 -> 0x50 -> 0x40 -> ...
    let f = ModelFunction::new(at(0, 5, 0), 0x1234, 2, [2, 0, 0], 0)
        .msi(0x40, true, 2, true)
        .capability(0x50, &[0x10, 0, 0, 0])
        .with_byte(0x51, 0x40);
    bus.add(f);
    let f = probe(&bus, at(0, 5, 0)).unwrap();
    assert!(f.capabilities_truncated);
    assert_eq!(f.capabilities.len(), helix_pci::MAX_CAPABILITIES);
    assert_eq!(
        f.capabilities[..2],
        [
            Capability::Msi(Msi {
                offset: 0x40,
                address_64: true,
                vectors: 4,
                maskable: true,
                enabled: false
            }),
            Capability::Other {
                id: 0x10,
                offset: 0x50
            },
        ]
    );
    assert_eq!(
        f.capabilities[0].to_string(),
        "MSI 4 vectors, 64-bit, maskable"
    );
}

#[test]
fn capability_pointers_into_the_header_or_unaligned() {
    let mut bus = ModelBus::new();
    // The second capability points into the header (0x3c): the walk stops.
    let f = ModelFunction::new(at(0, 6, 0), 0x1234, 3, [2, 0, 0], 0)
        .capability(0x48, &[0x01, 0, 0, 0])
        .with_byte(0x49, 0x3c);
    bus.add(f);
    let f = probe(&bus, at(0, 6, 0)).unwrap();
    assert_eq!(
        f.capabilities,
        [Capability::Other {
            id: 1,
            offset: 0x48
        }]
    );
    assert!(f.capabilities_truncated);
    // An unaligned head pointer has its reserved low bits masked off.
    let mut bus = ModelBus::new();
    let f = ModelFunction::new(at(0, 7, 0), 0x1234, 4, [2, 0, 0], 0)
        .capability(0x60, &[0x01, 0, 0, 0])
        .with_byte(0x34, 0x63);
    bus.add(f);
    let f = probe(&bus, at(0, 7, 0)).unwrap();
    assert_eq!(
        f.capabilities,
        [Capability::Other {
            id: 1,
            offset: 0x60
        }]
    );
    assert!(!f.capabilities_truncated);
    // No capability-list status bit: the pointer is not followed.
    let mut bus = ModelBus::new();
    bus.add(ModelFunction::new(at(0, 8, 0), 0x1234, 5, [2, 0, 0], 0).with_byte(0x34, 0x40));
    assert!(probe(&bus, at(0, 8, 0)).unwrap().capabilities.is_empty());
}

#[test]
fn absent_functions_and_functions_of_single_function_devices() {
    let mut bus = ModelBus::new();
    // Function 3 of a device whose function 0 is not multi-function is
    // not looked at; a device without function 0 is absent.
    bus.add(ModelFunction::new(at(0, 9, 0), 0x1234, 6, [2, 0, 0], 0));
    bus.add(ModelFunction::new(at(0, 9, 3), 0x1234, 7, [2, 0, 0], 0));
    bus.add(ModelFunction::new(at(0, 10, 1), 0x1234, 8, [2, 0, 0], 0));
    let found = scan(&bus, 0..=255);
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].bdf, at(0, 9, 0));
    assert_eq!(probe(&bus, at(0, 11, 0)), None);
    assert_eq!(bus.read32(at(3, 0, 0), 0), u32::MAX);
}

#[test]
fn bridges_are_followed_once() {
    let mut bus = ModelBus::new();
    bus.add(ModelFunction::new(
        at(0, 0, 0),
        0x8086,
        0x29c0,
        [6, 0, 0],
        0,
    ));
    bus.add(ModelFunction::new(at(0, 0x1c, 0), 0x1b36, 0x000c, [6, 4, 0], 0).bridge(1));
    bus.add(ModelFunction::new(at(1, 0, 0), 0x1b36, 0x000c, [6, 4, 0], 0).bridge(2));
    // A bridge back to bus 0: must not rescan it.
    bus.add(ModelFunction::new(at(2, 0, 0), 0x1b36, 0x000c, [6, 4, 0], 0).bridge(0));
    bus.add(
        ModelFunction::new(at(2, 1, 0), 0x1af4, 0x1042, [1, 0, 0], 1).mem32_bar(
            1,
            0xfe80_0000,
            4096,
            false,
        ),
    );
    let found = scan(&bus, 0..=0);
    let addrs: Vec<_> = found.iter().map(|f| f.bdf.to_string()).collect();
    assert_eq!(
        addrs,
        ["00:00.0", "00:1c.0", "01:00.0", "02:00.0", "02:01.0"]
    );
    assert_eq!(found[1].secondary_bus, Some(1));
    assert_eq!(found[1].class_name(), "PCI bridge");
    assert_eq!(found[4].bars.len(), 1);
}

#[test]
fn device_ids_match_like_pci_device_id() {
    let bus = ModelBus::q35();
    let found = scan(&bus, 0..=0);
    let blk = found.iter().find(|f| f.device == 0x1001).unwrap();
    let rng = found.iter().find(|f| f.device == 0x1005).unwrap();
    const TABLE: [DeviceId; 2] = [DeviceId::new(0x1af4, 0x1042), DeviceId::new(0x1af4, 0x1001)];
    assert_eq!(find_match(&TABLE, blk), Some(1));
    assert_eq!(find_match(&TABLE, rng), None);
    assert!(DeviceId::vendor(0x1af4).matches(rng));
    assert!(DeviceId::class(1, 0).matches(blk));
    assert!(!DeviceId::class(1, 0).matches(rng));
    assert!(!DeviceId::vendor(0x8086).with_class(1, 0).matches(blk));
    let sata = DeviceId::class(1, 6);
    assert_eq!(found.iter().filter(|f| sata.matches(f)).count(), 1);
}

#[test]
fn addresses_and_class_names() {
    assert_eq!(Bdf::new(0, 32, 0), None);
    assert_eq!(Bdf::new(0, 31, 8), None);
    let a = at(0x12, 0x1f, 7);
    assert_eq!(a.to_string(), "12:1f.7");
    assert_eq!(a.ecam_offset(), 0x12 << 20 | 0x1f << 15 | 7 << 12);
    assert_eq!(class_name(1, 0), "SCSI storage controller");
    assert_eq!(class_name(1, 0x80), "mass storage controller");
    assert_eq!(class_name(3, 0), "VGA compatible controller");
    assert_eq!(class_name(2, 0), "Ethernet controller");
    assert_eq!(class_name(0x11, 0), "other");
}
