//! `ich9_smbus` run by a registry over `FakeHardware`, against a modelled
//! bus (the controller, its I/O BAR 4 at `BASE`) and a modelled SMBus host
//! whose transactions answer like QEMU's: devices at 0x50-0x57 acknowledge,
//! every other address is a device error, and a read-byte-data returns
//! `addr ^ cmd`. The driver binds the controller by its PCI table, finds
//! exactly those devices, reads their bytes, refuses bad arguments by
//! value, and gives the function and its ports back on stop.

use helix_modules::services::pci::{Bar, BarKind, Bdf, Function};
use helix_modules::testing::FakeHardware;
use helix_modules::testing::Width;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use ich9_smbus::{
    CNT_START, HST_CMD, HST_CNT, HST_D0, HST_STS, Ich9Smbus, PROTOCOL_BYTE_DATA, STS_DEV_ERR,
    STS_INTR, XMIT_SLVA,
};
use std::sync::Arc;

const BASE: u16 = 0x0700;

fn controller(bdf: Bdf) -> Function {
    Function {
        bdf,
        vendor: 0x8086,
        device: 0x2930,
        class: 0x0c,
        subclass: 0x05,
        prog_if: 0,
        revision: 2,
        header_type: 0,
        multifunction: false,
        subsystem_vendor: 0x1af4,
        subsystem: 0x1100,
        interrupt_line: 0,
        interrupt_pin: 1,
        bars: vec![Bar {
            index: 4,
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

/// The modelled host: a write of START to the control register runs the
/// transaction at once and sets the status.
fn model(hw: &FakeHardware) {
    hw.set_port(BASE + HST_STS, 0);
    hw.on_write(BASE + HST_STS, |hw, _, v| {
        let now = hw.port_value(BASE + HST_STS).unwrap_or(0);
        hw.set_port(BASE + HST_STS, now & !v);
    });
    hw.on_write(BASE + HST_CNT, |hw, _: Width, v| {
        if v as u8 & CNT_START == 0 {
            return;
        }
        let addr = hw.port_value(BASE + XMIT_SLVA).unwrap_or(0) as u8 >> 1;
        if !(0x50..=0x57).contains(&addr) {
            hw.set_port(BASE + HST_STS, u32::from(STS_DEV_ERR));
            return;
        }
        if v as u8 & (7 << 2) == PROTOCOL_BYTE_DATA {
            let cmd = hw.port_value(BASE + HST_CMD).unwrap_or(0) as u8;
            hw.set_port(BASE + HST_D0, u32::from(addr ^ cmd));
        }
        hw.set_port(BASE + HST_STS, u32::from(STS_INTR));
    });
}

fn ask(r: &Registry, kind: &str, payload: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "smbus",
            Request::new("test", kind, payload.as_bytes().to_vec()),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => Ok(String::from_utf8(resp.payload).unwrap()),
        Some(e) => Err(e.into_owned()),
    }
}

#[test]
fn it_binds_the_controller_finds_the_devices_and_reads_their_bytes() {
    let hw = FakeHardware::new();
    let smbus = Bdf::new(0, 0x1f, 3).unwrap();
    hw.add_pci(controller(smbus));
    model(&hw);
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(Ich9Smbus::default()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(hw.pci_holder(smbus).as_deref(), Some("ich9_smbus"));
    assert_eq!(hw.port_owner(BASE).as_deref(), Some("ich9_smbus"));

    assert_eq!(
        ask(&r, "scan", "").unwrap(),
        "0x50 0x51 0x52 0x53 0x54 0x55 0x56 0x57"
    );
    assert_eq!(ask(&r, "read", "0x50 2").unwrap(), "0x52");
    assert_eq!(ask(&r, "read", "87 0x10").unwrap(), "0x47");
    assert_eq!(
        ask(&r, "read", "0x30 0").unwrap_err(),
        "no device answers at 0x30"
    );
    for bad in [
        "", "0x50", "0x50 1 2", "0x05 0", "0x78 0", "zz 1", "0x50 256",
    ] {
        assert!(ask(&r, "read", bad).is_err(), "{bad}");
    }
    assert_eq!(
        ask(&r, "device", "").unwrap(),
        "00:1f.3 8086:2930 ports 0x700+64"
    );
    assert_eq!(
        ask(&r, "stats", "").unwrap(),
        "transactions=115 absent=104 errors=8"
    );

    r.stop(Caller::Kernel, "ich9_smbus").unwrap();
    assert_eq!(hw.pci_holder(smbus), None);
    assert_eq!(hw.port_owner(BASE), None);
    r.start(Caller::Kernel, "ich9_smbus").unwrap();
    assert_eq!(ask(&r, "read", "0x51 1").unwrap(), "0x50");
}

#[test]
fn without_a_controller_it_fails_to_start_and_says_why() {
    let hw = FakeHardware::new();
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(Ich9Smbus::default()).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert!(
        format!("{report:?}").contains("no ICH9 SMBus controller to bind"),
        "{report:?}"
    );
}

#[test]
fn a_controller_whose_ports_were_never_assigned_is_refused() {
    let hw = FakeHardware::new();
    let mut unassigned = controller(Bdf::new(0, 0x1f, 3).unwrap());
    unassigned.bars[0].base = 0;
    hw.add_pci(unassigned);
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(Ich9Smbus::default()).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert!(format!("{report:?}").contains("NoIoBar(4)"), "{report:?}");
    // Nothing was claimed: not the legacy ports at 0 either.
    assert_eq!(hw.port_owner(0), None);
}
