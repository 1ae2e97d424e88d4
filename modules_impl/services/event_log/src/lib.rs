//! The event log: what the system told its modules, for people and tests.
//!
//! A v2 module subscribed to every event kind. It counts each kind
//! (hotplug split by direction, memory pressure by level) and keeps the
//! last `capacity` non-Tick events in a ring, stamped with the time of the
//! latest Tick. Requests:
//!
//! - `counts`: one `key=value` line (`ticks=… cpu_online=… cpu_offline=…
//!   pressure_low=… pressure_medium=… pressure_critical=… custom=…
//!   shutdown=…`);
//! - `recent`: the ring, oldest first, one event per line;
//! - `stats`: the `counts` line followed by `recent=… capacity=…` (how many
//!   events the ring holds, and how many it keeps).
//!
//! Parameter `capacity` (1..=1024, default 32) is read at `init` only, so it
//! is boot-only: `event_log.capacity=64` on the kernel command line.
//!
//! It is HOT_RELOADABLE: a replacement instance takes over the counters
//! and the time of the last tick (`save_state` / `restore_state`), so
//! `reload event_log` on the console keeps the counts.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::collections::VecDeque;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, PressureLevel, Request,
    Response,
};
use helix_modules::{ModuleError, ModuleFlags, ParamSpec};

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("capacity", "32")
    .range(1, 1024)
    .boot_only()
    .describe("how many recent events the log keeps")];

/// Per-kind event counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Tick events.
    pub ticks: u64,
    /// CPUs that came online.
    pub cpu_online: u64,
    /// CPUs that went offline.
    pub cpu_offline: u64,
    /// MemoryPressure by level: low, medium, critical.
    pub pressure: [u64; 3],
    /// Custom events.
    pub custom: u64,
    /// Shutdown events.
    pub shutdown: u64,
}

/// The event log module.
#[derive(Debug)]
pub struct EventLog {
    counts: Counts,
    recent: VecDeque<String>,
    capacity: usize,
    last_tick_ns: u64,
}

impl Default for EventLog {
    fn default() -> Self {
        Self::new()
    }
}

/// Size of the saved state: nine little-endian `u64`s.
const STATE_LEN: usize = 9 * 8;

impl EventLog {
    /// An empty log with the default capacity.
    pub fn new() -> Self {
        Self {
            counts: Counts::default(),
            recent: VecDeque::new(),
            capacity: 32,
            last_tick_ns: 0,
        }
    }

    /// The counters so far.
    pub fn counts(&self) -> Counts {
        self.counts
    }

    fn remember(&mut self, text: String) {
        while self.recent.len() >= self.capacity {
            self.recent.pop_front();
        }
        let secs = self.last_tick_ns / 1_000_000_000;
        let millis = (self.last_tick_ns / 1_000_000) % 1000;
        self.recent
            .push_back(format!("[{secs}.{millis:03}] {text}"));
    }
}

/// Whether this is version 1.1 (the `next` feature), which adds the
/// `version` request.
const NEXT: bool = cfg!(feature = "next");

impl ModuleTrait for EventLog {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("event_log")
            .version(1, if NEXT { 1 } else { 0 }, 0)
            .description("Counts and records the system events modules receive")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::HOT_RELOADABLE.union(ModuleFlags::PERSISTENT))
            .provides(&["event_log"])
            .events(EventKinds::all())
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        if cfg!(feature = "faulty-init") {
            panic!("event_log built with faulty-init");
        }
        self.capacity = ctx.config_usize("capacity").unwrap_or(32).max(1);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::Tick { timestamp_ns } => {
                self.counts.ticks += 1;
                self.last_tick_ns = *timestamp_ns;
            }
            Event::CpuHotplug { cpu_id, online } => {
                if *online {
                    self.counts.cpu_online += 1;
                } else {
                    self.counts.cpu_offline += 1;
                }
                self.remember(format!(
                    "cpu {cpu_id} {}",
                    if *online { "online" } else { "offline" }
                ));
            }
            Event::MemoryPressure { level } => {
                let i = match level {
                    PressureLevel::Low => 0,
                    PressureLevel::Medium => 1,
                    PressureLevel::Critical => 2,
                };
                self.counts.pressure[i] += 1;
                self.remember(format!("memory pressure {level:?}"));
            }
            Event::Custom { name, data } => {
                self.counts.custom += 1;
                self.remember(format!("custom {name} ({} bytes)", data.len()));
            }
            Event::Shutdown => {
                self.counts.shutdown += 1;
                self.remember(String::from("shutdown"));
            }
        }
        EventResponse::Handled
    }

    fn save_state(&self) -> Option<Vec<u8>> {
        let c = &self.counts;
        let words = [
            c.ticks,
            c.cpu_online,
            c.cpu_offline,
            c.pressure[0],
            c.pressure[1],
            c.pressure[2],
            c.custom,
            c.shutdown,
            self.last_tick_ns,
        ];
        Some(words.iter().flat_map(|w| w.to_le_bytes()).collect())
    }

    fn restore_state(&mut self, state: &[u8]) -> Result<(), ModuleError> {
        if cfg!(feature = "faulty-restore") {
            return Err(ModuleError::Failed("event_log built with faulty-restore"));
        }
        if state.len() != STATE_LEN {
            return Err(ModuleError::Failed("event_log state must be 72 bytes"));
        }
        let mut words = state.chunks_exact(8).map(|b| {
            let mut w = [0u8; 8];
            w.copy_from_slice(b);
            u64::from_le_bytes(w)
        });
        let mut next = || words.next().unwrap_or(0);
        self.counts = Counts {
            ticks: next(),
            cpu_online: next(),
            cpu_offline: next(),
            pressure: [next(), next(), next()],
            custom: next(),
            shutdown: next(),
        };
        self.last_tick_ns = next();
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        let c = &self.counts;
        let counts = format!(
            "ticks={} cpu_online={} cpu_offline={} pressure_low={} pressure_medium={} pressure_critical={} custom={} shutdown={}",
            c.ticks,
            c.cpu_online,
            c.cpu_offline,
            c.pressure[0],
            c.pressure[1],
            c.pressure[2],
            c.custom,
            c.shutdown
        );
        match request.request_type.as_str() {
            "counts" => Ok(Response::ok(counts.into_bytes())),
            "stats" => Ok(Response::ok(
                format!(
                    "{counts} recent={} capacity={}",
                    self.recent.len(),
                    self.capacity
                )
                .into_bytes(),
            )),
            "recent" => Ok(Response::ok(
                self.recent
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("\n")
                    .into_bytes(),
            )),
            // Version 1.1 (feature `next`) answers `version`; 1.0 does not
            // know it: the difference an upgrade makes visible.
            "panic" if cfg!(feature = "faulty-restore") => {
                panic!("event_log asked to panic")
            }
            "version" if NEXT => Ok(Response::ok(b"event_log 1.1.0".to_vec())),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try counts, recent, stats)"
            ))),
        }
    }
}
