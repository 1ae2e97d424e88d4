#!/usr/bin/env bash
# Installs what building and booting Helix needs beyond stable Rust:
# the x86_64-unknown-none target, rustfmt and clippy, and QEMU (Debian's
# qemu-system-x86). Idempotent: checks first, installs only what is missing.
# run.sh and test.sh call it; it is safe to run by hand.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf 'setup: %s\n' "$*" >&2; }

if ! command -v rustup >/dev/null 2>&1; then
    say "rustup not found: install stable Rust with rustup first (https://rustup.rs)"
    exit 1
fi

# RUSTUP_AUTO_INSTALL=0 makes rustup skip the targets in rust-toolchain.toml
# silently, so add the kernel target explicitly (docs/architecture.md §3).
if ! rustup target list --installed | grep -qx x86_64-unknown-none; then
    say "adding the x86_64-unknown-none target"
    rustup target add x86_64-unknown-none
fi
for component in rustfmt clippy; do
    if ! rustup component list --installed | grep -q "^${component}-"; then
        say "adding the ${component} component"
        rustup component add "$component"
    fi
done

if ! command -v qemu-system-x86_64 >/dev/null 2>&1; then
    say "installing QEMU (qemu-system-x86) from Debian"
    sudo=()
    if [ "$(id -u)" != 0 ]; then
        sudo=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends qemu-system-x86 >/dev/null
    command -v qemu-system-x86_64 >/dev/null 2>&1 || { say "QEMU install failed"; exit 1; }
fi

# Download every crate in Cargo.lock for every target, not only those the
# host build needs: `scripts/new-module` checks the workspace with
# `cargo metadata --offline`, which needs target-specific crates too
# (criterion -> half -> crunchy) that a normal build never fetches.
if ! cargo fetch --locked --quiet; then
    say "cargo fetch failed: the crates in Cargo.lock could not be downloaded"
    exit 1
fi

# The development module-signing key (kept out of git): `module_sig` embeds
# its public half when the kernel is built, and `module-sign sign` uses the
# secret half. Made once; an existing key is never replaced.
if [ ! -e .keys/module-signing.key ] && [ ! -e .keys/module-signing.pub ]; then
    say "making the development module-signing key in .keys/"
    cargo run -q --locked -p module-sign -- keygen .keys >/dev/null
fi
