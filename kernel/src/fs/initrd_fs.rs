//! `initrd_fs`: the initrd as a read-only filesystem, a kernel-side module
//! (flag FILESYSTEM, provides `fs`).
//!
//! It reads the initrd in place ([`crate::bootinfo::initrd`], QEMU's
//! `-initrd FILE`) as a cpio "newc" archive with [`helix_loader::cpio`] and
//! answers the `fs` requests of [`helix_loader::fs_proto`]: `list`, `stat`,
//! `read`, and `stats` (`requests=N errors=N bytes_read=N`) like every
//! shipped module. A directory exists if the archive has an entry for it
//! or any entry below it (archives often leave directories out); the root
//! is `""`. The module starts whether or not there is an initrd: without
//! one, or with one that is no archive, every request is refused with
//! that [`FsError`], so the answer says why there are no files.

use super::FsError;
use alloc::format;
use alloc::string::{String, ToString};
use alloc::vec::Vec;
use helix_loader::cpio::{self, Entry};
use helix_loader::fs_proto::{
    self, Kind, ListRequest, ListingWriter, MAX_READ, ReadRequest, Stat, normalize,
};
use helix_modules::ModuleError;
use helix_modules::ModuleFlags;
use helix_modules::v2::{Context, EventKinds, ModuleInfo, ModuleTrait, Request, Response};

/// The module's name.
pub const NAME: &str = "initrd_fs";

/// The initrd filesystem module; it counts what it serves.
#[derive(Default)]
pub struct InitrdFs {
    requests: u64,
    errors: u64,
    bytes_read: u64,
}

/// The initrd's bytes, or why there are none.
fn archive() -> Result<&'static [u8], FsError> {
    match (crate::bootinfo::initrd(), crate::bootinfo::initrd_refused()) {
        (Some(bytes), _) => Ok(bytes),
        (None, Some(why)) => Err(FsError::InitrdRefused(why)),
        (None, None) => Err(FsError::NoInitrd),
    }
}

fn kind_of(e: &Entry<'_>) -> Kind {
    if e.is_file() {
        Kind::File
    } else if e.is_dir() {
        Kind::Dir
    } else if e.is_symlink() {
        Kind::Link
    } else {
        Kind::Special
    }
}

/// What a normalized path names.
enum Found<'a> {
    /// An entry of the archive.
    Entry(Entry<'a>),
    /// A directory without an entry of its own: the root, or the parent
    /// of entries the archive has.
    Dir,
}

/// Looks up a normalized path.
fn lookup<'a>(archive: &'a [u8], path: &str) -> Result<Found<'a>, FsError> {
    if path.is_empty() {
        return Ok(Found::Dir);
    }
    if let Some(e) = cpio::find(archive, path).map_err(FsError::BadArchive)? {
        return Ok(Found::Entry(e));
    }
    for e in cpio::entries(archive) {
        let e = e.map_err(FsError::BadArchive)?;
        let name = normalize(e.name);
        if name.len() > path.len() && name.starts_with(path) && name[path.len()..].starts_with('/')
        {
            return Ok(Found::Dir);
        }
    }
    Err(FsError::NotFound(String::from(path)))
}

/// `stat PATH`.
fn stat(archive: &[u8], path: &str) -> Result<Stat, FsError> {
    Ok(match lookup(archive, normalize(path))? {
        Found::Dir => Stat {
            size: 0,
            kind: Kind::Dir,
            mode: 0o755,
        },
        Found::Entry(e) => {
            let kind = kind_of(&e);
            Stat {
                size: if kind == Kind::Dir {
                    0
                } else {
                    e.data.len() as u64
                },
                kind,
                mode: e.permissions(),
            }
        }
    })
}

