//! `CmosRtc` through a registry whose hardware is a `FakeHardware` machine
//! with a modelled CMOS: it answers `get_time`, `get_unix` and `stats` (the
//! shared request vocabulary: every shipped module answers `stats`), holds
//! the CMOS ports only while running, a refused claim fails `start` with
//! the holder's name (what `lsmod` shows), and a CMOS without a valid date
//! fails `start` with the reason and leaves nothing claimed.

use cmos_rtc::CmosRtc;
use helix_modules::services::hw::Hardware;
use helix_modules::testing::FakeHardware;
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use std::sync::{Arc, Mutex};

/// A machine whose CMOS holds `regs` (register, value) behind 0x70/0x71.
fn machine(regs: &[(u8, u8)]) -> FakeHardware {
    let mut file = [0u8; 128];
    for &(r, v) in regs {
        file[usize::from(r)] = v;
    }
    let index = Arc::new(Mutex::new(0u8));
    let hw = FakeHardware::new();
    let i = index.clone();
    hw.on_write(0x70, move |_, _, v| *i.lock().unwrap() = v as u8);
    hw.on_read(0x71, move |_, _| {
        file[usize::from(*index.lock().unwrap() & 0x7f)].into()
    });
    hw
}

/// 2026-11-22T15:06:28Z, BCD, 24-hour.
const NOV_22: [(u8, u8); 8] = [
    (0x00, 0x28),
    (0x02, 0x06),
    (0x04, 0x15),
    (0x07, 0x22),
    (0x08, 0x11),
    (0x09, 0x26),
    (0x32, 0x20),
    (0x0b, 0x02),
];

fn registry(hw: &FakeHardware) -> Registry {
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(CmosRtc::new()).unwrap();
    r
}

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "cmos_rtc",
            Request::new("test", kind, Vec::new()),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => String::from_utf8(resp.payload).map_err(|e| e.to_string()),
        Some(e) => Err(e.into_owned()),
    }
}

#[test]
fn answers_time_and_stats() {
    let hw = machine(&NOV_22);
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(ask(&r, "stats").unwrap(), "reads=0 failures=0 healthy=true");
    assert_eq!(ask(&r, "get_time").unwrap(), "2026-11-22T15:06:28Z");
    assert!(ask(&r, "get_unix").unwrap().parse::<u64>().is_ok());
    assert_eq!(ask(&r, "stats").unwrap(), "reads=2 failures=0 healthy=true");
    let refused = ask(&r, "reboot").unwrap_err();
    assert!(
        refused.contains("try get_time, get_unix, stats"),
        "{refused}"
    );
}

#[test]
fn holds_the_cmos_ports_only_while_running() {
    let hw = machine(&NOV_22);
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(ask(&r, "get_time").unwrap(), "2026-11-22T15:06:28Z");
    assert_eq!(hw.port_owner(0x70).as_deref(), Some("cmos_rtc"));
    assert_eq!(hw.port_owner(0x71).as_deref(), Some("cmos_rtc"));
    r.stop(Caller::Kernel, "cmos_rtc").unwrap();
    assert_eq!(hw.port_owner(0x70), None);
    assert!(hw.claim_ports("intruder", 0x70, 2).is_ok());
}

#[test]
fn a_refused_claim_names_the_holder() {
    let hw = machine(&NOV_22);
    let squatter = hw.claim_ports("squatter", 0x71, 1).unwrap();
    let r = registry(&hw);
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let status = r.status("cmos_rtc").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    let reason = status.last_error.unwrap().to_string();
    assert_eq!(
        reason,
        "module `cmos_rtc` failed to start: ports 0x70..0x72 are claimed by squatter"
    );
    assert!(hw.accesses().is_empty(), "it never touched the device");

    drop(squatter);
    assert_eq!(hw.release_all("squatter"), 1);
    r.restart(Caller::Kernel, "cmos_rtc").unwrap();
    assert_eq!(ask(&r, "get_unix").unwrap(), "1795359988");
}

#[test]
fn an_invalid_date_fails_start_with_the_reason_and_claims_nothing() {
    // Every register reads 0: month 0 is no date.
    let hw = machine(&[]);
    let r = registry(&hw);
    r.start_all(Caller::Kernel);
    let status = r.status("cmos_rtc").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    let reason = status.last_error.unwrap().to_string();
    assert!(
        reason.contains("the RTC does not hold a valid time: the RTC holds an invalid date"),
        "{reason}"
    );
    assert_eq!(hw.port_owner(0x70), None, "released after the failed check");
}
