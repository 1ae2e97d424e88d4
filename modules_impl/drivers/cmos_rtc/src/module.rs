//! [`CmosRtc`]: the clock as a Helix driver module. Requests: `get_time`
//! (ISO 8601 UTC), `get_unix` (seconds since 1970), `stats` (`reads=N
//! failures=N healthy=BOOL`: clock reads made for requests and how many
//! failed).

use crate::cmos::read_time;
use alloc::format;
use helix_modules::services::hw::{HardwareAccess, PortRange};
use helix_modules::v2::{Context, EventKinds, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags};

/// CMOS index port; the data port follows it.
const CMOS_PORT: u16 = 0x70;

/// The CMOS RTC driver module.
#[derive(Debug, Default)]
pub struct CmosRtc {
    hw: Option<HardwareAccess>,
    ports: Option<PortRange>,
    healthy: bool,
    reads: u64,
    failures: u64,
}

impl CmosRtc {
    /// A driver that has not claimed its device yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ModuleTrait for CmosRtc {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("cmos_rtc")
            .version(1, 0, 0)
            .description("CMOS real-time clock: wall-clock time (UTC)")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::DRIVER)
            .provides(&["clock"])
            .events(EventKinds::empty())
    }

    /// Takes the hardware handle; a refusal ([`HwError`](helix_modules::services::hw::HwError))
    /// is the error, as is.
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.hw = Some(ctx.hardware()?);
        Ok(())
    }

    /// Claims the device (a stopped driver holds nothing, so it can be
    /// started again) and proves it answers sensibly. A refused claim is
    /// the error as the hardware service gave it, naming who holds the
    /// ports.
    fn start(&mut self) -> Result<(), ModuleError> {
        let hw = self
            .hw
            .as_ref()
            .ok_or(ModuleError::Failed("not initialised"))?;
        let ports = hw.claim_ports(CMOS_PORT, 2)?;
        if let Err(e) = read_time(&ports) {
            hw.release_all();
            return Err(ModuleError::Message(format!(
                "the RTC does not hold a valid time: {e}"
            )));
        }
        self.ports = Some(ports);
        self.healthy = true;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        self.ports = None;
        if let Some(hw) = &self.hw {
            hw.release_all();
        }
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        let Some(ports) = &self.ports else {
            return Ok(Response::err("the RTC is not initialised"));
        };
        let kind = request.request_type.as_str();
        if kind == "stats" {
            let text = format!(
                "reads={} failures={} healthy={}",
                self.reads, self.failures, self.healthy
            );
            return Ok(Response::ok(text.into_bytes()));
        }
        if kind != "get_time" && kind != "get_unix" {
            return Ok(Response::err(format!(
                "unknown request '{kind}' (try get_time, get_unix, stats)"
            )));
        }
        self.reads += 1;
        match read_time(ports) {
            Ok(t) => {
                self.healthy = true;
                let text = if kind == "get_time" {
                    format!("{t}")
                } else {
                    format!("{}", t.unix_seconds())
                };
                Ok(Response::ok(text.into_bytes()))
            }
            Err(e) => {
                self.healthy = false;
                self.failures += 1;
                Ok(Response::err(format!("{e}")))
            }
        }
    }

    fn is_healthy(&self) -> bool {
        self.healthy
    }
}
