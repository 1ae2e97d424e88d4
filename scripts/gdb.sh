#!/usr/bin/env bash
# Boots the kernel (or a test kernel) halted under QEMU's gdb stub and
# attaches gdb with its symbols, stopped at the Rust entry point.
#
#   scripts/gdb.sh [KERNEL_ELF] [-- extra gdb args]
#
# KERNEL_ELF defaults to the debug kernel, which is built first. The serial
# output goes to target/gdb-serial.log; QEMU ends when gdb quits.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

kernel=${1:-}
[ $# -gt 0 ] && shift
[ "${1:-}" = "--" ] && shift
if [ -z "$kernel" ]; then
    cargo build -q -p kernel --bin kernel --target x86_64-unknown-none
    kernel=target/x86_64-unknown-none/debug/kernel
fi

# The machine as scripts/qemu-runner.sh defines it, halted for gdb.
mapfile -t qemu_cmd < <(HELIX_PRINT_ARGS=1 scripts/qemu-runner.sh "$kernel")
"${qemu_cmd[@]}" -serial "file:target/gdb-serial.log" -s -S &
qemu=$!
trap 'kill $qemu 2>/dev/null || true' EXIT

gdb -q "$kernel" \
    -ex "set architecture i386:x86-64" \
    -ex "target remote :1234" \
    -ex "hbreak helix_kernel_entry" \
    -ex "continue" \
    "$@"
