//! Boots the real kernel binary and checks what it prints: the banner, the
//! module table with the round-robin scheduler running, a clean power-off;
//! that a kernel without a scheduler module says so and stops; that a
//! 4 KiB command line is read to its end and a longer one is cut with a
//! warning; and that a bad parameter of an ESSENTIAL module falls back to
//! its default instead of stopping the boot.

use harness::boot_kernel;

#[test]
fn boots_with_round_robin_and_powers_off() {
    let (ok, out) = boot_kernel("helix.poweroff round_robin.time_slice_ms=5", &[]);
    assert!(ok, "kernel did not power off cleanly:\n{out}");
    assert!(out.contains("Helix 0.1.0 (x86_64) booting"), "{out}");
    assert!(out.contains("timer    local APIC at 1000 Hz"), "{out}");
    let row = out
        .lines()
        .find(|l| l.starts_with("round_robin"))
        .unwrap_or_else(|| panic!("no module row:\n{out}"));
    assert!(
        row.contains("running") && row.contains("SCHEDULER") && row.contains("scheduler"),
        "{row}"
    );
    assert!(
        out.contains("round-robin scheduler running, time slice 5 ms"),
        "{out}"
    );
    assert!(
        out.contains("threads scheduled by module round_robin"),
        "{out}"
    );
    assert!(out.contains("powering off"), "{out}");
}

#[test]
fn without_a_scheduler_the_kernel_says_so_and_stops() {
    // By capability, so every scheduler module is left out, however many
    // the tree has.
    let (ok, out) = boot_kernel("helix.poweroff module_blacklist=scheduler", &[]);
    assert!(!ok, "kernel without a scheduler reported success:\n{out}");
    assert!(
        out.contains("not loading module round_robin: it provides `scheduler`, blacklisted"),
        "{out}"
    );
    assert!(
        out.contains("the kernel cannot run threads; stopping"),
        "{out}"
    );
    assert!(!out.contains("boot complete"), "{out}");
}

#[test]
fn a_scheduler_name_nobody_has_falls_back_to_the_default() {
    // A warning, and the first scheduler in the module table schedules.
    let (ok, out) = boot_kernel("helix.poweroff scheduler=nosuch", &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "scheduler=nosuch: no SCHEDULER module of that name is loaded (have: round_robin"
        ),
        "{out}"
    );
    assert!(
        out.contains("threads scheduled by module round_robin"),
        "{out}"
    );
    assert!(!out.contains("ERROR"), "{out}");
}

#[test]
fn bad_command_line_values_are_reported_and_ignored() {
    let (ok, out) = boot_kernel(
        "helix.poweroff timer.hz=5 log=loud motd=\"unterminated",
        &[],
    );
    assert!(ok, "{out}");
    assert!(
        out.contains("timer.hz=5 is outside 10..=10000; using 1000 Hz"),
        "{out}"
    );
    assert!(out.contains("unknown log level 'loud'"), "{out}");
    assert!(
        out.contains("ignoring malformed command-line token"),
        "{out}"
    );
}

#[test]
fn a_failing_module_is_shown_with_its_reason_and_the_rest_boots() {
    // An out-of-range parameter makes the serial driver's init fail; the
    // console depends on it and is skipped; everything else runs.
    let (ok, out) = boot_kernel("helix.poweroff serial_console.irq=99", &[]);
    assert!(ok, "{out}");
    let row = |m: &str| {
        out.lines()
            .find(|l| l.starts_with(m))
            .unwrap_or_else(|| panic!("no {m} row:\n{out}"))
    };
    assert!(row("serial_console").contains(" failed "), "{out}");
    assert!(out.contains("reason: module `serial_console` failed to init: invalid value for `serial_console.irq`: `99` is outside 0..=15"), "{out}");
    assert!(!row("shell").contains(" running "), "{out}");
    assert!(
        out.contains("skipped: module `shell`: dependency `console` is not running"),
        "{out}"
    );
    for m in ["round_robin", "cmos_rtc", "event_log", "uptime"] {
        assert!(row(m).contains(" running "), "{m} did not run:\n{out}");
    }
    assert!(out.contains("boot complete"), "{out}");
}

#[test]
fn powers_off_through_acpi_without_the_qemu_exit_device() {
    // QEMU run directly, without isa-debug-exit: the kernel must enter
    // ACPI S5, which makes QEMU exit on its own (status 0), long before
    // the deadline.
    use std::io::Read;
    use std::process::Stdio;
    use std::time::{Duration, Instant};
    let kernel = harness::build_kernel();
    let mut child = harness::qemu_command(
        &kernel,
        &[
            ("HELIX_CMDLINE", "helix.poweroff"),
            ("HELIX_NO_EXIT_DEVICE", "1"),
        ],
    )
    .args(["-serial", "stdio"])
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .spawn()
    .expect("qemu");
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("qemu status") {
            break status;
        }
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            panic!("the kernel did not power off");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(status.success(), "{status}:\n{out}");
    assert!(
        out.contains("no QEMU exit device: entering ACPI S5"),
        "{out}"
    );
    assert!(!out.contains("ACPI S5 failed"), "{out}");
}

