//! Runs every in-QEMU kernel test from the host's `cargo test`.
//!
//! The kernel's output is passed straight through (not captured), so its
//! libtest-style lines appear in the `cargo test` log next to the host
//! tests'; this test fails if any kernel test fails, hangs or resets.

use harness::kernel_cargo;

#[test]
fn in_qemu_kernel_tests_pass() {
    let (mut cmd, _guard) = kernel_cargo(&[]);
    let status = cmd
        .status()
        .expect("failed to run cargo for the kernel tests");
    assert!(status.success(), "in-QEMU kernel tests failed: {status}");
}
