//! Mutation fuzzing of whole disks: valid stores are mutated (bits
//! flipped, superblock and record fields set to extremes with their
//! checksums made to match so that the deeper checks are reached, sectors
//! copied, scrambled or zeroed, the disk truncated) by a deterministic
//! generator, then opened and loaded, which must never panic. Whatever
//! opens must also save a new set and load it back exactly; whatever does
//! not must be formattable. 10,000 disks by default; `HELIX_FUZZ_ITERATIONS`
//! runs more, `HELIX_FUZZ_SEED` changes the seed.

mod common;

use common::{Rng, record, reseal_header, sample_records, set_record_field, with_sets};
use helix_persist::mem::MemDevice;
use helix_persist::{OpenError, Record, SECTOR_SIZE, SaveError, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{AssertUnwindSafe, catch_unwind};

const SECTORS: usize = 96;

const EXTREMES: [u64; 10] = [
    0,
    1,
    2,
    47,
    48,
    512,
    0x7fff_ffff,
    0xffff_ffff,
    u64::MAX - 1,
    u64::MAX,
];

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn seeds() -> Vec<Vec<u8>> {
    let mut rng = Rng(99);
    let small = sample_records(&mut rng, 6, 300);
    let more = sample_records(&mut rng, 12, 900);
    let big = vec![record("big", &rng.bytes(9000)), record("z", b"")];
    vec![
        with_sets(SECTORS, &[]).image().to_vec(),
        with_sets(SECTORS, &[&small]).image().to_vec(),
        with_sets(SECTORS, &[&small, &more]).image().to_vec(),
        with_sets(SECTORS, &[&more, &big]).image().to_vec(),
    ]
}

/// Applies one random mutation to `image`.
fn mutate(rng: &mut Rng, image: &mut Vec<u8>) {
    if image.len() < 2 * SECTOR_SIZE {
        return;
    }
    let sectors = image.len() / SECTOR_SIZE;
    // Most of what matters sits in the first sectors.
    let hot = (4 * SECTOR_SIZE).min(image.len());
    match rng.below(9) {
        0 | 1 => {
            for _ in 0..1 + rng.below(8) {
                let at = if rng.below(2) == 0 {
                    rng.below(hot)
                } else {
                    rng.below(image.len())
                };
                image[at] ^= 1 << rng.below(8);
            }
        }
        2 | 3 => {
            let slot = rng.below(2);
            let at = 8 + 4 * rng.below(10);
            let width = if at == 24 || at == 32 || at == 40 {
                8
            } else {
                4
            };
            let value = EXTREMES[rng.below(EXTREMES.len())].to_le_bytes();
            let value = if rng.below(4) == 0 {
                rng.next_u64().to_le_bytes()
            } else {
                value
            };
            let s = slot * SECTOR_SIZE + at;
            image[s..s + width].copy_from_slice(&value[..width]);
            reseal_header(image, slot);
        }
        4 => {
            let record = rng.below(sectors) * SECTOR_SIZE;
            if image[record..record + 4] == *b"HXRC" {
                let at = [8, 12, 16, 20][rng.below(4)];
                let width = if at == 20 { 2 } else { 4 };
                let value = EXTREMES[rng.below(EXTREMES.len())].to_le_bytes();
                set_record_field(image, record, at, &value[..width]);
            }
        }
        5 => {
            let (from, to) = (rng.below(sectors), rng.below(sectors));
            let copy = image[from * SECTOR_SIZE..(from + 1) * SECTOR_SIZE].to_vec();
            image[to * SECTOR_SIZE..(to + 1) * SECTOR_SIZE].copy_from_slice(&copy);
        }
        6 => {
            let s = rng.below(sectors.min(6)) * SECTOR_SIZE;
            let noise = rng.bytes(SECTOR_SIZE);
            image[s..s + SECTOR_SIZE].copy_from_slice(&noise);
        }
        7 => {
            let s = rng.below(2) * SECTOR_SIZE;
            image[s..s + SECTOR_SIZE].fill(0);
        }
        _ => image.truncate(rng.below(image.len() + 1)),
    }
}

/// Opens, loads and saves on `image`; returns what happened, by name.
fn exercise(rng: &mut Rng, image: Vec<u8>) -> &'static str {
    let mut dev = MemDevice::from_image(image);
    let count = 1 + rng.below(5);
    let fresh = sample_records(rng, count, 400);
    let outcome = match Store::open(&mut dev) {
        Ok(mut store) => {
            let status = store.status();
            assert!(status.bytes_used <= status.capacity && status.slot < 2);
            let loaded = store.load().expect("a memory disk does not fail");
            let names: BTreeSet<&str> = loaded.records.iter().map(|r| r.module.as_str()).collect();
            assert_eq!(
                names.len(),
                loaded.records.len(),
                "no duplicates handed out"
            );
            assert!(names.iter().all(|n| !n.is_empty() && n.len() <= 255));
            let fits = fresh_fits(&fresh, status.capacity);
            match store.save(&fresh) {
                Ok(()) => assert_eq!(store.status().generation, status.generation + 1),
                Err(SaveError::GenerationExhausted) => return "generation exhausted",
                Err(SaveError::TooLarge { .. }) if !fits => return "opened, too small to save",
                Err(e) => panic!("save on an opened store: {e}"),
            }
            if loaded.errors.is_empty() {
                "opened"
            } else {
                "opened, records skipped"
            }
        }
        Err(OpenError::Device(e)) => panic!("device error from a memory disk: {e}"),
        Err(OpenError::TooSmall { .. }) => return "too small",
        Err(e) => {
            let mut store = Store::format(&mut dev).expect("format");
            if !fresh_fits(&fresh, store.status().capacity) {
                return "formatted, too small to save";
            }
            store.save(&fresh).expect("save after format");
            match e {
                OpenError::Empty => "empty",
                OpenError::Foreign => "foreign",
                OpenError::UnsupportedVersion(_) => "unsupported version",
                _ => "corrupt",
            }
        }
    };
    let mut store = Store::open(&mut dev).expect("reopen after save");
    let loaded = store.load().unwrap();
    assert_eq!(loaded.records, fresh, "what was saved loads");
    assert!(loaded.errors.is_empty(), "{:?}", loaded.errors);
    outcome
}

