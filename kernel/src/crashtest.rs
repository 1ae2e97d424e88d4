//! `crashtest`: a module that faults on purpose, to see containment work
//! in a running kernel (as Linux's lkdtm does). It is loaded only when the
//! command line says `crashtest.enable`, so ordinary boots never carry it.
//!
//! - `crashtest.fault_at=init|start` makes that lifecycle step fault at
//!   boot (`crashtest.how=` picks the fault, default `panic`);
//! - `crashtest.essential` flags it ESSENTIAL, to show that an essential
//!   module's fault stops the boot with a report;
//! - requests `panic`, `null`, `gp`, `ud`, `divide`, `overflow`, `loop`,
//!   `oom` fault in the request handler; `ping` answers `pong`.
//!
//! Every fault is contained: the module goes Failed with the report, the
//! caller gets the error, and the supervisor restarts it.

use crate::arch::x86_64::provoke;
use alloc::vec::Vec;
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{ModuleError, ModuleFlags, ParamSpec};

/// The module's name.
pub const NAME: &str = "crashtest";

/// Its parameters. Whether it is loaded at all (`crashtest.enable`) and
/// whether it is ESSENTIAL (`crashtest.essential`) are command-line flags
/// the kernel reads when it registers modules, not parameters.
const PARAMS: [ParamSpec; 2] = [
    ParamSpec::new("fault_at", "none")
        .one_of(&["none", "init", "start"])
        .boot_only()
        .describe("a lifecycle step that faults"),
    ParamSpec::new("how", "panic")
        .one_of(&[
            "panic", "null", "gp", "ud", "divide", "overflow", "loop", "oom",
        ])
        .boot_only()
        .describe("the fault fault_at makes"),
];

/// The fault-on-purpose module.
#[derive(Default)]
pub struct CrashTest {
    /// The fault `fault_at` makes.
    how: &'static str,
    /// The lifecycle step that faults (`none`, `init`, `start`).
    fault_at: &'static str,
}

/// Makes the fault called `how`; `false` if there is no such fault.
fn fault(how: &str) -> bool {
    match how {
        "panic" => panic!("crashtest panics on purpose"),
        "null" => {
            core::hint::black_box(provoke::null_read());
        }
        "gp" => {
            core::hint::black_box(provoke::general_protection());
        }
        "ud" => provoke::invalid_opcode(),
        "divide" => {
            core::hint::black_box(provoke::divide_error());
        }
        "overflow" => {
            core::hint::black_box(provoke::overflow_stack(0));
        }
        "loop" => loop {
            core::hint::spin_loop();
        },
        "oom" => {
            let v: Vec<u8> = Vec::with_capacity(core::hint::black_box(usize::MAX / 4));
            core::hint::black_box(&v);
        }
        _ => return false,
    }
    true
}

impl CrashTest {
    fn step(&self, step: &str) {
        if self.fault_at == step {
            fault(self.how);
        }
    }
}

impl ModuleTrait for CrashTest {
    fn info(&self) -> ModuleInfo {
        let flags = if crate::bootinfo::cmdline().flag("crashtest.essential") {
            ModuleFlags::ESSENTIAL
        } else {
            ModuleFlags::empty()
        };
        ModuleInfo::new(NAME)
            .version(1, 0, 0)
            .description("Faults on purpose (requests, or a boot step) to show containment")
            .license("MIT OR Apache-2.0")
            .flags(flags)
            .provides(&[NAME])
            .events(helix_modules::v2::EventKinds::empty())
            .params(&PARAMS)
    }

    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.how = match ctx.config_or("how", "panic") {
            "null" => "null",
            "gp" => "gp",
            "ud" => "ud",
            "divide" => "divide",
            "overflow" => "overflow",
            "loop" => "loop",
            "oom" => "oom",
            _ => "panic",
        };
        self.fault_at = match ctx.config_or("fault_at", "none") {
            "init" => "init",
            "start" => "start",
            _ => "none",
        };
        self.step("init");
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        self.step("start");
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        match request.request_type.as_str() {
            "ping" => Ok(Response::ok(b"pong".to_vec())),
            how if fault(how) => Ok(Response::ok(b"survived".to_vec())),
            other => Ok(Response::err(alloc::format!(
                "unknown request '{other}' (try ping, panic, null, gp, ud, divide, overflow, loop, oom)"
            ))),
        }
    }
}
