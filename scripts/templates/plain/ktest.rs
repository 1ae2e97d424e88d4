//! `__name__` in the running kernel: loaded at boot, it counts the real
//! Tick events of the events thread and answers requests over IPC.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use kernel::{ktest, thread};

kernel::test_kernel!();

fn up() -> &'static Registry {
    kernel::bring_up::run().expect("modules and threads")
}

fn ask(r: &Registry, kind: &str) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "__name__",
            Request::new("test", kind, alloc::vec![]),
        )
        .map_err(|e| alloc::format!("{e}"))?;
    match resp.error {
        None => Ok(String::from_utf8_lossy(&resp.payload).into_owned()),
        Some(e) => Err(e.into_owned()),
    }
}

/// The `ticks=N` field of `stats`.
fn ticks(r: &Registry) -> u64 {
    let stats = ask(r, "stats").expect("stats");
    stats
        .split(' ')
        .find_map(|f| f.strip_prefix("ticks="))
        .and_then(|n| n.parse().ok())
        .expect("a ticks= field")
}

ktest!(
    fn is_running_and_listed() {
        let r = up();
        assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
        let table = kernel::modules::format_table(r);
        assert!(
            table
                .lines()
                .any(|l| l.starts_with("__name__ ") && l.contains(" running ")),
            "{table}"
        );
    }
);

ktest!(
    fn counts_real_ticks() {
        let r = up();
        let before = ticks(r);
        thread::sleep_ms(500);
        let after = ticks(r);
        assert!(after > before, "ticks did not advance: {before} -> {after}");
    }
);

ktest!(
    fn answers_requests() {
        let r = up();
        assert_eq!(ask(r, "ping").unwrap(), "pong");
        assert!(ask(r, "reboot").unwrap_err().contains("unknown request"));
    }
);
