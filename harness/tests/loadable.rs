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
    faulty_restore: Vec<u8>,
    faulty_init: Vec<u8>,
    wrong_abi: Vec<u8>,
    truncated: Vec<u8>,
    no_note: Vec<u8>,
    rtc: Vec<u8>,
    smbus: Vec<u8>,
}

/// Signs `payload` with the development key (`module-sign`).
fn sign(payload: &[u8]) -> Vec<u8> {
    let root = harness::workspace_root();
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let (input, output) = (dir.join("to-sign.bin"), dir.join("signed.hxm"));
    std::fs::write(&input, payload).unwrap();
    let _ = std::fs::remove_file(&output);
    let out = Command::new(harness::cargo_path())
        .args([
            "run",
            "-q",
            "--locked",
            "-p",
            "module-sign",
            "--",
            "sign",
            "--key",
        ])
        .arg(root.join(".keys/module-signing.key"))
        .args([&input, &output])
        .current_dir(root)
        .output()
        .expect("cannot run module-sign");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read(output).unwrap()
}

fn binaries() -> &'static Binaries {
    static B: OnceLock<Binaries> = OnceLock::new();
    B.get_or_init(|| {
        // One build at a time: they share target/modules.
        let _lock = harness::kernel_cargo(&[]).1;
        let unsigned = build(&["event_log", "--unsigned"]);
        // A binary cut short, but signed as it is: the signature holds and
        // the ELF checks refuse it.
        let truncated = sign(&unsigned[..unsigned.len() * 3 / 5]);
        // A binary whose ABI note has another type: signed, valid ELF, but
        // not stamped for any interface.
        let mut no_note = unsigned.clone();
        let at = no_note
            .windows(9)
            .position(|w| w == b"HXABHelix")
            .expect("the ABI note is in the binary");
        no_note[at + 3] = b'X';
        let no_note = sign(&no_note);
        Binaries {
            v1_0: build(&["event_log"]),
            v1_1: build(&["event_log", "--features", "next"]),
            faulty_restore: build(&["event_log", "--features", "faulty-restore"]),
            faulty_init: build(&["event_log", "--features", "faulty-init"]),
            wrong_abi: build(&["event_log", "--features", "helix-abi/test-wrong-abi"]),
            unsigned,
            truncated,
            no_note,
            rtc: build(&["cmos_rtc"]),
            smbus: build(&["ich9_smbus"]),
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

fn boot(initrd: &std::path::Path) -> Console {
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
    assert!(
        row.contains(" loaded:") && row.contains(" running "),
        "{lsmod}"
    );
    let counts = c.command("request event_log counts");
    assert!(counts.contains("ticks="), "{counts}");
    let out = c.command("request event_log version");
    assert!(out.contains("unknown request"), "{out}");
    let out = c.command("upgrade event_log event_log-next");
    assert_eq!(out, "upgraded event_log 1.0.0 -> 1.1.0", "{}", c.output());
    let out = c.command("request event_log version");
    assert_eq!(out, "event_log 1.1.0");
    let info = c.command("modinfo event_log");
    assert!(
        info.contains("origin:      loaded from modules/event_log-next.hxm"),
        "{info}"
    );
    assert!(info.contains("signer:      signed by helix-dev"), "{info}");
    assert!(info.contains("binary abi:  2.0, layout hash 0x"), "{info}");
    let out = c.command("rmmod event_log");
    assert_eq!(out, "removed event_log");
    let out = c.command("request event_log counts");
    assert!(out.starts_with("error:"), "{out}");

    // Parameters come with insmod, boot-only ones included; a bad one
    // leaves nothing loaded.
    let out = c.command("insmod event_log capacity=0");
    assert!(
        out.starts_with("error: ") && out.contains("capacity"),
        "{out}"
    );
    assert!(!c.command("lsmod").contains("event_log "));
    assert_eq!(
        c.command("insmod event_log capacity=4"),
        "inserted event_log 1.0.0"
    );
    let params = c.command("params event_log");
    assert!(
        params
            .lines()
            .any(|l| l.starts_with("event_log.capacity=4 ")),
        "{params}"
    );
}

/// The `heap use: N bytes` figure of the `mem` command.
fn heap_use(c: &mut Console) -> u64 {
    let mem = c.command("mem");
    mem.lines()
        .find_map(|l| {
            l.strip_prefix("heap use: ")?
                .strip_suffix(" bytes")?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no heap use line in:\n{mem}"))
}

#[test]
fn bad_binaries_are_refused_by_value_and_the_kernel_goes_on() {
    let b = binaries();
    let mut tampered = b.v1_0.clone();
    let middle = tampered.len() / 2;
    tampered[middle] ^= 0x40;
    let path = initrd(
        "loadable-refusals.cpio",
        &[
            ("tampered.hxm", &tampered),
            ("unsigned.hxm", &b.unsigned),
            ("wrong_abi.hxm", &b.wrong_abi),
            ("truncated.hxm", &b.truncated),
            ("no_note.hxm", &b.no_note),
            ("event_log.hxm", &b.v1_0),
        ],
    );
    let mut c = boot(&path);
    let expect = [
        (
            "tampered",
            "does not match: the module was modified after signing",
        ),
        ("unsigned", "not signed"),
        (
            "wrong_abi",
            "built for module ABI 3.x, this kernel speaks 2.x",
        ),
        ("truncated", "not a loadable module binary"),
        ("no_note", "no ABI note"),
        ("missing", "cannot read modules/missing.hxm"),
    ];
    for (file, why) in expect {
        let out = c.command(&format!("insmod {file}"));
        assert!(
            out.starts_with("error: ") && out.contains(why),
            "{file}: {out}"
        );
    }
    // Nothing of them stayed, and a good binary still loads.
    assert!(!c.command("lsmod").contains("event_log"));
    assert_eq!(c.command("insmod event_log"), "inserted event_log 1.0.0");
    // The refusals are in the audit ring.
    let audit = c.command("audit");
    assert!(audit.contains("tampered.hxm"), "{audit}");
}

#[test]
fn failed_upgrades_leave_the_old_version_serving_and_a_panic_is_contained() {
    let b = binaries();
    let path = initrd(
        "loadable-faults.cpio",
        &[
            ("event_log.hxm", &b.v1_0),
            ("restore.hxm", &b.faulty_restore),
            ("init.hxm", &b.faulty_init),
        ],
    );
    let mut c = boot(&path);
    assert_eq!(c.command("insmod event_log"), "inserted event_log 1.0.0");
    let before = c.command("request event_log counts");
    for (file, why) in [
        ("restore", "faulty-restore"),
        (
            "init",
            "faulted in init: panic: event_log built with faulty-init",
        ),
    ] {
        let out = c.command(&format!("upgrade event_log {file}"));
        assert!(
            out.starts_with("error: ") && out.contains(why),
            "{file}: {out}"
        );
        let row = c.command("lsmod");
        assert!(
            row.contains("event_log ") && row.contains(" running "),
            "{row}"
        );
        let now = c.command("request event_log counts");
        assert!(now.starts_with("ticks="), "{now}");
        let info = c.command("modinfo event_log");
        assert!(info.contains("loaded from modules/event_log.hxm"), "{info}");
    }
    assert!(before.starts_with("ticks="));

    // The faulty build as the running module: its panic ends the request,
    // and the supervisor restarts it from its image.
    c.command("rmmod event_log");
    assert_eq!(c.command("insmod restore"), "inserted event_log 1.0.0");
    let out = c.command("request event_log panic");
    assert!(out.contains("event_log asked to panic"), "{out}");
    let mut served = String::new();
    for _ in 0..200 {
        served = c.command("request event_log counts");
        if served.starts_with("ticks=") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert!(
        served.starts_with("ticks="),
        "not restarted: {served}\n{}",
        c.command("modinfo event_log")
    );
}

#[test]
fn a_hundred_insmod_rmmod_cycles_give_all_memory_back() {
    let b = binaries();
    let path = initrd("loadable-cycles.cpio", &[("event_log.hxm", &b.v1_0)]);
    let mut c = boot(&path);
    let frames = |c: &mut Console| {
        let mem = c.command("mem");
        mem.lines()
            .find_map(|l| {
                l.strip_prefix("frames:")?
                    .split_whitespace()
                    .next()?
                    .parse::<u64>()
                    .ok()
            })
            .unwrap()
    };
    // Warm-up cycles first: what the kernel keeps for good on a first load
    // (the module's interned name and parameter texts) is not a leak, and
    // the audit ring (256 entries) fills up to its steady size.
    for _ in 0..60 {
        assert_eq!(c.command("insmod event_log"), "inserted event_log 1.0.0");
        assert_eq!(c.command("rmmod event_log"), "removed event_log");
    }
    let (heap0, frames0) = (heap_use(&mut c), frames(&mut c));
    for i in 0..100 {
        let out = c.command("insmod event_log");
        assert_eq!(out, "inserted event_log 1.0.0", "cycle {i}");
        let out = c.command("rmmod event_log");
        assert_eq!(out, "removed event_log", "cycle {i}");
    }
    let (heap1, frames1) = (heap_use(&mut c), frames(&mut c));
    assert_eq!(heap1, heap0, "heap bytes leaked over 100 cycles");
    // Images and arenas take fresh address space each time (slots are not
    // reused), so the page directory of the gigabyte in use may differ by
    // one; nothing else may stay.
    assert!(
        frames1 + 1 >= frames0,
        "frames leaked over 100 cycles: {frames0} -> {frames1}"
    );
}

#[test]
fn a_loadable_driver_reads_its_device_through_the_kernel() {
    let b = binaries();
    let path = initrd("loadable-driver.cpio", &[("cmos_rtc.hxm", &b.rtc)]);
    let mut c = Console::boot_with_env(
        1,
        "module_blacklist=cmos_rtc",
        &[("HELIX_INITRD", path.to_str().unwrap())],
    );
    assert_eq!(c.command("insmod cmos_rtc"), "inserted cmos_rtc 1.0.0");
    let rtc: u64 = c
        .command("request clock get_unix")
        .trim()
        .parse()
        .expect("seconds since 1970");
    let host = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert!(rtc.abs_diff(host) < 120, "RTC {rtc} vs host {host}");
    // Its port claim went with it: the built-in driver could claim it again.
    assert_eq!(c.command("rmmod cmos_rtc"), "removed cmos_rtc");
    assert_eq!(c.command("insmod cmos_rtc"), "inserted cmos_rtc 1.0.0");
}

#[test]
fn a_loadable_pci_driver_is_bound_to_its_device_and_gives_it_back() {
    let b = binaries();
    let path = initrd("loadable-pci.cpio", &[("ich9_smbus.hxm", &b.smbus)]);
    let mut c = Console::boot_with_env(1, "", &[("HELIX_INITRD", path.to_str().unwrap())]);
    let unbound = c.command("lspci");
    let line = unbound
        .lines()
        .find(|l| l.contains("8086:2930"))
        .unwrap_or_else(|| panic!("no SMBus controller in:\n{unbound}"))
        .to_string();
    assert!(!line.contains("ich9_smbus"), "{line}");
    // The kernel binds the controller by the table in the binary's
    // descriptor, and the driver reaches it through the services.
    assert_eq!(c.command("insmod ich9_smbus"), "inserted ich9_smbus 1.0.0");
    let device = c.command("request smbus device");
    assert!(device.starts_with("00:1f.3 8086:2930 ports 0x"), "{device}");
    assert!(c.command("lspci").contains("ich9_smbus"));
    let lsmod = c.command("lsmod");
    assert!(lsmod.contains("00:1f.3"), "{lsmod}");
    // QEMU's q35 puts eight SPD EEPROMs on the bus.
    assert_eq!(
        c.command("request smbus scan"),
        "0x50 0x51 0x52 0x53 0x54 0x55 0x56 0x57"
    );
    let err = c.command("request smbus read 0x30 0");
    assert!(err.contains("no device answers at 0x30"), "{err}");
    // Removed, it gives the function back; inserted again, it binds again.
    assert_eq!(c.command("rmmod ich9_smbus"), "removed ich9_smbus");
    let after = c.command("lspci");
    assert!(!after.contains("ich9_smbus"), "{after}");
    assert_eq!(c.command("insmod ich9_smbus"), "inserted ich9_smbus 1.0.0");
    assert!(c.command("request smbus device").starts_with("00:1f.3"));
}
