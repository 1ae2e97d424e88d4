//! The `__name__` module: counts Tick events and answers requests.
//!
//! A v2 module subscribed to Tick events only (the registry never calls it
//! for the other kinds). It counts the ticks it handles and keeps the
//! timestamp of the latest one. Requests:
//!
//! - `ping`: answers `pong`;
//! - `stats`: answers `ticks=N last_tick_ns=T`.
//!
//! Any other request gets an error response that names these two.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::format;
use helix_modules::ModuleError;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};

/// The module's name: what `lsmod` shows and requests are addressed to.
pub const NAME: &str = "__name__";

/// The `__name__` module.
#[derive(Debug, Default)]
pub struct __Type__ {
    ticks: u64,
    last_tick_ns: u64,
}

impl __Type__ {
    /// A module that has seen no tick yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Tick events handled so far.
    pub fn ticks(&self) -> u64 {
        self.ticks
    }

    /// The answer to `stats`.
    pub fn stats(&self) -> alloc::string::String {
        format!("ticks={} last_tick_ns={}", self.ticks, self.last_tick_ns)
    }
}

impl ModuleTrait for __Type__ {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(NAME)
            .version(0, 1, 0)
            .description("Counts Tick events; answers ping and stats")
            .license("MIT OR Apache-2.0")
            .provides(&[NAME])
            .events(EventKinds::TICK)
    }

    fn init(&mut self, _ctx: &Context) -> Result<(), ModuleError> {
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
                self.ticks += 1;
                self.last_tick_ns = *timestamp_ns;
                EventResponse::Handled
            }
            _ => EventResponse::Ignored,
        }
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "ping" => Ok(Response::ok(b"pong".to_vec())),
            "stats" => Ok(Response::ok(self.stats().into_bytes())),
            other => Ok(Response::err(format!(
                "unknown request '{other}' (try ping, stats)"
            ))),
        }
    }
}
