#!/usr/bin/env bash
# Builds the kernel and boots it in QEMU, with the boot log on this terminal.
#
# By default the kernel powers off once it is up and this script exits with
# the kernel's status (0 on a clean power-off). Options:
#   -i, --interactive   keep running; the serial console is this terminal
#                       (quit QEMU with Ctrl-A X)
#   -a, --append TEXT   extra kernel command line, e.g. "log=debug timer.hz=250"
#   -s, --smp N         number of CPUs (default 1)
#   -r, --release       boot an optimised build
#   -h, --help          this text
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; }

interactive=0
append=""
smp=1
profile=dev
while [ $# -gt 0 ]; do
    case $1 in
        -i|--interactive) interactive=1 ;;
        -a|--append) [ $# -ge 2 ] || { usage >&2; exit 2; }; append=$2; shift ;;
        -s|--smp) [ $# -ge 2 ] || { usage >&2; exit 2; }; smp=$2; shift ;;
        -r|--release) profile=release ;;
        -h|--help) usage; exit 0 ;;
        *) echo "run.sh: unknown option $1" >&2; usage >&2; exit 2 ;;
    esac
    shift
done
case $smp in ''|*[!0-9]*) echo "run.sh: --smp needs a number" >&2; exit 2 ;; esac

scripts/setup.sh
cargo build -q -p kernel --bin kernel --target x86_64-unknown-none --profile "$profile"
dir=$([ "$profile" = dev ] && echo debug || echo release)
kernel=target/x86_64-unknown-none/$dir/kernel

cmdline=$append
if [ "$interactive" = 0 ]; then
    cmdline="helix.poweroff${cmdline:+ $cmdline}"
fi
HELIX_CMDLINE="$cmdline" HELIX_SMP="$smp" HELIX_INTERACTIVE="$interactive" exec scripts/qemu-runner.sh "$kernel"
