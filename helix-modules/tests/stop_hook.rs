//! The `on_stopped` hook: the kernel learns of every module that stops
//! running, so it can reap what the module started.

use helix_modules::v2::{Context, ModuleInfo, ModuleTrait};
use helix_modules::{Caller, ModuleError, ModuleFlags, Registry};
use std::sync::Mutex;

static STOPPED: Mutex<Vec<String>> = Mutex::new(Vec::new());

fn record(name: &str) {
    STOPPED.lock().unwrap().push(name.to_string());
}

struct M {
    name: &'static str,
    fail_start: bool,
}

impl ModuleTrait for M {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.name)
            .version(1, 0, 0)
            .flags(ModuleFlags::HOT_RELOADABLE)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        if self.fail_start {
            Err(ModuleError::Failed("no"))
        } else {
            Ok(())
        }
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

fn stopped(name: &str) -> usize {
    STOPPED
        .lock()
        .unwrap()
        .iter()
        .filter(|n| n.as_str() == name)
        .count()
}

#[test]
fn stop_failed_start_and_reload_are_reported() {
    let r = Registry::builder().on_stopped(record).build();
    r.register_v2(M {
        name: "hook_a",
        fail_start: false,
    })
    .unwrap();
    r.register_v2(M {
        name: "hook_b",
        fail_start: true,
    })
    .unwrap();
    r.start_all(Caller::Kernel);
    assert_eq!(stopped("hook_b"), 1, "failed start reported");
    assert_eq!(stopped("hook_a"), 0);
    r.stop(Caller::Kernel, "hook_a").unwrap();
    assert_eq!(stopped("hook_a"), 1);
    r.start(Caller::Kernel, "hook_a").unwrap();
    r.reload(
        Caller::Kernel,
        "hook_a",
        Box::new(helix_modules::v2::ModuleAdapter::new(M {
            name: "hook_a",
            fail_start: false,
        })),
    )
    .unwrap();
    assert_eq!(stopped("hook_a"), 2, "the retired instance is reported");
}
