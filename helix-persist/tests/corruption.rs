//! Damaged disks: every byte of a superblock flipped, wrong magic, another
//! format version, lengths past the end, a shrunk (truncated) disk, and
//! damaged records, each skipped and reported while the others load.

mod common;

use common::{
    body_start, current_slot, formatted, record, reseal_header, set_header_field, set_record_field,
    with_sets,
};
use helix_persist::mem::MemDevice;
use helix_persist::{
    Corruption, MAX_SLOT_SECTORS, OpenError, Record, RecordError, SECTOR_SIZE, Store,
};

fn set_a() -> Vec<Record> {
    vec![record("a", b"first"), record("b", &[2; 700])]
}

fn set_b() -> Vec<Record> {
    vec![
        record("clock", b"tick"),
        record("event_log", &[7; 1500]),
        record("uptime", b"42"),
    ]
}

fn open_image(image: Vec<u8>) -> Result<(u64, Vec<Record>, Vec<RecordError>), OpenError> {
    let mut dev = MemDevice::from_image(image);
    let mut store = Store::open(&mut dev)?;
    let loaded = store.load().expect("load");
    Ok((store.status().generation, loaded.records, loaded.errors))
}

#[test]
fn flipping_any_byte_of_the_only_superblock_is_foreign_or_corrupt() {
    let dev = formatted(64);
    for at in 0..SECTOR_SIZE {
        for mask in [0x01, 0x80, 0xff] {
            let mut image = dev.image().to_vec();
            image[at] ^= mask;
            let got = open_image(image).unwrap_err();
            if at < 8 {
                assert_eq!(got, OpenError::Foreign, "byte {at}");
            } else {
                let why = Corruption::HeaderChecksum { slot: 0 };
                assert_eq!(got, OpenError::Corrupt { why }, "byte {at}");
            }
        }
    }
}

#[test]
fn flipping_any_byte_of_the_newer_superblock_falls_back_to_the_older_set() {
    let mut dev = with_sets(64, &[&set_a(), &set_b()]);
    let newer = current_slot(&mut dev);
    for at in 0..SECTOR_SIZE {
        let mut image = dev.image().to_vec();
        image[newer * SECTOR_SIZE + at] ^= 0x10;
        let (generation, records, errors) = open_image(image).unwrap();
        assert_eq!((generation, records), (2, set_a()), "byte {at}");
        assert!(errors.is_empty());
    }
}

#[test]
fn a_superblock_of_another_version_is_reported_and_guards_the_disk() {
    let mut dev = with_sets(64, &[&set_a(), &set_b()]);
    let newer = current_slot(&mut dev);
    let mut image = dev.image().to_vec();
    set_header_field(&mut image, newer, 8, &2u32.to_le_bytes());
    assert_eq!(
        open_image(image.clone()),
        Err(OpenError::UnsupportedVersion(2))
    );
    // Even in the older slot: the next save would overwrite it.
    let mut image = dev.image().to_vec();
    set_header_field(&mut image, 1 - newer, 8, &9u32.to_le_bytes());
    assert_eq!(open_image(image), Err(OpenError::UnsupportedVersion(9)));
}

#[test]
fn impossible_superblock_fields_are_corrupt() {
    let dev = formatted(64);
    let cases: [(usize, Vec<u8>, Corruption); 5] = [
        (
            16,
            1u32.to_le_bytes().to_vec(),
            Corruption::WrongSlot { slot: 0, found: 1 },
        ),
        (
            32,
            (MAX_SLOT_SECTORS + 1).to_le_bytes().to_vec(),
            Corruption::SlotTooLarge {
                sectors: MAX_SLOT_SECTORS + 1,
            },
        ),
        (
            32,
            40u64.to_le_bytes().to_vec(),
            Corruption::PastEnd {
                needed: 82,
                sectors: 64,
            },
        ),
        (
            40,
            (31 * 512 + 1u64).to_le_bytes().to_vec(),
            Corruption::BodyTooLong {
                len: 31 * 512 + 1,
                capacity: 31 * 512,
            },
        ),
        (
            40,
            u64::MAX.to_le_bytes().to_vec(),
            Corruption::BodyTooLong {
                len: u64::MAX,
                capacity: 31 * 512,
            },
        ),
    ];
    for (at, value, why) in cases {
        let mut image = dev.image().to_vec();
        set_header_field(&mut image, 0, at, &value);
        assert_eq!(
            open_image(image),
            Err(OpenError::Corrupt { why }),
            "field at {at}"
        );
    }
}

