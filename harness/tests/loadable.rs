//! End to end: module binaries built with `scripts/build-module`, packed in
//! the initrd, inserted, used, upgraded and removed from the console of a
//! running kernel, and refused (by value, the kernel going on) when they
//! are tampered with, unsigned, built for another ABI or truncated.
//!
//! The built-in `event_log` is blacklisted so the loadable one can take
//! its name.

use harness::console::Console;
use helix_loader::cpio::Writer;
use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

/// Builds a module binary with `scripts/build-module` and returns its bytes.
fn build(args: &[&str]) -> Vec<u8> {
    let root = harness::workspace_root();
    let out = Command::new(root.join("scripts/build-module"))
        .args(args)
        .current_dir(root)
        .output()
        .expect("cannot run scripts/build-module");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "build-module {args:?} failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = stdout.lines().last().expect("build-module printed nothing");
    std::fs::read(root.join(path)).expect("cannot read the built module")
}

/// The binaries every test here boots with, built once.
struct Binaries {
    v1_0: Vec<u8>,
    v1_1: Vec<u8>,
    unsigned: Vec<u8>,
}

fn binaries() -> &'static Binaries {
    static B: OnceLock<Binaries> = OnceLock::new();
    B.get_or_init(|| {
        // One build at a time: they share target/modules.
        let _lock = harness::kernel_cargo(&[]).1;
        Binaries {
            v1_0: build(&["event_log"]),
            v1_1: build(&["event_log", "--features", "next"]),
            unsigned: build(&["event_log", "--unsigned"]),
        }
    })
}

/// An initrd holding `files` under `modules/`, written to a file of its own.
fn initrd(name: &str, files: &[(&str, &[u8])]) -> PathBuf {
    let mut w = Writer::new();
    w.add_dir("modules", 0o755).unwrap();
    for (n, bytes) in files {
        w.add_file(&format!("modules/{n}"), 0o644, bytes).unwrap();
    }
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, w.finish()).unwrap();
    path
}

fn boot(initrd: &PathBuf) -> Console {
    Console::boot_with_env(
        1,
        "module_blacklist=event_log",
        &[("HELIX_INITRD", initrd.to_str().unwrap())],
    )
}

#[test]
fn a_module_is_inserted_used_upgraded_and_removed() {
    let b = binaries();
    let path = initrd(
        "loadable-cycle.cpio",
        &[("event_log.hxm", &b.v1_0), ("event_log-next.hxm", &b.v1_1)],
    );
    let mut c = boot(&path);
    let out = c.command("insmod event_log");
    assert_eq!(out, "inserted event_log 1.0.0", "{}", c.output());
    let lsmod = c.command("lsmod");
    let row = lsmod.lines().find(|l| l.starts_with("event_log ")).unwrap();
    assert!(row.contains(" loaded:") && row.contains(" running "), "{lsmod}");
    let counts = c.command("request event_log counts");
    assert!(counts.contains("ticks="), "{counts}");
    let out = c.command("request event_log version");
    assert!(out.contains("unknown request"), "{out}");
    let out = c.command("upgrade event_log event_log-next");
    assert_eq!(out, "upgraded event_log 1.0.0 -> 1.1.0", "{}", c.output());
    let out = c.command("request event_log version");
    assert_eq!(out, "event_log 1.1.0");
    let info = c.command("modinfo event_log");
    assert!(info.contains("origin:      loaded from modules/event_log-next.hxm"), "{info}");
    let out = c.command("rmmod event_log");
    assert_eq!(out, "removed event_log");
    let out = c.command("request event_log counts");
    assert!(out.starts_with("error:"), "{out}");
}
