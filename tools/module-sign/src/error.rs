//! The tool's errors: one enum, each case printed as the message the user
//! sees before the tool exits with a non-zero status.

use std::fmt;
use std::io;
use std::path::PathBuf;

use helix_loader::sig::SigError;

/// What a failed file operation was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IoOp {
    /// Reading a file.
    Read,
    /// Creating a file or directory.
    Create,
    /// Writing a file.
    Write,
}

impl fmt::Display for IoOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            IoOp::Read => "read",
            IoOp::Create => "create",
            IoOp::Write => "write",
        })
    }
}

/// Everything the tool can fail with.
#[derive(Debug, PartialEq, Eq)]
pub enum Error {
    /// A file operation failed.
    Io {
        /// What was being done.
        op: IoOp,
        /// To which path.
        path: PathBuf,
        /// The system's reason.
        kind: io::ErrorKind,
    },
    /// `keygen` without `--force` found a key file in place.
    KeyExists(PathBuf),
    /// A key file is not 32 bytes long.
    BadKeyFile {
        /// The file.
        path: PathBuf,
        /// Its length.
        len: usize,
    },
    /// The seed makes no usable key (all zeros).
    BadSeed,
    /// A trailer could not be read or written.
    Sig(SigError),
    /// `verify` was given a file without a signature.
    Unsigned,
    /// The file was signed with another key.
    OtherKey {
        /// The key id in the file.
        key_id: [u8; 8],
        /// The id of the key given.
        expected: [u8; 8],
    },
    /// The signature does not match the payload.
    BadSignature,
}

/// Ways a command line can be wrong.
#[derive(Debug, PartialEq, Eq)]
pub enum Usage {
    /// No subcommand.
    NoCommand,
    /// An unknown subcommand.
    UnknownCommand(String),
    /// An unknown option.
    UnknownOption(String),
    /// A required option or operand is missing.
    Missing(&'static str),
    /// More operands than the subcommand takes.
    Extra(String),
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Usage::NoCommand => f.write_str("no command given"),
            Usage::UnknownCommand(c) => write!(f, "unknown command `{c}`"),
            Usage::UnknownOption(o) => write!(f, "unknown option `{o}`"),
            Usage::Missing(what) => write!(f, "missing {what}"),
            Usage::Extra(arg) => write!(f, "unexpected argument `{arg}`"),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io { op, path, kind } => {
                write!(
                    f,
                    "cannot {op} {}: {}",
                    path.display(),
                    io::Error::from(*kind)
                )
            }
            Error::KeyExists(path) => write!(
                f,
                "{} exists: not overwriting a key (use --force)",
                path.display()
            ),
            Error::BadKeyFile { path, len } => write!(
                f,
                "{} is not a key file: {len} bytes, a key has 32",
                path.display()
            ),
            Error::BadSeed => f.write_str("the seed makes no valid Ed25519 key"),
            Error::Sig(e) => write!(f, "{e}"),
            Error::Unsigned => f.write_str("the file is not signed"),
            Error::OtherKey { key_id, expected } => write!(
                f,
                "signed with key {}, not with key {}",
                crate::hex(key_id),
                crate::hex(expected)
            ),
            Error::BadSignature => f.write_str("the signature does not match the file"),
        }
    }
}

impl std::error::Error for Error {}
