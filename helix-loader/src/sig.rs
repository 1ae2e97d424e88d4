//! The signature trailer of a signed module file: how a signature travels
//! with the module binary it vouches for, and how it is taken apart again.
//!
//! A signed file is the payload (the module's ELF, unchanged) followed by a
//! trailer, so the ELF reader never sees the trailer and an unsigned file
//! is simply a file without one:
//!
//! ```text
//! payload      payload_len bytes: the module binary
//! signature    64 bytes: Ed25519 signature over the payload bytes
//! signer       signer_len bytes: who signed, ASCII (letters, digits, - _ . @)
//! key id       8 bytes: the first 8 bytes of the signing public key
//! footer       32 bytes:
//!   version      u8  = 1
//!   algorithm    u8  = 1 (Ed25519)
//!   signer_len   u8  (1..=32)
//!   reserved     u8  = 0
//!   payload_len  u32, little-endian
//!   magic        24 bytes: "~Helix module signature~"
//! ```
//!
//! The magic sits at the very end so a reader finds the trailer from the
//! back; `payload_len` must agree with the trailer's position, which makes
//! a cut or padded file an error rather than a different payload. This
//! module only parses and builds trailers: checking the signature is the
//! job of whoever holds the trusted keys (the `module_sig` SECURITY module).

use alloc::vec::Vec;
use core::fmt;

/// The bytes that end every signed module file.
pub const MAGIC: &[u8; 24] = b"~Helix module signature~";
/// Length of the fixed footer (version, algorithm, lengths, magic).
pub const FOOTER_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;
/// Length of a key id.
pub const KEY_ID_LEN: usize = 8;
/// The longest signer name.
pub const MAX_SIGNER_LEN: usize = 32;
/// The trailer format version this module reads and writes.
pub const VERSION: u8 = 1;
/// The algorithm number of Ed25519.
pub const ALG_ED25519: u8 = 1;

/// A parsed trailer, borrowing from the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trailer<'a> {
    /// The Ed25519 signature over the payload.
    pub signature: [u8; SIGNATURE_LEN],
    /// The signer's name as written in the trailer (not authenticated: the
    /// key is what counts).
    pub signer: &'a str,
    /// The first 8 bytes of the public key that made the signature.
    pub key_id: [u8; KEY_ID_LEN],
}

/// Why a trailer was refused or could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigError {
    /// The file ends with the magic but is too short for the footer and
    /// the fixed fields it announces.
    Truncated {
        /// The file's length.
        len: usize,
        /// The length the trailer needs at least.
        needed: usize,
    },
    /// A trailer format version this reader does not know.
    UnsupportedVersion(u8),
    /// A signature algorithm this reader does not know.
    UnsupportedAlgorithm(u8),
    /// The signer name length is 0 or above [`MAX_SIGNER_LEN`].
    BadSignerLength(usize),
    /// The signer name has a byte outside ASCII letters, digits, `-`, `_`,
    /// `.` and `@`.
    BadSignerName,
    /// The reserved footer byte is not zero.
    ReservedNotZero,
    /// The payload length in the footer disagrees with where the trailer
    /// starts.
    PayloadLength {
        /// What the footer says.
        stated: u64,
        /// How many bytes precede the trailer.
        actual: usize,
    },
    /// The payload is too long for the footer's 32-bit length.
    PayloadTooLarge(usize),
    /// The payload already ends with a signature trailer.
    AlreadySigned,
}

impl fmt::Display for SigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SigError::Truncated { len, needed } => write!(
                f,
                "signature trailer truncated: the file has {len} bytes, the trailer needs {needed}"
            ),
            SigError::UnsupportedVersion(v) => {
                write!(f, "signature trailer version {v} is not supported")
            }
            SigError::UnsupportedAlgorithm(a) => {
                write!(f, "signature algorithm {a} is not supported")
            }
            SigError::BadSignerLength(n) => write!(
                f,
                "signer name of {n} bytes (1 to {MAX_SIGNER_LEN} allowed)"
            ),
            SigError::BadSignerName => f.write_str(
                "signer name may hold only ASCII letters, digits, `-`, `_`, `.` and `@`",
            ),
            SigError::ReservedNotZero => f.write_str("signature trailer reserved byte is not 0"),
            SigError::PayloadLength { stated, actual } => write!(
                f,
                "signature trailer says the payload has {stated} bytes, the file has {actual}"
            ),
            SigError::PayloadTooLarge(n) => {
                write!(f, "payload of {n} bytes is too large to sign")
            }
            SigError::AlreadySigned => f.write_str("the file is already signed"),
        }
    }
}

impl core::error::Error for SigError {}

