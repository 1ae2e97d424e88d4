//! Mutation fuzzing of the parsers: valid cpio archives and valid module
//! ELF images are mutated (bytes flipped or overwritten, fields set to
//! extremes, truncated, spliced, bytes inserted and removed) by a
//! deterministic xorshift generator and fed to `cpio::entries` (iterated to
//! the end) and, as the kernel's loader does, `sig::split` then
//! `elf::plan`, which must never panic; what they accept is
//! checked for consistency. 20,000 inputs by default; set
//! `HELIX_FUZZ_ITERATIONS` to run more, and `HELIX_FUZZ_SEED` to change the
//! seed.

mod common;

use common::{DYN_AT, Image, R_RELATIVE, RELA_AT};
use helix_loader::cpio::{self, Writer};
use helix_loader::elf::{self, MAX_SPAN};
use helix_loader::sig;
use std::collections::BTreeMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

/// xorshift64*: small, deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// Uniform-ish in `0..n` (`n > 0`).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn chance(&mut self, one_in: usize) -> bool {
        self.below(one_in) == 0
    }
}

const EXTREMES: [u64; 12] = [
    0,
    1,
    2,
    7,
    8,
    24,
    0x1000,
    0x7fff_ffff,
    0xffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX - 1,
    u64::MAX,
];

fn cpio_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    let mut w = Writer::new();
    w.add_dir("modules", 0o755).unwrap();
    w.add_file("modules/hello.ko", 0o644, b"hello, world")
        .unwrap();
    w.add_file("empty", 0o600, b"").unwrap();
    w.add_file("abc", 0o644, b"abc").unwrap();
    w.add_entry("link", 0o120_777, b"modules/hello.ko").unwrap();
    seeds.push(w.finish());
    seeds.push(Writer::new().finish());
    let mut w = Writer::new();
    w.add_file("init", 0o755, &[0x5a; 300]).unwrap();
    seeds.push(w.finish());
    seeds
}

fn elf_seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![Image::valid().build()];
    let mut image = Image::valid();
    image.relas = (0..6)
        .map(|k| (0x1200 + 8 * k, R_RELATIVE, (k * 0x300) as i64))
        .collect();
    image.fit_relas();
    seeds.push(image.build());
    let mut image = Image::valid();
    image.phdrs.truncate(2);
    seeds.push(image.build());
    // Real module binaries (`scripts/build-module` output), if given.
    if let Ok(files) = std::env::var("HELIX_FUZZ_SEED_FILES") {
        for file in files.split(':').filter(|f| !f.is_empty()) {
            seeds.push(std::fs::read(file).expect("HELIX_FUZZ_SEED_FILES names a file"));
        }
    }
    // Each also signed, so the signature trailer's reader is fuzzed too
    // (the loader splits it off before planning).
    let signed: Vec<Vec<u8>> = seeds
        .iter()
        .filter_map(|s| sig::append(s, "helix-dev", [7; 8], [0x5a; 64]).ok())
        .collect();
    seeds.extend(signed);
    seeds
}

/// An offset where a mutation is likely to matter: a header or a table
/// (for ELF images), or anywhere.
fn pick_offset(rng: &mut Rng, len: usize, is_elf: bool) -> usize {
    if is_elf && rng.chance(2) {
        let regions = [
            (0, 64),
            (64, 64 + 56 * 4),
            (DYN_AT, DYN_AT + 0x60),
            (RELA_AT, RELA_AT + 0x90),
        ];
        let (start, end) = regions[rng.below(regions.len())];
        start + rng.below(end - start)
    } else {
        rng.below(len.max(1))
    }
}

fn mutate(rng: &mut Rng, input: &mut Vec<u8>, donors: &[Vec<u8>], is_elf: bool) {
    for _ in 0..1 + rng.below(4) {
        let len = input.len();
        let at = pick_offset(rng, len, is_elf);
        match rng.below(9) {
            // Flip bits of one byte.
            0 => {
                if let Some(b) = input.get_mut(at) {
                    *b ^= 1 << rng.below(8);
                }
            }
            // Overwrite a byte.
            1 => {
                if let Some(b) = input.get_mut(at) {
                    *b = rng.next() as u8;
                }
            }
            // Set a 2-, 4- or 8-byte field (maybe aligned) to an extreme.
            2 | 3 => {
                let width = [2, 4, 8][rng.below(3)];
                let at = if rng.chance(2) { at & !(width - 1) } else { at };
                let mut value = EXTREMES[rng.below(EXTREMES.len())];
                if rng.chance(4) {
                    value = value
                        .wrapping_add(len as u64)
                        .wrapping_sub(rng.below(16) as u64);
                }
                if let Some(slot) = input.get_mut(at..at.saturating_add(width)) {
                    slot.copy_from_slice(&value.to_le_bytes()[..width]);
                }
            }
            // Write an extreme as 8 ASCII hex digits (a cpio field).
            4 => {
                let value = EXTREMES[rng.below(EXTREMES.len())] as u32;
                let text = format!("{value:08x}");
                if let Some(slot) = input.get_mut(at..at.saturating_add(8)) {
                    slot.copy_from_slice(text.as_bytes());
                }
            }
            // Truncate.
            5 => input.truncate(rng.below(len + 1)),
            // Splice a chunk of a donor (or of the input itself) over the input.
            6 => {
                let donor = if rng.chance(2) {
                    input.clone()
                } else {
                    donors[rng.below(donors.len())].clone()
                };
                let from = rng.below(donor.len().max(1));
                let n = rng.below(64).min(donor.len().saturating_sub(from));
                for (k, &b) in donor[from..from + n].iter().enumerate() {
                    if let Some(slot) = input.get_mut(at + k) {
                        *slot = b;
                    }
                }
            }
            // Insert bytes.
            7 => {
                let n = 1 + rng.below(8);
                let at = at.min(len);
                for _ in 0..n {
                    input.insert(at, rng.next() as u8);
                }
            }
            // Remove bytes.
            _ => {
                let at = at.min(len);
                let n = (1 + rng.below(8)).min(len - at);
                input.drain(at..at + n);
            }
        }
    }
}

