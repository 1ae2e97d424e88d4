//! The `fs` capability's wire format: what a FILESYSTEM module (the
//! kernel's `initrd_fs`) and its clients put in IPC payloads. Both sides
//! use these types, so the encoding lives in one place and is host-tested.
//!
//! Three requests, all text, typable from the console's `request`:
//!
//! - [`LIST`]: payload `DIR` (a directory, empty for the root), or
//!   `DIR` NUL `START` to continue a listing from its entry number `START`
//!   (decimal). The answer is one line per entry below `DIR`, at any
//!   depth, in the filesystem's order: `SIZE<TAB>KIND<TAB>PATH` ([`Kind`]
//!   tokens `file`, `dir`, `link`, `special`; `PATH` from the root, with
//!   `\`, tab, newline and CR escaped as `\\`, `\t`, `\n`, `\r`). An answer that
//!   would not fit in [`MAX_LISTING`] bytes is cut after a whole entry and
//!   ends with the line `MORE<TAB>NEXT`: ask again from entry `NEXT`.
//! - [`STAT`]: payload `PATH`; the answer is `SIZE<TAB>KIND<TAB>MODE`, the
//!   mode as four octal digits (`65536<TAB>file<TAB>0644`).
//! - [`READ`]: payload `OFFSET LEN PATH` (decimal numbers, single spaces;
//!   the path is the rest, spaces included); the answer is the file's
//!   bytes from `OFFSET`, at most `LEN` and at most [`MAX_READ`]; fewer
//!   only at the end of the file, none at its end.
//!
//! Paths are relative to the filesystem's root: a leading `./` or `/` and a
//! trailing `/` do not count ([`normalize`]). Malformed payloads are
//! [`ProtoError`]s.

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::{self, Write};

/// The capability a filesystem module provides and its clients ask for.
pub const CAPABILITY: &str = "fs";
/// Request type: the entries below a directory.
pub const LIST: &str = "list";
/// Request type: one path's size, kind and mode.
pub const STAT: &str = "stat";
/// Request type: bytes of a file.
pub const READ: &str = "read";
/// The most bytes one `read` answers: the registry's default limit on a
/// payload (64 KiB), so a client reads a file in as few requests as it can.
pub const MAX_READ: usize = 64 * 1024;
/// The most bytes one `list` answer holds, the `MORE` line included.
pub const MAX_LISTING: usize = 60 * 1024;

/// What a path names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (its size is its target's length).
    Link,
    /// A device node, FIFO or socket.
    Special,
}

impl Kind {
    /// The token the wire format uses: `file`, `dir`, `link`, `special`.
    pub fn token(self) -> &'static str {
        match self {
            Self::File => "file",
            Self::Dir => "dir",
            Self::Link => "link",
            Self::Special => "special",
        }
    }

    /// The kind a wire token names.
    pub fn from_token(token: &str) -> Result<Self, ProtoError> {
        [Self::File, Self::Dir, Self::Link, Self::Special]
            .into_iter()
            .find(|k| k.token() == token)
            .ok_or_else(|| ProtoError::UnknownKind(String::from(token)))
    }
}

/// In words: `file`, `directory`, `symbolic link`, `special file`.
impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::File => "file",
            Self::Dir => "directory",
            Self::Link => "symbolic link",
            Self::Special => "special file",
        })
    }
}

/// Why a payload does not follow the format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoError {
    /// The payload is not UTF-8.
    NotUtf8,
    /// A field is missing.
    MissingField(&'static str),
    /// A field that should be a number is not one (or is too large).
    BadNumber {
        /// The field's name.
        field: &'static str,
        /// What it held.
        text: String,
    },
    /// A kind token that is none of `file`, `dir`, `link`, `special`.
    UnknownKind(String),
    /// A `\` in a listed path followed by something other than `\`, `t`,
    /// `n`, `r`.
    BadEscape(String),
    /// A `read` answered with more bytes than were asked for.
    Oversized {
        /// The most bytes asked for.
        asked: usize,
        /// The bytes answered.
        got: usize,
    },
    /// A cut listing does not continue right after its last entry.
    BadNext {
        /// The entry after the last one answered.
        expected: usize,
        /// The `NEXT` it gave.
        got: usize,
    },
}

