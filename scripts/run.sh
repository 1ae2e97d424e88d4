#!/usr/bin/env bash
# Builds the kernel and boots it in QEMU, with the boot log on this terminal.
#
# Run in a terminal, it gives you the kernel's console (type `help`;
# `shutdown` powers off, Ctrl-A X quits QEMU). Without a terminal (CI,
# pipes) the kernel powers off once every module is up, and this script
# exits with the kernel's status (0 on a clean power-off). Options:
#   -i, --interactive   keep the console even without a terminal
#   -p, --poweroff      power off once booted, even in a terminal
#   -a, --append TEXT   extra kernel command line, e.g. "log=debug timer.hz=250"
#   -s, --smp N         number of CPUs (default 1)
#   -m, --module FILE   put module binary FILE (from scripts/build-module) in
#                       the initrd as modules/<name>; repeatable (`insmod NAME`)
#   --initrd FILE       pass FILE as the initrd (a cpio archive: the console's
#                       `ls` command lists it); not with -m
#   --disk FILE         attach FILE as a raw virtio-blk disk (created with
#                       `truncate -s 16M` if it does not exist; `lspci`
#                       lists the device)
#   -r, --release       boot an optimised build
#   -h, --help          this text
set -euo pipefail
# Where the caller is: a relative --initrd path is relative to it.
caller_dir=$PWD
cd "$(dirname "$0")/.."

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }

interactive=auto
append=""
smp=1
profile=dev
initrd=""
disk=""
modules=()
while [ $# -gt 0 ]; do
    case $1 in
        -i|--interactive) interactive=1 ;;
        -p|--poweroff) interactive=0 ;;
        -a|--append) [ $# -ge 2 ] || { usage >&2; exit 2; }; append=$2; shift ;;
        -s|--smp) [ $# -ge 2 ] || { usage >&2; exit 2; }; smp=$2; shift ;;
        --initrd) [ $# -ge 2 ] || { usage >&2; exit 2; }
            case $2 in /*) initrd=$2 ;; *) initrd=$caller_dir/$2 ;; esac; shift ;;
        --disk) [ $# -ge 2 ] || { usage >&2; exit 2; }
            case $2 in /*) disk=$2 ;; *) disk=$caller_dir/$2 ;; esac; shift ;;
        -m|--module) [ $# -ge 2 ] || { usage >&2; exit 2; }
            case $2 in /*) modules+=("$2") ;; *) modules+=("$caller_dir/$2") ;; esac; shift ;;
        -r|--release) profile=release ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case $smp in ''|*[!0-9]*) echo "run.sh: --smp needs a number" >&2; exit 2 ;; esac
if [ -n "$initrd" ] && [ ! -f "$initrd" ]; then
    echo "run.sh: --initrd $initrd: no such file" >&2
    exit 2
fi

if [ -n "$initrd" ] && [ ${#modules[@]} -gt 0 ]; then
    echo "run.sh: -m and --initrd do not go together (-m makes the initrd)" >&2
    exit 2
fi
if [ -n "$disk" ] && [ ! -e "$disk" ]; then
    truncate -s 16M "$disk"
fi
if [ -n "$disk" ] && [ ! -f "$disk" ]; then
    echo "run.sh: --disk $disk: not a regular file" >&2
    exit 2
fi
for m in "${modules[@]}"; do
    [ -f "$m" ] || { echo "run.sh: -m $m: no such file" >&2; exit 2; }
done

scripts/setup.sh
if [ ${#modules[@]} -gt 0 ]; then
    initrd=target/modules/initrd.cpio
    mkdir -p target/modules
    cargo run -q --locked -p harness --bin pack-initrd -- "$initrd" "${modules[@]}"
fi
cargo build -q -p kernel --bin kernel --target x86_64-unknown-none --profile "$profile"
dir=$([ "$profile" = dev ] && echo debug || echo release)
kernel=target/x86_64-unknown-none/$dir/kernel

if [ "$interactive" = auto ]; then
    if [ -t 0 ] && [ -t 1 ]; then interactive=1; else interactive=0; fi
fi
cmdline=$append
if [ "$interactive" = 0 ]; then
    cmdline="helix.poweroff${cmdline:+ $cmdline}"
fi
HELIX_CMDLINE="$cmdline" HELIX_SMP="$smp" HELIX_INTERACTIVE="$interactive" HELIX_INITRD="$initrd" \
    HELIX_DISK="$disk" exec scripts/qemu-runner.sh "$kernel"
