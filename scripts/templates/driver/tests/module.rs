//! `__name__` on a fake machine (`helix_modules::testing::FakeHardware`):
//! it claims port 0x80 only while running, writes the codes it is asked to
//! post (and nothing else: the fake logs every port access), refuses bad
//! codes, and a claim refused because another driver holds its port fails
//! `start` with that driver's name.
//!
//! The fake can also model a device and deliver interrupts: preset what a
//! port reads (`set_port`), queue values (`queue_reads`), answer with a
//! closure (`on_read`, `on_write`), and `raise_irq(n)` calls the handler
//! your driver claimed with `claim_irq`.

use __name__::{__Type__, CodeError, POST_PORT, parse_code};
use helix_modules::services::hw::{Hardware, HwError};
use helix_modules::testing::{Access, FakeHardware, Width};
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use std::sync::Arc;

fn ask(r: &Registry, kind: &str, payload: &[u8]) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "__name__",
            Request::new("test", kind, payload.to_vec()),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => String::from_utf8(resp.payload).map_err(|e| e.to_string()),
        Some(e) => Err(e.into_owned()),
    }
}

fn registry(hw: &FakeHardware) -> Registry {
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(__Type__::new()).unwrap();
    r
}

fn running() -> (Registry, FakeHardware) {
    let hw = FakeHardware::new();
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
    (r, hw)
}

#[test]
fn posts_codes_to_port_0x80() {
    let (r, hw) = running();
    assert_eq!(ask(&r, "stats", b"").unwrap(), "writes=0 last=-");
    assert_eq!(ask(&r, "post", b"42").unwrap(), "posted 0x2a");
    assert_eq!(ask(&r, "post", b"0xff").unwrap(), "posted 0xff");
    assert_eq!(
        hw.accesses(),
        [
            Access::write(POST_PORT, Width::U8, 42),
            Access::write(POST_PORT, Width::U8, 0xff),
        ],
        "one byte write per code, and no other port traffic"
    );
    assert_eq!(ask(&r, "stats", b"").unwrap(), "writes=2 last=0xff");
}

#[test]
fn holds_the_port_only_while_running() {
    let (r, hw) = running();
    assert_eq!(hw.port_owner(POST_PORT).as_deref(), Some("__name__"));
    assert!(matches!(
        hw.claim_ports("intruder", POST_PORT, 1),
        Err(HwError::PortsInUse { owner, .. }) if owner == "__name__"
    ));
    r.stop(Caller::Kernel, "__name__").unwrap();
    assert_eq!(hw.port_owner(POST_PORT), None);
    assert!(ask(&r, "post", b"1").is_err());
    r.start(Caller::Kernel, "__name__").unwrap();
    assert_eq!(ask(&r, "post", b"1").unwrap(), "posted 0x01");
    assert_eq!(hw.writes_to(POST_PORT), [1]);
}

#[test]
fn a_refused_claim_names_the_holder() {
    let hw = FakeHardware::new();
    let held = hw.claim_ports("squatter", POST_PORT, 1).unwrap();
    let r = registry(&hw);
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let status = r.status("__name__").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    let reason = status.last_error.unwrap().to_string();
    assert!(reason.contains("claimed by squatter"), "{reason}");

    drop(held);
    assert_eq!(hw.release_all("squatter"), 1);
    r.restart(Caller::Kernel, "__name__").unwrap();
    assert_eq!(ask(&r, "post", b"7").unwrap(), "posted 0x07");
}

#[test]
fn refuses_bad_codes_and_unknown_requests() {
    let (r, hw) = running();
    assert!(
        ask(&r, "post", b"256")
            .unwrap_err()
            .contains("does not fit")
    );
    assert!(ask(&r, "post", b"").unwrap_err().contains("needs a code"));
    assert!(
        ask(&r, "post", b"0xzz")
            .unwrap_err()
            .contains("not a decimal")
    );
    assert!(
        ask(&r, "reset", b"")
            .unwrap_err()
            .contains("unknown request")
    );
    assert!(hw.accesses().is_empty(), "nothing reached the port");
}

#[test]
fn parses_codes() {
    assert_eq!(parse_code(b" 7\n"), Ok(7));
    assert_eq!(parse_code(b"0X10"), Ok(16));
    assert_eq!(parse_code(b"300"), Err(CodeError::TooLarge(300)));
    assert_eq!(parse_code(b"  "), Err(CodeError::Empty));
    assert_eq!(parse_code(b"-1"), Err(CodeError::NotANumber("-1".into())));
}

#[test]
fn without_hardware_init_fails_with_the_reason() {
    let r = Registry::new();
    r.register_v2(__Type__::new()).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    let status = r.status("__name__").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    let reason = status.last_error.unwrap().to_string();
    assert!(reason.contains("no hardware access"), "{reason}");
}
