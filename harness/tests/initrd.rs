//! End to end: boot the kernel with an initrd (a cpio archive built with
//! `helix_loader::cpio::Writer`, passed by the QEMU runner as `-initrd`
//! through `HELIX_INITRD`) and read it from the console: `initrd` lists
//! the files with their sizes, `initrd cat` prints a text file exactly and
//! a binary one as a hexdump, and the frame allocator manages the
//! initrd's frames fewer than without it. Without an initrd, or with one
//! that is no archive, the console answers with the typed error.

use harness::console::Console;
use helix_loader::cpio::Writer;
use std::path::PathBuf;

const HELLO: &str = "Hello from the initrd!\nA second line,\twith a tab.\n";
const PATTERN_LEN: usize = 64 * 1024;

/// 64 KiB that are not text: byte `i` is `i * 7 mod 251`.
fn pattern() -> Vec<u8> {
    (0..PATTERN_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

/// Writes `bytes` to a file of its own under cargo's temporary directory
/// for integration tests.
fn temp_file(name: &str, bytes: &[u8]) -> PathBuf {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    std::fs::write(&path, bytes).expect("cannot write the initrd file");
    path
}

/// The test archive: a text file, a directory with a 64 KiB binary file,
/// an empty file.
fn archive() -> Vec<u8> {
    let mut w = Writer::new();
    w.add_file("hello.txt", 0o644, HELLO.as_bytes()).unwrap();
    w.add_dir("modules", 0o755).unwrap();
    w.add_file("modules/pattern.bin", 0o644, &pattern())
        .unwrap();
    w.add_file("empty", 0o600, b"").unwrap();
    w.finish()
}

/// `(free, total)` from the `mem` command's `frames:` line.
fn frames(mem: &str) -> (usize, usize) {
    let line = mem
        .lines()
        .find(|l| l.starts_with("frames:"))
        .unwrap_or_else(|| panic!("no frames line in:\n{mem}"));
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(&words[2..4], ["free", "of"], "{line}");
    (words[1].parse().unwrap(), words[4].parse().unwrap())
}

/// The size column of `name`'s row in the `initrd` listing.
fn listed_size<'a>(listing: &'a str, name: &str) -> &'a str {
    listing
        .lines()
        .find_map(|l| {
            let (size, rest) = l.trim_start().split_once("  ")?;
            (rest == name).then_some(size)
        })
        .unwrap_or_else(|| panic!("no {name} in:\n{listing}"))
}

#[test]
fn initrd_files_are_listed_and_read_and_their_frames_kept() {
    // Without an initrd: the typed error, and the frame total to compare.
    let mut bare = Console::boot(1, "");
    let none = bare.command("initrd");
    assert!(
        none.starts_with("error: no initrd: the kernel was booted without one"),
        "{none}"
    );
    assert_eq!(bare.command("initrd cat hello.txt"), none);
    let bare_mem = bare.command("mem");
    assert!(!bare_mem.contains("kept for the initrd"), "{bare_mem}");
    let (_, total_without) = frames(&bare_mem);
    drop(bare);

    let archive = archive();
    let path = temp_file("initrd-session.cpio", &archive);
    let mut c = Console::boot_with_env(1, "", &[("HELIX_INITRD", path.to_str().unwrap())]);
    assert!(
        c.output()
            .contains(&format!("KiB, {} bytes)", archive.len())),
        "no initrd line in the banner:\n{}",
        c.output()
    );

    // Every entry with its size, then the totals.
    let listing = c.command("initrd");
    assert!(listing.starts_with("    SIZE  NAME\n"), "{listing}");
    assert_eq!(listed_size(&listing, "hello.txt"), HELLO.len().to_string());
    assert_eq!(listed_size(&listing, "modules/"), "dir");
    assert_eq!(listed_size(&listing, "modules/pattern.bin"), "65536");
    assert_eq!(listed_size(&listing, "empty"), "0");
    let total = HELLO.len() + PATTERN_LEN;
    assert!(
        listing.ends_with(&format!(
            "3 files, {total} bytes (archive of {} bytes)",
            archive.len()
        )),
        "{listing}"
    );

    // A text file exactly (the console's newline ends it), an empty one.
    assert_eq!(
        c.command("initrd cat hello.txt"),
        HELLO.strip_suffix('\n').unwrap()
    );
    assert_eq!(
        c.command("initrd cat ./hello.txt"),
        c.command("initrd cat hello.txt")
    );
    assert_eq!(c.command("initrd cat empty"), "");

    // A binary file: its size and a hexdump of its first 256 bytes.
    let dump = c.command("initrd cat modules/pattern.bin");
    let mut lines = dump.lines();
    assert_eq!(
        lines.next(),
        Some("modules/pattern.bin: 65536 bytes, not text; its first 256:")
    );
    assert_eq!(
        lines.next(),
        Some("00000000  00 07 0e 15 1c 23 2a 31  38 3f 46 4d 54 5b 62 69  |.....#*18?FMT[bi|")
    );
    assert_eq!(dump.lines().count(), 1 + 16, "{dump}");
    assert!(
        dump.lines().last().unwrap().starts_with("000000f0 "),
        "{dump}"
    );

    // Typed errors for what is not there, or not a file.
    assert_eq!(
        c.command("initrd cat nothing.txt"),
        "error: no file `nothing.txt` in the initrd"
    );
    assert_eq!(
        c.command("initrd cat modules"),
        "error: `modules` in the initrd is a directory, not a file"
    );
    assert_eq!(
        c.command("initrd list"),
        "error: usage: initrd | initrd cat NAME"
    );
    let help = c.command("help");
    assert!(help.contains("initrd cat NAME"), "{help}");

    // The frames the initrd occupies are no longer managed: exactly the
    // pages it touches (QEMU puts it at a page boundary), and `mem` says so.
    let mem = c.command("mem");
    let (_, total_with) = frames(&mem);
    let pages = archive.len().div_ceil(4096);
    assert_eq!(total_without - total_with, pages, "{bare_mem}\n{mem}");
    assert!(
        mem.contains(&format!(", {pages} more kept for the initrd")),
        "{mem}"
    );
}

#[test]
fn an_initrd_that_is_no_archive_is_a_typed_error() {
    let junk: Vec<u8> = (0..5000u32).map(|i| (i % 200) as u8 + 1).collect();
    let path = temp_file("initrd-junk.bin", &junk);
    let mut c = Console::boot_with_env(1, "", &[("HELIX_INITRD", path.to_str().unwrap())]);
    let error = "error: the initrd is not a valid cpio (newc) archive: \
                 cpio header at offset 0 does not start with 070701";
    assert_eq!(c.command("initrd"), error);
    assert_eq!(c.command("initrd cat hello.txt"), error);
}

#[test]
fn the_frame_allocator_never_hands_out_the_initrd() {
    // The `frames` test kernel, booted with an initrd: it allocates every
    // free frame and checks none lies in the initrd.
    let path = temp_file("initrd-frames.cpio", &archive());
    let (out, text) = harness::run_captured(
        &["--test", "frames"],
        &[("HELIX_INITRD", path.to_str().unwrap())],
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("test initrd_frames_are_never_handed_out ... ok"),
        "{text}"
    );
}
