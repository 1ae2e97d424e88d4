//! The store: opening a disk (and saying exactly what is on it), loading
//! the newest set of records, saving a new set into the other slot without
//! touching the current one, and formatting.

use crate::device::{self, BlockDevice, BlockError, SECTOR_SIZE};
use crate::header::{Corruption, HEADER_SECTORS, Header, MAX_SLOT_SECTORS, Sector};
use crate::record::{self, EncodeError, Record, RecordError};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use core::fmt;

/// The smallest device a store fits on: two superblocks and one sector per
/// slot.
pub const MIN_SECTORS: u64 = HEADER_SECTORS + 2;

/// Why [`Store::open`] found no store to use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpenError {
    /// Both superblock sectors are zero: a fresh disk, safe to
    /// [`Store::format`].
    Empty,
    /// The superblock sectors hold something that is not ours: someone
    /// else's disk, left alone unless [`Store::format`] is asked for.
    Foreign,
    /// A superblock with our magic that cannot be used, and none that can.
    Corrupt {
        /// What is wrong with it.
        why: Corruption,
    },
    /// A superblock of another format version (a newer kernel wrote it).
    /// Reported even when the other slot holds a valid older set, since
    /// saving over it would destroy the newer one.
    UnsupportedVersion(u32),
    /// The device has fewer than [`MIN_SECTORS`] sectors.
    TooSmall {
        /// Sectors it has.
        sectors: u64,
    },
    /// The device failed.
    Device(BlockError),
}

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the disk is empty (never formatted)"),
            Self::Foreign => f.write_str("the disk holds something else (not a persist store)"),
            Self::Corrupt { why } => write!(f, "the store is corrupt: {why}"),
            Self::UnsupportedVersion(v) => {
                write!(
                    f,
                    "the store has format version {v}, this kernel reads {}",
                    crate::FORMAT_VERSION
                )
            }
            Self::TooSmall { sectors } => too_small(f, *sectors),
            Self::Device(e) => write!(f, "reading the disk: {e}"),
        }
    }
}

impl core::error::Error for OpenError {}

impl From<BlockError> for OpenError {
    fn from(e: BlockError) -> Self {
        Self::Device(e)
    }
}

/// Why [`Store::save`] or [`Store::format`] wrote nothing, or did not
/// finish (the previous set is then still the one that loads).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SaveError {
    /// The records need more bytes than a slot holds.
    TooLarge {
        /// Bytes they need (saturated at `u64::MAX`).
        needed: u64,
        /// Bytes a slot holds.
        capacity: u64,
    },
    /// A module name is empty or longer than
    /// [`MAX_NAME_LEN`](crate::MAX_NAME_LEN) bytes.
    BadName {
        /// The name.
        module: String,
    },
    /// Two records name the same module.
    Duplicate {
        /// The module.
        module: String,
    },
    /// The generation counter is at its maximum.
    GenerationExhausted,
    /// The device has fewer than [`MIN_SECTORS`] sectors.
    TooSmall {
        /// Sectors it has.
        sectors: u64,
    },
    /// The device failed.
    Device(BlockError),
}

impl fmt::Display for SaveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge { needed, capacity } => {
                write!(
                    f,
                    "the records need {needed} bytes, the store holds {capacity}"
                )
            }
            Self::BadName { module } => write!(f, "bad module name {module:?}"),
            Self::Duplicate { module } => write!(f, "two records for {module}"),
            Self::GenerationExhausted => f.write_str("the generation counter is exhausted"),
            Self::TooSmall { sectors } => too_small(f, *sectors),
            Self::Device(e) => write!(f, "writing the disk: {e}"),
        }
    }
}

impl core::error::Error for SaveError {}

impl From<BlockError> for SaveError {
    fn from(e: BlockError) -> Self {
        Self::Device(e)
    }
}

fn too_small(f: &mut fmt::Formatter<'_>, sectors: u64) -> fmt::Result {
    write!(
        f,
        "a {sectors}-sector disk is smaller than a store ({MIN_SECTORS} sectors)"
    )
}

/// What [`Store::status`] reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    /// The current set's generation (1 after `format`, one more each save).
    pub generation: u64,
    /// Records in the current set.
    pub records: u32,
    /// Bytes the current set takes (records padded to sectors).
    pub bytes_used: u64,
    /// Bytes a set may take.
    pub capacity: u64,
    /// The slot holding the current set (0 or 1).
    pub slot: u32,
    /// The generation in the other slot, when it holds a valid set (the
    /// one before).
    pub previous: Option<u64>,
}

/// What [`Store::load`] read: the records that check out, and the ones
/// skipped.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Loaded {
    /// Good records, in the order saved.
    pub records: Vec<Record>,
    /// Records skipped, and why.
    pub errors: Vec<RecordError>,
}

/// A persist store open on a block device.
#[derive(Debug)]
pub struct Store<D> {
    dev: D,
    current: Header,
    previous: Option<u64>,
}

