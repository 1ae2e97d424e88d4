//! `SerialConsole` as a driver on a `FakeHardware` machine with a modelled
//! 16550: it claims the UART's ports and IRQ, enables the receive
//! interrupt, delivers what the interrupt brings over IPC, passes its
//! loopback self-test, gives everything back on stop, and a refused claim
//! fails `start` naming the holder, with nothing left claimed.

use helix_modules::services::hw::{Hardware, HwError, IrqHandler};
use helix_modules::testing::{Access, FakeHardware, Width};
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use serial_console::SerialConsole;
use std::sync::Arc;

const COM1: u16 = 0x3f8;
const IER: u16 = COM1 + 1;
const MCR: u16 = COM1 + 4;
const LSR: u16 = COM1 + 5;

/// A 16550 at COM1 on IRQ 4: received bytes are the values queued on the
/// receive register; in loopback mode (MCR bit 4) a transmitted byte is
/// received at once and, with the receive interrupt enabled, raises IRQ 4.
fn machine() -> FakeHardware {
    let hw = FakeHardware::new();
    hw.set_port(IER, 0);
    hw.set_port(MCR, 0);
    hw.on_read(LSR, |hw, _| u32::from(hw.queued(COM1) > 0) | 0x20);
    hw.on_write(COM1, |hw, _, byte| {
        let loopback = hw.port_value(MCR).unwrap_or(0) & 0x10 != 0;
        if loopback {
            hw.queue_reads(COM1, [byte]);
            if hw.port_value(IER).unwrap_or(0) & 1 != 0 {
                hw.raise_irq(4).expect("the driver holds IRQ 4");
            }
        }
    });
    hw
}

fn registry(hw: &FakeHardware) -> Registry {
    let r = Registry::builder().hardware(Arc::new(hw.clone())).build();
    r.register_v2(SerialConsole::new()).unwrap();
    r
}

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "serial_console",
            Request::new("test", kind, Vec::new()),
        )
        .map_err(|e| e.to_string())?;
    match resp.error {
        None => Ok(String::from_utf8_lossy(&resp.payload).into_owned()),
        Some(e) => Err(e.into_owned()),
    }
}

fn reason(r: &Registry) -> String {
    let status = r.status("serial_console").unwrap();
    assert_eq!(status.state, ModuleState::Failed);
    status.last_error.unwrap().to_string()
}

#[test]
fn start_claims_the_uart_and_enables_its_receive_interrupt() {
    let hw = machine();
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(hw.port_owner(COM1).as_deref(), Some("serial_console"));
    assert_eq!(hw.port_owner(COM1 + 7).as_deref(), Some("serial_console"));
    assert_eq!(hw.irq_owner(4).as_deref(), Some("serial_console"));
    assert_eq!(
        hw.accesses(),
        [
            Access::read(MCR, Width::U8, 0x00),
            Access::write(MCR, Width::U8, 0x08),
            Access::write(IER, Width::U8, 0x01),
            Access::read(LSR, Width::U8, 0x20),
        ],
        "OUT2 and the receive interrupt enabled, nothing waiting"
    );
}

#[test]
fn the_interrupt_delivers_bytes_to_read_requests() {
    let hw = machine();
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    hw.queue_reads(COM1, *b"lsmod\r");
    hw.raise_irq(4).unwrap();
    assert_eq!(ask(&r, "read").unwrap(), "lsmod\r");
    assert_eq!(ask(&r, "read").unwrap(), "");
    assert_eq!(
        ask(&r, "stats").unwrap(),
        "received=6 dropped=0 interrupts=1 buffered=0"
    );
}

#[test]
fn bytes_waiting_before_start_are_taken_at_start() {
    let hw = machine();
    hw.queue_reads(COM1, *b"early");
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    assert_eq!(ask(&r, "read").unwrap(), "early");
}

#[test]
fn the_self_test_loops_back_through_the_interrupt() {
    let hw = machine();
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    let answer = ask(&r, "self_test").unwrap();
    assert_eq!(answer, "ok: 5 bytes looped back through 5 interrupts");
    assert_eq!(hw.writes_to(MCR), [0x08, 0x18, 0x08], "loopback, then back");
    assert_eq!(
        hw.writes_to(COM1)
            .iter()
            .map(|&b| b as u8)
            .collect::<Vec<_>>(),
        b"helix"
    );
}

#[test]
fn stop_disables_the_interrupt_and_gives_everything_back() {
    let hw = machine();
    let r = registry(&hw);
    assert!(r.start_all(Caller::Kernel).is_clean());
    r.stop(Caller::Kernel, "serial_console").unwrap();
    assert_eq!(hw.writes_to(IER), [0x01, 0x00]);
    assert_eq!((hw.port_owner(COM1), hw.irq_owner(4)), (None, None));
    r.start(Caller::Kernel, "serial_console").unwrap();
    assert_eq!(hw.irq_owner(4).as_deref(), Some("serial_console"));
}

struct Nobody;

impl IrqHandler for Nobody {
    fn handle_irq(&self) {}
}

#[test]
fn a_held_irq_fails_start_naming_the_holder_and_frees_the_ports() {
    let hw = machine();
    hw.claim_irq("mouse", 4, Arc::new(Nobody)).unwrap();
    let r = registry(&hw);
    r.start_all(Caller::Kernel);
    assert_eq!(
        reason(&r),
        "module `serial_console` failed to start: IRQ 4 is claimed by mouse"
    );
    assert_eq!(hw.port_owner(COM1), None);
    assert_eq!(hw.release_all("mouse"), 1);
    r.restart(Caller::Kernel, "serial_console").unwrap();
    assert_eq!(hw.irq_owner(4).as_deref(), Some("serial_console"));
}

#[test]
fn held_ports_fail_start_naming_the_holder() {
    let hw = machine();
    let _held = hw.claim_ports("modem", COM1 + 7, 1).unwrap();
    let r = registry(&hw);
    r.start_all(Caller::Kernel);
    assert_eq!(
        reason(&r),
        "module `serial_console` failed to start: ports 0x3f8..0x400 are claimed by modem"
    );
    assert_eq!(hw.irq_owner(4), None);
}

#[test]
fn an_unroutable_irq_fails_start_and_frees_the_ports() {
    let hw = machine();
    hw.make_unroutable(4);
    let r = registry(&hw);
    r.start_all(Caller::Kernel);
    assert_eq!(
        reason(&r),
        "module `serial_console` failed to start: IRQ 4 cannot be routed"
    );
    assert_eq!(hw.port_owner(COM1), None);
    assert!(matches!(
        hw.claim_irq("x", 4, Arc::new(Nobody)),
        Err(HwError::NoSuchIrq(4))
    ));
}
