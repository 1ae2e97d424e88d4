//! `__name__` against a test double of the bus: it claims port 0x80 only while
//! running, writes the codes it is asked to post, refuses bad codes, and a
//! second claim of its port is refused while it holds it.

use helix_modules::services::hw::{Hardware, HwError, IrqHandler, PortIo, PortRange};
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use std::sync::{Arc, Mutex};
use __name__::{CodeError, POST_PORT, __Type__, parse_code};

/// A bus with exclusive port claims that records every byte written.
#[derive(Debug, Default)]
struct FakeBus {
    claims: Mutex<Vec<(String, u16, u16)>>,
    written: Arc<Mutex<Vec<(u16, u8)>>>,
}

struct Recorder(Arc<Mutex<Vec<(u16, u8)>>>);

impl PortIo for Recorder {
    fn read_u8(&self, _port: u16) -> u8 {
        0xff
    }
    fn write_u8(&self, port: u16, value: u8) {
        self.0.lock().unwrap().push((port, value));
    }
}

impl Hardware for FakeBus {
    fn claim_ports(&self, owner: &str, base: u16, count: u16) -> Result<PortRange, HwError> {
        let mut claims = self.claims.lock().unwrap();
        if let Some((holder, _, _)) = claims
            .iter()
            .find(|(_, b, n)| base < b + n && *b < base + count)
        {
            return Err(HwError::PortsInUse {
                base,
                count,
                owner: holder.clone(),
            });
        }
        claims.push((owner.to_string(), base, count));
        Ok(PortRange::new(
            base,
            count,
            Arc::new(Recorder(self.written.clone())),
        ))
    }
    fn claim_irq(&self, _owner: &str, irq: u8, _h: Arc<dyn IrqHandler>) -> Result<(), HwError> {
        Err(HwError::NoSuchIrq(irq))
    }
    fn release_all(&self, owner: &str) -> usize {
        let mut claims = self.claims.lock().unwrap();
        let before = claims.len();
        claims.retain(|(o, _, _)| o != owner);
        before - claims.len()
    }
}

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

fn running() -> (Registry, Arc<FakeBus>) {
    let bus = Arc::new(FakeBus::default());
    let r = Registry::builder().hardware(bus.clone()).build();
    r.register_v2(__Type__::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
    (r, bus)
}

#[test]
fn posts_codes_to_port_0x80() {
    let (r, bus) = running();
    assert_eq!(ask(&r, "stats", b"").unwrap(), "writes=0 last=-");
    assert_eq!(ask(&r, "post", b"42").unwrap(), "posted 0x2a");
    assert_eq!(ask(&r, "post", b"0xff").unwrap(), "posted 0xff");
    assert_eq!(
        *bus.written.lock().unwrap(),
        [(POST_PORT, 42), (POST_PORT, 0xff)]
    );
    assert_eq!(ask(&r, "stats", b"").unwrap(), "writes=2 last=0xff");
}

#[test]
fn holds_the_port_only_while_running() {
    let (r, bus) = running();
    assert!(matches!(
        bus.claim_ports("intruder", POST_PORT, 1),
        Err(HwError::PortsInUse { owner, .. }) if owner == "__name__"
    ));
    r.stop(Caller::Kernel, "__name__").unwrap();
    assert!(bus.claims.lock().unwrap().is_empty());
    assert!(ask(&r, "post", b"1").is_err());
    r.start(Caller::Kernel, "__name__").unwrap();
    assert_eq!(ask(&r, "post", b"1").unwrap(), "posted 0x01");
}

#[test]
fn refuses_bad_codes_and_unknown_requests() {
    let (r, bus) = running();
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
    assert!(bus.written.lock().unwrap().is_empty());
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
fn without_hardware_init_fails() {
    let r = Registry::new();
    r.register_v2(__Type__::new()).unwrap();
    let report = r.start_all(Caller::Kernel);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(r.status("__name__").unwrap().state, ModuleState::Failed);
}