/// The variant name of an error, from its `Debug` form.
fn kind(e: &impl std::fmt::Debug) -> String {
    let text = format!("{e:?}");
    text.split([' ', '{', '('])
        .next()
        .unwrap_or_default()
        .to_string()
}

/// Feeds one archive to the cpio reader and checks what it returns;
/// `Err` has the kind of error that ended it.
fn check_cpio(input: &[u8]) -> Result<(), String> {
    let base = input.as_ptr() as usize;
    let _ = cpio::find(input, "modules/hello.ko");
    let mut count = 0;
    for entry in cpio::entries(input) {
        count += 1;
        assert!(
            count <= input.len() / 110 + 1,
            "more entries than headers fit"
        );
        let entry = entry.map_err(|e| kind(&e))?;
        let data = entry.data.as_ptr() as usize;
        assert!(
            entry.data.is_empty()
                || (data >= base && data + entry.data.len() <= base + input.len())
        );
        assert!(entry.offset + 110 <= input.len());
    }
    Ok(())
}

/// Plans one image and checks what an accepted plan promises; `Err` has
/// the kind of error that refused it.
fn check_elf(file: &[u8]) -> Result<(), String> {
    // What the kernel does with a module file: split off the signature
    // trailer, then plan the payload.
    let (input, _) = sig::split(file).map_err(|e| kind(&e))?;
    assert!(input.len() <= file.len());
    let plan = elf::plan(input).map_err(|e| kind(&e))?;
    assert!(plan.span <= MAX_SPAN && plan.span > 0);
    assert!(
        plan.segment_containing(plan.entry, 1)
            .is_some_and(|s| s.perms.execute)
    );
    for s in &plan.segments {
        assert!(!(s.perms.write && s.perms.execute));
        assert!(s.file_offset + s.filesz <= input.len());
        assert!(s.filesz as u64 <= s.memsz);
        assert!(s.vaddr >= plan.link_base && s.vaddr + s.memsz <= plan.link_base + plan.span);
    }
    for r in &plan.relocations {
        assert!(
            plan.segment_containing(r.offset, 8)
                .is_some_and(|s| s.perms.write)
        );
        assert!(r.addend >= plan.link_base && r.addend <= plan.link_base + plan.span);
    }
    Ok(())
}

#[test]
fn mutated_inputs_never_panic() {
    let iterations: u64 = std::env::var("HELIX_FUZZ_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::var("HELIX_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x4845_4c49_585f_4c44);
    let mut rng = Rng(seed | 1);
    let cpio_seeds = cpio_seeds();
    let elf_seeds = elf_seeds();
    for s in &cpio_seeds {
        assert_eq!(check_cpio(s), Ok(()));
    }
    for s in &elf_seeds {
        assert_eq!(check_elf(s), Ok(()));
    }

    let start = Instant::now();
    let mut outcomes: BTreeMap<String, u64> = BTreeMap::new();
    let (mut panics, mut first_panic) = (0u64, None);
    for iteration in 0..iterations {
        let is_elf = iteration % 2 == 1;
        let seeds = if is_elf { &elf_seeds } else { &cpio_seeds };
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &mut input, seeds, is_elf);
        let result = catch_unwind(AssertUnwindSafe(|| {
            if is_elf {
                check_elf(&input)
            } else {
                check_cpio(&input)
            }
        }));
        let outcome = match result {
            Ok(Ok(())) => String::from("accepted"),
            Ok(Err(kind)) => kind,
            Err(_) => {
                panics += 1;
                first_panic.get_or_insert((iteration, input));
                continue;
            }
        };
        let prefix = if is_elf { "elf" } else { "cpio" };
        *outcomes.entry(format!("{prefix} {outcome}")).or_default() += 1;
    }
    eprintln!(
        "fuzz: {iterations} inputs (seed {seed:#x}) in {:.2?}: {panics} panics; outcomes {outcomes:?}",
        start.elapsed()
    );
    if let Some((iteration, input)) = first_panic {
        panic!("{panics} panics; first at iteration {iteration}, input {input:02x?}");
    }
}
