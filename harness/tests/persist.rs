//! Module state survives a reboot: `event_log` (flagged PERSISTENT) counts
//! a CPU going offline, `shutdown` writes its state to the disk, and the
//! next boot on the same disk hands it back. A corrupted disk and someone
//! else's disk never stop the boot: modules start fresh and say why, and
//! the foreign disk is left as it was.

use harness::console::Console;
use std::path::PathBuf;
use std::time::Duration;

fn disk(name: &str, bytes: Vec<u8>) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).unwrap();
    path
}

fn boot(disk: &std::path::Path) -> Console {
    Console::boot_with_env(2, "", &[("HELIX_DISK", disk.to_str().unwrap())])
}

/// The `cpu_offline=` figure of `request event_log counts`.
fn offline(c: &mut Console) -> u64 {
    let counts = c.command("request event_log counts");
    counts
        .split_whitespace()
        .find_map(|w| w.strip_prefix("cpu_offline=")?.parse().ok())
        .unwrap_or_else(|| panic!("no cpu_offline in {counts}"))
}

fn shut_down(mut c: Console) -> String {
    c.send(b"shutdown\n");
    let (status, out) = c.wait_exit(Duration::from_secs(60));
    assert!(status.success(), "shutdown failed:\n{out}");
    out
}

#[test]
fn event_log_state_is_back_after_a_reboot() {
    let path = disk("persist-ok.img", vec![0; 2 << 20]);
    let mut c = boot(&path);
    let status = c.command("persist status");
    assert!(status.contains("disk: generation"), "{status}");
    assert!(status.contains("event_log (state version 0)"), "{status}");
    assert_eq!(offline(&mut c), 0);
    assert_eq!(c.command("cpu offline 1"), "CPU 1 offline");
    assert_eq!(c.command("cpu online 1"), "CPU 1 online");
    assert_eq!(offline(&mut c), 1);
    let out = shut_down(c);
    assert!(
        out.contains("persist: saved the state of 1 module(s)"),
        "{out}"
    );

    let mut c = boot(&path);
    assert_eq!(offline(&mut c), 1, "{}", c.output());
    let status = c.command("persist status");
    assert!(status.contains("at boot: event_log: restore"), "{status}");
    // On demand too.
    assert_eq!(c.command("persist save"), "saved the state of 1 module(s)");
    // QEMU holds the disk file until it exits: every boot here ends so.
    shut_down(c);
}

#[test]
fn a_corrupt_or_foreign_disk_means_a_fresh_start_with_the_reason() {
    // A store with a record, then its superblocks damaged.
    let path = disk("persist-corrupt.img", vec![0; 2 << 20]);
    let mut c = boot(&path);
    assert_eq!(c.command("persist save"), "saved the state of 1 module(s)");
    shut_down(c);
    let mut image = std::fs::read(&path).unwrap();
    for b in &mut image[..1024] {
        *b ^= 0x5a;
    }
    std::fs::write(&path, &image).unwrap();
    let mut c = boot(&path);
    let status = c.command("persist status");
    assert!(status.contains("modules start fresh"), "{status}");
    assert_eq!(offline(&mut c), 0);
    assert!(
        c.output().contains("persist: modules start fresh"),
        "{}",
        c.output()
    );
    shut_down(c);

    // Someone else's disk: not ours, never written.
    let foreign: Vec<u8> = (0..(2u32 << 20)).map(|i| (i % 253) as u8).collect();
    let path = disk("persist-foreign.img", foreign.clone());
    let mut c = boot(&path);
    let status = c.command("persist status");
    assert!(status.contains("not used"), "{status}");
    let refused = c.command("persist save");
    assert!(
        refused.starts_with("error: the disk is not used"),
        "{refused}"
    );
    shut_down(c);
    assert_eq!(
        std::fs::read(&path).unwrap(),
        foreign,
        "the foreign disk was written"
    );
}
