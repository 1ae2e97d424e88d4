//! `ich9_smbus`: a DRIVER module for the SMBus host controller of Intel's
//! ICH9 chipset (`8086:2930`, function 00:1f.3 on QEMU's q35, where eight
//! SPD EEPROMs answer at 0x50-0x57).
//!
//! It declares the controller in its PCI table, takes the function the
//! kernel binds to it, and drives the host registers in the function's
//! I/O BAR (BAR 4) by polling. It provides `smbus`. IPC:
//! - `scan`: the 7-bit addresses (0x08-0x77) that acknowledge a quick
//!   command, in hex, space-separated;
//! - `read ADDR CMD` (hex or decimal): one SMBus read-byte-data
//!   transaction; answers the byte in hex;
//! - `device`: the bound function and its port range;
//! - `stats`: `transactions= absent= errors=`.
//!
//! A missing device is a typed [`SmbusError::NoDevice`], a controller that
//! stays busy [`SmbusError::Timeout`]; bad arguments are refused before
//! the controller sees them. The same crate builds into the kernel or as a
//! loadable module binary; the firmware (SeaBIOS, before our PVH entry)
//! has enabled the host interface and given the BAR its ports.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use core::fmt;
use helix_modules::services::hw::{HardwareAccess, HwError, PortRange};
use helix_modules::services::pci::{DeviceId, Function};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};

/// The devices this driver drives: the ICH9 SMBus controller.
pub const IDS: [DeviceId; 1] = [DeviceId::new(0x8086, 0x2930)];

/// Host status (write ones to clear).
pub const HST_STS: u16 = 0;
/// Host control: protocol and start.
pub const HST_CNT: u16 = 2;
/// Host command (the byte sent after the address).
pub const HST_CMD: u16 = 3;
/// Transmit slave address: 7-bit address << 1, bit 0 set for a read.
pub const XMIT_SLVA: u16 = 4;
/// Data byte 0.
pub const HST_D0: u16 = 5;

/// Status: a transaction is running.
pub const STS_BUSY: u8 = 1 << 0;
/// Status: the transaction completed.
pub const STS_INTR: u8 = 1 << 1;
/// Status: no device acknowledged (or a bad command).
pub const STS_DEV_ERR: u8 = 1 << 2;
/// Status: a collision on the bus.
pub const STS_BUS_ERR: u8 = 1 << 3;
/// Status: the transaction was killed.
pub const STS_FAILED: u8 = 1 << 4;
/// Every status bit that ends a transaction (and is cleared by writing it).
const STS_DONE: u8 = STS_INTR | STS_DEV_ERR | STS_BUS_ERR | STS_FAILED;

/// Control: start the transaction.
pub const CNT_START: u8 = 1 << 6;
/// Control: the quick-command protocol (bits 4:2 = 0).
pub const PROTOCOL_QUICK: u8 = 0;
/// Control: the read/write-byte-data protocol (bits 4:2 = 2).
pub const PROTOCOL_BYTE_DATA: u8 = 2 << 2;

/// How many status reads a transaction may take.
const POLLS: u32 = 100_000;

/// Why a transaction did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SmbusError {
    /// The driver has no controller (not started, or none on this machine).
    NotStarted,
    /// No device acknowledged the address.
    NoDevice(u8),
    /// A collision or a killed transaction (the status bits).
    Bus(u8),
    /// The controller stayed busy.
    Timeout,
    /// An address outside 0x08-0x77, or malformed arguments.
    BadRequest(&'static str),
    /// The hardware service refused.
    Hardware(HwError),
}

impl fmt::Display for SmbusError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotStarted => f.write_str("no SMBus controller is bound"),
            Self::NoDevice(a) => write!(f, "no device answers at {a:#04x}"),
            Self::Bus(s) => write!(f, "the transaction failed (status {s:#04x})"),
            Self::Timeout => f.write_str("the controller stayed busy"),
            Self::BadRequest(why) => f.write_str(why),
            Self::Hardware(e) => write!(f, "{e}"),
        }
    }
}

impl From<HwError> for SmbusError {
    fn from(e: HwError) -> Self {
        Self::Hardware(e)
    }
}

/// A 7-bit address a host may talk to (0x08-0x77: the rest are reserved).
pub fn check_address(addr: u8) -> Result<u8, SmbusError> {
    if (0x08..=0x77).contains(&addr) {
        Ok(addr)
    } else {
        Err(SmbusError::BadRequest("addresses are 0x08-0x77"))
    }
}

/// The controller's host registers.
pub struct Host {
    ports: PortRange,
}

impl Host {
    /// The host registers in `ports` (the function's I/O BAR).
    pub fn new(ports: PortRange) -> Self {
        Host { ports }
    }

