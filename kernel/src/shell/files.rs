//! The console's file commands, `ls [DIR]` and `cat FILE`: clients of the
//! `fs` capability ([`crate::fs`]), so they show whatever the provider of
//! `fs` (the `initrd_fs` module, reading the initrd) serves, and print its
//! refusals (no initrd, no such file, ...) as they are.
//!
//! - `ls [DIR]` lists every entry below `DIR` (the root without one), at
//!   any depth: its size (`dir` for a directory, with a `/` after its
//!   name; `link`, `special` for the others) and its path, then the number
//!   of files and their bytes.
//! - `cat FILE` prints a text file: valid UTF-8 without control characters
//!   other than tab, CR and LF (its final newline is the console's own).
//!   Anything else is not printed raw, where it could drive the terminal:
//!   the answer is its size and a hexdump of its first [`HEXDUMP_BYTES`]
//!   bytes. So is a file over [`CAT_MAX`] bytes, which is not read whole.

use crate::fs::{self, Kind, Stat};
use alloc::format;
use alloc::string::{String, ToString};
use core::fmt::Write;
use helix_loader::fs_proto::normalize;
use helix_modules::{Caller, Registry};

/// How many bytes of a binary file `cat` shows.
pub const HEXDUMP_BYTES: usize = 256;

/// The largest file `cat` reads whole to print it as text.
pub const CAT_MAX: u64 = 1024 * 1024;

/// A path as printed: escaped if it holds control characters.
fn shown(path: &str) -> String {
    if path.chars().any(char::is_control) {
        path.escape_debug().to_string()
    } else {
        String::from(path)
    }
}

/// `ls [DIR]`: every entry below `DIR` with its size, then the totals.
pub fn ls(r: &Registry, caller: Caller, args: &[&str]) -> Result<String, String> {
    let dir = match args {
        [] => "",
        [dir] => dir,
        _ => return Err(String::from("usage: ls [DIR]")),
    };
    let entries = fs::list(r, caller, dir).map_err(|e| e.to_string())?;
    let mut out = String::from("    SIZE  NAME\n");
    let (mut files, mut bytes) = (0usize, 0u64);
    for e in &entries {
        let path = shown(&e.path);
        let _ = match e.kind {
            Kind::File => {
                files += 1;
                bytes += e.size;
                writeln!(out, "{:>8}  {path}", e.size)
            }
            Kind::Dir => writeln!(out, "{:>8}  {path}/", "dir"),
            Kind::Link => writeln!(out, "{:>8}  {path}", "link"),
            Kind::Special => writeln!(out, "{:>8}  {path}", "special"),
        };
    }
    let _ = write!(
        out,
        "{files} file{}, {bytes} bytes",
        if files == 1 { "" } else { "s" }
    );
    Ok(out)
}

/// Whether `data` prints as text: UTF-8 without control characters but
/// tab, CR and LF.
fn is_text(data: &[u8]) -> Option<&str> {
    let text = core::str::from_utf8(data).ok()?;
    text.chars()
        .all(|c| !c.is_control() || matches!(c, '\t' | '\r' | '\n'))
        .then_some(text)
}

/// `cat FILE`: a text file's contents, or a binary (or very large) file's
/// size and the hexdump of its first [`HEXDUMP_BYTES`] bytes.
pub fn cat(r: &Registry, caller: Caller, path: &str) -> Result<String, String> {
    let name = shown(normalize(path));
    let Stat { size, kind, .. } = fs::stat(r, caller, path).map_err(|e| e.to_string())?;
    if kind != Kind::File {
        return Err(fs::FsError::NotAFile {
            path: String::from(normalize(path)),
            kind,
        }
        .to_string());
    }
    let (head, why) = if size > CAT_MAX {
        let head = fs::read_at(r, caller, path, 0, HEXDUMP_BYTES).map_err(|e| e.to_string())?;
        (head, "too large to print")
    } else {
        let data = fs::read_file(r, caller, path).map_err(|e| e.to_string())?;
        if let Some(text) = is_text(&data) {
            // The console ends every answer with a newline of its own.
            return Ok(String::from(text.strip_suffix('\n').unwrap_or(text)));
        }
        (data, "not text")
    };
    let shown_len = head.len().min(HEXDUMP_BYTES);
    let mut out = format!("{name}: {size} bytes, {why}; its first {shown_len}:");
    hexdump(&mut out, &head[..shown_len]);
    Ok(out)
}

/// Appends `bytes` to `out` as `hexdump -C` does: offset, 16 bytes in hex,
/// the printable ones as characters.
fn hexdump(out: &mut String, bytes: &[u8]) {
    for (i, row) in bytes.chunks(16).enumerate() {
        let _ = write!(out, "\n{:08x} ", i * 16);
        for (j, b) in row.iter().enumerate() {
            let gap = if j == 8 { "  " } else { " " };
            let _ = write!(out, "{gap}{b:02x}");
        }
        // Pad a short last row so the text column lines up.
        for j in row.len()..16 {
            out.push_str(if j == 8 { "    " } else { "   " });
        }
        out.push_str("  |");
        for &b in row {
            out.push(if b.is_ascii_graphic() || b == b' ' {
                char::from(b)
            } else {
                '.'
            });
        }
        out.push('|');
    }
}