impl fmt::Display for ProtoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotUtf8 => f.write_str("the payload is not UTF-8"),
            Self::MissingField(field) => write!(f, "no {field}"),
            Self::BadNumber { field, text } => {
                write!(f, "{field} `{}` is not a number", text.escape_debug())
            }
            Self::UnknownKind(token) => write!(f, "unknown kind `{}`", token.escape_debug()),
            Self::BadEscape(path) => write!(f, "bad escape in `{}`", path.escape_debug()),
            Self::Oversized { asked, got } => {
                write!(f, "{got} bytes in answer to a read of at most {asked}")
            }
            Self::BadNext { expected, got } => write!(
                f,
                "a listing cut before entry {expected} continues from entry {got}"
            ),
        }
    }
}

impl core::error::Error for ProtoError {}

/// `path` relative to the root: without leading `./` and `/`, trailing `/`,
/// and `.` for the root itself (`"./a/b/"` is `"a/b"`, `"/"` is `""`).
pub fn normalize(path: &str) -> &str {
    let p = crate::cpio::strip_root(path).trim_end_matches('/');
    if p == "." { "" } else { p }
}

fn text(payload: &[u8]) -> Result<&str, ProtoError> {
    core::str::from_utf8(payload).map_err(|_| ProtoError::NotUtf8)
}

fn number<T: core::str::FromStr>(field: &'static str, text: &str) -> Result<T, ProtoError> {
    // `FromStr` takes a sign: the format has none.
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ProtoError::BadNumber {
            field,
            text: String::from(text),
        });
    }
    text.parse().map_err(|_| ProtoError::BadNumber {
        field,
        text: String::from(text),
    })
}

/// A `list` request: the directory, and the entry to start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListRequest<'a> {
    /// The directory, normalized ([`normalize`]); empty for the root.
    pub dir: &'a str,
    /// The number of the first entry to answer (0 at first, then `NEXT`).
    pub start: usize,
}

impl<'a> ListRequest<'a> {
    /// The payload: `DIR`, or `DIR` NUL `START` when `start` is not 0.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::from(self.dir.as_bytes());
        if self.start > 0 {
            out.push(0);
            out.extend_from_slice(format!("{}", self.start).as_bytes());
        }
        out
    }

    /// Reads a payload made by [`ListRequest::encode`] (or typed).
    pub fn parse(payload: &'a [u8]) -> Result<Self, ProtoError> {
        let payload = text(payload)?;
        let (dir, start) = match payload.split_once('\0') {
            Some((dir, start)) => (dir, number("start", start)?),
            None => (payload, 0),
        };
        Ok(Self {
            dir: normalize(dir),
            start,
        })
    }
}

/// One line of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListEntry {
    /// Bytes of data (a link's target length; 0 for a directory).
    pub size: u64,
    /// What it is.
    pub kind: Kind,
    /// Its path from the root.
    pub path: String,
}

/// A `list` answer: entries, and where to continue if it was cut.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing {
    /// The entries, in the filesystem's order.
    pub entries: Vec<ListEntry>,
    /// The entry number to ask for next, if the answer was cut.
    pub next: Option<usize>,
}

/// Builds a `list` answer within [`MAX_LISTING`] bytes.
#[derive(Debug, Default)]
pub struct ListingWriter {
    out: String,
}

/// The longest `MORE` line ([`usize::MAX`] in decimal).
const MORE_LINE_MAX: usize = "MORE\t\n".len() + 20;

impl ListingWriter {
    /// An empty answer.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an entry; `false` (and nothing added) if it does not fit with
    /// room left for the `MORE` line.
    pub fn push(&mut self, size: u64, kind: Kind, path: &str) -> bool {
        let mut line = format!("{size}\t{}\t", kind.token());
        escape_into(&mut line, path);
        line.push('\n');
        if self.out.len() + line.len() + MORE_LINE_MAX > MAX_LISTING {
            return false;
        }
        self.out.push_str(&line);
        true
    }

