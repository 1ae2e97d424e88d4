//! Records: one module's saved state each, laid out one after another in a
//! slot's body, each starting on a sector boundary. Encoding checks what
//! `save` is given; parsing keeps every record that checks out and reports
//! the rest. The layout is in the crate documentation.

use crate::crc::{Crc32, crc32};
use crate::device::SECTOR_SIZE;
use crate::le;
use alloc::collections::BTreeSet;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

/// The first four bytes of every record.
pub const RECORD_MAGIC: [u8; 4] = *b"HXRC";
/// Bytes of a record before its module name.
pub const RECORD_HEADER_LEN: usize = 24;
/// The longest module name a record holds, in bytes.
pub const MAX_NAME_LEN: usize = 255;

/// Where the record's header checksum sits; it is computed with these
/// bytes as zero.
const CRC_AT: usize = 4;

/// One module's saved state.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The module's name.
    pub module: String,
    /// The format of `data` (the module's `ModuleInfo::state_version` when
    /// it was saved).
    pub state_version: u32,
    /// What the module's `save_state` returned.
    pub data: Vec<u8>,
}

/// A record `load` skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordError {
    /// The record header at this byte offset of the body is damaged, so
    /// neither its module nor its length is known; records are looked for
    /// again from the next sector on.
    Unreadable {
        /// Byte offset in the slot's body.
        offset: u64,
    },
    /// The record's header checks out but its data fails the checksum.
    Damaged {
        /// The module it belongs to.
        module: String,
        /// Byte offset in the slot's body.
        offset: u64,
    },
    /// A second record for a module; the first one is kept.
    Duplicate {
        /// The module.
        module: String,
        /// Byte offset in the slot's body.
        offset: u64,
    },
    /// The superblock counts another number of records than were found
    /// (good or damaged).
    CountMismatch {
        /// What the superblock says.
        expected: u32,
        /// What was found.
        found: u32,
    },
}

impl RecordError {
    /// The module the skipped record belongs to, when that is known.
    pub fn module(&self) -> Option<&str> {
        match self {
            Self::Damaged { module, .. } | Self::Duplicate { module, .. } => Some(module),
            Self::Unreadable { .. } | Self::CountMismatch { .. } => None,
        }
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { offset } => {
                write!(f, "record at byte {offset} is unreadable (damaged header)")
            }
            Self::Damaged { module, offset } => {
                write!(f, "record of {module} at byte {offset} fails its checksum")
            }
            Self::Duplicate { module, offset } => {
                write!(f, "second record of {module} at byte {offset} ignored")
            }
            Self::CountMismatch { expected, found } => {
                write!(f, "superblock counts {expected} records, found {found}")
            }
        }
    }
}

/// Why a set of records cannot be encoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum EncodeError {
    /// An empty or too long module name.
    BadName(String),
    /// Two records for one module.
    Duplicate(String),
    /// The encoding needs this many bytes (saturated), over `capacity`.
    TooLarge { needed: u64 },
}

/// Encodes `records` as a slot body of whole sectors, at most `capacity`
/// bytes.
pub(crate) fn encode(records: &[Record], capacity: u64) -> Result<Vec<u8>, EncodeError> {
    let mut names = BTreeSet::new();
    let mut needed: u64 = 0;
    for r in records {
        if r.module.is_empty() || r.module.len() > MAX_NAME_LEN {
            return Err(EncodeError::BadName(r.module.clone()));
        }
        if !names.insert(r.module.as_str()) {
            return Err(EncodeError::Duplicate(r.module.clone()));
        }
        needed = needed.saturating_add(padded_len(r));
    }
    if needed > capacity || u32::try_from(records.len()).is_err() {
        return Err(EncodeError::TooLarge { needed });
    }
    let Ok(len) = usize::try_from(needed) else {
        return Err(EncodeError::TooLarge { needed });
    };
    let mut body = Vec::with_capacity(len);
    for r in records {
        encode_one(r, &mut body);
    }
    Ok(body)
}

/// Bytes record `r` takes, padded to a sector (saturating).
fn padded_len(r: &Record) -> u64 {
    let raw = (RECORD_HEADER_LEN as u64)
        .saturating_add(r.module.len() as u64)
        .saturating_add(r.data.len() as u64);
    raw.div_ceil(SECTOR_SIZE as u64)
        .saturating_mul(SECTOR_SIZE as u64)
}

