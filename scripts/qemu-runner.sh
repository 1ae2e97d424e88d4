#!/usr/bin/env bash
# Boots a Helix kernel image in QEMU and turns the way it ended into an exit
# status: cargo uses this as the runner for x86_64-unknown-none, so
# `cargo krun` boots the kernel and `cargo ktest` runs each test kernel.
#
#   qemu-runner.sh KERNEL_ELF [libtest-style args...]
#
# Positional arguments become test filters (test.filter=a,b); --exact and
# --list map to test.exact / test.list; other libtest flags are ignored.
# Environment:
#   HELIX_CMDLINE      extra kernel command line
#   HELIX_SMP          CPU count (default 1, or what the image asks for with
#                      kernel::qemu_smp!)
#   HELIX_MEM          memory size (default 128M, or kernel::qemu_mem!)
#   HELIX_TIMEOUT      seconds before the run is killed as hung (default 60)
#   HELIX_INTERACTIVE  1: attach the serial console to the terminal, no timeout
#   HELIX_STDIN        1: keep stdin (a pipe from a test driving the console)
#   HELIX_INITRD       a file to pass as the initrd (`-initrd FILE`: QEMU's
#                      PVH loader places it in RAM and lists it as the one
#                      module in the start info; the console's `initrd`
#                      command lists a cpio archive's files)
#   HELIX_DISK         a raw disk image for a virtio-blk device (-drive
#                      file=...,format=raw,if=none,id=d0 -device
#                      virtio-blk-pci,drive=d0); without it, no disk
#   HELIX_QEMU_ARGS    extra QEMU arguments
#   HELIX_NO_EXIT_DEVICE  1: leave out the isa-debug-exit device (the kernel
#                      then powers off through ACPI S5)
#   HELIX_PRINT_ARGS   1: print QEMU's arguments, one per line, and exit
#                      without booting (for tools that start QEMU
#                      themselves: the harness, boot-time, gdb.sh), so the
#                      machine is defined in this one place
#   QEMU               QEMU binary (default qemu-system-x86_64)
#
# The machine is QEMU's q35 (PCI Express host bridge, ICH9) with a
# virtio-rng device (entropy; cheap), the same for every run, test and
# benchmark. A test kernel may add to its command line
# with `kernel::qemu_cmdline!("...")` (the marker HELIX_QEMU_CMDLINE=...;
# in the image); HELIX_CMDLINE and test filters come after it.
#
# Exit status: 0 when the kernel exits through isa-debug-exit with success
# (QEMU status 33); 1 for a reported failure (35), a reset or triple fault
# (QEMU status 0 with -no-reboot), a timeout, or QEMU itself failing.
set -uo pipefail

if [ $# -lt 1 ]; then
    echo "usage: $0 KERNEL_ELF [args...]" >&2
    exit 2
fi
kernel=$1
shift

# The image's own command line first (kernel::qemu_cmdline!), then ours.
cmdline=$(grep -aoE 'HELIX_QEMU_CMDLINE=[^;]*;' "$kernel" 2>/dev/null | head -n 1 | sed -e 's/^HELIX_QEMU_CMDLINE=//' -e 's/;$//')
cmdline+=" ${HELIX_CMDLINE:-}"
filters=()
for arg in "$@"; do
    case $arg in
        --exact) cmdline+=" test.exact" ;;
        --list) cmdline+=" test.list" ;;
        -*) ;; # --nocapture, --test-threads=N, --color=...: meaningless here
        *) filters+=("$arg") ;;
    esac
