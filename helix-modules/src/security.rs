//! What the registry asks a SECURITY module: the payload of its
//! `"authorize"` request ([`AuthorizeQuery`]) and how it is encoded.
//!
//! A module flagged [`crate::ModuleFlags::SECURITY`] that is running is
//! asked about privileged operations (see [`crate::Registry::authorize`]):
//! it receives a [`crate::v2::Request`] of type [`REQUEST_TYPE`] whose
//! payload [`decode`]s into an [`AuthorizeQuery`], and answers
//! `Response::ok(text)` to allow (the text is audited) or
//! `Response::err(reason)` to refuse.
//!
//! Encoding (all lengths little-endian):
//!
//! ```text
//! version   u8 = 1
//! op        u8 length, then the operation's name (`stop`, `load`, ...)
//! caller    u8 length, then `kernel` or the calling module's name
//! target    u16 length, then the target's name
//! detail    u16 length, then the detail (parameter key, request type), may be empty
//! evidence  the rest: e.g. the module file for `load`
//! ```

use alloc::string::ToString;
use alloc::vec::Vec;
use core::fmt;

use crate::error::Operation;

/// The `request_type` of the registry's question to the SECURITY module.
pub const REQUEST_TYPE: &str = "authorize";

/// The encoding version [`encode`] writes and [`decode`] reads.
const VERSION: u8 = 1;

/// Every operation, for decoding names back.
const OPERATIONS: [Operation; 14] = [
    Operation::Register,
    Operation::Init,
    Operation::Start,
    Operation::Stop,
    Operation::Unload,
    Operation::Reload,
    Operation::Restart,
    Operation::SetParam,
    Operation::Request,
    Operation::Event,
    Operation::ReadAudit,
    Operation::Load,
    Operation::SaveState,
    Operation::RestoreState,
];

/// One question to the SECURITY module: may `caller` perform `op` on
/// `target`?
///
/// ```
/// use helix_modules::Operation;
/// use helix_modules::security::{AuthorizeQuery, decode, encode};
/// let q = AuthorizeQuery {
///     op: Operation::Load,
///     caller: "kernel",
///     target: "e1000.ko",
///     detail: "",
///     evidence: b"\x7fELF...",
/// };
/// let bytes = encode(&q).unwrap();
/// assert_eq!(decode(&bytes), Ok(q));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuthorizeQuery<'a> {
    /// The operation asked about.
    pub op: Operation,
    /// `kernel` or the name of the module asking.
    pub caller: &'a str,
    /// The module operated on, or the file for [`Operation::Load`].
    pub target: &'a str,
    /// Extra detail: the parameter key for set-param, the request type for
    /// a request; empty otherwise.
    pub detail: &'a str,
    /// What the decision may rest on: the module file for load (signature
    /// trailer included), the new value for set-param, the request payload
    /// for a request; empty otherwise.
    pub evidence: &'a [u8],
}

/// Why a query could not be encoded or decoded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum QueryError {
    /// The payload ends before the field named.
    Truncated(&'static str),
    /// An encoding version this reader does not know.
    Version(u8),
    /// The operation name is not one of [`Operation`]'s.
    UnknownOperation,
    /// A text field is not UTF-8.
    NotUtf8(&'static str),
    /// A field is longer than its length prefix can say.
    TooLong(&'static str),
}

impl fmt::Display for QueryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryError::Truncated(field) => write!(f, "authorize query truncated at {field}"),
            QueryError::Version(v) => write!(f, "authorize query version {v} is not supported"),
            QueryError::UnknownOperation => f.write_str("authorize query names no known operation"),
            QueryError::NotUtf8(field) => write!(f, "authorize query {field} is not UTF-8"),
            QueryError::TooLong(field) => write!(f, "authorize query {field} is too long"),
        }
    }
}

impl core::error::Error for QueryError {}

/// The operation called `name` (as [`Operation`]'s `Display` writes it).
fn operation_named(name: &str) -> Option<Operation> {
    OPERATIONS.into_iter().find(|op| op.to_string() == name)
}

/// Encodes `query` as the payload of an `"authorize"` request.
pub fn encode(query: &AuthorizeQuery<'_>) -> Result<Vec<u8>, QueryError> {
    let op = query.op.to_string();
    let op = op.as_str();
    let short = |s: &str, field| u8::try_from(s.len()).map_err(|_| QueryError::TooLong(field));
    let long = |s: &str, field| u16::try_from(s.len()).map_err(|_| QueryError::TooLong(field));
    let (op_len, caller_len) = (short(op, "op")?, short(query.caller, "caller")?);
    let (target_len, detail_len) = (long(query.target, "target")?, long(query.detail, "detail")?);
    let mut out = Vec::with_capacity(
        7 + op.len()
            + query.caller.len()
            + query.target.len()
            + query.detail.len()
            + query.evidence.len(),
    );
    out.push(VERSION);
    out.push(op_len);
    out.extend_from_slice(op.as_bytes());
    out.push(caller_len);
    out.extend_from_slice(query.caller.as_bytes());
    out.extend_from_slice(&target_len.to_le_bytes());
    out.extend_from_slice(query.target.as_bytes());
    out.extend_from_slice(&detail_len.to_le_bytes());
    out.extend_from_slice(query.detail.as_bytes());
    out.extend_from_slice(query.evidence);
    Ok(out)
}

/// Reads fields off the front of a payload.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], QueryError> {
        if self.0.len() < n {
            return Err(QueryError::Truncated(field));
        }
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        Ok(head)
    }

    fn text(&mut self, len_bytes: usize, field: &'static str) -> Result<&'a str, QueryError> {
        let len = self.take(len_bytes, field)?;
        let len = len
            .iter()
            .rev()
            .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
        let bytes = self.take(len, field)?;
        core::str::from_utf8(bytes).map_err(|_| QueryError::NotUtf8(field))
    }
}

/// Decodes the payload of an `"authorize"` request.
pub fn decode(payload: &[u8]) -> Result<AuthorizeQuery<'_>, QueryError> {
    let mut r = Reader(payload);
    let version = r.take(1, "version")?[0];
    if version != VERSION {
        return Err(QueryError::Version(version));
    }
    let op = operation_named(r.text(1, "op")?).ok_or(QueryError::UnknownOperation)?;
    let caller = r.text(1, "caller")?;
    let target = r.text(2, "target")?;
    let detail = r.text(2, "detail")?;
    Ok(AuthorizeQuery {
        op,
        caller,
        target,
        detail,
        evidence: r.0,
    })
}
