//! [`SerialConsole`]: the receiver as a Helix driver module.

use crate::receiver::{IER, LSR, LSR_DATA_READY, LSR_THR_EMPTY, MCR, Receiver, THR};
use alloc::format;
use alloc::sync::Arc;
use helix_modules::services::hw::{HardwareAccess, HwError};
use helix_modules::v2::{Context, EventKinds, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags, ParamSpec};

/// Most bytes one `read` request returns.
pub const READ_CHUNK: usize = 1024;

const IER_RX_AVAILABLE: u8 = 0x01;
/// MCR OUT2: gates the UART's interrupt line on PC hardware.
const MCR_OUT2: u8 = 0x08;
const MCR_LOOPBACK: u8 = 0x10;
const SELF_TEST_PATTERN: &[u8] = b"helix";
/// Polls of the buffer while the self-test waits for its bytes.
const SELF_TEST_POLLS: u32 = 5_000_000;

/// Both are read in `init` only (the claims follow them), so they are
/// boot-only: `serial_console.irq=3` on the kernel command line.
const PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("port", "1016")
        .range(0, 0xfff8)
        .boot_only()
        .describe("I/O base of the UART (1016 = 0x3f8, COM1)"),
    ParamSpec::new("irq", "4")
        .range(0, 15)
        .boot_only()
        .describe("ISA interrupt line of the UART"),
];

/// The serial console input driver module.
#[derive(Default)]
pub struct SerialConsole {
    hw: Option<HardwareAccess>,
    rx: Option<Arc<Receiver>>,
    base: u16,
    irq: u8,
}

impl SerialConsole {
    /// A driver that has not claimed its device yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn rx(&self) -> Result<&Arc<Receiver>, ModuleError> {
        self.rx
            .as_ref()
            .ok_or(ModuleError::Failed("the serial console is not initialised"))
    }

    /// Loops the UART back, sends a pattern, checks it arrives through the
    /// interrupt, restores normal mode. Output written by others meanwhile
    /// is looped back too and discarded with the pattern.
    fn self_test(&self) -> Result<Response, ModuleError> {
        let rx = self.rx()?;
        let ports = rx.ports();
        let mcr = ports.read(MCR)?;
        let before = rx.counters();
        ports.write(MCR, mcr | MCR_LOOPBACK)?;
        for &b in SELF_TEST_PATTERN {
            let mut polls = 0;
            while ports.read(LSR).is_ok_and(|l| l & LSR_THR_EMPTY == 0) && polls < SELF_TEST_POLLS {
                polls += 1;
            }
            ports.write(THR, b)?;
        }
        let mut polls = 0;
        while rx.counters().0 < before.0 + SELF_TEST_PATTERN.len() as u64 && polls < SELF_TEST_POLLS
        {
            polls += 1;
            core::hint::spin_loop();
        }
        ports.write(MCR, mcr)?;
        let after = rx.counters();
        let got = rx.take(READ_CHUNK);
        let echoed = got
            .windows(SELF_TEST_PATTERN.len())
            .any(|w| w == SELF_TEST_PATTERN);
        if echoed && after.2 > before.2 {
            Ok(Response::ok(
                format!(
                    "ok: {} bytes looped back through {} interrupts",
                    got.len(),
                    after.2 - before.2
                )
                .into_bytes(),
            ))
        } else {
            Ok(Response::err(format!(
                "self-test failed: got {:?} with {} interrupts",
                core::str::from_utf8(&got).unwrap_or("<binary>"),
                after.2 - before.2
            )))
        }
    }
}

/// Gates the UART's interrupt onto the bus and enables the receive
/// interrupt, then takes bytes that arrived before (they raise none).
fn enable(rx: &Receiver) -> Result<(), HwError> {
    let ports = rx.ports();
    let mcr = ports.read(MCR)?;
    ports.write(MCR, mcr | MCR_OUT2)?;
    ports.write(IER, IER_RX_AVAILABLE)?;
    if ports.read(LSR)? & LSR_DATA_READY != 0 {
        rx.drain_uart();
    }
    Ok(())
}

impl ModuleTrait for SerialConsole {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("serial_console")
            .version(1, 0, 0)
            .description("Serial console input: interrupt-driven 16550 UART receiver")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&["console"])
            .events(EventKinds::empty())
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        // The registry validated both against PARAMS.
        self.base = ctx.config_usize("port").unwrap_or(0x3f8) as u16;
        self.irq = ctx.config_usize("irq").unwrap_or(4) as u8;
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }

    /// Claims the UART and its IRQ (a stopped driver holds nothing, so it
    /// can be started again) and enables the receive interrupt. A refused
    /// claim is the error as the hardware service gave it, naming who holds
    /// the ports or the line; whatever was claimed before it is given back.
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self
            .hw
            .as_ref()
            .ok_or(ModuleError::Failed("not initialised"))?;
        let ports = hw.claim_ports(self.base, 8)?;
        let rx = Arc::new(Receiver::new(ports));
        if let Err(e) = hw
            .claim_irq(self.irq, rx.clone())
            .and_then(|()| enable(&rx))
        {
            hw.release_all();
            return Err(e.into());
        }
        self.rx = Some(rx);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        if let Some(rx) = &self.rx {
            let _ = rx.ports().write(IER, 0);
        }
        self.rx = None;
        if let Some(hw) = &self.hw {
            hw.release_all();
        }
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "read" => Ok(Response::ok(self.rx()?.take(READ_CHUNK))),
            "stats" => {
                let rx = self.rx()?;
                let (received, dropped, interrupts) = rx.counters();
                let text = format!(
                    "received={received} dropped={dropped} interrupts={interrupts} buffered={}",
                    rx.buffered()
                );
                Ok(Response::ok(text.into_bytes()))
            }
            "self_test" => self.self_test(),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try read, stats, self_test)"
            ))),
        }
    }

    fn is_healthy(&self) -> bool {
        self.rx.is_some()
    }
}
