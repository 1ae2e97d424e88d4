//! The `__name__` driver: owns the POST diagnostic port.
//!
//! A v2 module flagged DRIVER. Its device is the POST diagnostic port
//! ([`POST_PORT`], 0x80): firmware writes boot progress codes there, and a
//! POST diagnostic card on the bus shows them. Writing it has no other effect, so it is a safe device to
//! start from; a driver for another device claims that device's ports (and
//! IRQ line, with `claim_irq`) the same way.
//!
//! The driver takes its [`HardwareAccess`] in `init`, claims the port in
//! `start` (exclusively: no other driver can claim it while this one runs)
//! and releases it in `stop`, so a stopped driver holds nothing and can be
//! started again. Requests:
//!
//! - `post` with a code as payload (`42` or `0x2a`, 0..=255): writes it to
//!   the port and answers `posted 0x2a`;
//! - `stats`: answers `writes=N last=0x2a` (`last=-` before the first).
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use core::fmt;
use helix_modules::services::hw::{HardwareAccess, PortRange};
use helix_modules::v2::{Context, EventKinds, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};

/// The module's name: what `lsmod` shows and requests are addressed to.
pub const NAME: &str = "__name__";

/// The POST diagnostic port.
pub const POST_PORT: u16 = 0x80;

/// Why a `post` payload is not a code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeError {
    /// The payload is empty.
    Empty,
    /// The payload is not a decimal or `0x` hexadecimal number.
    NotANumber(String),
    /// The number does not fit in a byte.
    TooLarge(u64),
}

impl fmt::Display for CodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("post needs a code: 0..=255, decimal or 0x hex"),
            Self::NotANumber(t) => write!(f, "'{t}' is not a decimal or 0x hex number"),
            Self::TooLarge(n) => write!(f, "code {n} does not fit in a byte (0..=255)"),
        }
    }
}

/// Parses a POST code: decimal (`42`) or hexadecimal (`0x2a`), 0..=255,
/// surrounding whitespace ignored.
pub fn parse_code(payload: &[u8]) -> Result<u8, CodeError> {
    let text = String::from_utf8_lossy(payload);
    let text = text.trim();
    if text.is_empty() {
        return Err(CodeError::Empty);
    }
    let parsed = match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse::<u64>(),
    };
    let n = parsed.map_err(|_| CodeError::NotANumber(String::from(text)))?;
    u8::try_from(n).map_err(|_| CodeError::TooLarge(n))
}

/// The `__name__` driver module.
#[derive(Debug, Default)]
pub struct __Type__ {
    hw: Option<HardwareAccess>,
    port: Option<PortRange>,
    writes: u64,
    last: Option<u8>,
}

impl __Type__ {
    /// A driver that has not claimed its device yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The answer to `stats`.
    pub fn stats(&self) -> String {
        match self.last {
            Some(code) => format!("writes={} last={code:#04x}", self.writes),
            None => format!("writes={} last=-", self.writes),
        }
    }

    fn post(&mut self, payload: &[u8]) -> Response {
        let Some(port) = &self.port else {
            return Response::err("the driver is not running");
        };
        let code = match parse_code(payload) {
            Ok(code) => code,
            Err(e) => return Response::err(format!("{e}")),
        };
        match port.write(0, code) {
            Ok(()) => {
                self.writes += 1;
                self.last = Some(code);
                Response::ok(format!("posted {code:#04x}").into_bytes())
            }
            Err(e) => Response::err(format!("{e}")),
        }
    }
}

impl ModuleTrait for __Type__ {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(NAME)
            .version(0, 1, 0)
            .description("POST diagnostic port driver: writes progress codes to port 0x80")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&[NAME])
            .events(EventKinds::empty())
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        // `?` keeps the hardware service's reason (`ModuleError::Hardware`).
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self
            .hw
            .as_ref()
            .ok_or(ModuleError::Failed("not initialised"))?;
        // A refused claim names the holder; `lsmod` shows it as the reason.
        let port = hw.claim_ports(POST_PORT, 1)?;
        self.port = Some(port);
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        self.port = None;
        if let Some(hw) = &self.hw {
            hw.release_all();
        }
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "post" => Ok(self.post(&request.payload)),
            "stats" => Ok(Response::ok(self.stats().into_bytes())),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try post, stats)"
            ))),
        }
    }
}
