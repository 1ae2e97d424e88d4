//! The store on a healthy disk: what `open` says about fresh, foreign and
//! tiny disks, formatting, round-trips of many modules' records across
//! reopenings and slots, capacity, and what `save` refuses.

mod common;

use common::{Rng, formatted, record, sample_records};
use helix_persist::mem::MemDevice;
use helix_persist::{
    BlockDevice, MAX_NAME_LEN, MAX_SLOT_SECTORS, MIN_SECTORS, OpenError, Record, SECTOR_SIZE,
    SaveError, Status, Store,
};

#[test]
fn a_zeroed_disk_is_empty_and_format_makes_an_empty_store() {
    let mut dev = MemDevice::new(64);
    assert_eq!(Store::open(&mut dev).unwrap_err(), OpenError::Empty);
    let store = Store::format(&mut dev).unwrap();
    let expected = Status {
        generation: 1,
        records: 0,
        bytes_used: 0,
        capacity: 31 * SECTOR_SIZE as u64,
        slot: 0,
        previous: None,
    };
    assert_eq!(store.status(), expected);
    let mut store = Store::open(&mut dev).unwrap();
    assert_eq!(store.status(), expected);
    let loaded = store.load().unwrap();
    assert!(loaded.records.is_empty() && loaded.errors.is_empty());
}

#[test]
fn someone_elses_disk_is_foreign_and_left_alone() {
    let mut image = vec![0u8; 64 * SECTOR_SIZE];
    image[510] = 0x55;
    image[511] = 0xaa;
    let mut dev = MemDevice::from_image(image.clone());
    assert_eq!(Store::open(&mut dev).unwrap_err(), OpenError::Foreign);
    assert_eq!(dev.counters().0, 0, "nothing written");
    assert_eq!(dev.image(), &image[..]);

    // Data only in the second superblock sector is foreign too.
    let mut image = vec![0u8; 64 * SECTOR_SIZE];
    image[SECTOR_SIZE + 3] = 1;
    let mut dev = MemDevice::from_image(image);
    assert_eq!(Store::open(&mut dev).unwrap_err(), OpenError::Foreign);

    // Asked to, format takes it over.
    Store::format(&mut dev).unwrap();
    assert_eq!(Store::open(&mut dev).unwrap().status().generation, 1);
}

#[test]
fn a_disk_too_small_for_a_store_is_refused() {
    for sectors in 0..MIN_SECTORS as usize {
        let mut dev = MemDevice::new(sectors);
        let too_small = OpenError::TooSmall {
            sectors: sectors as u64,
        };
        assert_eq!(Store::open(&mut dev).unwrap_err(), too_small);
        assert_eq!(
            Store::format(&mut dev).unwrap_err(),
            SaveError::TooSmall {
                sectors: sectors as u64
            }
        );
    }
    let mut dev = MemDevice::new(MIN_SECTORS as usize);
    let mut store = Store::format(&mut dev).unwrap();
    assert_eq!(store.status().capacity, SECTOR_SIZE as u64);
    store.save(&[record("a", &[1; 100])]).unwrap();
    assert_eq!(store.load().unwrap().records, vec![record("a", &[1; 100])]);
}

#[test]
fn many_modules_round_trip_across_saves_and_reopenings() {
    let mut rng = Rng(1);
    let mut dev = formatted(4096);
    for round in 0..20u64 {
        let records = sample_records(&mut rng, 1 + round as usize * 3, 3000);
        let mut store = Store::open(&mut dev).unwrap();
        let before = store.status();
        store.save(&records).unwrap();
        let after = store.status();
        assert_eq!(after.generation, before.generation + 1);
        assert_eq!(after.slot, 1 - before.slot, "slots alternate");
        assert_eq!(after.previous, Some(before.generation));
        assert_eq!(after.records as usize, records.len());
        assert_eq!(store.load().unwrap().records, records, "same store");

        let mut store = Store::open(&mut dev).unwrap();
        assert_eq!(store.status(), after, "reopened");
        let loaded = store.load().unwrap();
        assert_eq!(loaded.records, records, "round {round}");
        assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    }
}

