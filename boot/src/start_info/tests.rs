//! Host tests of start-info parsing against hand-built memory images.
extern crate std;
use super::*;
use std::vec::Vec as StdVec;

/// A flat guest memory image starting at physical address 0.
struct Image(StdVec<u8>);

impl Image {
    fn new(size: usize) -> Self {
        Self(std::vec![0; size])
    }
    fn put(&mut self, at: usize, bytes: &[u8]) {
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }
    fn put_start_info(
        &mut self,
        at: usize,
        version: u32,
        cmdline: u64,
        rsdp: u64,
        memmap: u64,
        n: u32,
    ) {
        let mut s = StdVec::new();
        s.extend_from_slice(&START_INFO_MAGIC.to_le_bytes());
        s.extend_from_slice(&version.to_le_bytes());
        s.extend_from_slice(&0u32.to_le_bytes());
        s.extend_from_slice(&0u32.to_le_bytes());
        s.extend_from_slice(&0u64.to_le_bytes());
        s.extend_from_slice(&cmdline.to_le_bytes());
        s.extend_from_slice(&rsdp.to_le_bytes());
        s.extend_from_slice(&memmap.to_le_bytes());
        s.extend_from_slice(&n.to_le_bytes());
        s.extend_from_slice(&0u32.to_le_bytes());
        self.put(at, &s);
    }
    fn put_region(&mut self, at: usize, start: u64, len: u64, kind: u32) {
        let mut e = StdVec::new();
        e.extend_from_slice(&start.to_le_bytes());
        e.extend_from_slice(&len.to_le_bytes());
        e.extend_from_slice(&kind.to_le_bytes());
        e.extend_from_slice(&0u32.to_le_bytes());
        self.put(at, &e);
    }
}

impl PhysRead for Image {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), StartInfoError> {
        let bad = StartInfoError::BadAddress {
            paddr,
            len: buf.len(),
        };
        let start = usize::try_from(paddr).map_err(|_| bad)?;
        let end = start.checked_add(buf.len()).ok_or(bad)?;
        let src = self.0.get(start..end).ok_or(bad)?;
        buf.copy_from_slice(src);
        Ok(())
    }
}

#[test]
fn parses_cmdline_rsdp_and_memory_map() {
    let mut img = Image::new(0x2000);
    img.put_start_info(0x100, 1, 0x400, 0xe0000, 0x800, 2);
    img.put(0x400, b"log=debug round_robin.time_slice_ms=5\0");
    img.put_region(0x800, 0, 0x9fc00, 1);
    img.put_region(0x818, 0xf0000, 0x10000, 2);
    let info = StartInfo::parse(&img, 0x100).expect("valid start info");
    assert_eq!(info.version, 1);
    assert_eq!(
        info.cmdline.as_str(),
        "log=debug round_robin.time_slice_ms=5"
    );
    assert_eq!(info.rsdp, Some(0xe0000));
    assert_eq!(info.memory_map.len(), 2);
    assert_eq!(
        info.memory_map[0],
        MemoryRegion {
            start: 0,
            len: 0x9fc00,
            kind: MemoryKind::Ram
        }
    );
    assert_eq!(info.memory_map[1].kind, MemoryKind::Reserved);
    assert_eq!(info.usable_bytes(), 0x9fc00);
}

#[test]
fn rejects_bad_magic() {
    let mut img = Image::new(0x200);
    img.put(0x10, &0xdead_beefu32.to_le_bytes());
    assert_eq!(
        StartInfo::parse(&img, 0x10).unwrap_err(),
        StartInfoError::BadMagic(0xdead_beef)
    );
}

#[test]
fn rejects_structure_outside_memory() {
    let img = Image::new(0x40);
    assert_eq!(
        StartInfo::parse(&img, 0x30).unwrap_err(),
        StartInfoError::BadAddress {
            paddr: 0x30,
            len: START_INFO_SIZE
        }
    );
}

#[test]
fn missing_cmdline_and_rsdp_are_empty() {
    let mut img = Image::new(0x200);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    let info = StartInfo::parse(&img, 0).expect("valid start info");
    assert_eq!(info.cmdline.as_str(), "");
    assert_eq!(info.rsdp, None);
    assert!(info.memory_map.is_empty());
}

#[test]
fn version_zero_ignores_memory_map_fields() {
    let mut img = Image::new(0x200);
    img.put_start_info(0, 0, 0, 0, 0xffff_ffff, 9999);
    let info = StartInfo::parse(&img, 0).expect("version 0 has no memory map");
    assert!(info.memory_map.is_empty());
}

#[test]
fn rejects_unterminated_cmdline() {
    let mut img = Image::new(0x1000);
    img.put_start_info(0, 1, 0x100, 0, 0, 0);
    img.put(0x100, &[b'a'; 0xf00]);
    assert_eq!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::CmdlineTooLong
    );
}

#[test]
fn cmdline_running_off_memory_is_bad_address() {
    let mut img = Image::new(0x120);
    img.put_start_info(0, 1, 0x100, 0, 0, 0);
    img.put(0x100, b"abc");
    assert!(matches!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::BadAddress { .. }
    ));
}

#[test]
fn cmdline_ending_at_chunk_boundary_before_memory_end_parses() {
    let mut img = Image::new(0x140);
    img.put_start_info(0, 1, 0x130, 0, 0, 0);
    img.put(0x130, b"quiet\0");
    assert_eq!(StartInfo::parse(&img, 0).unwrap().cmdline.as_str(), "quiet");
}

#[test]
fn rejects_non_utf8_cmdline() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0x100, 0, 0, 0);
    img.put(0x100, &[0xff, 0xfe, 0]);
    assert_eq!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::CmdlineNotUtf8
    );
}

#[test]
fn rejects_oversized_memory_map() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0x100, 65);
    assert_eq!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::TooManyRegions(65)
    );
}

#[test]
fn memory_map_past_memory_is_bad_address() {
    let mut img = Image::new(0x120);
    img.put_start_info(0, 1, 0, 0, 0x100, 2);
    assert!(matches!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::BadAddress { .. }
    ));
}

#[test]
fn unknown_region_kind_is_kept() {
    let mut img = Image::new(0x200);
    img.put_start_info(0, 1, 0, 0, 0x100, 1);
    img.put_region(0x100, 0x1000, 0x1000, 12);
    let info = StartInfo::parse(&img, 0).unwrap();
    assert_eq!(info.memory_map[0].kind, MemoryKind::Other(12));
    assert_eq!(info.memory_map[0].end(), 0x2000);
}
