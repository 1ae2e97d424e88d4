//! The console's `initrd` command: what is in the initrd the loader passed
//! (QEMU's `-initrd FILE`, read in place through
//! [`crate::bootinfo::initrd`]), a cpio "newc" archive
//! read with [`helix_loader::cpio`].
//!
//! - `initrd` lists every entry: its size (`dir` for a directory, `link`
//!   for a symbolic link, with its target) and its name, then the number of
//!   files and their bytes.
//! - `initrd cat NAME` prints a text file: valid UTF-8 without control
//!   characters other than tab, CR and LF (its final newline is the
//!   console's own). Anything else is not printed raw, where it could
//!   drive the terminal: the answer is its size and a hexdump of its first
//!   [`HEXDUMP_BYTES`] bytes.
//!
//! A missing or refused initrd, an archive the reader refuses and a name
//! that is not a file in it are [`InitrdError`]s.

use crate::bootinfo::{self, InitrdRefused};
use alloc::format;
use alloc::string::String;
use core::fmt::Write;
use helix_loader::cpio::{self, CpioError, Entry};

/// How many bytes of a binary file `initrd cat` shows.
pub const HEXDUMP_BYTES: usize = 256;

/// Why an `initrd` command has no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InitrdError {
    /// The kernel was booted without an initrd.
    Missing,
    /// The loader passed one the kernel cannot use.
    Refused(InitrdRefused),
    /// The initrd is not a cpio "newc" archive the reader accepts.
    BadArchive(CpioError),
    /// No entry of the archive has this name.
    NoSuchFile(String),
    /// The entry is a directory, a link or a device, not a regular file.
    NotAFile {
        /// The name asked for.
        name: String,
        /// What it is instead.
        kind: &'static str,
    },
}

impl core::fmt::Display for InitrdError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Missing => f.write_str(
                "no initrd: the kernel was booted without one \
                 (scripts/run.sh --initrd FILE, or HELIX_INITRD=FILE for the QEMU runner)",
            ),
            Self::Refused(why) => write!(f, "no initrd: {why}"),
            Self::BadArchive(e) => {
                write!(f, "the initrd is not a valid cpio (newc) archive: {e}")
            }
            Self::NoSuchFile(name) => write!(f, "no file `{name}` in the initrd"),
            Self::NotAFile { name, kind } => {
                write!(f, "`{name}` in the initrd is a {kind}, not a file")
            }
        }
    }
}

/// The initrd's bytes, or why there are none.
fn archive() -> Result<&'static [u8], InitrdError> {
    match (bootinfo::initrd(), bootinfo::initrd_refused()) {
        (Some(bytes), _) => Ok(bytes),
        (None, Some(why)) => Err(InitrdError::Refused(why)),
        (None, None) => Err(InitrdError::Missing),
    }
}

/// What an entry that is not a regular file is.
fn kind(e: &Entry<'_>) -> &'static str {
    if e.is_dir() {
        "directory"
    } else if e.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// `initrd`: every entry with its size and name, then the totals.
pub fn list() -> Result<String, InitrdError> {
    let archive = archive()?;
    let mut out = String::from("    SIZE  NAME\n");
    let (mut files, mut bytes) = (0usize, 0usize);
    for entry in cpio::entries(archive) {
        let e = entry.map_err(InitrdError::BadArchive)?;
        if e.is_file() {
            files += 1;
            bytes += e.data.len();
            let _ = writeln!(out, "{:>8}  {}", e.data.len(), e.name);
        } else if e.is_dir() {
            let _ = writeln!(out, "{:>8}  {}/", "dir", e.name);
        } else if e.is_symlink() {
            let target = String::from_utf8_lossy(e.data);
            let _ = writeln!(
                out,
                "{:>8}  {} -> {}",
                "link",
                e.name,
                target.escape_debug()
            );
        } else {
            let _ = writeln!(out, "{:>8}  {}", "special", e.name);
        }
    }
    let _ = write!(
        out,
        "{files} file{}, {bytes} bytes (archive of {} bytes)",
        if files == 1 { "" } else { "s" },
        archive.len()
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

/// `initrd cat NAME`: a text file's contents, or a binary file's size and
/// the hexdump of its first [`HEXDUMP_BYTES`] bytes.
pub fn cat(name: &str) -> Result<String, InitrdError> {
    let archive = archive()?;
    let entry = cpio::find(archive, name)
        .map_err(InitrdError::BadArchive)?
        .ok_or_else(|| InitrdError::NoSuchFile(String::from(name)))?;
    if !entry.is_file() {
        return Err(InitrdError::NotAFile {
            name: String::from(name),
            kind: kind(&entry),
        });
    }
    if let Some(text) = is_text(entry.data) {
        // The console ends every answer with a newline of its own.
        return Ok(String::from(text.strip_suffix('\n').unwrap_or(text)));
    }
    let shown = entry.data.len().min(HEXDUMP_BYTES);
    let mut out = format!(
        "{}: {} bytes, not text; its first {shown}:",
        entry.name,
        entry.data.len()
    );
    hexdump(&mut out, &entry.data[..shown]);
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
