//! Measures how long the kernel takes to boot under QEMU, from spawning
//! QEMU to (a) the first byte on the serial port and (b) the line that says
//! the boot finished. Runs several boots and prints min/median/max.
//!
//!     cargo run -p harness --release --bin boot-time [RUNS]
//!
//! Builds the release kernel first. Numbers include QEMU's own start-up,
//! which is what a developer waits for.

use harness::{KERNEL_TARGET, workspace_root};
use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The line the kernel prints when boot is complete.
const READY_MARKER: &str = "boot complete";

fn boot_once(kernel: &str) -> Result<(Duration, Duration), String> {
    let start = Instant::now();
    let mut child = Command::new("qemu-system-x86_64")
        .args([
            "-kernel",
            kernel,
            "-append",
            "helix.poweroff",
            "-m",
            "128M",
            "-nodefaults",
            "-no-reboot",
        ])
        .args([
            "-display",
            "none",
            "-device",
            "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-serial",
            "stdio",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let mut out = BufReader::new(child.stdout.take().ok_or("no stdout")?);
    let mut first = [0u8; 1];
    out.read_exact(&mut first)
        .map_err(|e| format!("no serial output: {e}"))?;
    let first_byte = start.elapsed();
    let mut line = String::new();
    let ready = loop {
        line.clear();
        if out.read_line(&mut line).map_err(|e| e.to_string())? == 0 {
            return Err("kernel exited before finishing boot".into());
        }
        if line.contains(READY_MARKER) {
            break start.elapsed();
        }
    };
    let _ = child.wait();
    Ok((first_byte, ready))
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<28} min {:>7.1} ms   median {:>7.1} ms   max {:>7.1} ms",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let runs: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10)
        .max(1);
    let root = workspace_root();
    let status = Command::new(harness::cargo_path())
        .current_dir(root)
        .args([
            "build",
            "-q",
            "--release",
            "-p",
            "kernel",
            "--bin",
            "kernel",
            "--target",
            KERNEL_TARGET,
        ])
        .status()
        .expect("cannot run cargo");
    assert!(status.success(), "kernel build failed");
    let kernel = root
        .join("target")
        .join(KERNEL_TARGET)
        .join("release/kernel");
    let kernel = kernel.to_str().expect("UTF-8 path");
    let (mut first, mut ready) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        match boot_once(kernel) {
            Ok((f, r)) => {
                first.push(f);
                ready.push(r);
            }
            Err(e) => {
                eprintln!("boot-time: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{runs} boots of {kernel}");
    summary("QEMU start -> first serial", first);
    summary("QEMU start -> boot complete", ready);
}
