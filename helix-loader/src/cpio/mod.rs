//! The cpio "newc" archive format, as the Linux initramfs uses it: each
//! entry is a 110-byte ASCII header (magic `070701` and thirteen 8-digit
//! hexadecimal fields), the NUL-terminated name padded so the data starts on
//! a 4-byte boundary, then the data padded to 4 bytes; an entry named
//! `TRAILER!!!` ends the archive. [`entries`] walks an archive without
//! copying, [`find`] looks one name up, and [`Writer`] builds an archive
//! (for tests and for tools that pack an initrd).
//!
//! Offsets and alignment are counted from the start of the slice given, so
//! an archive must start on a 4-byte boundary of whatever contains it.
//! Every malformed input is a [`CpioError`] naming the offset of the entry
//! (or field) that was wrong; nothing here panics.

use core::fmt;
use core::iter::FusedIterator;

mod writer;

pub use writer::{WriteError, Writer};

/// The magic that starts every "newc" header.
pub const MAGIC: &[u8; 6] = b"070701";
/// Length of a "newc" header in bytes.
pub const HEADER_LEN: usize = 110;
/// The name of the entry that ends an archive.
pub const TRAILER: &str = "TRAILER!!!";

/// File-type bits of `mode`.
pub const S_IFMT: u32 = 0o170_000;
/// File type: regular file.
pub const S_IFREG: u32 = 0o100_000;
/// File type: directory.
pub const S_IFDIR: u32 = 0o040_000;
/// File type: symbolic link.
pub const S_IFLNK: u32 = 0o120_000;

/// The names of the thirteen header fields, in order, as [`CpioError::BadHexField`] reports them.
const FIELDS: [&str; 13] = [
    "ino",
    "mode",
    "uid",
    "gid",
    "nlink",
    "mtime",
    "filesize",
    "devmajor",
    "devminor",
    "rdevmajor",
    "rdevminor",
    "namesize",
    "check",
];

/// Why an archive was refused. Every offset is counted from the start of the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CpioError {
    /// Fewer than [`HEADER_LEN`] bytes remain for the header starting at `offset`.
    TruncatedHeader {
        /// Where the header starts.
        offset: usize,
        /// How many bytes remain from there.
        available: usize,
    },
    /// The header at `offset` does not start with `070701`.
    BadMagic {
        /// Where the header starts.
        offset: usize,
    },
    /// A header field is not eight hexadecimal digits.
    BadHexField {
        /// Where the field starts.
        offset: usize,
        /// The field's name (`"mode"`, `"filesize"`, `"namesize"`, ...).
        field: &'static str,
    },
    /// The entry at `offset` has `namesize` 0 (no room even for the NUL).
    EmptyName {
        /// Where the entry's header starts.
        offset: usize,
    },
    /// The name of the entry at `offset` runs past the end of the archive.
    NamePastEnd {
        /// Where the entry's header starts.
        offset: usize,
        /// The `namesize` field (NUL included).
        namesize: u32,
    },
    /// The name of the entry at `offset` does not end with a NUL, or has one inside.
    NameNotTerminated {
        /// Where the entry's header starts.
        offset: usize,
    },
    /// The name of the entry at `offset` is not UTF-8.
    NameNotUtf8 {
        /// Where the entry's header starts.
        offset: usize,
    },
    /// The data of the entry at `offset` runs past the end of the archive.
    DataPastEnd {
        /// Where the entry's header starts.
        offset: usize,
        /// The `filesize` field.
        size: u32,
    },
    /// The archive ends at `offset` without a `TRAILER!!!` entry.
    MissingTrailer {
        /// The end of the last entry read (the archive's length).
        offset: usize,
    },
}

