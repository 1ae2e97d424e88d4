//! The `uptime` module: how long the kernel has been up, written against
//! the legacy v1 API.
//!
//! [`Uptime`] implements [`Module`] directly: its metadata is an owned,
//! heap-allocated [`ModuleMetadata`] built once in [`Uptime::new`], and
//! events, requests and parameter changes all arrive through
//! [`Module::handle_message`]. The registry stores it as it is, next to the
//! v2 modules it holds through `ModuleAdapter`; `lsmod` lists both alike.
//!
//! It subscribes to Tick only and keeps the latest tick's timestamp (the
//! kernel's monotonic clock, nanoseconds since boot) and the number of
//! ticks. Requests:
//!
//! - `uptime`: answers `up 12.345 s` (`up -` before the first tick);
//! - `stats`: answers `ticks=N last_tick_ns=T`.
//!
//! Any other request gets an error response naming these two.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use helix_modules::v2::{Context, Event, EventKinds, EventResponse, Request, Response, Version};
use helix_modules::{
    Message, Module, ModuleError, ModuleFlags, ModuleMetadata, Permissions, Reply,
};

/// The module's name.
pub const NAME: &str = "uptime";

/// The uptime module (v1 API).
#[derive(Debug)]
pub struct Uptime {
    meta: ModuleMetadata,
    ticks: u64,
    last_tick_ns: Option<u64>,
}

impl Default for Uptime {
    fn default() -> Self {
        Self::new()
    }
}

impl Uptime {
    /// A module that has seen no tick yet.
    pub fn new() -> Self {
        Self {
            meta: ModuleMetadata {
                name: String::from(NAME),
                version: Version::new(1, 0, 0),
                description: String::from("Uptime from Tick timestamps (legacy v1 API)"),
                author: String::from("Helix developers"),
                license: String::from("MIT OR Apache-2.0"),
                flags: ModuleFlags::empty(),
                dependencies: Vec::new(),
                provides: vec![String::from(NAME)],
                events: EventKinds::TICK,
                priority: 0,
                permissions: Permissions::empty(),
                protected_by: Permissions::empty(),
                params: Vec::new(),
            },
            ticks: 0,
            last_tick_ns: None,
        }
    }

    /// The answer to `uptime`: whole seconds and milliseconds since boot
    /// as of the latest tick.
    pub fn uptime(&self) -> String {
        match self.last_tick_ns {
            Some(ns) => format!("up {}.{:03} s", ns / 1_000_000_000, (ns / 1_000_000) % 1000),
            None => String::from("up -"),
        }
    }

    fn answer(&self, request: &Request) -> Response {
        match request.request_type.as_str() {
            "uptime" => Response::ok(self.uptime().into_bytes()),
            "stats" => Response::ok(
                format!(
                    "ticks={} last_tick_ns={}",
                    self.ticks,
                    self.last_tick_ns.unwrap_or(0)
                )
                .into_bytes(),
            ),
            other => Response::err(format!("unknown request '{other}' (try uptime, stats)")),
        }
    }
}

impl Module for Uptime {
    fn metadata(&self) -> ModuleMetadata {
        self.meta.clone()
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

    fn handle_message(&mut self, message: Message<'_>) -> Result<Reply, ModuleError> {
        Ok(match message {
            Message::Event(Event::Tick { timestamp_ns }) => {
                self.ticks += 1;
                self.last_tick_ns = Some(*timestamp_ns);
                Reply::Event(EventResponse::Handled)
            }
            Message::Event(_) => Reply::Event(EventResponse::Ignored),
            Message::Request(request) => Reply::Response(self.answer(request)),
            // No parameters: nothing can change.
            Message::ParamChanged { .. } => Reply::Ack,
        })
    }
}
