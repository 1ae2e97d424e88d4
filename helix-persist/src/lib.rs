//! Module state that survives a reboot: the on-disk format of the kernel's
//! `persist` service, over an abstract [`BlockDevice`] of 512-byte
//! sectors, and the policy that decides which saved state goes back to
//! which module ([`policy`]). `no_std`, free of `unsafe`, host-tested
//! against [`mem::MemDevice`]; a corrupt or foreign disk gives a typed
//! error or skipped records, never a panic.
//!
//! # Use
//!
//! [`Store::open`] reads the disk and says what it found:
//! [`OpenError::Empty`] (a fresh disk: [`Store::format`] it),
//! [`OpenError::Foreign`] (someone else's: leave it unless the operator
//! asks for `format`), [`OpenError::Corrupt`], or
//! [`OpenError::UnsupportedVersion`]. Open on `&mut dev` to keep the
//! device when that fails. [`Store::load`] returns the current set's good
//! records and the ones it skipped ([`RecordError`], naming the module
//! when its header is readable); [`Store::save`] replaces the set;
//! [`Store::status`] reports generation, records, bytes used and capacity.
//!
//! # On-disk format (version 1)
//!
//! All integers are little-endian. The disk is laid out as
//!
//! | sectors | what |
//! | --- | --- |
//! | 0 | superblock of slot 0 |
//! | 1 | superblock of slot 1 |
//! | `2 .. 2+S` | body of slot 0 |
//! | `2+S .. 2+2S` | body of slot 1 |
//!
//! where `S`, the slot size in sectors, is fixed by `format`: half of what
//! follows the superblocks, at most [`MAX_SLOT_SECTORS`] (16 MiB). Sectors
//! past `2+2S` are not used.
//!
//! A superblock (one sector; bytes 48-511 zero):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0-7 | magic `HLXPERST` |
//! | 8-11 | format version (1) |
//! | 12-15 | CRC-32 of the whole sector with these four bytes as zero |
//! | 16-19 | slot (0 or 1), which must match the sector it is in |
//! | 20-23 | record count |
//! | 24-31 | generation (1 after `format`, one more each save) |
//! | 32-39 | slot size `S` in sectors |
//! | 40-47 | body length in bytes (at most `S * 512`) |
//!
//! The magic, version and checksum stay where they are in every future
//! version, so that a newer format is told apart from a corrupt one.
//!
//! A body is records one after another, each starting on a sector
//! boundary (zero padding after it):
//!
//! | bytes | field |
//! | --- | --- |
//! | 0-3 | magic `HXRC` |
//! | 4-7 | header CRC-32: bytes 0-23 with these four as zero, then the name |
//! | 8-11 | state version (the module's `ModuleInfo::state_version`) |
//! | 12-15 | data length `D` |
//! | 16-19 | data CRC-32 |
//! | 20-21 | name length `N` (1-255) |
//! | 22-23 | zero |
//! | 24 .. 24+N | module name, UTF-8 |
//! | 24+N .. 24+N+D | data (what `save_state` returned) |
//!
//! The header and the data have a checksum each, so a record whose data is
//! damaged is still known by its module and its length, and the records
//! after it are read. When a header is damaged, the records are looked for
//! again at each following sector boundary (magic, then header checksum),
//! so one damaged record costs only itself.
//!
//! All checksums are CRC-32 (IEEE 802.3, the one of zlib; [`crc`]).
//!
//! # Crash safety: two slots
//!
//! The valid superblock with the higher generation is current. `save`
//! writes the other slot: it zeroes that slot's superblock and flushes,
//! writes the records and flushes, then writes the new superblock
//! (generation + 1) and flushes. Until that last sector is on the disk,
//! the other slot has no valid superblock and the current set still
//! loads; once it is, the new set is complete, having been flushed before
//! it. A failed or interrupted save therefore leaves the previous set, and
//! the next save tries the same slot again. A single-sector write is taken
//! to be atomic; when it is not, a torn superblock fails its checksum and
//! the other slot is used.
//!
//! `open` refuses a disk with a superblock of another format version even
//! when the other slot is valid, because the next save would overwrite the
//! newer set.
#![no_std]
#![forbid(unsafe_code)]
#![deny(missing_docs)]

extern crate alloc;

pub mod crc;
pub mod device;
mod header;
mod le;
pub mod mem;
pub mod policy;
mod record;
mod store;

pub use device::{BlockDevice, BlockError, MAX_TRANSFER_SECTORS, SECTOR_SIZE};
pub use header::{Corruption, FORMAT_VERSION, HEADER_SECTORS, MAGIC, MAX_SLOT_SECTORS};
pub use record::{MAX_NAME_LEN, RECORD_HEADER_LEN, RECORD_MAGIC, Record, RecordError};
pub use store::{Loaded, MIN_SECTORS, OpenError, SaveError, Status, Store};