impl fmt::Display for CpioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TruncatedHeader { offset, available } => write!(
                f,
                "cpio header at offset {offset} truncated: {available} of {HEADER_LEN} bytes"
            ),
            Self::BadMagic { offset } => {
                write!(
                    f,
                    "cpio header at offset {offset} does not start with 070701"
                )
            }
            Self::BadHexField { offset, field } => write!(
                f,
                "cpio field {field} at offset {offset} is not 8 hexadecimal digits"
            ),
            Self::EmptyName { offset } => {
                write!(f, "cpio entry at offset {offset} has namesize 0")
            }
            Self::NamePastEnd { offset, namesize } => write!(
                f,
                "cpio entry at offset {offset}: name of {namesize} bytes runs past the end"
            ),
            Self::NameNotTerminated { offset } => write!(
                f,
                "cpio entry at offset {offset}: name not NUL-terminated or has an inner NUL"
            ),
            Self::NameNotUtf8 { offset } => {
                write!(f, "cpio entry at offset {offset}: name is not UTF-8")
            }
            Self::DataPastEnd { offset, size } => write!(
                f,
                "cpio entry at offset {offset}: data of {size} bytes runs past the end"
            ),
            Self::MissingTrailer { offset } => {
                write!(f, "cpio archive ends at offset {offset} without TRAILER!!!")
            }
        }
    }
}

impl core::error::Error for CpioError {}

/// One entry of an archive, borrowing its name and data from the archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    /// The path as stored (no leading `/`, usually; `find` ignores a leading `./` or `/`).
    pub name: &'a str,
    /// The file's contents (for a symbolic link, its target).
    pub data: &'a [u8],
    /// File type and permission bits (`S_IFREG | 0o644`, ...).
    pub mode: u32,
    /// Inode number.
    pub ino: u32,
    /// Owner's user id.
    pub uid: u32,
    /// Owner's group id.
    pub gid: u32,
    /// Number of links.
    pub nlink: u32,
    /// Modification time, seconds since the Unix epoch.
    pub mtime: u32,
    /// Device number of a device node (`rdevmajor`, `rdevminor`).
    pub rdev: (u32, u32),
    /// Where the entry's header starts in the archive.
    pub offset: usize,
}

impl Entry<'_> {
    /// Whether this is a regular file.
    pub fn is_file(&self) -> bool {
        self.mode & S_IFMT == S_IFREG
    }

    /// Whether this is a directory.
    pub fn is_dir(&self) -> bool {
        self.mode & S_IFMT == S_IFDIR
    }

    /// Whether this is a symbolic link (its target is [`Entry::data`]).
    pub fn is_symlink(&self) -> bool {
        self.mode & S_IFMT == S_IFLNK
    }

    /// The permission bits (`mode & 0o7777`).
    pub fn permissions(&self) -> u32 {
        self.mode & 0o7777
    }
}

/// Iterator over the entries of an archive (see [`entries`]).
#[derive(Debug, Clone)]
pub struct Entries<'a> {
    archive: &'a [u8],
    pos: usize,
    done: bool,
}

/// Walks `archive` entry by entry. The trailer is not yielded; iteration
/// stops after it (anything behind it, such as padding, is ignored) or after
/// the first error, which is yielded once.
pub fn entries(archive: &[u8]) -> Entries<'_> {
    Entries {
        archive,
        pos: 0,
        done: false,
    }
}

/// The first entry whose name is `name`, ignoring a leading `./` or `/` on
/// either side. `Ok(None)` when the whole archive was read without finding
/// it; an error met before the entry is returned (entries after it are not
/// examined).
pub fn find<'a>(archive: &'a [u8], name: &str) -> Result<Option<Entry<'a>>, CpioError> {
    let wanted = strip_root(name);
    for entry in entries(archive) {
        let entry = entry?;
        if strip_root(entry.name) == wanted {
            return Ok(Some(entry));
        }
    }
    Ok(None)
}

/// `name` without its leading `./` and `/` (any number of them).
pub(crate) fn strip_root(name: &str) -> &str {
    let mut name = name;
    loop {
        if let Some(rest) = name.strip_prefix("./") {
            name = rest;
        } else if let Some(rest) = name.strip_prefix('/') {
            name = rest;
        } else {
            return name;
        }
    }
}

