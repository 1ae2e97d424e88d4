//! Host-side helpers for tests that build and boot the kernel.
//!
//! `cargo test` at the workspace root builds only host crates; this crate's
//! tests reach the kernel by running a nested `cargo test -p kernel
//! --target x86_64-unknown-none`, which boots each test kernel through
//! `scripts/qemu-runner.sh` (docs/architecture.md §12). Nested cargo runs
//! share the build directory lock, so [`kernel_cargo`] serialises them
//! within one process.

pub mod console;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, MutexGuard};

/// The kernel's compilation target.
pub const KERNEL_TARGET: &str = "x86_64-unknown-none";

static CARGO_LOCK: Mutex<()> = Mutex::new(());

/// The workspace root (the parent of this crate).
pub fn workspace_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("harness lives inside the workspace")
}

/// The cargo that is running us, or `cargo` from PATH.
pub fn cargo_path() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

/// A `cargo test -q -p kernel --target x86_64-unknown-none <args>` command
/// at the workspace root, plus a guard that keeps other kernel cargo runs
/// of this process waiting until it is dropped.
pub fn kernel_cargo(args: &[&str]) -> (Command, MutexGuard<'static, ()>) {
    let guard = CARGO_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cmd = Command::new(cargo_path());
    cmd.current_dir(workspace_root())
        .args(["test", "-q", "-p", "kernel", "--target", KERNEL_TARGET])
        .args(args);
    (cmd, guard)
}

/// Runs a kernel cargo command to completion and returns its output, with
/// stdout and stderr merged into one string for matching.
pub fn run_captured(args: &[&str], env: &[(&str, &str)]) -> (Output, String) {
    let (mut cmd, _guard) = kernel_cargo(args);
    cmd.envs(env.iter().copied());
    let out = cmd.output().expect("failed to run cargo");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out, text)
}

/// Cargo's build directory: `CARGO_TARGET_DIR` when set (a scratch copy's
/// nested suite builds elsewhere), else `target/` in the workspace.
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace_root().join("target"), PathBuf::from)
}

/// Builds the kernel binary (debug) and returns its path.
pub fn build_kernel() -> PathBuf {
    build_kernel_profile(false)
}

/// Builds the kernel binary, optimised if `release`, and returns its path.
pub fn build_kernel_profile(release: bool) -> PathBuf {
    let _guard = CARGO_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut cmd = Command::new(cargo_path());
    cmd.current_dir(workspace_root()).args([
        "build",
        "-q",
        "-p",
        "kernel",
        "--bin",
        "kernel",
        "--target",
        KERNEL_TARGET,
    ]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd
        .status()
        .expect("failed to run cargo build for the kernel");
    assert!(status.success(), "kernel build failed");
    target_dir()
        .join(KERNEL_TARGET)
        .join(if release { "release" } else { "debug" })
        .join("kernel")
}

/// Boots the kernel binary through the QEMU runner with `cmdline` and
/// waits for it to end; returns whether the runner reported success and
/// everything it printed.
pub fn boot_kernel(cmdline: &str, env: &[(&str, &str)]) -> (bool, String) {
    let kernel = build_kernel();
    let out = Command::new(workspace_root().join("scripts/qemu-runner.sh"))
        .arg(&kernel)
        .env("HELIX_CMDLINE", cmdline)
        .envs(env.iter().copied())
        .output()
        .expect("failed to run the QEMU runner");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// A QEMU command that boots `kernel` exactly as `scripts/qemu-runner.sh`
/// would (the one place that defines the machine: q35, memory, CPUs, the
/// exit device), for tools that drive QEMU themselves. `env` is passed to
/// the runner (e.g. `HELIX_CMDLINE`, `HELIX_SMP`, `HELIX_NO_EXIT_DEVICE`);
/// the caller adds `-serial ...` and its standard streams.
pub fn qemu_command(kernel: &Path, env: &[(&str, &str)]) -> Command {
    let out = Command::new(workspace_root().join("scripts/qemu-runner.sh"))
        .arg(kernel)
        .env("HELIX_PRINT_ARGS", "1")
        .envs(env.iter().copied())
        .output()
        .expect("failed to run the QEMU runner");
    assert!(
        out.status.success(),
        "the QEMU runner did not print its arguments: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut words = text.lines();
    let mut cmd = Command::new(words.next().expect("the QEMU binary"));
    cmd.args(words);
    cmd
}