/// `list DIR[\0START]`: the entries below `DIR`, from entry `START` on.
fn list(archive: &[u8], req: &ListRequest<'_>) -> Result<Vec<u8>, FsError> {
    let dir = req.dir;
    let kind = stat(archive, dir)?.kind;
    if kind != Kind::Dir {
        return Err(FsError::NotADirectory {
            path: String::from(dir),
            kind,
        });
    }
    let mut out = ListingWriter::new();
    let mut index = 0;
    for e in cpio::entries(archive) {
        let e = e.map_err(FsError::BadArchive)?;
        let name = normalize(e.name);
        let below = match name.strip_prefix(dir) {
            Some(rest) if dir.is_empty() => !rest.is_empty(),
            Some(rest) => rest.len() > 1 && rest.starts_with('/'),
            None => false,
        };
        if !below {
            continue;
        }
        if index >= req.start {
            let kind = kind_of(&e);
            let size = if kind == Kind::Dir { 0 } else { e.data.len() };
            if !out.push(size as u64, kind, name) {
                if out.is_empty() {
                    return Err(FsError::NameTooLong(name.len()));
                }
                return Ok(out.finish(Some(index)));
            }
        }
        index += 1;
    }
    Ok(out.finish(None))
}

/// `read OFFSET LEN PATH`: at most `LEN` (and [`MAX_READ`]) bytes from `OFFSET`.
fn read(archive: &[u8], req: &ReadRequest<'_>) -> Result<Vec<u8>, FsError> {
    let path = normalize(req.path);
    let not_a_file = |kind| FsError::NotAFile {
        path: String::from(path),
        kind,
    };
    let data = match lookup(archive, path)? {
        Found::Dir => return Err(not_a_file(Kind::Dir)),
        Found::Entry(e) if !e.is_file() => return Err(not_a_file(kind_of(&e))),
        Found::Entry(e) => e.data,
    };
    let size = data.len() as u64;
    let past_end = || FsError::OffsetPastEnd {
        path: String::from(path),
        offset: req.offset,
        size,
    };
    let start = usize::try_from(req.offset).map_err(|_| past_end())?;
    let rest = data.get(start..).ok_or_else(past_end)?;
    let len = rest.len().min(req.len).min(MAX_READ);
    Ok(rest[..len].to_vec())
}

/// Answers one `fs` request.
fn serve(request: &Request) -> Result<Vec<u8>, FsError> {
    let payload = &request.payload;
    match request.request_type.as_str() {
        fs_proto::LIST => {
            let req = ListRequest::parse(payload).map_err(FsError::BadRequest)?;
            list(archive()?, &req)
        }
        fs_proto::STAT => {
            let path = core::str::from_utf8(payload)
                .map_err(|_| FsError::BadRequest(fs_proto::ProtoError::NotUtf8))?;
            stat(archive()?, path).map(|s| s.encode())
        }
        fs_proto::READ => {
            let req = ReadRequest::parse(payload).map_err(FsError::BadRequest)?;
            read(archive()?, &req)
        }
        other => Err(FsError::UnknownRequest(String::from(other))),
    }
}

impl ModuleTrait for InitrdFs {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(NAME)
            .version(1, 0, 0)
            .description("The initrd's cpio archive as a read-only filesystem: list, stat, read")
            .author("Helix developers")
            .license("MIT OR Apache-2.0")
            .flags(ModuleFlags::FILESYSTEM)
            .provides(&[fs_proto::CAPABILITY])
            .events(EventKinds::empty())
    }

    fn init(&mut self, _ctx: &Context) -> Result<(), ModuleError> {
        Ok(())
    }

    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }

    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        if request.request_type == "stats" {
            return Ok(Response::ok(
                format!(
                    "requests={} errors={} bytes_read={}",
                    self.requests, self.errors, self.bytes_read
                )
                .into_bytes(),
            ));
        }
        self.requests += 1;
        Ok(match serve(request) {
            Ok(answer) => {
                if request.request_type == fs_proto::READ {
                    self.bytes_read += answer.len() as u64;
                }
                Response::ok(answer)
            }
            Err(e) => {
                self.errors += 1;
                Response::err(e.to_string())
            }
        })
    }
}