/// Appends `r` (its name and data lengths already checked) to `body`.
fn encode_one(r: &Record, body: &mut Vec<u8>) {
    let start = body.len();
    let mut head = [0u8; RECORD_HEADER_LEN];
    head[..4].copy_from_slice(&RECORD_MAGIC);
    le::put_u32(&mut head, 8, r.state_version);
    le::put_u32(&mut head, 12, r.data.len() as u32);
    le::put_u32(&mut head, 16, crc32(&r.data));
    le::put_u16(&mut head, 20, r.module.len() as u16);
    let crc = header_crc(&head, r.module.as_bytes());
    le::put_u32(&mut head, CRC_AT, crc);
    body.extend_from_slice(&head);
    body.extend_from_slice(r.module.as_bytes());
    body.extend_from_slice(&r.data);
    let end = start + (body.len() - start).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
    body.resize(end, 0);
}

/// The CRC-32 of a record's fixed header (checksum field as zero) and name.
fn header_crc(head: &[u8], name: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(head.get(..CRC_AT).unwrap_or_default());
    crc.update(&[0; 4]);
    crc.update(head.get(CRC_AT + 4..RECORD_HEADER_LEN).unwrap_or_default());
    crc.update(name);
    crc.finish()
}

/// What one attempt to read a record at an offset gave.
enum Parsed {
    /// A good record; the next one starts at the offset given.
    Good(Record, usize),
    /// A good header with damaged data.
    Damaged(String, usize),
    /// No record header here.
    Unreadable,
}

/// The records of `body` that check out, and what was skipped; `expected`
/// is the superblock's count.
pub(crate) fn parse(body: &[u8], expected: u32) -> (Vec<Record>, Vec<RecordError>) {
    let mut records: Vec<Record> = Vec::new();
    let mut errors = Vec::new();
    let mut names = BTreeSet::new();
    let mut found: u32 = 0;
    let mut in_damage = false;
    let mut at = 0;
    while at < body.len() {
        let offset = at as u64;
        match parse_at(body, at) {
            Parsed::Good(record, next) => {
                found = found.saturating_add(1);
                in_damage = false;
                at = next;
                if names.contains(&record.module) {
                    let module = record.module;
                    errors.push(RecordError::Duplicate { module, offset });
                } else {
                    names.insert(record.module.clone());
                    records.push(record);
                }
            }
            Parsed::Damaged(module, next) => {
                found = found.saturating_add(1);
                in_damage = false;
                at = next;
                errors.push(RecordError::Damaged { module, offset });
            }
            Parsed::Unreadable => {
                if !in_damage {
                    errors.push(RecordError::Unreadable { offset });
                }
                in_damage = true;
                at = at.saturating_add(SECTOR_SIZE);
            }
        }
    }
    if found != expected {
        errors.push(RecordError::CountMismatch { expected, found });
    }
    (records, errors)
}

/// Reads the record at byte `at` of `body`.
fn parse_at(body: &[u8], at: usize) -> Parsed {
    let Some(rest) = body.get(at..) else {
        return Parsed::Unreadable;
    };
    let Some(head) = rest.get(..RECORD_HEADER_LEN) else {
        return Parsed::Unreadable;
    };
    if head.get(..4) != Some(&RECORD_MAGIC[..]) {
        return Parsed::Unreadable;
    }
    let name_len = usize::from(le::u16_at(head, 20));
    let Some(name) = rest.get(RECORD_HEADER_LEN..RECORD_HEADER_LEN + name_len) else {
        return Parsed::Unreadable;
    };
    if le::u32_at(head, CRC_AT) != header_crc(head, name) {
        return Parsed::Unreadable;
    }
    let Ok(module) = core::str::from_utf8(name) else {
        return Parsed::Unreadable;
    };
    if module.is_empty() {
        return Parsed::Unreadable;
    }
    let data_start = RECORD_HEADER_LEN + name_len;
    let data = usize::try_from(le::u32_at(head, 12))
        .ok()
        .and_then(|len| data_start.checked_add(len))
        .and_then(|end| rest.get(data_start..end));
    let Some(data) = data else {
        return Parsed::Unreadable;
    };
    let used = (data_start + data.len()).div_ceil(SECTOR_SIZE) * SECTOR_SIZE;
    let next = at.saturating_add(used);
    if crc32(data) != le::u32_at(head, 16) {
        return Parsed::Damaged(module.into(), next);
    }
    let record = Record {
        module: module.into(),
        state_version: le::u32_at(head, 8),
        data: data.to_vec(),
    };
    Parsed::Good(record, next)
}
