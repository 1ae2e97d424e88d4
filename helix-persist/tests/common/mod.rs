//! What the persist tests share: a deterministic random generator, sample
//! records, and ways to edit a disk image below the store (field by field,
//! with the checksums recomputed so that deeper checks are reached).
#![allow(dead_code)]

use helix_persist::crc::crc32;
use helix_persist::mem::MemDevice;
use helix_persist::{Record, SECTOR_SIZE, Store};

/// splitmix64: a deterministic generator with no dependency.
pub struct Rng(pub u64);

impl Rng {
    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// `len` random bytes.
    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next_u64() as u8).collect()
    }
}

/// `count` records of modules `mod0`, `mod1`, ... with data of random
/// lengths below `max_len` and varied state versions.
pub fn sample_records(rng: &mut Rng, count: usize, max_len: usize) -> Vec<Record> {
    (0..count)
        .map(|i| Record {
            module: format!("mod{i}"),
            state_version: (i % 4) as u32,
            data: {
                let len = rng.below(max_len + 1);
                rng.bytes(len)
            },
        })
        .collect()
}

/// A record of `module` with `data`, state version 1.
pub fn record(module: &str, data: &[u8]) -> Record {
    Record {
        module: module.into(),
        state_version: 1,
        data: data.to_vec(),
    }
}

/// A formatted disk of `sectors` sectors.
pub fn formatted(sectors: usize) -> MemDevice {
    let mut dev = MemDevice::new(sectors);
    Store::format(&mut dev).expect("format");
    dev
}

/// A disk of `sectors` sectors on which `sets` were saved one after the
/// other.
pub fn with_sets(sectors: usize, sets: &[&[Record]]) -> MemDevice {
    let mut dev = formatted(sectors);
    let mut store = Store::open(&mut dev).expect("open");
    for set in sets {
        store.save(set).expect("save");
    }
    dev
}

/// Writes `value` (little-endian) at byte `at` of slot `slot`'s superblock
/// and recomputes its checksum.
pub fn set_header_field(image: &mut [u8], slot: usize, at: usize, value: &[u8]) {
    let s = &mut image[slot * SECTOR_SIZE..(slot + 1) * SECTOR_SIZE];
    s[at..at + value.len()].copy_from_slice(value);
    reseal_header(image, slot);
}

/// Recomputes the checksum of slot `slot`'s superblock.
pub fn reseal_header(image: &mut [u8], slot: usize) {
    let s = &mut image[slot * SECTOR_SIZE..(slot + 1) * SECTOR_SIZE];
    s[12..16].fill(0);
    let crc = crc32(s);
    s[12..16].copy_from_slice(&crc.to_le_bytes());
}

/// The byte where slot `slot`'s body starts.
pub fn body_start(image: &[u8], slot: usize) -> usize {
    let s = &image[..SECTOR_SIZE];
    let slot_sectors = u64::from_le_bytes(s[32..40].try_into().unwrap()) as usize;
    (2 + slot * slot_sectors) * SECTOR_SIZE
}

/// The slot of the current (newest valid) set.
pub fn current_slot(dev: &mut MemDevice) -> usize {
    Store::open(dev).expect("open").status().slot as usize
}

/// Writes `value` at byte `at` of the record at `record` (a byte offset in
/// the image) and recomputes the record's header checksum.
pub fn set_record_field(image: &mut [u8], record: usize, at: usize, value: &[u8]) {
    image[record + at..record + at + value.len()].copy_from_slice(value);
    let name_len = u16::from_le_bytes([image[record + 20], image[record + 21]]) as usize;
    image[record + 4..record + 8].fill(0);
    let end = (record + 24 + name_len).min(image.len());
    let crc = crc32(&image[record..end]);
    image[record + 4..record + 8].copy_from_slice(&crc.to_le_bytes());
}
