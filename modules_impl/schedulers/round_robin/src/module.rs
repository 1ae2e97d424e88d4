//! [`RoundRobinModule`]: the round-robin policy as a Helix v2 module.
//!
//! - Flags SCHEDULER (it provides the `"scheduler"` service the kernel
//!   schedules through) and ESSENTIAL (the kernel cannot run without it, so
//!   it cannot be stopped or unloaded).
//! - Parameter `time_slice_ms`: default 10, range 1..=1000, set on the
//!   command line as `round_robin.time_slice_ms=5` or at run time.
//! - Requests: `stats` (alias `get_stats`) answers `key=value` lines with
//!   the policy's live counters; `set_time_slice` with a decimal payload in
//!   milliseconds changes the slice and reports the new `time_slice_ms` to
//!   the registry, so `params round_robin` shows it; anything else is
//!   answered with an error response.
//! - Events: Tick rebalances run queues across CPUs; CpuHotplug moves a
//!   departing CPU's threads away and gives an arriving one work; Shutdown
//!   logs final counters and stops rebalancing.

use crate::policy::RoundRobin;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::fmt::Write;
use helix_modules::services::scheduler::Scheduler;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleHandle, ModuleInfo, ModuleTrait, Request,
    Response,
};
use helix_modules::{ModuleError, ModuleFlags, ParamSpec};

/// Shortest accepted time slice.
pub const MIN_TIME_SLICE_MS: u64 = 1;
/// Longest accepted time slice.
pub const MAX_TIME_SLICE_MS: u64 = 1000;
/// How many CPUs the policy is sized for.
const MAX_CPUS: usize = 16;

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("time_slice_ms", "10")
    .range(MIN_TIME_SLICE_MS as i64, MAX_TIME_SLICE_MS as i64)
    .describe("how long a thread runs before the next one on its CPU gets a turn")];

/// The round-robin scheduler module.
pub struct RoundRobinModule {
    policy: Arc<RoundRobin>,
    shutting_down: bool,
    /// Kept from `init` to report parameter changes made over IPC.
    handle: Option<ModuleHandle>,
}

impl Default for RoundRobinModule {
    fn default() -> Self {
        Self::new()
    }
}

impl RoundRobinModule {
    /// A module with a fresh policy (CPU 0 online, default slice).
    pub fn new() -> Self {
        Self {
            policy: Arc::new(RoundRobin::new(MAX_CPUS)),
            shutting_down: false,
            handle: None,
        }
    }

    /// The policy this module serves.
    pub fn policy(&self) -> Arc<RoundRobin> {
        self.policy.clone()
    }

    fn stats_text(&self) -> String {
        let s = self.policy.stats();
        let mut out = String::new();
        let _ = writeln!(out, "time_slice_ms={}", self.policy.time_slice_ms());
        let _ = writeln!(out, "threads={}", s.threads);
        let _ = writeln!(out, "switches={}", s.switches());
        let _ = writeln!(out, "ticks={}", s.ticks());
        let _ = writeln!(out, "yields={}", s.yields);
        for c in s.cpus.iter().filter(|c| c.online || c.ticks > 0) {
            let running = c.running.map_or(String::from("-"), |t| format!("{t}"));
            let _ = writeln!(
                out,
                "cpu{}: online={} queued={} running={} switches={} ticks={} preemptions={}",
                c.cpu, c.online, c.queued, running, c.switches, c.ticks, c.preemptions
            );
        }
        out
    }
}

impl ModuleTrait for RoundRobinModule {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("round_robin")
            .version(1, 0, 0)
            .description("Round-robin scheduler: per-CPU FIFO run queues with a fixed time slice")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::SCHEDULER.union(ModuleFlags::ESSENTIAL))
            .provides(&["scheduler"])
            .events(
                EventKinds::TICK
                    .union(EventKinds::CPU_HOTPLUG)
                    .union(EventKinds::SHUTDOWN),
            )
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.handle = Some(ctx.handle());
        // The registry validated the value against PARAMS already.
        let ms = ctx
            .config_usize("time_slice_ms")
            .unwrap_or(crate::DEFAULT_TIME_SLICE_MS as usize);
        self.policy
            .set_time_slice_ms(ms as u64)
            .map_err(|_| ModuleError::Failed("time_slice_ms out of range"))
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        self.shutting_down = false;
        log::info!(
            "round-robin scheduler running, time slice {} ms",
            self.policy.time_slice_ms()
        );
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::Tick { .. } if !self.shutting_down => {
                self.policy.rebalance();
                EventResponse::Handled
            }
            Event::CpuHotplug { cpu_id, online } => {
                match self.policy.set_cpu_online(*cpu_id, *online) {
                    Ok(()) => EventResponse::Handled,
                    Err(_) => EventResponse::Error(ModuleError::Failed("cannot change CPU state")),
                }
            }
            Event::Shutdown => {
                self.shutting_down = true;
                let s = self.policy.stats();
                log::info!(
                    "round-robin at shutdown: {} switches, {} ticks",
                    s.switches(),
                    s.ticks()
                );
                EventResponse::Handled
            }
            _ => EventResponse::Ignored,
        }
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "stats" | "get_stats" => Ok(Response::ok(self.stats_text().into_bytes())),
            "set_time_slice" => {
                let ms = core::str::from_utf8(&request.payload)
                    .ok()
                    .and_then(|t| t.trim().parse::<u64>().ok());
                let Some(ms) = ms else {
                    return Ok(Response::err(
                        "set_time_slice needs a decimal number of milliseconds",
                    ));
                };
                if let Err(e) = self.policy.set_time_slice_ms(ms) {
                    return Ok(Response::err(format!("{e}")));
                }
                // The same range as PARAMS, so the registry accepts it;
                // `params round_robin` then shows the slice in use.
                if let Some(handle) = &self.handle {
                    handle.report_param("time_slice_ms", &format!("{ms}"))?;
                }
                Ok(Response::ok(format!("time_slice_ms={ms}").into_bytes()))
            }
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try stats, set_time_slice)"
            ))),
        }
    }

    fn on_param_change(&mut self, key: &str, value: &str) -> Result<(), ModuleError> {
        match key {
            "time_slice_ms" => {
                let ms = value
                    .parse::<u64>()
                    .map_err(|_| ModuleError::Failed("time_slice_ms must be a number"))?;
                self.policy
                    .set_time_slice_ms(ms)
                    .map_err(|_| ModuleError::Failed("time_slice_ms out of range"))
            }
            _ => Ok(()),
        }
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        Some(self.policy.time_slice_ms().to_le_bytes().to_vec())
    }

    fn scheduler(&self) -> Option<Arc<dyn Scheduler>> {
        Some(self.policy.clone())
    }
}
