//! End to end: boot the kernel with 4 CPUs, type commands on its serial
//! console, and check the answers, down to a clean shutdown; the console
//! refuses to stop itself or what it needs, and cascades on request.

use harness::console::Console;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

fn row<'a>(table: &'a str, module: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.split_whitespace().next() == Some(module))
        .unwrap_or_else(|| panic!("no {module} row in:\n{table}"))
}

#[test]
fn console_session_from_boot_to_shutdown() {
    let mut c = Console::boot(4, "");

    // Every module is running.
    let lsmod = c.command("lsmod");
    // A driver's PCI devices are listed under its row.
    assert!(lsmod.contains("\n  devices: 00:01.0 1af4:1005"), "{lsmod}");
    for m in [
        "round_robin",
        "cmos_rtc",
        "serial_console",
        "event_log",
        "uptime",
        "shell",
        "initrd_fs",
        "module_sig",
    ] {
        assert!(
            row(&lsmod, m).contains(" running "),
            "{m} not running:\n{lsmod}"
        );
    }

    // Both API generations side by side.
    assert!(row(&lsmod, "uptime").contains(" v1 "), "{lsmod}");
    assert!(row(&lsmod, "round_robin").contains(" v2 "), "{lsmod}");
    // The initrd filesystem provides `fs`, with or without an initrd.
    assert!(
        row(&lsmod, "initrd_fs").contains(" FILESYSTEM ")
            && row(&lsmod, "initrd_fs").contains(" fs "),
        "{lsmod}"
    );

    // Flags read as names joined by ` | `, in lsmod and modinfo alike;
    // modinfo shows the module's own description, author and licence.
    assert!(
        row(&lsmod, "round_robin").contains(" ESSENTIAL | SCHEDULER "),
        "{lsmod}"
    );
    let info = c.command("modinfo round_robin");
    assert!(
        info.contains("flags:       ESSENTIAL | SCHEDULER"),
        "{info}"
    );
    assert!(!info.contains("ModuleFlags("), "{info}");
    assert!(
        info.contains("description: Round-robin scheduler: per-CPU FIFO run queues"),
        "{info}"
    );
    assert!(info.contains("author:      Helix developers"), "{info}");
    assert!(info.contains("license:     MIT OR Apache-2.0"), "{info}");
    assert!(info.contains("param:       time_slice_ms=10"), "{info}");
    assert!(info.contains("provides:    scheduler"), "{info}");

    // One request vocabulary: every shipped module answers `stats`
    // (round_robin keeps `get_stats` as an alias).
    for m in [
        "round_robin",
        "cmos_rtc",
        "serial_console",
        "event_log",
        "uptime",
        "shell",
        "initrd_fs",
        "module_sig",
    ] {
        let stats = c.command(&format!("request {m} stats"));
        assert!(
            !stats.starts_with("error: ") && stats.contains('='),
            "{m} stats: {stats}"
        );
    }
    let stats = c.command("request round_robin stats");
    assert!(
        stats.contains("time_slice_ms=10") && stats.contains("cpu0: online=true"),
        "{stats}"
    );
    assert_eq!(
        c.command("request round_robin get_stats").lines().next(),
        Some("time_slice_ms=10")
    );

    // A value changed over IPC is the value `params` shows.
    assert_eq!(
        c.command("request round_robin set_time_slice 3"),
        "time_slice_ms=3"
    );
    assert_eq!(
        c.command("params round_robin"),
        "round_robin.time_slice_ms=3"
    );
    assert!(
        c.command("request round_robin stats")
            .contains("time_slice_ms=3")
    );
    assert_eq!(
        c.command("set round_robin.time_slice_ms=10"),
        "round_robin.time_slice_ms=10"
    );
    assert!(
        c.command("request round_robin stats")
            .contains("time_slice_ms=10")
    );

    // Boot-only parameters are refused at run time, with the typed error.
    let refused = c.command("set serial_console.irq=3");
    assert!(
        refused.starts_with("error: ")
            && refused.contains("serial_console.irq")
            && refused.contains("read only at boot"),
        "{refused}"
    );
    assert_eq!(
        c.command("params serial_console"),
        "serial_console.port=1016 (boot only)\nserial_console.irq=4 (boot only)"
    );

    // Stop and start a non-essential module; an ESSENTIAL one refuses.
    assert_eq!(c.command("stop cmos_rtc"), "cmos_rtc stopped");
    assert!(row(&c.command("lsmod"), "cmos_rtc").contains(" stopped "));
    assert_eq!(c.command("start cmos_rtc"), "cmos_rtc started");
    let refused = c.command("stop round_robin");
    assert!(
        refused.starts_with("error: ") && refused.contains("essential"),
        "{refused}"
    );
    assert!(row(&c.command("lsmod"), "round_robin").contains(" running "));

    // The console does not stop itself, its input driver (the `console`
    // provider it depends on) or anything it needs, cascade or not.
    let refused = c.command("stop serial_console");
    assert_eq!(
        refused,
        "error: refusing to stop `serial_console`: this console (`shell`) needs it to run"
    );
    let refused = c.command("stop --cascade serial_console");
    assert!(
        refused.starts_with("error: ") && refused.contains("(`shell`)"),
        "{refused}"
    );
    let refused = c.command("stop shell");
    assert!(
        refused.starts_with("error: refusing to stop `shell`: it is this console"),
        "{refused}"
    );
    let refused = c.command("restart shell");
    assert!(
        refused.starts_with("error: refusing to restart `shell`"),
        "{refused}"
    );
    // No shipped module runs on cmos_rtc, so a cascade stops it alone and
    // says so; an ESSENTIAL module is refused with or without cascade.
    assert_eq!(c.command("stop --cascade cmos_rtc"), "stopped cmos_rtc");
    assert!(row(&c.command("lsmod"), "cmos_rtc").contains(" stopped "));
    assert_eq!(c.command("start cmos_rtc"), "cmos_rtc started");
    assert_eq!(c.command("restart cmos_rtc"), "cmos_rtc restarted");
    let refused = c.command("stop --cascade round_robin");
    assert!(
        refused.starts_with("error: ") && refused.contains("essential"),
        "{refused}"
    );
    assert!(
        c.command("stop --frobnicate cmos_rtc")
            .contains("usage: stop NAME | stop --cascade NAME")
    );
    // After all that the console still answers, with everything it needs.
    let lsmod = c.command("lsmod");
    for m in ["shell", "serial_console", "cmos_rtc", "round_robin"] {
        assert!(row(&lsmod, m).contains(" running "), "{m}:\n{lsmod}");
    }
    assert!(c.command("help").contains("stop --cascade NAME"));

    // A driver answers with real data: the RTC is within a minute of us.
    let rtc: i64 = c
        .command("request cmos_rtc get_unix")
        .trim()
        .parse()
        .expect("seconds");
    let host = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((rtc - host).abs() <= 60, "RTC {rtc} vs host {host}");

    // CPU hotplug from the console reaches the modules as events.
    let before = c.command("request event_log counts");
    assert!(before.contains("cpu_online=3 cpu_offline=0"), "{before}");
    assert_eq!(c.command("cpu offline 2"), "CPU 2 offline");
    assert!(
        c.command("cpus")
            .lines()
            .any(|l| l.trim_start().starts_with("2 offline"))
    );
    assert_eq!(c.command("cpu online 2"), "CPU 2 online");
    let after = c.command("request event_log counts");
    assert!(after.contains("cpu_online=4 cpu_offline=1"), "{after}");
    assert!(c.command("cpu offline 0").contains("boot CPU"));

    // Hot reload: the replacement instance takes the counters over; a
    // module without HOT_RELOADABLE refuses.
    let before = c.command("request event_log counts");
    assert_eq!(c.command("reload event_log"), "event_log reloaded");
    let after = c.command("request event_log counts");
    let field = |text: &str, key: &str| -> u64 {
        text.split_whitespace()
            .find_map(|kv| kv.strip_prefix(key)?.strip_prefix('=')?.parse().ok())
            .unwrap_or_else(|| panic!("no {key} in {text:?}"))
    };
    assert!(
        field(&after, "ticks") >= field(&before, "ticks"),
        "{before} -> {after}"
    );
    assert_eq!(field(&after, "cpu_offline"), 1, "{after}");
    let refused = c.command("reload cmos_rtc");
    assert!(
        refused.starts_with("error: ") && refused.contains("reload"),
        "{refused}"
    );

    // Counters are live.
    let metrics = c.command("metrics");
    let handled = metrics
        .lines()
        .find(|l| {
            l.starts_with("helix_module_events_total{module=\"event_log\",outcome=\"handled\"}")
        })
        .unwrap_or_else(|| panic!("no event_log counter:\n{metrics}"));
    let value: u64 = handled.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value > 0, "{handled}");

    // Privileged operations were audited.
    let audit = c.command("audit");
    assert!(
        audit.contains("stop") && audit.contains("cmos_rtc"),
        "{audit}"
    );

    // Shutdown sends Shutdown, stops modules in reverse dependency order,
    // and QEMU exits cleanly.
    c.send(b"shutdown\r");
    let (status, out) = c.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "shutdown did not exit cleanly:\n{out}");
    let pos = |m: &str| {
        out.find(&format!("stopped module {m}"))
            .unwrap_or_else(|| panic!("{m} not stopped:\n{out}"))
    };
    assert!(
        pos("shell") < pos("serial_console"),
        "the console stopped after its driver:\n{out}"
    );
    assert!(pos("serial_console") < pos("round_robin") && pos("cmos_rtc") < pos("round_robin"));
    assert!(out.contains("powering off"));
}

