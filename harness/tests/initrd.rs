//! End to end: boot the kernel with an initrd (a cpio archive built with
//! `helix_loader::cpio::Writer`, passed by the QEMU runner as `-initrd`
//! through `HELIX_INITRD`) and read it from the console through the `fs`
//! capability that the `initrd_fs` module provides: `ls` lists the files
//! with their sizes, `cat` prints a text file exactly and a binary one as a
//! hexdump, `request initrd_fs stat|read|list` answer in the `fs` wire
//! format, and the frame allocator manages the initrd's frames fewer than
//! without it. Without an initrd, or with one that is no archive, the
//! console answers with the typed error.

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

/// The size column of `name`'s row in the `ls` listing.
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
    let none = bare.command("ls");
    assert!(
        none.starts_with("error: no initrd: the kernel was booted without one"),
        "{none}"
    );
    assert_eq!(bare.command("cat hello.txt"), none);
    assert_eq!(
        bare.command("request fs stat hello.txt"),
        none,
        "the provider answers with the same error"
    );
    let lsmod = bare.command("lsmod");
    assert!(
        lsmod
            .lines()
            .any(|l| l.starts_with("initrd_fs ") && l.contains(" running ")),
        "initrd_fs runs without an initrd:\n{lsmod}"
    );
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
    let listing = c.command("ls");
    assert!(listing.starts_with("    SIZE  NAME\n"), "{listing}");
    assert_eq!(listed_size(&listing, "hello.txt"), HELLO.len().to_string());
    assert_eq!(listed_size(&listing, "modules/"), "dir");
    assert_eq!(listed_size(&listing, "modules/pattern.bin"), "65536");
    assert_eq!(listed_size(&listing, "empty"), "0");
    let total = HELLO.len() + PATTERN_LEN;
    assert!(
        listing.ends_with(&format!("3 files, {total} bytes")),
        "{listing}"
    );
    // Below a directory only what is in it; the same with a trailing `/`.
    let modules = c.command("ls modules");
    assert_eq!(
        modules,
        "    SIZE  NAME\n   65536  modules/pattern.bin\n1 file, 65536 bytes"
    );
    assert_eq!(c.command("ls /modules/"), modules);

    // A text file exactly (the console's newline ends it), an empty one.
    assert_eq!(
        c.command("cat hello.txt"),
        HELLO.strip_suffix('\n').unwrap()
    );
    assert_eq!(c.command("cat ./hello.txt"), c.command("cat hello.txt"));
    assert_eq!(c.command("cat empty"), "");

    // A binary file: its size and a hexdump of its first 256 bytes.
    let dump = c.command("cat modules/pattern.bin");
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

    // The provider's own answers, in the `fs` wire format.
    assert_eq!(
        c.command("request fs stat modules/pattern.bin"),
        "65536\tfile\t0644"
    );
    assert_eq!(c.command("request initrd_fs stat modules"), "0\tdir\t0755");
    assert_eq!(c.command("request fs read 6 4 hello.txt"), &HELLO[6..10]);
    assert_eq!(
        c.command("request fs read 40 999 hello.txt"),
        HELLO[40..].trim_end()
    );
    assert_eq!(
        c.command("request fs list modules"),
        "65536\tfile\tmodules/pattern.bin"
    );

    // Typed errors for what is not there, or not a file.
    assert_eq!(
        c.command("cat nothing.txt"),
        "error: no such file or directory: `nothing.txt`"
    );
    assert_eq!(
        c.command("ls nothing"),
        "error: no such file or directory: `nothing`"
    );
    assert_eq!(
        c.command("cat modules"),
        "error: `modules` is a directory, not a file"
    );
    assert_eq!(
        c.command("ls hello.txt"),
        "error: `hello.txt` is a file, not a directory"
    );
    assert_eq!(
        c.command("request fs read 9999 1 hello.txt"),
        format!(
            "error: offset 9999 is past the end of `hello.txt` ({} bytes)",
            HELLO.len()
        )
    );
    assert_eq!(
        c.command("request fs read hello.txt"),
        "error: bad request: no length"
    );
    assert_eq!(
        c.command("request fs write hello.txt"),
        "error: unknown request 'write' (try list, stat, read, stats)"
    );
    assert_eq!(c.command("ls a b"), "error: usage: ls [DIR]");
    assert_eq!(c.command("cat"), "error: usage: cat FILE");
    let stats = c.command("request initrd_fs stats");
    assert!(stats.starts_with("requests="), "{stats}");
    assert!(!stats.contains("errors=0 "), "{stats}");
    let help = c.command("help");
    assert!(
        help.contains("cat FILE") && help.contains("ls [DIR]"),
        "{help}"
    );

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
    assert_eq!(c.command("ls"), error);
    assert_eq!(c.command("cat hello.txt"), error);
}

/// Boots the test kernel `name` with `archive` as its initrd; its output,
/// after checking that every test passed.
fn test_kernel_with_initrd(name: &str, archive: &[u8]) -> String {
    let path = temp_file(&format!("initrd-{name}.cpio"), archive);
    let (out, text) = harness::run_captured(
        &["--test", name],
        &[("HELIX_INITRD", path.to_str().unwrap())],
    );
    assert!(out.status.success(), "{text}");
    text
}

#[test]
fn the_frame_allocator_never_hands_out_the_initrd() {
    // The `frames` test kernel, booted with an initrd: it allocates every
    // free frame and checks none lies in the initrd.
    let text = test_kernel_with_initrd("frames", &archive());
    assert!(
        text.contains("test initrd_frames_are_never_handed_out ... ok"),
        "{text}"
    );
}

/// The archive `kernel/tests/files.rs` expects: a text file, a directory
/// with a 300 000-byte file, `many/` with 1000 files of long names (file
/// `i` holds `i` bytes), and a file whose directories have no entries.
fn files_archive() -> Vec<u8> {
    let mut w = Writer::new();
    w.add_file("hello.txt", 0o644, HELLO.as_bytes()).unwrap();
    w.add_dir("modules", 0o755).unwrap();
    let big: Vec<u8> = (0..300_000).map(|i| (i * 7 % 251) as u8).collect();
    w.add_file("modules/big.bin", 0o644, &big).unwrap();
    w.add_dir("many", 0o755).unwrap();
    for i in 0..1000 {
        let name = format!("many/{i:04}-{}", "x".repeat(70));
        w.add_file(&name, 0o644, &vec![b'm'; i]).unwrap();
    }
    w.add_file("deep/a/b.txt", 0o644, b"deep\n").unwrap();
    w.finish()
}

#[test]
fn kernel_code_reads_files_through_the_fs_capability() {
    // The `files` test kernel, booted with its archive: large files in
    // chunks, long listings in parts, typed errors.
    let text = test_kernel_with_initrd("files", &files_archive());
    assert!(text.contains("6 passed; 0 failed"), "{text}");
    // The tests that need the initrd return early without one: these
    // lines say they ran.
    for line in [
        "files: read 300000 bytes of modules/big.bin in 1 stat and 5 reads",
        "files: listed 1000 entries of many/",
    ] {
        assert!(text.contains(line), "no `{line}` in:\n{text}");
    }
}