#[test]
fn a_truncated_disk_is_corrupt_or_too_small() {
    let dev = with_sets(64, &[&set_a()]);
    for sectors in [63, 40, 20, 4] {
        let image = dev.image()[..sectors * SECTOR_SIZE].to_vec();
        let why = Corruption::PastEnd {
            needed: 64,
            sectors: sectors as u64,
        };
        assert_eq!(
            open_image(image),
            Err(OpenError::Corrupt { why }),
            "{sectors}"
        );
    }
    for sectors in [3, 1, 0] {
        let image = dev.image()[..sectors * SECTOR_SIZE].to_vec();
        let too_small = OpenError::TooSmall {
            sectors: sectors as u64,
        };
        assert_eq!(open_image(image), Err(too_small));
    }
}

#[test]
fn a_damaged_record_is_skipped_by_name_and_the_others_load() {
    let dev = with_sets(64, &[&set_b()]);
    let body = body_start(dev.image(), 1);
    // event_log is the second record; its data starts at 24 + 9 bytes.
    let second = body + SECTOR_SIZE;
    let mut image = dev.image().to_vec();
    image[second + 24 + 9 + 100] ^= 1;
    let (_, records, errors) = open_image(image).unwrap();
    assert_eq!(records, vec![set_b()[0].clone(), set_b()[2].clone()]);
    let offset = SECTOR_SIZE as u64;
    let module = "event_log".to_string();
    assert_eq!(errors, vec![RecordError::Damaged { module, offset }]);
    assert_eq!(errors[0].module(), Some("event_log"));
}

#[test]
fn a_damaged_record_header_costs_only_that_record() {
    let dev = with_sets(64, &[&set_b()]);
    let second = body_start(dev.image(), 1) + SECTOR_SIZE;
    for at in 0..24 + 9 {
        let mut image = dev.image().to_vec();
        image[second + at] ^= 0x40;
        let (_, records, errors) = open_image(image).unwrap();
        assert_eq!(
            records,
            vec![set_b()[0].clone(), set_b()[2].clone()],
            "byte {at}"
        );
        let offset = SECTOR_SIZE as u64;
        let mismatch = RecordError::CountMismatch {
            expected: 3,
            found: 2,
        };
        assert_eq!(
            errors,
            vec![RecordError::Unreadable { offset }, mismatch],
            "byte {at}"
        );
        assert_eq!(errors[0].module(), None);
    }
}

#[test]
fn huge_record_lengths_are_unreadable_not_allocated() {
    let dev = with_sets(64, &[&set_b()]);
    let first = body_start(dev.image(), 1);
    for (at, value) in [
        (12, u32::MAX.to_le_bytes().to_vec()),
        (20, u16::MAX.to_le_bytes().to_vec()),
    ] {
        let mut image = dev.image().to_vec();
        set_record_field(&mut image, first, at, &value);
        let (_, records, errors) = open_image(image).unwrap();
        assert_eq!(records, set_b()[1..].to_vec(), "field at {at}");
        assert_eq!(errors[0], RecordError::Unreadable { offset: 0 });
    }
}

#[test]
fn a_wrong_record_count_and_duplicate_records_are_reported() {
    let mut dev = with_sets(64, &[&set_b()]);
    let mut image = dev.image().to_vec();
    set_header_field(&mut image, 1, 20, &5u32.to_le_bytes());
    let (_, records, errors) = open_image(image).unwrap();
    assert_eq!(records, set_b());
    assert_eq!(
        errors,
        vec![RecordError::CountMismatch {
            expected: 5,
            found: 3
        }]
    );

    // The third record (after one sector of clock and three of event_log)
    // renamed to the first one's name.
    let first = body_start(dev.image(), 1);
    dev.edit(|image| {
        let third = first + 4 * SECTOR_SIZE;
        image[third + 24..third + 31].copy_from_slice(b"clock42");
        set_record_field(image, third, 20, &5u16.to_le_bytes());
    });
    let (_, records, errors) = open_image(dev.image().to_vec()).unwrap();
    assert_eq!(records, set_b()[..2].to_vec());
    let duplicate = RecordError::Duplicate {
        module: "clock".into(),
        offset: 4 * 512,
    };
    assert_eq!(errors, vec![duplicate]);
}

#[test]
fn a_record_body_past_the_superblocks_length_is_not_read() {
    let dev = with_sets(64, &[&set_b()]);
    let mut image = dev.image().to_vec();
    // Claim one sector less of records than there are.
    let used = u64::from_le_bytes(
        image[SECTOR_SIZE + 40..SECTOR_SIZE + 48]
            .try_into()
            .unwrap(),
    );
    set_header_field(&mut image, 1, 40, &(used - 512).to_le_bytes());
    reseal_header(&mut image, 1);
    let (_, records, errors) = open_image(image).unwrap();
    assert_eq!(records, set_b()[..2].to_vec());
    assert_eq!(
        errors,
        vec![RecordError::CountMismatch {
            expected: 3,
            found: 2
        }]
    );
}
