//! `__name__` on the emulated machine: the driver runs, owns port 0x80
//! exclusively while it runs, writes POST codes through the kernel's
//! hardware service, and gives the port back when stopped.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use helix_modules::services::hw::{Hardware, HwError};
use helix_modules::v2::Request;
use helix_modules::{Caller, ModuleState, Registry};
use kernel::ktest;

kernel::test_kernel!();

fn up() -> &'static Registry {
    kernel::bring_up::run().expect("modules and threads")
}

fn ask(r: &Registry, kind: &str, payload: &[u8]) -> Result<String, String> {
    let resp = r
        .request(
            Caller::Kernel,
            "__name__",
            Request::new("test", kind, payload.to_vec()),
        )
        .map_err(|e| alloc::format!("{e}"))?;
    match resp.error {
        None => Ok(String::from_utf8_lossy(&resp.payload).into_owned()),
        Some(e) => Err(e.into_owned()),
    }
}

ktest!(
    fn is_running_and_listed() {
        let r = up();
        assert_eq!(r.status("__name__").unwrap().state, ModuleState::Running);
        let table = kernel::modules::format_table(r);
        assert!(
            table.lines().any(|l| l.starts_with("__name__ ")
                && l.contains(" running ")
                && l.contains("DRIVER")),
            "{table}"
        );
    }
);

ktest!(
    fn posts_codes() {
        let r = up();
        assert_eq!(ask(r, "post", b"0x42").unwrap(), "posted 0x42");
        assert!(ask(r, "stats", b"").unwrap().ends_with("last=0x42"));
        assert!(ask(r, "post", b"256").is_err());
    }
);

ktest!(
    fn owns_the_port_only_while_running() {
        let r = up();
        let hw = kernel::hw::hardware();
        assert!(matches!(
            hw.claim_ports("intruder", 0x80, 1),
            Err(HwError::PortsInUse { owner, .. }) if owner == "__name__"
        ));
        r.stop(Caller::Kernel, "__name__").unwrap();
        let port = hw
            .claim_ports("intruder", 0x80, 1)
            .expect("released when the driver stopped");
        drop(port);
        assert_eq!(hw.release_all("intruder"), 1);
        r.start(Caller::Kernel, "__name__")
            .expect("a stopped driver starts again");
        assert_eq!(ask(r, "post", b"1").unwrap(), "posted 0x01");
    }
);