#[test]
fn nothing_typed_can_crash_or_hang_the_console() {
    // With a bad value on the command line event_log fails its init; the
    // rest boots and modinfo still tells everything about it.
    let mut c = Console::boot(1, "event_log.capacity=0");
    // The supervisor retries it a few times, then holds it (and logs that
    // once): wait for that, so no log line lands in the answers below.
    let mut info = String::new();
    for _ in 0..100 {
        info = c.command("modinfo event_log");
        if info.contains("(held by the supervisor)") {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    c.command("health");
    for expected in [
        "state:       failed",
        "version:     1.0.0",
        "flags:       HOT_RELOADABLE",
        "description: Counts and records",
        "author:      Helix developers",
        "license:     MIT OR Apache-2.0",
        "last error:  module `event_log` failed to init: invalid value for `event_log.capacity`",
        "params:      error: invalid value for `event_log.capacity`: `0` is outside 1..=1024",
        "requests:    0 served",
    ] {
        assert!(info.contains(expected), "no {expected:?} in:\n{info}");
    }
    assert_eq!(c.command(""), "");
    assert!(
        c.command("frobnicate now")
            .contains("unknown command 'frobnicate'")
    );
    assert!(c.command("stop").contains("usage: stop NAME"));
    assert!(c.command("stop no_such_module").starts_with("error: "));
    assert!(c.command("request").contains("usage: request"));
    assert!(c.command("cpu offline banana").contains("not a CPU number"));
    assert!(
        c.command("set round_robin.time_slice_ms=0")
            .starts_with("error: ")
    );
    // Binary bytes and escape sequences are ignored, backspace edits.
    c.send(&[0x00, 0x01, 0xff, 0x1b, b'[', b'A', 0xfe]);
    assert!(
        c.command("helpx\x08").contains("commands:"),
        "backspace editing failed"
    );
    let help = c.command("hel\x7flp");
    assert!(
        help.contains("commands:"),
        "backspace editing failed:\n{help}"
    );
    // An overlong line is refused whole.
    let long = "x".repeat(300);
    c.send(long.as_bytes());
    c.send(b"\r");
    c.expect("line longer than 256 characters ignored");
    // And the console still works.
    assert!(c.command("help").contains("shutdown"));
    // lspci: what QEMU's q35 really has, plus the runner's virtio-rng,
    // each with the module holding it (`-`: none), its BARs and MSI-X.
    let lspci = c.command("lspci");
    let heads: Vec<&str> = lspci.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(
        heads,
        [
            "5 PCI functions through ECAM at 0xb0000000 (buses 0-255)",
            "00:00.0 8086:29c0 host bridge (06.00.00) rev 00",
            "00:01.0 1af4:1005 unclassified device (00.ff.00) rev 00",
            "00:1f.0 8086:2918 ISA bridge (06.01.00) rev 02",
            "00:1f.2 8086:2922 SATA controller (01.06.01) rev 02",
            "00:1f.3 8086:2930 SMBus (0c.05.00) rev 02",
        ],
        "{lspci}"
    );
    let drivers = lspci
        .lines()
        .filter(|l| l.starts_with("  driver: "))
        .count();
    assert_eq!(drivers, 5, "{lspci}");
    for line in [
        "  BAR0 io 0xc040 size 32 bytes",
        "  BAR1 mem32 0xfebfe000 size 4 KiB",
        "  BAR4 mem64 0xfebf8000 size 16 KiB prefetchable",
        "  MSI-X 2 vectors (table BAR1+0x0, PBA BAR1+0x800)",
        "  virtio: pci-cfg@BAR0+0x0 notify@BAR4+0x3000 device@BAR4+0x2000 isr@BAR4+0x1000 common@BAR4+0x0",
        "  BAR4 io 0x700 size 64 bytes",
        "  MSI 1 vector, 64-bit",
    ] {
        assert!(
            lspci.lines().any(|l| l.starts_with(line)),
            "no {line:?} in:\n{lspci}"
        );
    }
    let threads = c.command("threads");
    assert!(threads.contains("events"), "{threads}");
    // Every column starts where its heading does, whatever the names:
    // lines are as long as the heading, and each column's text starts
    // after a space at its heading's place (counted from the line's end,
    // which the last, right-aligned column pins).
    let header = threads.lines().next().expect("a heading");
    for heading in ["STATE", "OWNER"] {
        let from_end = header.len() - header.find(heading).expect(heading);
        for line in threads.lines().skip(1) {
            let at = line.len() - from_end;
            let bytes = line.as_bytes();
            assert!(
                bytes[at - 1] == b' ' && bytes[at] != b' ',
                "{heading} column misaligned in:\n{threads}"
            );
        }
    }
}

#[test]
fn faults_in_a_module_are_contained_and_shutdown_still_powers_off() {
    // `crashtest` faults on request; every fault must end that request
    // only: the console answers the next command, the module is Failed with
    // the reason, the supervisor brings it back, and shutdown is clean.
    let mut c = Console::boot(
        2,
        "crashtest.enable budget.request_ms=200 supervisor.max_restarts=20",
    );
    assert_eq!(c.command("request crashtest ping").trim(), "pong");
    for (how, expect) in [
        (
            "panic",
            "faulted in handle_request: panic: crashtest panics on purpose",
        ),
        (
            "null",
            "faulted in handle_request: CPU exception #PF page fault",
        ),
        ("gp", "faulted in handle_request: CPU exception #GP"),
        ("ud", "faulted in handle_request: CPU exception #UD"),
        ("divide", "faulted in handle_request: CPU exception #DE"),
        ("overflow", "kernel stack overflow"),
        (
            "loop",
            "faulted in handle_request: time budget exhausted: stopped after its 200 ms budget",
        ),
        ("oom", "faulted in handle_request: out of memory"),
    ] {
        let answer = c.command(&format!("request crashtest {how}"));
        assert!(answer.contains(expect), "{how}: {answer}");
        // The console is still here, and so is everything else.
        let lsmod = c.command("lsmod");
        assert!(row(&lsmod, "round_robin").contains(" running "), "{lsmod}");
        let info = c.command("modinfo crashtest");
        assert!(info.contains("faults:"), "{info}");
        // The supervisor restarts it (within its back-off).
        let mut back = false;
        for _ in 0..100 {
            if c.command("request crashtest ping").trim() == "pong" {
                back = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        assert!(
            back,
            "{how}: crashtest was not restarted:\n{}",
            c.command("lsmod")
        );
    }
    let metrics = c.command("metrics");
    assert!(
        metrics.contains("helix_module_faults_total{module=\"crashtest\"} 8"),
        "{metrics}"
    );
    assert!(metrics.contains("helix_module_memory_bytes{module=\"crashtest\"}"));
    c.send(b"shutdown\r");
    let (status, out) = c.wait_exit(Duration::from_secs(30));
    assert!(status.success(), "shutdown after faults:\n{out}");
    assert!(out.contains("powering off"), "{out}");
}
