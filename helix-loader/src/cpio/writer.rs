//! Writing a cpio "newc" archive: what tests and tools use to pack files
//! for the initrd. Everything [`super::entries`] reads back.

use alloc::vec::Vec;
use core::fmt;

use super::{MAGIC, S_IFDIR, S_IFMT, S_IFREG, TRAILER};

/// Why [`Writer`] refused an entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteError {
    /// The name is empty, contains a NUL, or is [`TRAILER`].
    BadName,
    /// The name (with its NUL) or the data is longer than `u32::MAX` bytes.
    TooLarge,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadName => f.write_str("cpio name is empty, has a NUL, or is TRAILER!!!"),
            Self::TooLarge => f.write_str("cpio name or data longer than 4 GiB"),
        }
    }
}

impl core::error::Error for WriteError {}

/// Builds a "newc" archive in memory: entries are appended in order, and
/// [`Writer::finish`] adds the trailer. Inode numbers count from 1; owner,
/// group and time are 0.
///
/// ```
/// use helix_loader::cpio::{self, Writer};
/// let mut w = Writer::new();
/// w.add_dir("modules", 0o755).unwrap();
/// w.add_file("modules/hello", 0o644, b"hi").unwrap();
/// let archive = w.finish();
/// let hello = cpio::find(&archive, "modules/hello").unwrap().unwrap();
/// assert_eq!(hello.data, b"hi");
/// ```
#[derive(Debug, Clone, Default)]
pub struct Writer {
    buf: Vec<u8>,
    next_ino: u32,
}

impl Writer {
    /// An empty archive.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a regular file; `mode` gives the permission bits (the file
    /// type is set to regular).
    pub fn add_file(&mut self, name: &str, mode: u32, data: &[u8]) -> Result<(), WriteError> {
        self.add_entry(name, S_IFREG | (mode & 0o7777), data)
    }

    /// Appends a directory; `mode` gives the permission bits.
    pub fn add_dir(&mut self, name: &str, mode: u32) -> Result<(), WriteError> {
        self.add_entry(name, S_IFDIR | (mode & 0o7777), &[])
    }

    /// Appends an entry with exactly this `mode` (type and permissions).
    pub fn add_entry(&mut self, name: &str, mode: u32, data: &[u8]) -> Result<(), WriteError> {
        if name.is_empty() || name.contains('\0') || name == TRAILER {
            return Err(WriteError::BadName);
        }
        self.next_ino = self.next_ino.checked_add(1).ok_or(WriteError::TooLarge)?;
        let nlink = if mode & S_IFMT == S_IFDIR { 2 } else { 1 };
        self.push(name, mode, self.next_ino, nlink, data)
    }

    /// Appends the trailer and returns the archive.
    pub fn finish(mut self) -> Vec<u8> {
        // The trailer's name and data are tiny: this cannot fail.
        let _ = self.push(TRAILER, 0, 0, 1, &[]);
        self.buf
    }

    fn push(
        &mut self,
        name: &str,
        mode: u32,
        ino: u32,
        nlink: u32,
        data: &[u8],
    ) -> Result<(), WriteError> {
        let namesize = name
            .len()
            .checked_add(1)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or(WriteError::TooLarge)?;
        let filesize = u32::try_from(data.len()).map_err(|_| WriteError::TooLarge)?;
        let fields = [ino, mode, 0, 0, nlink, 0, filesize, 0, 0, 0, 0, namesize, 0];
        self.buf.extend_from_slice(MAGIC);
        for value in fields {
            for shift in (0..8).rev() {
                let nibble = (value >> (shift * 4)) & 0xf;
                self.buf.push(b"0123456789abcdef"[nibble as usize]);
            }
        }
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(0);
        self.pad();
        self.buf.extend_from_slice(data);
        self.pad();
        Ok(())
    }

    fn pad(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }
}