impl<D: BlockDevice> Store<D> {
    /// Opens the store on `dev`, using the valid superblock with the
    /// higher generation.
    pub fn open(mut dev: D) -> Result<Self, OpenError> {
        let sectors = dev.sector_count();
        if sectors < MIN_SECTORS {
            return Err(OpenError::TooSmall { sectors });
        }
        let mut buf = [0u8; 2 * SECTOR_SIZE];
        dev.read(0, &mut buf)?;
        let (first, second) = buf.split_at(SECTOR_SIZE);
        let slots = [
            Header::decode(first, 0, sectors),
            Header::decode(second, 1, sectors),
        ];
        let valid = |s: &Sector| match s {
            Sector::Valid(h) => Some(*h),
            _ => None,
        };
        for s in &slots {
            if let Sector::Unsupported(v) = s {
                return Err(OpenError::UnsupportedVersion(*v));
            }
        }
        let (current, previous) = match (valid(&slots[0]), valid(&slots[1])) {
            (Some(a), Some(b)) if b.generation > a.generation => (b, Some(a.generation)),
            (Some(a), Some(b)) => (a, Some(b.generation)),
            (Some(h), None) | (None, Some(h)) => (h, None),
            (None, None) => return Err(no_store(&slots)),
        };
        Ok(Self {
            dev,
            current,
            previous,
        })
    }

    /// Writes an empty store (generation 1) over whatever `dev` holds,
    /// using all of it up to two slots of
    /// [`MAX_SLOT_SECTORS`](crate::MAX_SLOT_SECTORS).
    pub fn format(mut dev: D) -> Result<Self, SaveError> {
        let sectors = dev.sector_count();
        if sectors < MIN_SECTORS {
            return Err(SaveError::TooSmall { sectors });
        }
        let slot_sectors = ((sectors - HEADER_SECTORS) / 2).min(MAX_SLOT_SECTORS);
        let current = Header {
            slot: 0,
            records: 0,
            generation: 1,
            slot_sectors,
            body_len: 0,
        };
        dev.write(1, &[0; SECTOR_SIZE])?;
        dev.write(0, &current.encode())?;
        dev.flush()?;
        Ok(Self {
            dev,
            current,
            previous: None,
        })
    }

    /// Reads the current set.
    pub fn load(&mut self) -> Result<Loaded, BlockError> {
        let h = self.current;
        // At most a slot (`MAX_SLOT_SECTORS`), checked at open.
        let len = usize::try_from(h.body_len).map_err(|_| BlockError::Io)?;
        let mut body = vec![0u8; device::sectors_in(len) as usize * SECTOR_SIZE];
        device::read_all(&mut self.dev, h.body_start(h.slot), &mut body)?;
        body.truncate(len);
        let (records, errors) = record::parse(&body, h.records);
        Ok(Loaded { records, errors })
    }

    /// Replaces the current set with `records`: written into the other
    /// slot, whose superblock is first zeroed and written last, with a
    /// flush between each step. If this fails or is cut short, the set
    /// that was current still loads.
    pub fn save(&mut self, records: &[Record]) -> Result<(), SaveError> {
        let capacity = self.current.capacity();
        let body = record::encode(records, capacity).map_err(|e| match e {
            EncodeError::BadName(module) => SaveError::BadName { module },
            EncodeError::Duplicate(module) => SaveError::Duplicate { module },
            EncodeError::TooLarge { needed } => SaveError::TooLarge { needed, capacity },
        })?;
        let generation = self
            .current
            .generation
            .checked_add(1)
            .ok_or(SaveError::GenerationExhausted)?;
        let slot = 1 - self.current.slot;
        let next = Header {
            slot,
            // `encode` checked that the count fits.
            records: u32::try_from(records.len()).unwrap_or(u32::MAX),
            generation,
            slot_sectors: self.current.slot_sectors,
            body_len: body.len() as u64,
        };
        // From here on the other slot holds nothing valid.
        self.previous = None;
        self.dev.write(u64::from(slot), &[0; SECTOR_SIZE])?;
        self.dev.flush()?;
        device::write_all(&mut self.dev, next.body_start(slot), &body)?;
        self.dev.flush()?;
        self.dev.write(u64::from(slot), &next.encode())?;
        self.dev.flush()?;
        self.previous = Some(self.current.generation);
        self.current = next;
        Ok(())
    }

    /// The current set's generation, size and slot.
    pub fn status(&self) -> Status {
        Status {
            generation: self.current.generation,
            records: self.current.records,
            bytes_used: self.current.body_len,
            capacity: self.current.capacity(),
            slot: self.current.slot,
            previous: self.previous,
        }
    }

    /// The device back.
    pub fn into_device(self) -> D {
        self.dev
    }
}

/// Why neither superblock can be used (no `Unsupported` among them).
fn no_store(slots: &[Sector; 2]) -> OpenError {
    for s in slots {
        if let Sector::Corrupt(why) = s {
            return OpenError::Corrupt { why: *why };
        }
    }
    if slots.iter().all(|s| *s == Sector::Zero) {
        OpenError::Empty
    } else {
        OpenError::Foreign
    }
}
