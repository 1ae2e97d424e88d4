//! Boots the real kernel binary and checks what it prints: the banner, the
//! module table with the round-robin scheduler running, a clean power-off;
//! and that a kernel without a scheduler module says so and stops.

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
    let (ok, out) = boot_kernel("helix.poweroff module_blacklist=round_robin", &[]);
    assert!(!ok, "kernel without a scheduler reported success:\n{out}");
    assert!(
        out.contains("not loading module round_robin: blacklisted"),
        "{out}"
    );
    assert!(
        out.contains("the kernel cannot run threads; stopping"),
        "{out}"
    );
    assert!(!out.contains("boot complete"), "{out}");
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
