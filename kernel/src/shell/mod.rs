//! The interactive console, itself a module (`shell`).
//!
//! It depends on the `"console"` capability (the serial console driver)
//! for input and prints through the kernel's serial output. When started
//! it runs a kernel thread, owned by the module, that reads input through
//! IPC, edits lines ([`mod@line`]) and runs commands ([`commands`]); between
//! bursts of input it sleeps until an interrupt arrives, so an idle
//! console costs nothing. Stopping the module ends the thread. Like every
//! shipped module it answers the `stats` request (`commands=N errors=N`:
//! lines run, and how many of them were answered with an error).

pub mod commands;
pub mod files;
pub mod line;
mod loading;
mod pci;
mod reports;

use crate::{hw, kprint, thread};
use alloc::format;
use alloc::sync::Arc;
use commands::After;
use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::v2::{Context, EventKinds, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, ModuleHandle, Permissions};
use line::{Input, LineEditor};

/// The prompt printed before every command.
pub const PROMPT: &str = "helix> ";

/// The console module's name.
pub const NAME: &str = "shell";

/// What the console thread counts, for the `stats` request.
#[derive(Default)]
struct Counters {
    commands: AtomicU64,
    errors: AtomicU64,
}

/// The console module.
#[derive(Default)]
pub struct Shell {
    handle: Option<(ModuleHandle, Caller)>,
    counters: Arc<Counters>,
}

impl Shell {
    /// A console that has not started yet.
    pub fn new() -> Self {
        Self::default()
    }
}

impl ModuleTrait for Shell {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(NAME)
            .version(1, 0, 0)
            .description("Interactive console on the serial port")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .dependencies(&["console"])
            .provides(&["shell"])
            .events(EventKinds::empty())
            .permissions(Permissions::all())
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        let handle = ctx.handle();
        let caller = handle.caller();
        self.handle = Some((handle, caller));
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        let (handle, caller) = self
            .handle
            .clone()
            .ok_or(ModuleError::Failed("not initialised"))?;
        let counters = self.counters.clone();
        thread::Builder::new("shell")
            .owner("shell")
            .stack_pages(16)
            .spawn(move || run(handle, caller, &counters))
            .map_err(|_| ModuleError::Failed("cannot start the console thread"))?;
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "stats" => Ok(Response::ok(
                format!(
                    "commands={} errors={}",
                    self.counters.commands.load(Ordering::Relaxed),
                    self.counters.errors.load(Ordering::Relaxed)
                )
                .into_bytes(),
            )),
            other => Ok(Response::err(format!(
                "unknown request '{}' (try stats)",
                other.escape_debug()
            ))),
        }
    }
}

fn run(handle: ModuleHandle, caller: Caller, counters: &Counters) {
    let Some(registry) = crate::modules::registry() else {
        return;
    };
    let mut editor = LineEditor::new();
    crate::modules::wait_for_boot();
    kprint!("\n{PROMPT}");
    loop {
        let seen = hw::irq_activity();
        let input = match handle.request("console", Request::new("shell", "read", alloc::vec![])) {
            Ok(resp) if resp.is_ok() => resp.payload,
            // No console driver running: look again later.
            _ => {
                thread::sleep_ms(100);
                continue;
            }
        };
        if input.is_empty() {
            hw::wait_for_irq_activity(seen);
            continue;
        }
        for byte in input {
            match editor.feed(byte) {
                Input::Nothing => {}
                Input::Echo(bytes) => kprint!("{}", core::str::from_utf8(bytes).unwrap_or("")),
                Input::EchoChar(c) => kprint!("{}", char::from(c)),
                Input::Overflow => kprint!(
                    "\nerror: line longer than {} characters ignored\n{PROMPT}",
                    line::MAX_LINE
                ),
                Input::Line(text) => {
                    kprint!("\n");
                    let (out, after) = commands::execute(&text, registry, caller, &handle);
                    if !text.trim().is_empty() {
                        counters.commands.fetch_add(1, Ordering::Relaxed);
                    }
                    if out.starts_with("error: ") {
                        counters.errors.fetch_add(1, Ordering::Relaxed);
                    }
                    if !out.is_empty() {
                        kprint!("{out}\n");
                    }
                    if after == After::Shutdown {
                        // The shutdown stops this module, which ends this
                        // thread: run it on a thread of its own.
                        let _ = thread::spawn("shutdown", || crate::shutdown());
                        return;
                    }
                    kprint!("{PROMPT}");
                }
            }
        }
    }
}
