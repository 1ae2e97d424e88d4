//! Reading files through the `fs` capability, for kernel code: every call
//! is an IPC request through the registry (`registry.request(caller, "fs",
//! ...)`), so whichever module provides `fs` serves it, the registry checks
//! the caller, and a provider that faults fails alone.
//!
//! [`read_file`] asks `stat` for the size, reserves the buffer once and
//! reads the file in chunks of [`MAX_READ`] bytes (or the registry's
//! payload limit, if lower): a 300 KiB module binary takes one `stat` and
//! five `read`s. [`list`] follows a listing cut at the answer-size limit
//! until its end.

use super::FsError;
use alloc::string::String;
use alloc::vec::Vec;
use helix_loader::fs_proto::{
    self, CAPABILITY, Kind, ListEntry, ListRequest, Listing, MAX_READ, ProtoError, ReadRequest,
    Stat, normalize,
};
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};

/// A caller's way to the `fs` capability.
struct Client<'a> {
    registry: &'a Registry,
    caller: Caller,
    /// The caller's name, which every request carries (`Request::source`).
    source: &'static str,
}

impl<'a> Client<'a> {
    /// The client of `caller`: the kernel (requests from `kernel`), or a
    /// module the kernel ships ([`crate::modules::MODULES`] gives its name).
    fn new(registry: &'a Registry, caller: Caller) -> Result<Self, FsError> {
        let source = match caller {
            Caller::Kernel => "kernel",
            Caller::Module(id) => {
                let name = registry.status_by_id(id).map_err(FsError::Ipc)?.name;
                crate::modules::MODULES
                    .iter()
                    .map(|(n, _)| *n)
                    .find(|n| *n == name)
                    .ok_or(FsError::UnknownCaller(name))?
            }
        };
        Ok(Self {
            registry,
            caller,
            source,
        })
    }

    /// One request; the answer's payload, or the provider's refusal.
    fn call(&self, kind: &str, payload: Vec<u8>) -> Result<Vec<u8>, FsError> {
        let request = Request::new(self.source, kind, payload);
        let response = self
            .registry
            .request(self.caller, CAPABILITY, request)
            .map_err(FsError::Ipc)?;
        match response.error {
            None => Ok(response.payload),
            Some(message) => Err(FsError::Provider(message.into_owned())),
        }
    }

    fn stat(&self, path: &str) -> Result<Stat, FsError> {
        let answer = self.call(fs_proto::STAT, Vec::from(path.as_bytes()))?;
        Stat::parse(&answer).map_err(FsError::BadAnswer)
    }

    fn read_at(&self, path: &str, offset: u64, len: usize) -> Result<Vec<u8>, FsError> {
        let request = ReadRequest { path, offset, len };
        let answer = self.call(fs_proto::READ, request.encode())?;
        if answer.len() > len {
            return Err(FsError::BadAnswer(ProtoError::Oversized {
                asked: len,
                got: answer.len(),
            }));
        }
        Ok(answer)
    }
}

/// The size, kind and mode of `path`, as the `fs` provider says.
pub fn stat(registry: &Registry, caller: Caller, path: &str) -> Result<Stat, FsError> {
    Client::new(registry, caller)?.stat(path)
}

/// At most `len` bytes of the file `path` from `offset` (fewer at its end,
/// and at most [`MAX_READ`] per call: read a whole file with [`read_file`]).
pub fn read_at(
    registry: &Registry,
    caller: Caller,
    path: &str,
    offset: u64,
    len: usize,
) -> Result<Vec<u8>, FsError> {
    Client::new(registry, caller)?.read_at(path, offset, len)
}

/// The whole file `path` (relative to the root; a leading `./` or `/` is
/// ignored), read through the `fs` capability as `caller`.
///
/// Errors: the provider's refusal ([`FsError::Provider`]: no initrd, no
/// such file, ...), [`FsError::NotAFile`] for a directory, link or device,
/// [`FsError::Ipc`] when no `fs` provider runs, [`FsError::Truncated`] if
/// the data ends before the size `stat` gave, [`FsError::TooLarge`] if the
/// buffer cannot be allocated, [`FsError::UnknownCaller`] for a module
/// caller outside [`crate::modules::MODULES`].
pub fn read_file(registry: &Registry, caller: Caller, path: &str) -> Result<Vec<u8>, FsError> {
    let client = Client::new(registry, caller)?;
    let stat = client.stat(path)?;
    if stat.kind != Kind::File {
        return Err(FsError::NotAFile {
            path: String::from(normalize(path)),
            kind: stat.kind,
        });
    }
    let too_large = || FsError::TooLarge {
        path: String::from(normalize(path)),
        size: stat.size,
    };
    let size = usize::try_from(stat.size).map_err(|_| too_large())?;
    let mut data = Vec::new();
    data.try_reserve_exact(size).map_err(|_| too_large())?;
    let chunk = MAX_READ.min(registry.limits().max_payload).max(1);
    while data.len() < size {
        let want = (size - data.len()).min(chunk);
        let bytes = client.read_at(path, data.len() as u64, want)?;
        if bytes.is_empty() {
            return Err(FsError::Truncated {
                path: String::from(normalize(path)),
                expected: stat.size,
                got: data.len() as u64,
            });
        }
        data.extend_from_slice(&bytes);
    }
    Ok(data)
}

/// Every entry below the directory `dir` (at any depth; `""` for the
/// root), in the provider's order, following a cut listing to its end.
pub fn list(registry: &Registry, caller: Caller, dir: &str) -> Result<Vec<ListEntry>, FsError> {
    let client = Client::new(registry, caller)?;
    let dir = normalize(dir);
    let mut entries = Vec::new();
    let mut start = 0;
    loop {
        let answer = client.call(fs_proto::LIST, ListRequest { dir, start }.encode())?;
        let listing = Listing::parse(&answer).map_err(FsError::BadAnswer)?;
        let expected = start + listing.entries.len();
        entries.extend(listing.entries);
        match listing.next {
            None => return Ok(entries),
            Some(next) if next == expected && next > start => start = next,
            Some(next) => {
                return Err(FsError::BadAnswer(ProtoError::BadNext {
                    expected,
                    got: next,
                }));
            }
        }
    }
}