/// `helix.poweroff`, then `xN.y=z` tokens (parameters of modules that do
/// not exist, which nothing reads), then `tail`: `len` bytes in all.
fn long_cmdline(len: usize, tail: &str) -> String {
    let mut line = String::from("helix.poweroff");
    let mut n = 0;
    while line.len() + tail.len() + 1 < len {
        line.push_str(&format!(" x{n}.y=z"));
        n += 1;
    }
    // Pad the last token so that the tail lands exactly at the end.
    while line.len() + tail.len() + 1 < len {
        line.push('z');
    }
    line.truncate(len - tail.len() - 1);
    line.push(' ');
    line.push_str(tail);
    assert_eq!(line.len(), len);
    line
}

#[test]
fn a_4_kib_command_line_is_read_to_its_last_parameter() {
    // 4096 bytes, the most the kernel keeps (QEMU's PVH loader passes at
    // most 4095 for sure; see boot/src/start_info.rs), ending with a
    // parameter whose effect the log shows.
    let line = long_cmdline(4096, "round_robin.time_slice_ms=5");
    let (ok, out) = boot_kernel(&line, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("round-robin scheduler running, time slice 5 ms"),
        "{out}"
    );
    assert!(!out.contains("command line is longer"), "{out}");
    assert!(out.contains("boot complete"), "{out}");
}

#[test]
fn a_command_line_over_the_limit_is_cut_at_a_word_with_a_warning() {
    // 4120 bytes: over the kernel's 4096, still under what QEMU 7.2's
    // loader delivers (4127). The parameter at the end straddles the
    // limit, so it is cut off whole and the default time slice stays.
    let line = long_cmdline(4120, "round_robin.time_slice_ms=5");
    let (ok, out) = boot_kernel(&line, &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains(
            "WARN  kernel::startup: the command line is longer than 4096 bytes: kept its first"
        ),
        "{out}"
    );
    assert!(
        out.contains("round-robin scheduler running, time slice 10 ms"),
        "{out}"
    );
    assert!(!out.contains("PANIC"), "{out}");
    assert!(out.contains("boot complete"), "{out}");
}

#[test]
fn a_bad_parameter_of_an_essential_module_falls_back_to_its_default() {
    // round_robin is the only scheduler and ESSENTIAL: an invalid value
    // used to fail its init and stop the boot.
    let (ok, out) = boot_kernel("helix.poweroff round_robin.time_slice_ms=0", &[]);
    assert!(ok, "{out}");
    let warning = out
        .lines()
        .find(|l| l.contains("WARN") && l.contains("`round_robin.time_slice_ms`"))
        .unwrap_or_else(|| panic!("no warning naming the parameter:\n{out}"));
    assert!(
        warning.contains("`0` is outside 1..=1000")
            && warning.contains("starts with the default round_robin.time_slice_ms=10"),
        "{warning}"
    );
    assert!(
        out.contains("round-robin scheduler running, time slice 10 ms"),
        "{out}"
    );
    let row = out
        .lines()
        .find(|l| l.starts_with("round_robin"))
        .unwrap_or_else(|| panic!("no module row:\n{out}"));
    assert!(row.contains(" running "), "{row}");
    assert!(out.contains("boot complete"), "{out}");
    // An undeclared key is ignored the same way.
    let (ok, out) = boot_kernel("helix.poweroff round_robin.nosuch=1", &[]);
    assert!(ok, "{out}");
    assert!(
        out.contains("module `round_robin` has no parameter `nosuch`; module `round_robin` is essential, so it starts without it"),
        "{out}"
    );
    assert!(
        out.contains("threads scheduled by module round_robin"),
        "{out}"
    );
}

#[test]
fn a_module_that_faults_at_boot_fails_alone() {
    let (ok, out) = boot_kernel(
        "helix.poweroff crashtest.enable crashtest.fault_at=init",
        &[],
    );
    assert!(ok, "{out}");
    let row = |m: &str| {
        out.lines()
            .find(|l| l.starts_with(m))
            .unwrap_or_else(|| panic!("no {m} row:\n{out}"))
    };
    assert!(row("crashtest").contains(" failed "), "{out}");
    assert!(
        out.contains("faulted in init: panic: crashtest panics on purpose"),
        "{out}"
    );
    for m in [
        "round_robin",
        "cmos_rtc",
        "serial_console",
        "event_log",
        "uptime",
    ] {
        assert!(row(m).contains(" running "), "{m}:\n{out}");
    }
    assert!(out.contains("boot complete"), "{out}");
}

#[test]
fn an_essential_module_that_faults_at_boot_stops_the_kernel_with_a_report() {
    let (ok, out) = boot_kernel(
        "helix.poweroff crashtest.enable crashtest.essential crashtest.fault_at=start crashtest.how=null",
        &[],
    );
    assert!(!ok, "{out}");
    assert!(
        out.contains("essential module crashtest failed at boot"),
        "{out}"
    );
    assert!(out.contains("CPU exception #PF page fault"), "{out}");
    assert!(out.contains("CR2=0x0"), "{out}");
    assert!(!out.contains("boot complete"), "{out}");
}