/// `value` rounded up to a multiple of 4, or `None` on overflow.
fn align4(value: usize) -> Option<usize> {
    value.checked_add(3).map(|v| v & !3)
}

fn hex_field(header: &[u8], base: usize, index: usize) -> Result<u32, CpioError> {
    let start = 6 + index * 8;
    let field = FIELDS.get(index).copied().unwrap_or("?");
    let bad = CpioError::BadHexField {
        offset: base.saturating_add(start),
        field,
    };
    let digits = header.get(start..start + 8).ok_or(bad)?;
    let mut value: u32 = 0;
    for &d in digits {
        let nibble = match d {
            b'0'..=b'9' => d - b'0',
            b'a'..=b'f' => d - b'a' + 10,
            b'A'..=b'F' => d - b'A' + 10,
            _ => return Err(bad),
        };
        value = (value << 4) | u32::from(nibble);
    }
    Ok(value)
}

impl<'a> Entries<'a> {
    /// Reads the entry at `self.pos`; `Ok(None)` for the trailer.
    fn read(&mut self) -> Result<Option<Entry<'a>>, CpioError> {
        let offset = self.pos;
        let rest = self.archive.get(offset..).unwrap_or(&[]);
        if rest.is_empty() {
            return Err(CpioError::MissingTrailer { offset });
        }
        let header = rest.get(..HEADER_LEN).ok_or(CpioError::TruncatedHeader {
            offset,
            available: rest.len(),
        })?;
        if header.get(..6) != Some(&MAGIC[..]) {
            return Err(CpioError::BadMagic { offset });
        }
        let mut fields = [0u32; 13];
        for (index, slot) in fields.iter_mut().enumerate() {
            *slot = hex_field(header, offset, index)?;
        }
        let [
            ino,
            mode,
            uid,
            gid,
            nlink,
            mtime,
            filesize,
            _,
            _,
            rdevmajor,
            rdevminor,
            namesize,
            _,
        ] = fields;
        if namesize == 0 {
            return Err(CpioError::EmptyName { offset });
        }
        let name_past_end = CpioError::NamePastEnd { offset, namesize };
        let name_len = usize::try_from(namesize).map_err(|_| name_past_end)?;
        let name_end = HEADER_LEN.checked_add(name_len).ok_or(name_past_end)?;
        let raw_name = rest.get(HEADER_LEN..name_end).ok_or(name_past_end)?;
        let (last, name_bytes) = raw_name
            .split_last()
            .ok_or(CpioError::EmptyName { offset })?;
        if *last != 0 || name_bytes.contains(&0) {
            return Err(CpioError::NameNotTerminated { offset });
        }
        let name =
            core::str::from_utf8(name_bytes).map_err(|_| CpioError::NameNotUtf8 { offset })?;

        let data_past_end = CpioError::DataPastEnd {
            offset,
            size: filesize,
        };
        // Alignment is relative to the archive's start, not the entry's.
        let data_start = offset
            .checked_add(name_end)
            .and_then(align4)
            .ok_or(data_past_end)?;
        let size = usize::try_from(filesize).map_err(|_| data_past_end)?;
        let data_end = data_start.checked_add(size).ok_or(data_past_end)?;
        // An empty last entry (the trailer) may lack its name padding too.
        let data = if size == 0 {
            &[]
        } else {
            self.archive
                .get(data_start..data_end)
                .ok_or(data_past_end)?
        };
        // Padding after the last data may be cut off at the archive's end.
        self.pos = align4(data_end).unwrap_or(data_end).min(self.archive.len());

        if name == TRAILER {
            return Ok(None);
        }
        Ok(Some(Entry {
            name,
            data,
            mode,
            ino,
            uid,
            gid,
            nlink,
            mtime,
            rdev: (rdevmajor, rdevminor),
            offset,
        }))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = Result<Entry<'a>, CpioError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

impl FusedIterator for Entries<'_> {}