/// Whether `records` fit `capacity` bytes (sector-padded records).
fn fresh_fits(records: &[Record], capacity: u64) -> bool {
    let needed: usize = records
        .iter()
        .map(|r| (24 + r.module.len() + r.data.len()).div_ceil(SECTOR_SIZE) * SECTOR_SIZE)
        .sum();
    needed as u64 <= capacity
}

#[test]
fn mutated_disks_never_panic_and_what_opens_still_works() {
    let iterations = env_u64("HELIX_FUZZ_ITERATIONS", 10_000);
    let seed = env_u64("HELIX_FUZZ_SEED", 0x5eed);
    let seeds = seeds();
    let mut rng = Rng(seed);
    let mut outcomes: BTreeMap<&str, u64> = BTreeMap::new();
    for i in 0..iterations {
        let mut image = seeds[rng.below(seeds.len())].clone();
        for _ in 0..1 + rng.below(3) {
            mutate(&mut rng, &mut image);
        }
        let case_seed = rng.next_u64();
        let run = catch_unwind(AssertUnwindSafe(|| exercise(&mut Rng(case_seed), image)));
        match run {
            Ok(outcome) => *outcomes.entry(outcome).or_default() += 1,
            Err(_) => panic!("disk {i} (seed {seed:#x}) failed; see the message above"),
        }
    }
    println!("{outcomes:?}");
    // The mutations reach every kind of outcome, not just the first check.
    for kind in [
        "opened",
        "opened, records skipped",
        "foreign",
        "corrupt",
        "empty",
    ] {
        assert!(
            outcomes.contains_key(kind),
            "no disk was {kind}: {outcomes:?}"
        );
    }
}
