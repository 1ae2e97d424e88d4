#!/usr/bin/env bash
# `scripts/new-module --remove NAME`: the exact inverse of creating module
# NAME. Deletes modules_impl/KIND/NAME and kernel/tests/NAME.rs, takes the
# module out of Cargo.toml (members, default-members, dependencies),
# kernel/Cargo.toml (dependency, [[test]]) and kernel/src/modules.rs
# (MODULES), and lets cargo update Cargo.lock. Refuses crates that
# new-module did not write (no `created-by = "new-module"` mark): the
# modules that ship with Helix. Everything is checked before anything
# changes; if a step fails, every file is put back and the status is 1.
# NAME has been validated by new-module; run from the repository root.
set -euo pipefail

prog="new-module --remove"
name=$1

die() {
    printf '%s: error: %s\n' "$prog" "$*" >&2
    exit 1
}

cargo_toml=Cargo.toml
kernel_toml=kernel/Cargo.toml
modules_rs=kernel/src/modules.rs
cargo_lock=Cargo.lock
ktest="kernel/tests/$name.rs"

# --- find everything, refuse what we did not write ----------------------------
dest=
for d in modules_impl/*/"$name"; do
    [ -d "$d" ] && dest=$d
done
[ -n "$dest" ] || die "no module crate modules_impl/*/$name"
kind=$(basename "$(dirname "$dest")")
[ -f "$dest/Cargo.toml" ] || die "$dest has no Cargo.toml"
if ! grep -qxF 'created-by = "new-module"' "$dest/Cargo.toml"; then
    die "$name was not created by new-module (it ships with Helix): refusing to remove it"
fi
module_line=$(grep -nE "^[[:space:]]*\(\"$name\", v2::<$name::[A-Za-z0-9_]+>\),$" "$modules_rs" | cut -d: -f1 || true)
[ -n "$module_line" ] || die "$modules_rs has no MODULES line for $name"
[ -f "$ktest" ] || die "$ktest is missing"
grep -qE "^$name = \{ path = \"$dest\" \}$" "$cargo_toml" ||
    die "$cargo_toml has no dependency line for $name"
grep -qxF "$name.workspace = true" "$kernel_toml" || die "$kernel_toml has no dependency on $name"
grep -qxF "name = \"$name\"" "$kernel_toml" || die "$kernel_toml has no [[test]] $name"
for f in "$cargo_toml" "$kernel_toml" "$modules_rs"; do
    [ -w "$f" ] || die "$f is not writable"
done
[ -w "$dest" ] && [ -w "$(dirname "$dest")" ] && [ -w kernel/tests ] || die "cannot delete $dest or $ktest"

# --- back up, with a rollback on any failure ---------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/new-module-remove.XXXXXX")
committed=0
rollback() {
    local status=$?
    trap - EXIT INT TERM
    if [ "$committed" = 0 ]; then
        for f in "$cargo_toml" "$kernel_toml" "$modules_rs" "$cargo_lock"; do
            [ -e "$work/backup/$f" ] && cp -p "$work/backup/$f" "$f"
        done
        if [ -d "$work/crate" ] && [ ! -e "$dest" ]; then
            mkdir -p "$(dirname "$dest")"
            mv "$work/crate" "$dest"
        fi
        if [ -e "$work/ktest.rs" ] && [ ! -e "$ktest" ]; then
            mv "$work/ktest.rs" "$ktest"
        fi
        if [ "$status" = 0 ]; then status=1; fi
        printf '%s: failed; nothing was changed\n' "$prog" >&2
    fi
    rm -rf "$work"
    exit "$status"
}
trap rollback EXIT
trap 'exit 130' INT TERM

mkdir -p "$work/backup/kernel/src"
for f in "$cargo_toml" "$kernel_toml" "$modules_rs" "$cargo_lock"; do
    [ -e "$f" ] && cp -p "$f" "$work/backup/$f"
done

# Replaces $1 with the output of awk program $2 run over it (extra args to awk).
edit() {
    local file=$1 prog_text=$2
    shift 2
    awk "$@" "$prog_text" "$file" >"$work/edit.tmp"
    cmp -s "$file" "$work/edit.tmp" && die "could not edit $file"
    cat "$work/edit.tmp" >"$file"
}

# Workspace members and default-members: drop "dest" from each list, on one
# line (`, "dest"` or `"dest", `) or on a line of its own.
for key in members default-members; do
    edit "$cargo_toml" '
        index($0, key " = [") == 1 { open = 1 }
        open {
            one = ", \"" path "\""; first = "\"" path "\", "
            if ((i = index($0, one)) > 0) { $0 = substr($0, 1, i - 1) substr($0, i + length(one)); done = 1 }
            else if ((i = index($0, first)) > 0) { $0 = substr($0, 1, i - 1) substr($0, i + length(first)); done = 1 }
            else if ($0 ~ "^[[:space:]]*\"" path "\",?[[:space:]]*$") { if (/\]/) { print "]" } ; open = !/\]/; next }
            if (/\]/) open = 0
        }
        { print }' -v key="$key" -v path="$dest"
done
edit "$cargo_toml" '$0 != line { print }' -v line="$name = { path = \"$dest\" }"
edit "$kernel_toml" '$0 != line { print }' -v line="$name.workspace = true"
# The [[test]] block (and the blank line before it).
edit "$kernel_toml" '
    { lines[NR] = $0 }
    END {
        for (i = 1; i <= NR; i++) {
            if (lines[i] == "[[test]]" && lines[i + 1] == "name = \"" name "\"") {
                if (n > 0 && out[n] == "") n--
                for (i++; i <= NR && lines[i] != "" && lines[i] !~ /^\[/; i++) {}
                i--
                continue
            }
            out[++n] = lines[i]
        }
        for (i = 1; i <= n; i++) print out[i]
    }' -v name="$name"
edit "$modules_rs" 'NR != at { print }' -v at="$module_line"

# --- delete the files (kept in $work until the end, for the rollback) ----------
mv "$dest" "$work/crate"
mv "$ktest" "$work/ktest.rs"

if [ -n "${HELIX_NEW_MODULE_FAIL:-}" ]; then
    # For the scaffold test: fail after every edit, to prove the rollback.
    die "failing on purpose (HELIX_NEW_MODULE_FAIL is set)"
fi

# The workspace must still resolve; this also drops the crate from Cargo.lock.
if command -v cargo >/dev/null 2>&1; then
    if ! cargo metadata --offline --format-version 1 >/dev/null 2>"$work/metadata.err"; then
        cat "$work/metadata.err" >&2
        die "the workspace does not resolve with $name removed"
    fi
fi

committed=1
# An empty kind directory is left as it was: the shipped kinds always have
# modules, and a kind new-module made for this crate alone goes with it.
rmdir "modules_impl/$kind" 2>/dev/null || true
printf 'removed %s and %s\n' "$dest" "$ktest"
printf 'unregistered %s from Cargo.toml, kernel/Cargo.toml and kernel/src/modules.rs\n' "$name"
