//! The superblock: one sector per slot (sector 0 for slot 0, sector 1 for
//! slot 1), encoded and checked here. The layout is in the crate
//! documentation.

use crate::crc::Crc32;
use crate::device::SECTOR_SIZE;
use crate::le;
use core::fmt;

/// The first eight bytes of every superblock.
pub const MAGIC: [u8; 8] = *b"HLXPERST";
/// The format this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Sectors before the slots' bodies: the two superblocks.
pub const HEADER_SECTORS: u64 = 2;
/// The largest slot, in sectors (16 MiB): what `load` may allocate is
/// bounded whatever the disk says and however large it is.
pub const MAX_SLOT_SECTORS: u64 = 32 * 1024;

/// Where the checksum sits; it is computed with these bytes as zero.
const CRC_AT: usize = 12;

/// Why a superblock with our magic cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Corruption {
    /// The superblock of this slot fails its checksum.
    HeaderChecksum {
        /// The slot (0 or 1).
        slot: u32,
    },
    /// The superblock in this slot's sector names another slot.
    WrongSlot {
        /// The slot whose sector it is.
        slot: u32,
        /// The slot it names.
        found: u32,
    },
    /// The slots are larger than the format allows.
    SlotTooLarge {
        /// Sectors a slot would have.
        sectors: u64,
    },
    /// The slots would end past the end of the device (it shrank, or the
    /// superblock lies).
    PastEnd {
        /// Sectors the store needs.
        needed: u64,
        /// Sectors the device has.
        sectors: u64,
    },
    /// More bytes of records than a slot holds.
    BodyTooLong {
        /// Bytes of records the superblock claims.
        len: u64,
        /// Bytes a slot holds.
        capacity: u64,
    },
}

impl fmt::Display for Corruption {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::HeaderChecksum { slot } => {
                write!(f, "superblock {slot} fails its checksum")
            }
            Self::WrongSlot { slot, found } => {
                write!(f, "superblock {slot} claims to be superblock {found}")
            }
            Self::SlotTooLarge { sectors } => write!(
                f,
                "slots of {sectors} sectors are over the limit of {MAX_SLOT_SECTORS}"
            ),
            Self::PastEnd { needed, sectors } => write!(
                f,
                "the store needs {needed} sectors, the device has {sectors}"
            ),
            Self::BodyTooLong { len, capacity } => write!(
                f,
                "{len} bytes of records do not fit a slot of {capacity} bytes"
            ),
        }
    }
}

/// A superblock that checked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    /// Which slot it describes (0 or 1).
    pub slot: u32,
    /// Records in the slot's body.
    pub records: u32,
    /// Higher is newer.
    pub generation: u64,
    /// Sectors in each slot's body.
    pub slot_sectors: u64,
    /// Bytes of the body in use.
    pub body_len: u64,
}

/// What a superblock sector holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sector {
    /// Only zeros: nothing was ever written, or it was invalidated.
    Zero,
    /// Not our magic.
    Foreign,
    /// Our magic and a valid superblock.
    Valid(Header),
    /// Our magic and a checksum that holds, but another format version.
    Unsupported(u32),
    /// Our magic, but not usable.
    Corrupt(Corruption),
}

impl Header {
    /// The byte capacity of a slot.
    pub fn capacity(&self) -> u64 {
        self.slot_sectors.saturating_mul(SECTOR_SIZE as u64)
    }

    /// The first sector of slot `slot`'s body.
    pub fn body_start(&self, slot: u32) -> u64 {
        HEADER_SECTORS.saturating_add(u64::from(slot).saturating_mul(self.slot_sectors))
    }

    /// The superblock as its sector.
    pub fn encode(&self) -> [u8; SECTOR_SIZE] {
        let mut s = [0u8; SECTOR_SIZE];
        s[..8].copy_from_slice(&MAGIC);
        le::put_u32(&mut s, 8, FORMAT_VERSION);
        le::put_u32(&mut s, 16, self.slot);
        le::put_u32(&mut s, 20, self.records);
        le::put_u64(&mut s, 24, self.generation);
        le::put_u64(&mut s, 32, self.slot_sectors);
        le::put_u64(&mut s, 40, self.body_len);
        let crc = checksum(&s);
        le::put_u32(&mut s, CRC_AT, crc);
        s
    }

    /// Reads the superblock sector of slot `slot` on a device of
    /// `device_sectors` sectors.
    pub fn decode(s: &[u8], slot: u32, device_sectors: u64) -> Sector {
        if s.iter().all(|&b| b == 0) {
            return Sector::Zero;
        }
        if s.get(..8) != Some(&MAGIC[..]) || s.len() != SECTOR_SIZE {
            return Sector::Foreign;
        }
        if le::u32_at(s, CRC_AT) != checksum(s) {
            return Sector::Corrupt(Corruption::HeaderChecksum { slot });
        }
        let version = le::u32_at(s, 8);
        if version != FORMAT_VERSION {
            return Sector::Unsupported(version);
        }
        let header = Header {
            slot: le::u32_at(s, 16),
            records: le::u32_at(s, 20),
            generation: le::u64_at(s, 24),
            slot_sectors: le::u64_at(s, 32),
            body_len: le::u64_at(s, 40),
        };
        match header.check(slot, device_sectors) {
            Ok(()) => Sector::Valid(header),
            Err(why) => Sector::Corrupt(why),
        }
    }

    fn check(&self, slot: u32, device_sectors: u64) -> Result<(), Corruption> {
        if self.slot != slot {
            return Err(Corruption::WrongSlot {
                slot,
                found: self.slot,
            });
        }
        if self.slot_sectors > MAX_SLOT_SECTORS {
            return Err(Corruption::SlotTooLarge {
                sectors: self.slot_sectors,
            });
        }
        let needed = HEADER_SECTORS + 2 * self.slot_sectors;
        if needed > device_sectors {
            return Err(Corruption::PastEnd {
                needed,
                sectors: device_sectors,
            });
        }
        if self.body_len > self.capacity() {
            return Err(Corruption::BodyTooLong {
                len: self.body_len,
                capacity: self.capacity(),
            });
        }
        Ok(())
    }
}

/// The CRC-32 of a superblock sector, its checksum field taken as zero.
fn checksum(s: &[u8]) -> u32 {
    let mut crc = Crc32::new();
    crc.update(s.get(..CRC_AT).unwrap_or_default());
    crc.update(&[0; 4]);
    crc.update(s.get(CRC_AT + 4..).unwrap_or_default());
    crc.finish()
}