/// Whether `name` is a valid signer name.
pub fn valid_signer(name: &[u8]) -> Result<(), SigError> {
    if name.is_empty() || name.len() > MAX_SIGNER_LEN {
        return Err(SigError::BadSignerLength(name.len()));
    }
    let ok = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'@');
    if name.iter().all(ok) {
        Ok(())
    } else {
        Err(SigError::BadSignerName)
    }
}

/// Splits a module file into its payload and its trailer: `Ok((file,
/// None))` when the file does not end with [`MAGIC`] (unsigned), a
/// [`SigError`] when it does but the trailer is malformed.
///
/// ```
/// use helix_loader::sig;
/// let signed = sig::append(b"\x7fELF...", "helix-dev", [1; 8], [2; 64]).unwrap();
/// let (payload, trailer) = sig::split(&signed).unwrap();
/// assert_eq!(payload, b"\x7fELF...");
/// assert_eq!(trailer.unwrap().signer, "helix-dev");
/// assert_eq!(sig::split(b"\x7fELF..."), Ok((&b"\x7fELF..."[..], None)));
/// ```
pub fn split(file: &[u8]) -> Result<(&[u8], Option<Trailer<'_>>), SigError> {
    if !file.ends_with(MAGIC) {
        return Ok((file, None));
    }
    let fixed = SIGNATURE_LEN + KEY_ID_LEN + FOOTER_LEN;
    let truncated = |needed| SigError::Truncated {
        len: file.len(),
        needed,
    };
    let footer_at = file.len().checked_sub(FOOTER_LEN).ok_or(truncated(fixed))?;
    let footer = &file[footer_at..];
    let (version, alg, signer_len, reserved) = (footer[0], footer[1], footer[2], footer[3]);
    let stated = u32::from_le_bytes([footer[4], footer[5], footer[6], footer[7]]);
    if version != VERSION {
        return Err(SigError::UnsupportedVersion(version));
    }
    if alg != ALG_ED25519 {
        return Err(SigError::UnsupportedAlgorithm(alg));
    }
    if reserved != 0 {
        return Err(SigError::ReservedNotZero);
    }
    let signer_len = usize::from(signer_len);
    if signer_len == 0 || signer_len > MAX_SIGNER_LEN {
        return Err(SigError::BadSignerLength(signer_len));
    }
    let needed = fixed + signer_len;
    let start = file.len().checked_sub(needed).ok_or(truncated(needed))?;
    let (payload, trailer) = file.split_at(start);
    if u64::from(stated) != payload.len() as u64 {
        return Err(SigError::PayloadLength {
            stated: u64::from(stated),
            actual: payload.len(),
        });
    }
    let (signature, rest) = trailer.split_at(SIGNATURE_LEN);
    let (signer, rest) = rest.split_at(signer_len);
    let key_id = &rest[..KEY_ID_LEN];
    valid_signer(signer)?;
    let signer = core::str::from_utf8(signer).map_err(|_| SigError::BadSignerName)?;
    let mut t = Trailer {
        signature: [0; SIGNATURE_LEN],
        signer,
        key_id: [0; KEY_ID_LEN],
    };
    t.signature.copy_from_slice(signature);
    t.key_id.copy_from_slice(key_id);
    Ok((payload, Some(t)))
}

/// Builds a signed file: `payload` followed by a trailer carrying
/// `signature` (over `payload`), `signer` and `key_id`. Refuses a bad
/// signer name, a payload over 4 GiB, and a payload that is itself signed.
pub fn append(
    payload: &[u8],
    signer: &str,
    key_id: [u8; KEY_ID_LEN],
    signature: [u8; SIGNATURE_LEN],
) -> Result<Vec<u8>, SigError> {
    valid_signer(signer.as_bytes())?;
    if !matches!(split(payload), Ok((_, None))) {
        return Err(SigError::AlreadySigned);
    }
    let len = u32::try_from(payload.len()).map_err(|_| SigError::PayloadTooLarge(payload.len()))?;
    // valid_signer bounds the length to MAX_SIGNER_LEN, which fits a u8.
    let signer_len =
        u8::try_from(signer.len()).map_err(|_| SigError::BadSignerLength(signer.len()))?;
    let mut out =
        Vec::with_capacity(payload.len() + SIGNATURE_LEN + signer.len() + KEY_ID_LEN + FOOTER_LEN);
    out.extend_from_slice(payload);
    out.extend_from_slice(&signature);
    out.extend_from_slice(signer.as_bytes());
    out.extend_from_slice(&key_id);
    out.extend_from_slice(&[VERSION, ALG_ED25519, signer_len, 0]);
    out.extend_from_slice(&len.to_le_bytes());
    out.extend_from_slice(MAGIC);
    Ok(out)
}
