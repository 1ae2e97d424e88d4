//! [`__Type__`]: the FIFO policy as a Helix v2 module.
//!
//! - Flags SCHEDULER (it provides the `"scheduler"` service) and ESSENTIAL
//!   (once it schedules the kernel's threads it must not stop).
//! - Parameter `time_slice_ms`: default 10, range 1..=1000, set on the
//!   command line as `__name__.time_slice_ms=5` or at run time.
//! - Request `stats`: `key=value` lines with the policy's counters.
//! - Event CpuHotplug: a CPU coming online takes new threads; one going
//!   offline hands its threads to the others.

use crate::policy::{DEFAULT_TIME_SLICE_MS, __Type__Policy};
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use core::fmt::Write;
use helix_modules::services::scheduler::Scheduler;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{ModuleError, ModuleFlags, ParamSpec};

/// The module's name: what `lsmod` shows and requests are addressed to.
pub const NAME: &str = "__name__";

/// How many CPUs the policy is sized for.
const MAX_CPUS: usize = 16;

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("time_slice_ms", "10")
    .range(1, 1000)
    .describe("how long a thread runs while others wait on its CPU")];

/// The `__name__` scheduler module.
pub struct __Type__ {
    policy: Arc<__Type__Policy>,
}

impl Default for __Type__ {
    fn default() -> Self {
        Self::new()
    }
}

impl __Type__ {
    /// A module with a fresh policy (CPU 0 online, default slice).
    pub fn new() -> Self {
        Self {
            policy: Arc::new(__Type__Policy::new(MAX_CPUS)),
        }
    }

    /// The policy this module serves.
    pub fn policy(&self) -> Arc<__Type__Policy> {
        self.policy.clone()
    }

    /// The answer to `stats`.
    pub fn stats(&self) -> String {
        let s = self.policy.stats();
        let mut out = String::new();
        let _ = writeln!(out, "time_slice_ms={}", self.policy.time_slice_ms());
        let _ = writeln!(out, "threads={}", s.threads);
        let _ = writeln!(out, "switches={}", s.switches());
        let _ = writeln!(out, "ticks={}", s.ticks());
        let _ = write!(out, "yields={}", s.yields);
        for c in s.cpus.iter().filter(|c| c.online) {
            let _ = write!(
                out,
                "\ncpu{}: queued={} switches={} preemptions={}",
                c.cpu, c.queued, c.switches, c.preemptions
            );
        }
        out
    }
}

impl ModuleTrait for __Type__ {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(NAME)
            .version(0, 1, 0)
            .description("FIFO scheduler: per-CPU run queues with a fixed time slice")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::SCHEDULER.union(ModuleFlags::ESSENTIAL))
            .provides(&["scheduler"])
            .events(EventKinds::CPU_HOTPLUG)
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        // The registry has checked the value against PARAMS already.
        let ms = ctx
            .config_usize("time_slice_ms")
            .map_or(DEFAULT_TIME_SLICE_MS, |ms| ms as u64);
        self.policy
            .set_time_slice_ms(ms)
            .map_err(|_| ModuleError::Failed("time_slice_ms out of range"))
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::CpuHotplug { cpu_id, online } => {
                match self.policy.set_cpu_online(*cpu_id, *online) {
                    Ok(()) => EventResponse::Handled,
                    Err(_) => EventResponse::Error(ModuleError::Failed("cannot change CPU state")),
                }
            }
            _ => EventResponse::Ignored,
        }
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "stats" => Ok(Response::ok(self.stats().into_bytes())),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try stats)"
            ))),
        }
    }

    fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
        if key != "time_slice_ms" {
            return Ok(());
        }
        let ms = value
            .parse::<u64>()
            .map_err(|_| ModuleError::Failed("time_slice_ms must be a number"))?;
        self.policy
            .set_time_slice_ms(ms)
            .map_err(|_| ModuleError::Failed("time_slice_ms out of range"))
    }

    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        Some(self.policy.clone())
    }
}
