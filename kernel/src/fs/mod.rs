//! Files: the `fs` capability, its provider and its clients.
//!
//! [`InitrdFs`] (module `initrd_fs`, flag FILESYSTEM, provides `fs`) serves
//! the initrd's cpio archive read-only over IPC: `list`, `stat` and `read`,
//! encoded as [`helix_loader::fs_proto`] describes. Kernel code reads files
//! through the capability with [`read_file`], [`list`], [`stat`] and
//! [`read_at`], i.e. through the registry, so whichever module provides
//! `fs` answers; the console's `ls` and `cat` do the same. Every failure,
//! on either side, is an [`FsError`]; a provider answers a refused request
//! with the error's message, which a client hands on as
//! [`FsError::Provider`].

mod client;
mod initrd_fs;

pub use client::{list, read_at, read_file, stat};
pub use helix_loader::fs_proto::{Kind, ListEntry, Stat};
pub use initrd_fs::{InitrdFs, NAME};

use crate::bootinfo::InitrdRefused;
use alloc::string::String;
use helix_loader::cpio::CpioError;
use helix_loader::fs_proto::ProtoError;
use helix_modules::ModuleError;

/// Why a file operation failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsError {
    /// The kernel was booted without an initrd.
    NoInitrd,
    /// The loader passed an initrd the kernel cannot use.
    InitrdRefused(InitrdRefused),
    /// The initrd is not a cpio "newc" archive the reader accepts.
    BadArchive(CpioError),
    /// Nothing has this path.
    NotFound(String),
    /// The path names a directory, link or device where a file is needed.
    NotAFile {
        /// The path asked for.
        path: String,
        /// What it is instead.
        kind: Kind,
    },
    /// The path names a file (or link, or device) where a directory is needed.
    NotADirectory {
        /// The path asked for.
        path: String,
        /// What it is instead.
        kind: Kind,
    },
    /// A read starts past the end of the file.
    OffsetPastEnd {
        /// The file.
        path: String,
        /// Where the read was to start.
        offset: u64,
        /// The file's size.
        size: u64,
    },
    /// One entry's listing line is larger than a whole `list` answer.
    NameTooLong(usize),
    /// A request's payload does not follow the format.
    BadRequest(ProtoError),
    /// A request type the provider does not serve.
    UnknownRequest(String),
    /// The request could not be made: no module provides `fs`, it is not
    /// running, it faulted, ...
    Ipc(ModuleError),
    /// The provider refused the request; its message.
    Provider(String),
    /// The provider's answer does not follow the format.
    BadAnswer(ProtoError),
    /// The provider's data ran out before the size its `stat` gave, or
    /// a listing did not advance.
    Truncated {
        /// The file or directory.
        path: String,
        /// What `stat` (or the listing) promised.
        expected: u64,
        /// What arrived.
        got: u64,
    },
    /// A file too large to hold in memory.
    TooLarge {
        /// The file.
        path: String,
        /// Its size.
        size: u64,
    },
    /// A module caller the kernel has no name for: requests carry their
    /// sender's name, and only modules in [`crate::modules::MODULES`] have
    /// one the kernel can give.
    UnknownCaller(String),
}

impl core::fmt::Display for FsError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoInitrd => f.write_str(
                "no initrd: the kernel was booted without one \
                 (scripts/run.sh --initrd FILE, or HELIX_INITRD=FILE for the QEMU runner)",
            ),
            Self::InitrdRefused(why) => write!(f, "no initrd: {why}"),
            Self::BadArchive(e) => {
                write!(f, "the initrd is not a valid cpio (newc) archive: {e}")
            }
            Self::NotFound(path) => write!(f, "no such file or directory: `{path}`"),
            Self::NotAFile { path, kind } => write!(f, "`{path}` is a {kind}, not a file"),
            Self::NotADirectory { path, kind } => {
                write!(f, "`{path}` is a {kind}, not a directory")
            }
            Self::OffsetPastEnd { path, offset, size } => write!(
                f,
                "offset {offset} is past the end of `{path}` ({size} bytes)"
            ),
            Self::NameTooLong(len) => {
                write!(f, "an entry's name ({len} bytes) does not fit in an answer")
            }
            Self::BadRequest(e) => write!(f, "bad request: {e}"),
            Self::UnknownRequest(kind) => write!(
                f,
                "unknown request '{}' (try list, stat, read, stats)",
                kind.escape_debug()
            ),
            Self::Ipc(e) => write!(f, "no filesystem: {e}"),
            Self::Provider(message) => f.write_str(message),
            Self::BadAnswer(e) => write!(f, "the filesystem's answer is malformed: {e}"),
            Self::Truncated {
                path,
                expected,
                got,
            } => write!(f, "`{path}` ended after {got} of its {expected} bytes"),
            Self::TooLarge { path, size } => {
                write!(f, "`{path}` ({size} bytes) does not fit in memory")
            }
            Self::UnknownCaller(name) => write!(
                f,
                "module `{name}` cannot make requests through the kernel's file API \
                 (only modules the kernel ships can)"
            ),
        }
    }
}
