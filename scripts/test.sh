#!/usr/bin/env bash
# The full check, as CI runs it: set-up, formatting, clippy with -D warnings
# for the host crates and for the kernel target, warning-free docs for the
# kernel and the framework, then `cargo test` (host unit tests, and every
# in-QEMU kernel test through the harness crate).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/setup.sh

step() { printf '\n==> %s\n' "$*" >&2; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy (host crates)"
cargo clippy --all-targets -q -- -D warnings

step "clippy (kernel target)"
cargo kclippy -q -- -D warnings
cargo clippy -q -p boot -p helix-modules --target x86_64-unknown-none --lib -- -D warnings
# Loadable module binaries (the module runtime, and event_log built as one).
cargo clippy -q -p event_log --features loadable --bin event_log-loadable \
    --target x86_64-unknown-none -- -D warnings
cargo clippy -q -p cmos_rtc --features loadable --bin cmos_rtc-loadable \
    --target x86_64-unknown-none -- -D warnings
cargo clippy -q -p ich9_smbus --features loadable --bin ich9_smbus-loadable \
    --target x86_64-unknown-none -- -D warnings

step "cargo doc (kernel and framework, warnings are errors)"
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p kernel --target x86_64-unknown-none
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p helix-modules --all-features
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p helix-loader
RUSTDOCFLAGS="-D warnings" cargo doc -q --no-deps -p helix-abi --features runtime

step "cargo test"
cargo test
