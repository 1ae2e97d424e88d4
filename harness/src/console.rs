//! Driving the booted kernel's serial console from a test, as a user would:
//! type a command, read its answer up to the next prompt.
//!
//! QEMU runs through the QEMU runner with `HELIX_STDIN=1`, so its serial
//! port reads this process's pipe and writes to another one, which a
//! background thread collects. Every wait is bounded: a hung kernel fails
//! the test with the output so far instead of hanging `cargo test`.

use crate::{build_kernel, workspace_root};
use std::io::{Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStdin, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The console prompt.
pub const PROMPT: &str = "helix> ";

/// A booted kernel with its serial console attached.
pub struct Console {
    child: Child,
    stdin: Option<ChildStdin>,
    output: Arc<Mutex<String>>,
    reader: Option<JoinHandle<()>>,
    /// How much of the output earlier commands consumed.
    consumed: usize,
}

impl Console {
    /// Builds and boots the kernel with `cpus` CPUs and `cmdline`, and
    /// waits for the first prompt.
    pub fn boot(cpus: u32, cmdline: &str) -> Console {
        Self::boot_with_env(cpus, cmdline, &[])
    }

    /// As [`Console::boot`], with `env` added to the QEMU runner's
    /// environment (e.g. `HELIX_INITRD`, `HELIX_MEM`).
    pub fn boot_with_env(cpus: u32, cmdline: &str, env: &[(&str, &str)]) -> Console {
        let kernel = build_kernel();
        let mut child = Command::new(workspace_root().join("scripts/qemu-runner.sh"))
            .arg(&kernel)
            .env("HELIX_STDIN", "1")
            .env("HELIX_SMP", cpus.to_string())
            .env("HELIX_CMDLINE", cmdline)
            .env("HELIX_TIMEOUT", "120")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A group of its own, so dropping the console ends QEMU too,
            // not only the runner script that started it.
            .process_group(0)
            .spawn()
            .expect("cannot start the QEMU runner");
        let output = Arc::new(Mutex::new(String::new()));
        let mut stdout = child.stdout.take().expect("piped stdout");
        let mut stderr = child.stderr.take().expect("piped stderr");
        let sink = output.clone();
        let reader = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stdout.read(&mut buf) {
                if n == 0 {
                    break;
                }
                // The kernel writes CR LF for terminals; tests match on LF.
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', ""));
            }
            let mut rest = String::new();
            let _ = stderr.read_to_string(&mut rest);
            sink.lock().unwrap().push_str(&rest);
        });
        let stdin = child.stdin.take();
        let mut console = Console {
            child,
            stdin,
            output,
            reader: Some(reader),
            consumed: 0,
        };
        console.wait_for(PROMPT, Duration::from_secs(30));
        console.consumed = console.output().len();
        console
    }

    /// Everything printed so far.
    pub fn output(&self) -> String {
        self.output.lock().unwrap().clone()
    }

    /// Waits until `needle` appears after the consumed part of the output;
    /// returns the output from there. Panics with the output on timeout.
    pub fn wait_for(&self, needle: &str, timeout: Duration) -> String {
        let start = Instant::now();
        loop {
            let out = self.output();
            let fresh = out.get(self.consumed..).unwrap_or("");
            if fresh.contains(needle) {
                return fresh.to_string();
            }
            assert!(
                start.elapsed() < timeout,
                "timed out waiting for {needle:?}; output:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends raw bytes to the serial port.
    pub fn send(&mut self, bytes: &[u8]) {
        let stdin = self.stdin.as_mut().expect("console input is open");
        stdin.write_all(bytes).expect("kernel stopped reading");
        stdin.flush().expect("kernel stopped reading");
    }

    /// Types `line` and Enter; returns what the command printed (between
    /// the echoed line and the next prompt).
    pub fn command(&mut self, line: &str) -> String {
        self.send(line.as_bytes());
        self.send(b"\r");
        let fresh = self.wait_for(&format!("\n{PROMPT}"), Duration::from_secs(30));
        let end = fresh.find(&format!("\n{PROMPT}")).expect("prompt present");
        self.consumed += end + 1 + PROMPT.len();
        let answer = &fresh[..end];
        // Drop the echo of the typed line itself, and kernel log lines that
        // happened to be printed meanwhile.
        let answer = answer.split_once('\n').map_or("", |(_, rest)| rest);
        answer
            .lines()
            .filter(|l| !is_log_line(l))
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Waits until `needle` is printed and the prompt follows it, and
    /// consumes that output (for messages not caused by a command line,
    /// such as the answer to an overlong line).
    pub fn expect(&mut self, needle: &str) -> String {
        let fresh = self.wait_for(needle, Duration::from_secs(30));
        let at = fresh.find(needle).expect("needle present") + needle.len();
        let prompt = format!("\n{PROMPT}");
        let fresh = self.wait_for(&format!("{needle}{}", ""), Duration::from_secs(30));
        let start = Instant::now();
        loop {
            let out = self.output();
            let tail = out.get(self.consumed + at..).unwrap_or("");
            if let Some(p) = tail.find(&prompt) {
                self.consumed += at + p + prompt.len();
                return fresh;
            }
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "no prompt after {needle:?}:\n{out}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the kernel to exit on its own; returns the runner's
    /// status and the whole output.
    pub fn wait_exit(mut self, timeout: Duration) -> (ExitStatus, String) {
        drop(self.stdin.take());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("runner status") {
                if let Some(r) = self.reader.take() {
                    let _ = r.join();
                }
                return (status, self.output());
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                panic!("kernel did not exit; output:\n{}", self.output());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

/// Whether `line` is a kernel log line (`[  seconds.micros] LEVEL ...`).
pub fn is_log_line(line: &str) -> bool {
    let Some(rest) = line.strip_prefix('[') else {
        return false;
    };
    let Some((stamp, _)) = rest.split_once("] ") else {
        return false;
    };
    let stamp = stamp.trim_start();
    stamp.split_once('.').is_some_and(|(s, us)| {
        !s.is_empty()
            && s.bytes().all(|b| b.is_ascii_digit())
            && us.len() == 6
            && us.bytes().all(|b| b.is_ascii_digit())
    })
}

impl Drop for Console {
    fn drop(&mut self) {
        // The whole group: the runner and the QEMU it started (a QEMU left
        // behind would keep its disk image locked, and run on).
        let _ = Command::new("kill")
            .args(["-KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
