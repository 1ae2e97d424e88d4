//! Measures how long the kernel takes to boot under QEMU, from spawning
//! QEMU to (a) the first byte on the serial port, (b) the line that says
//! the boot finished (every module running), and (c) the console prompt.
//! Runs several boots and prints min/median/max.
//!
//!     cargo run -p harness --release --bin boot-time [RUNS] [CPUS]
//!
//! Builds the release kernel first. Numbers include QEMU's own start-up,
//! which is what a developer waits for.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The line the kernel prints when boot is complete.
const READY_MARKER: &str = "boot complete";
/// The console prompt.
const PROMPT: &str = "helix> ";

struct Boot {
    first_byte: Duration,
    ready: Duration,
    prompt: Duration,
}

fn boot_once(kernel: &str, cpus: &str) -> Result<Boot, String> {
    let start = Instant::now();
    let mut child = harness::qemu_command(Path::new(kernel), &[("HELIX_SMP", cpus)])
        .args(["-serial", "stdio"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start qemu: {e}"))?;
    let mut out = child.stdout.take().ok_or("no stdout")?;
    let (mut first_byte, mut ready, mut prompt) = (None, None, None);
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while prompt.is_none() || ready.is_none() {
        if out.read(&mut byte).map_err(|e| e.to_string())? == 0 {
            return Err("kernel exited before finishing boot".into());
        }
        first_byte.get_or_insert_with(|| start.elapsed());
        seen.push(byte[0]);
        let text = String::from_utf8_lossy(&seen);
        if ready.is_none() && text.contains(READY_MARKER) {
            ready = Some(start.elapsed());
        }
        if prompt.is_none() && text.ends_with(PROMPT) {
            prompt = Some(start.elapsed());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(Boot {
        first_byte: first_byte.unwrap_or_default(),
        ready: ready.unwrap_or_default(),
        prompt: prompt.unwrap_or_default(),
    })
}

fn summary(name: &str, mut v: Vec<Duration>) {
    v.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{name:<30} min {:>7.1} ms   median {:>7.1} ms   max {:>7.1} ms",
        ms(v[0]),
        ms(v[v.len() / 2]),
        ms(v[v.len() - 1])
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let runs: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(10)
        .max(1);
    let cpus = args.next().unwrap_or_else(|| String::from("4"));
    let kernel = harness::build_kernel_profile(true);
    let kernel = kernel.to_str().expect("UTF-8 path");
    let mut boots = Vec::new();
    for _ in 0..runs {
        match boot_once(kernel, &cpus) {
            Ok(b) => boots.push(b),
            Err(e) => {
                eprintln!("boot-time: {e}");
                std::process::exit(1);
            }
        }
    }
    println!("{runs} boots of {kernel} with {cpus} CPUs");
    summary(
        "QEMU start -> first serial",
        boots.iter().map(|b| b.first_byte).collect(),
    );
    summary(
        "QEMU start -> all modules running",
        boots.iter().map(|b| b.ready).collect(),
    );
    summary(
        "QEMU start -> console prompt",
        boots.iter().map(|b| b.prompt).collect(),
    );
}
