//! The virtio block driver writes where it says: the `blk` test kernel
//! (which writes every sector of its disk with a pattern naming the
//! sector) runs on a disk file of this test's own, and afterwards the
//! pattern is found in the file, sector by sector, from the host.

use std::path::PathBuf;

/// Sector `s`'s pattern, as `kernel/tests/blk.rs` writes it.
fn pattern(s: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (s * 7 + i as u64) as u8;
    }
    b[..8].copy_from_slice(&s.to_le_bytes());
    b
}

#[test]
fn what_the_driver_writes_is_in_the_disk_file() {
    let disk = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("blk-test.img");
    std::fs::write(&disk, vec![0u8; 2 << 20]).unwrap();
    let (out, text) = harness::run_captured(
        &["--test", "blk"],
        &[("HELIX_DISK", disk.to_str().unwrap())],
    );
    assert!(out.status.success(), "the blk test kernel failed:\n{text}");
    let image = std::fs::read(&disk).unwrap();
    assert_eq!(image.len(), 2 << 20);
    for (s, sector) in image.chunks(512).enumerate() {
        assert_eq!(sector, pattern(s as u64), "sector {s} of the file");
    }
}