done
if [ ${#filters[@]} -gt 0 ]; then
    cmdline+=" test.filter=$(IFS=,; echo "${filters[*]}")"
fi

qemu=${QEMU:-qemu-system-x86_64}
if [ "${HELIX_PRINT_ARGS:-0}" != 1 ] && ! command -v "$qemu" >/dev/null 2>&1; then
    echo "qemu-runner: $qemu not found; run scripts/setup.sh" >&2
    exit 1
fi

# A test kernel may ask for a CPU count with `kernel::qemu_smp!(N)`, which
# embeds the marker HELIX_QEMU_SMP=N; in the image; HELIX_SMP overrides it.
smp=${HELIX_SMP:-}
if [ -z "$smp" ]; then
    smp=$(grep -aoE 'HELIX_QEMU_SMP=[0-9]+;' "$kernel" 2>/dev/null | head -n 1 | tr -dc '0-9')
fi

mem=${HELIX_MEM:-}
if [ -z "$mem" ]; then
    mem=$(grep -aoE 'HELIX_QEMU_MEM=[0-9]+[KMG]?;' "$kernel" 2>/dev/null | head -n 1 | cut -d= -f2 | tr -d ';')
fi

# Trim the command line's outer spaces.
cmdline=$(printf '%s' "$cmdline" | sed -e 's/^ *//' -e 's/ *$//')
args=(
    -machine q35
    -kernel "$kernel"
    -append "$cmdline"
    -smp "${smp:-1}"
    -m "${mem:-128M}"
    -nodefaults -no-reboot -display none
    -device virtio-rng-pci
)
# A test kernel that asks for a disk (kernel::qemu_disk!, the marker
# HELIX_QEMU_DISK=SIZE;) gets a fresh zeroed one, unless HELIX_DISK names one.
disk_size=$(grep -aoE 'HELIX_QEMU_DISK=[0-9]+[KMG]?;' "$kernel" 2>/dev/null | head -n 1 | cut -d= -f2 | tr -d ';' || true)
if [ -z "${HELIX_DISK:-}" ] && [ -n "$disk_size" ]; then
    disks=$(cd "$(dirname "$0")/.." && pwd)/target/disks
    mkdir -p "$disks"
    HELIX_DISK=$disks/$(basename "$kernel").img
    rm -f "$HELIX_DISK"
    truncate -s "$disk_size" "$HELIX_DISK"
fi
if [ -n "${HELIX_DISK:-}" ]; then
    if [ ! -f "$HELIX_DISK" ] || [ ! -r "$HELIX_DISK" ] || [ ! -w "$HELIX_DISK" ]; then
        echo "qemu-runner: HELIX_DISK=$HELIX_DISK is not a readable and writable file" >&2
        exit 1
    fi
    case $HELIX_DISK in
        *,*) echo "qemu-runner: HELIX_DISK=$HELIX_DISK: QEMU cannot take a comma in a file name here" >&2; exit 1 ;;
    esac
    args+=(-drive "file=$HELIX_DISK,format=raw,if=none,id=d0" -device virtio-blk-pci,drive=d0)
fi
if [ -n "${HELIX_INITRD:-}" ]; then
    if [ ! -f "$HELIX_INITRD" ] || [ ! -r "$HELIX_INITRD" ]; then
        echo "qemu-runner: HELIX_INITRD=$HELIX_INITRD is not a readable file" >&2
        exit 1
    fi
    args+=(-initrd "$HELIX_INITRD")
fi
if [ "${HELIX_NO_EXIT_DEVICE:-0}" != 1 ]; then
    args+=(-device isa-debug-exit,iobase=0xf4,iosize=0x04)
fi
# shellcheck disable=SC2206 # word splitting of extra args is intended
args+=(${HELIX_QEMU_ARGS:-})

if [ "${HELIX_PRINT_ARGS:-0}" = 1 ]; then
    printf '%s\n' "$qemu" "${args[@]}"
    exit 0
fi

if [ "${HELIX_INTERACTIVE:-0}" = 1 ]; then
    "$qemu" "${args[@]}" -serial mon:stdio
    status=$?
    # Quitting QEMU by hand (Ctrl-A X) is a normal end of an interactive run.
    [ "$status" = 0 ] && exit 0
elif [ "${HELIX_STDIN:-0}" = 1 ]; then
    # Driven by a program (the end-to-end tests): its pipe is the serial
    # input, and the output goes straight to it (a filter would buffer it).
    # --foreground keeps QEMU in the driver's process group, so the driver
    # can end the whole run at once.
    timeout --foreground -k 5 "${HELIX_TIMEOUT:-60}" "$qemu" "${args[@]}" -serial stdio
    status=$?
else
    # No stdin in CI: -serial stdio needs a readable fd 0, so give it /dev/null.
    # The kernel ends lines with \r\n for terminals; pipes get plain \n.
    timeout -k 5 "${HELIX_TIMEOUT:-60}" "$qemu" "${args[@]}" -serial stdio </dev/null | tr -d '\r'
    status=${PIPESTATUS[0]}
fi

case $status in
    33) exit 0 ;;
    35) echo "qemu-runner: kernel reported failure" >&2 ;;
    0) echo "qemu-runner: the machine reset (triple fault?) instead of exiting" >&2 ;;
    124) echo "qemu-runner: no exit after ${HELIX_TIMEOUT:-60}s: kernel hung, killed" >&2 ;;
    *) echo "qemu-runner: qemu exited with status $status" >&2 ;;
esac
exit 1