    /// Whether no entry was added yet.
    pub fn is_empty(&self) -> bool {
        self.out.is_empty()
    }

    /// The payload; `next` is the entry to continue from if it was cut.
    pub fn finish(mut self, next: Option<usize>) -> Vec<u8> {
        if let Some(next) = next {
            let _ = writeln!(self.out, "MORE\t{next}");
        }
        self.out.into_bytes()
    }
}

impl Listing {
    /// Reads a `list` answer.
    pub fn parse(payload: &[u8]) -> Result<Self, ProtoError> {
        let mut listing = Listing::default();
        for line in text(payload)?.lines() {
            let mut fields = line.splitn(3, '\t');
            let first = fields.next().unwrap_or("");
            let second = fields.next().ok_or(ProtoError::MissingField("kind"))?;
            if first == "MORE" {
                listing.next = Some(number("next", second)?);
                continue;
            }
            let path = fields.next().ok_or(ProtoError::MissingField("path"))?;
            listing.entries.push(ListEntry {
                size: number("size", first)?,
                kind: Kind::from_token(second)?,
                path: unescape(path)?,
            });
        }
        Ok(listing)
    }
}

fn escape_into(out: &mut String, path: &str) {
    for c in path.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
}

fn unescape(path: &str) -> Result<String, ProtoError> {
    let mut out = String::with_capacity(path.len());
    let mut chars = path.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        out.push(match chars.next() {
            Some('\\') => '\\',
            Some('t') => '\t',
            Some('n') => '\n',
            Some('r') => '\r',
            _ => return Err(ProtoError::BadEscape(String::from(path))),
        });
    }
    Ok(out)
}

/// A `stat` answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    /// Bytes of data (a link's target length; 0 for a directory).
    pub size: u64,
    /// What the path names.
    pub kind: Kind,
    /// Permission bits (`0o644`).
    pub mode: u32,
}

impl Stat {
    /// The payload: `SIZE<TAB>KIND<TAB>MODE` (mode in octal, 4 digits).
    pub fn encode(&self) -> Vec<u8> {
        format!("{}\t{}\t{:04o}", self.size, self.kind.token(), self.mode).into_bytes()
    }

    /// Reads a payload made by [`Stat::encode`].
    pub fn parse(payload: &[u8]) -> Result<Self, ProtoError> {
        let mut fields = text(payload)?.trim_end().split('\t');
        let size = number("size", fields.next().unwrap_or(""))?;
        let kind = Kind::from_token(fields.next().ok_or(ProtoError::MissingField("kind"))?)?;
        let mode = fields.next().ok_or(ProtoError::MissingField("mode"))?;
        let bad = || ProtoError::BadNumber {
            field: "mode",
            text: String::from(mode),
        };
        if mode.is_empty() || !mode.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
            return Err(bad());
        }
        let mode = u32::from_str_radix(mode, 8).map_err(|_| bad())?;
        Ok(Self { size, kind, mode })
    }
}

/// A `read` request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadRequest<'a> {
    /// The file, as given (the server normalizes it).
    pub path: &'a str,
    /// The first byte wanted.
    pub offset: u64,
    /// The most bytes wanted (the answer holds at most [`MAX_READ`]).
    pub len: usize,
}

impl<'a> ReadRequest<'a> {
    /// The payload: `OFFSET LEN PATH`.
    pub fn encode(&self) -> Vec<u8> {
        format!("{} {} {}", self.offset, self.len, self.path).into_bytes()
    }

    /// Reads a payload made by [`ReadRequest::encode`] (or typed).
    pub fn parse(payload: &'a [u8]) -> Result<Self, ProtoError> {
        let payload = text(payload)?;
        let (offset, rest) = payload
            .split_once(' ')
            .ok_or(ProtoError::MissingField("length"))?;
        let (len, path) = rest
            .split_once(' ')
            .ok_or(ProtoError::MissingField("path"))?;
        Ok(Self {
            path,
            offset: number("offset", offset)?,
            len: number("length", len)?,
        })
    }
}