    /// Runs one transaction of `protocol` to `addr` (`read`: the R/W bit)
    /// and waits for it to end.
    fn transact(&self, addr: u8, read: bool, protocol: u8) -> Result<(), SmbusError> {
        self.ports.write(HST_STS, STS_DONE)?;
        self.ports.write(XMIT_SLVA, (addr << 1) | u8::from(read))?;
        self.ports.write(HST_CNT, CNT_START | protocol)?;
        for _ in 0..POLLS {
            let status = self.ports.read(HST_STS)?;
            if status & STS_BUSY != 0 || status & STS_DONE == 0 {
                continue;
            }
            self.ports.write(HST_STS, status & STS_DONE)?;
            return match status {
                s if s & STS_DEV_ERR != 0 => Err(SmbusError::NoDevice(addr)),
                s if s & (STS_BUS_ERR | STS_FAILED) != 0 => Err(SmbusError::Bus(s)),
                _ => Ok(()),
            };
        }
        Err(SmbusError::Timeout)
    }

    /// Whether a device acknowledges `addr` (a quick command).
    pub fn present(&self, addr: u8) -> Result<bool, SmbusError> {
        match self.transact(check_address(addr)?, true, PROTOCOL_QUICK) {
            Ok(()) => Ok(true),
            Err(SmbusError::NoDevice(_)) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Reads byte `command` of the device at `addr` (read byte data).
    pub fn read_byte(&self, addr: u8, command: u8) -> Result<u8, SmbusError> {
        self.ports.write(HST_CMD, command)?;
        self.transact(check_address(addr)?, true, PROTOCOL_BYTE_DATA)?;
        Ok(self.ports.read(HST_D0)?)
    }
}

/// The module (see the crate docs).
#[derive(Default)]
pub struct Ich9Smbus {
    hw: Option<HardwareAccess>,
    bound: Option<(Function, Host)>,
    transactions: u64,
    absent: u64,
    errors: u64,
}

fn number(word: Option<&str>) -> Result<u8, SmbusError> {
    let bad = SmbusError::BadRequest("read takes `ADDR CMD` (hex with 0x, or decimal)");
    let word = word.ok_or(bad.clone())?;
    let parsed = match word.strip_prefix("0x") {
        Some(hex) => u8::from_str_radix(hex, 16),
        None => word.parse(),
    };
    parsed.map_err(|_| bad)
}

impl Ich9Smbus {
    fn host(&self) -> Result<&Host, SmbusError> {
        self.bound
            .as_ref()
            .map(|(_, h)| h)
            .ok_or(SmbusError::NotStarted)
    }

    /// The addresses that answer a quick command.
    pub fn scan(&mut self) -> Result<Vec<u8>, SmbusError> {
        let mut found = Vec::new();
        for addr in 0x08..=0x77u8 {
            self.transactions += 1;
            if self.host()?.present(addr)? {
                found.push(addr);
            } else {
                self.absent += 1;
            }
        }
        Ok(found)
    }

    fn serve(&mut self, r: &Request) -> Result<String, SmbusError> {
        match r.request_type.as_str() {
            "scan" => Ok(self
                .scan()?
                .iter()
                .map(|a| format!("{a:#04x}"))
                .collect::<Vec<_>>()
                .join(" ")),
            "read" => {
                let text = core::str::from_utf8(&r.payload)
                    .map_err(|_| SmbusError::BadRequest("read takes `ADDR CMD`"))?;
                let mut words = text.split_whitespace();
                let addr = check_address(number(words.next())?)?;
                let cmd = number(words.next())?;
                if words.next().is_some() {
                    return Err(SmbusError::BadRequest("read takes `ADDR CMD`"));
                }
                self.transactions += 1;
                self.host()?
                    .read_byte(addr, cmd)
                    .map(|b| format!("{b:#04x}"))
            }
            "device" => {
                let (f, h) = self.bound.as_ref().ok_or(SmbusError::NotStarted)?;
                Ok(format!(
                    "{} {:04x}:{:04x} ports {:#x}+{}",
                    f.bdf,
                    f.vendor,
                    f.device,
                    h.ports.base(),
                    h.ports.count()
                ))
            }
            "stats" => Ok(format!(
                "transactions={} absent={} errors={}",
                self.transactions, self.absent, self.errors
            )),
            _ => Err(SmbusError::BadRequest(
                "unknown request (try scan, read ADDR CMD, device, stats)",
            )),
        }
    }
}

impl ModuleTrait for Ich9Smbus {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("ich9_smbus")
            .version(1, 0, 0)
            .description("ICH9 SMBus host controller driver")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&["smbus"])
            .pci_ids(&IDS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self
            .hw
            .as_ref()
            .ok_or(ModuleError::Failed("not initialised"))?;
        let function = hw
            .pci_devices()
            .into_iter()
            .next()
            .ok_or(ModuleError::Failed("no ICH9 SMBus controller to bind"))?;
        // Its host registers: I/O BAR 4 (SMB_BASE), ports from the firmware.
        let ports = hw.claim_io_bar(&function, 4)?;
        self.bound = Some((function, Host::new(ports)));
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        // The kernel takes the function and the ports back.
        self.bound = None;
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match self.serve(request) {
            Ok(text) => Ok(Response::ok(text.into_bytes())),
            Err(e) => {
                self.errors += 1;
                Ok(Response::err(e.to_string()))
            }
        }
    }
}
