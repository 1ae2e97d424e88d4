//! Crash safety: a save cut short at every sector write and at every flush,
//! and disks as a power cut would leave them (any subset of the unflushed
//! writes on the medium), always open on one complete set: the previous
//! one, or the new one once its superblock is durable; never a mix.

mod common;

use common::{Rng, formatted, record, sample_records};
use helix_persist::mem::MemDevice;
use helix_persist::{BlockDevice, BlockError, Record, SaveError, Store};

/// A disk whose current set is `old` (generation 2), and a `new` set whose
/// body takes several transfers.
fn setup() -> (MemDevice, Vec<Record>, Vec<Record>) {
    let mut rng = Rng(7);
    let old = sample_records(&mut rng, 5, 700);
    let mut new = sample_records(&mut rng, 8, 900);
    new.push(record("large", &rng.bytes(70 * 512)));
    let mut dev = formatted(1024);
    Store::open(&mut dev).unwrap().save(&old).unwrap();
    (dev, old, new)
}

/// Opens `image` and returns its generation and records, asserting that
/// every record checked out.
fn reopen(image: Vec<u8>) -> (u64, Vec<Record>) {
    let mut dev = MemDevice::from_image(image);
    let mut store = Store::open(&mut dev).expect("a crashed disk still opens");
    let loaded = store.load().unwrap();
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    (store.status().generation, loaded.records)
}

/// Which unflushed writes reach the disk, by index: none, all, alternate
/// ones, the first half, and random subsets.
fn keep_patterns(pending: usize) -> Vec<Vec<bool>> {
    let mut rng = Rng(pending as u64);
    let mut patterns = vec![
        vec![false; pending],
        vec![true; pending],
        (0..pending).map(|i| i % 2 == 0).collect(),
        (0..pending).map(|i| i % 2 == 1).collect(),
        (0..pending).map(|i| i < pending / 2).collect(),
    ];
    for _ in 0..4 {
        patterns.push((0..pending).map(|_| rng.below(2) == 0).collect());
    }
    patterns
}

/// Writes and flushes a save of `new` takes.
fn cost(dev: &MemDevice, new: &[Record]) -> (u64, u64) {
    let mut probe = dev.clone();
    let before = probe.counters();
    Store::open(&mut probe).unwrap().save(new).unwrap();
    let after = probe.counters();
    (after.0 - before.0, after.1 - before.1)
}

#[test]
fn a_save_failing_at_any_write_leaves_the_previous_set() {
    let (dev, old, new) = setup();
    let (writes, flushes) = cost(&dev, &new);
    assert!(writes > 70, "{writes} sector writes");
    assert_eq!(flushes, 3);
    for k in 0..writes as usize {
        let mut dev = dev.clone();
        dev.fail_writes_after(Some(k));
        let mut store = Store::open(&mut dev).unwrap();
        assert_eq!(
            store.save(&new).unwrap_err(),
            SaveError::Device(BlockError::Io),
            "write {k}"
        );
        assert_eq!(store.status().generation, 2);
        assert_eq!(store.load().unwrap().records, old, "same store, write {k}");
        assert_eq!(reopen(dev.image().to_vec()), (2, old.clone()), "write {k}");
        for keep in keep_patterns(dev.pending_writes()) {
            let image = dev.crash_image(|i| keep[i]);
            assert_eq!(reopen(image), (2, old.clone()), "write {k}, {keep:?}");
        }
        // The device recovers: the same store saves.
        dev.fail_writes_after(None);
        let mut store = Store::open(&mut dev).unwrap();
        store.save(&new).unwrap();
        assert_eq!(reopen(dev.image().to_vec()), (3, new.clone()));
    }
}

#[test]
fn a_save_failing_at_any_flush_leaves_one_whole_set() {
    let (dev, old, new) = setup();
    for f in 0..3 {
        let mut dev = dev.clone();
        dev.fail_flushes_after(Some(f));
        let mut store = Store::open(&mut dev).unwrap();
        assert_eq!(
            store.save(&new).unwrap_err(),
            SaveError::Device(BlockError::Io)
        );
        assert_eq!(store.load().unwrap().records, old);
        let pending = dev.pending_writes();
        for keep in keep_patterns(pending) {
            let got = reopen(dev.crash_image(|i| keep[i]));
            // Only the last flush guards the new superblock; before it,
            // nothing can make the new set current.
            let header_landed = f == 2 && keep.last() == Some(&true);
            if header_landed {
                assert_eq!(got, (3, new.clone()), "flush {f}, {keep:?}");
            } else {
                assert_eq!(got, (2, old.clone()), "flush {f}, {keep:?}");
            }
        }
    }
}

/// A device that fails one chosen flush and, from a chosen call on,
/// every write (counted in calls, from 0).
struct Faulty<'a> {
    dev: &'a mut MemDevice,
    flushes: usize,
    writes: usize,
    fail_flush: usize,
    fail_writes_from: usize,
}

impl BlockDevice for Faulty<'_> {
    fn sector_count(&self) -> u64 {
        self.dev.sector_count()
    }
    fn read(&mut self, sector: u64, buf: &mut [u8]) -> Result<(), BlockError> {
        self.dev.read(sector, buf)
    }
    fn write(&mut self, sector: u64, data: &[u8]) -> Result<(), BlockError> {
        self.writes += 1;
        if self.writes > self.fail_writes_from {
            return Err(BlockError::Io);
        }
        self.dev.write(sector, data)
    }
    fn flush(&mut self) -> Result<(), BlockError> {
        self.flushes += 1;
        if self.flushes == self.fail_flush + 1 {
            return Err(BlockError::Io);
        }
        self.dev.flush()
    }
}

#[test]
fn a_save_whose_last_flush_failed_is_not_trusted_by_the_next_save() {
    let (mut dev, old, new) = setup();
    let faulty = Faulty {
        dev: &mut dev,
        flushes: 0,
        writes: 0,
        // The first save's last flush (after its superblock) fails.
        fail_flush: 2,
        // The first save makes four write calls (superblock zeroed, two
        // transfers of records, superblock); the second's fourth call (its
        // second transfer of records) fails.
        fail_writes_from: 4 + 3,
    };
    let mut store = Store::open(faulty).unwrap();
    assert!(store.save(&new).is_err());
    // The store still counts the old set as current; on the disk, the new
    // superblock sits unflushed in the other slot.
    assert_eq!(store.status().generation, 2);
    let newer = vec![record("other", &[5; 100 * 512])];
    assert_eq!(
        store.save(&newer).unwrap_err(),
        SaveError::Device(BlockError::Io)
    );
    // Had the second save left that superblock in place, its records, now
    // half overwritten, would be current.
    assert_eq!(reopen(dev.image().to_vec()), (2, old.clone()));
    for keep in keep_patterns(dev.pending_writes()) {
        assert_eq!(reopen(dev.crash_image(|i| keep[i])), (2, old.clone()));
    }
}