#[test]
fn records_larger_than_one_transfer_round_trip() {
    let mut rng = Rng(2);
    let records = vec![
        record("big", &rng.bytes(200_000)),
        record("empty", &[]),
        record(&"n".repeat(MAX_NAME_LEN), &rng.bytes(511)),
        record("exact", &rng.bytes(SECTOR_SIZE - 24 - 5)),
    ];
    let mut dev = formatted(2048);
    Store::open(&mut dev).unwrap().save(&records).unwrap();
    let loaded = Store::open(&mut dev).unwrap().load().unwrap();
    assert_eq!(loaded.records, records);
    assert!(loaded.errors.is_empty());
    // 200,000 bytes plus header and name: 391 sectors; the long name and
    // 511 bytes: two; the others one each.
    let status = Store::open(&mut dev).unwrap().status();
    assert_eq!(status.bytes_used, (391 + 1 + 2 + 1) * SECTOR_SIZE as u64);
}

#[test]
fn capacity_is_checked_before_anything_is_written() {
    let mut dev = formatted(2 + 2 * 8);
    let capacity = 8 * SECTOR_SIZE as u64;
    // Exactly full: one record of eight sectors.
    let full = [record("m", &vec![9; 8 * SECTOR_SIZE - 24 - 1])];
    let mut store = Store::open(&mut dev).unwrap();
    assert_eq!(store.status().capacity, capacity);
    store.save(&full).unwrap();
    let written = dev.counters();

    let one_more = [record("m", &vec![9; 8 * SECTOR_SIZE - 24])];
    let mut store = Store::open(&mut dev).unwrap();
    assert_eq!(
        store.save(&one_more).unwrap_err(),
        SaveError::TooLarge {
            needed: capacity + SECTOR_SIZE as u64,
            capacity
        }
    );
    assert_eq!(store.load().unwrap().records, full);
    assert_eq!(dev.counters(), written, "nothing written or flushed");
}

#[test]
fn bad_names_and_duplicates_are_refused() {
    let mut dev = formatted(64);
    let mut store = Store::open(&mut dev).unwrap();
    let long = "x".repeat(MAX_NAME_LEN + 1);
    assert_eq!(
        store.save(&[record("", b"a")]).unwrap_err(),
        SaveError::BadName { module: "".into() }
    );
    assert_eq!(
        store.save(&[record(&long, b"a")]).unwrap_err(),
        SaveError::BadName { module: long }
    );
    assert_eq!(
        store
            .save(&[record("a", b"1"), record("b", b"2"), record("a", b"3")])
            .unwrap_err(),
        SaveError::Duplicate { module: "a".into() }
    );
    assert_eq!(store.status().generation, 1, "nothing saved");
}

#[test]
fn format_caps_the_slots_and_reopening_uses_the_formatted_size() {
    let mut dev = MemDevice::new(2 * MAX_SLOT_SECTORS as usize + 100);
    let store = Store::format(&mut dev).unwrap();
    assert_eq!(
        store.status().capacity,
        MAX_SLOT_SECTORS * SECTOR_SIZE as u64
    );
    // A disk that grew keeps its layout.
    let mut image = dev.image().to_vec();
    image.extend_from_slice(&[0; 64 * SECTOR_SIZE]);
    let mut grown = MemDevice::from_image(image);
    let mut store = Store::open(&mut grown).unwrap();
    store.save(&[record("a", b"x")]).unwrap();
    assert_eq!(
        store.status().capacity,
        MAX_SLOT_SECTORS * SECTOR_SIZE as u64
    );
    assert_eq!(grown.sector_count(), 2 * MAX_SLOT_SECTORS + 164);
}

#[test]
fn an_owned_device_comes_back() {
    let mut store = Store::format(MemDevice::new(16)).unwrap();
    store.save(&[record("a", b"state")]).unwrap();
    let dev = store.into_device();
    let mut store = Store::open(dev).unwrap();
    assert_eq!(store.load().unwrap().records, vec![record("a", b"state")]);
}

#[test]
fn records_keep_their_order_and_state_versions() {
    let records: Vec<Record> = (0..50u32)
        .rev()
        .map(|i| Record {
            module: format!("m{i}"),
            state_version: i * 1000,
            data: i.to_le_bytes().to_vec(),
        })
        .collect();
    let mut dev = formatted(256);
    Store::open(&mut dev).unwrap().save(&records).unwrap();
    assert_eq!(
        Store::open(&mut dev).unwrap().load().unwrap().records,
        records
    );
}
