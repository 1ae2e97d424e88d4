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
    /// Sets `nr_modules` and `modlist_paddr` of the start info at `at`.
    fn put_module_list(&mut self, at: usize, list: u64, n: u32) {
        self.put(at + 12, &n.to_le_bytes());
        self.put(at + 16, &list.to_le_bytes());
    }
    fn put_module(&mut self, at: usize, paddr: u64, size: u64, cmdline: u64) {
        let mut e = StdVec::new();
        e.extend_from_slice(&paddr.to_le_bytes());
        e.extend_from_slice(&size.to_le_bytes());
        e.extend_from_slice(&cmdline.to_le_bytes());
        e.extend_from_slice(&0u64.to_le_bytes());
        self.put(at, &e);
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

/// Start info at 0 pointing at `text` (NUL-terminated if `nul`) at 0x100,
/// in an image that ends at the next 64-byte boundary after it (the
/// parser reads whole 64-byte chunks).
fn image_with_cmdline(text: &[u8], nul: bool) -> Image {
    let mut img = Image::new((0x100 + text.len() + usize::from(nul)).next_multiple_of(64));
    img.put_start_info(0, 1, 0x100, 0, 0, 0);
    img.put(0x100, text);
    img
}

/// `mN.key=valueN` tokens, each followed by a space, until the text is at
/// least `len` bytes long.
fn words(len: usize) -> StdVec<u8> {
    let mut text = StdVec::new();
    let mut i = 0;
    while text.len() < len {
        text.extend_from_slice(std::format!("m{i}.key=value{i} ").as_bytes());
        i += 1;
    }
    text
}

#[test]
fn a_cmdline_of_max_cmdline_bytes_is_kept_whole() {
    assert_eq!(MAX_CMDLINE, 4096, "at least 4 KiB, as the issue asks");
    let mut text = words(MAX_CMDLINE);
    text.truncate(MAX_CMDLINE - 1);
    text.push(b'x');
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    assert_eq!(info.cmdline.as_bytes(), &text[..]);
    assert_eq!(info.cmdline_cut, None);
}

#[test]
fn a_longer_cmdline_is_cut_after_its_last_whole_word() {
    let text = words(5000);
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    let kept = info.cmdline.len();
    assert_eq!(info.cmdline_cut, Some(CmdlineCut { kept }));
    assert!(kept <= MAX_CMDLINE && kept > MAX_CMDLINE - 20, "{kept}");
    // A prefix of the original that ends where a word ends.
    assert_eq!(info.cmdline.as_bytes(), &text[..kept]);
    assert_eq!(text[kept], b' ');
    let last = info.cmdline.split(' ').next_back().unwrap();
    assert!(
        last.starts_with('m') && last.contains(".key=value"),
        "{last}"
    );
}

#[test]
fn a_word_ending_exactly_at_the_limit_is_kept() {
    let mut text = std::vec![b'a'; MAX_CMDLINE];
    text[10] = b' ';
    text.extend_from_slice(b" more words");
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    assert_eq!(info.cmdline.len(), MAX_CMDLINE);
    assert_eq!(info.cmdline_cut, Some(CmdlineCut { kept: MAX_CMDLINE }));
}

#[test]
fn trailing_spaces_before_the_cut_are_dropped() {
    let mut text = std::vec![b'a'; 100];
    text.extend(std::iter::repeat_n(b' ', MAX_CMDLINE));
    text.extend_from_slice(b"tail");
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    assert_eq!(info.cmdline.len(), 100);
    assert_eq!(info.cmdline_cut, Some(CmdlineCut { kept: 100 }));
}

#[test]
fn a_first_word_longer_than_the_limit_leaves_an_empty_line() {
    let text = std::vec![b'a'; MAX_CMDLINE + 500];
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    assert_eq!(info.cmdline.as_str(), "");
    assert_eq!(info.cmdline_cut, Some(CmdlineCut { kept: 0 }));
}

#[test]
fn a_long_cmdline_without_a_nul_is_cut_not_an_error() {
    // Memory ends with the text, a chunk past the limit, and holds no NUL:
    // the parser stops one byte past the limit.
    let mut text = words(MAX_CMDLINE + 64);
    text.truncate(MAX_CMDLINE + 64);
    let img = image_with_cmdline(&text, false);
    assert_eq!(img.0.len(), 0x100 + text.len());
    let info = StartInfo::parse(&img, 0).unwrap();
    assert!(info.cmdline_cut.is_some());
    assert!(info.cmdline.len() <= MAX_CMDLINE);
}

#[test]
fn a_cut_never_splits_a_utf8_character() {
    // A two-byte character straddles the limit.
    let mut text = std::vec![b'a'; MAX_CMDLINE - 1];
    text[MAX_CMDLINE - 10] = b' ';
    text.extend_from_slice("é tail".as_bytes());
    let info = StartInfo::parse(&image_with_cmdline(&text, true), 0).unwrap();
    assert_eq!(info.cmdline.len(), MAX_CMDLINE - 10);
    assert!(info.cmdline_cut.is_some());
}

#[test]
fn the_cut_is_reported_in_words() {
    let cut = CmdlineCut { kept: 12 };
    let shown = std::format!("{cut}");
    assert!(shown.contains("longer than 4096 bytes"), "{shown}");
    assert!(shown.contains("first 12 bytes"), "{shown}");
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

#[test]
fn parse_into_replaces_what_was_there() {
    let long = words(5000);
    let mut info = StartInfo::new();
    info.parse_into(&image_with_cmdline(&long, true), 0)
        .unwrap();
    assert!(info.cmdline_cut.is_some());
    info.parse_into(&image_with_cmdline(b"quiet", true), 0)
        .unwrap();
    assert_eq!(info.cmdline.as_str(), "quiet");
    assert_eq!(info.cmdline_cut, None);
    assert!(info.memory_map.is_empty());
}

#[test]
fn multi_byte_characters_are_kept_and_a_truncated_one_is_refused() {
    let info = StartInfo::parse(&image_with_cmdline("motd=héllo ✓".as_bytes(), true), 0).unwrap();
    assert_eq!(info.cmdline.as_str(), "motd=héllo ✓");
    // The first byte of a two-byte character, then the NUL.
    assert_eq!(
        StartInfo::parse(&image_with_cmdline(&[b'a', 0xc3], true), 0).unwrap_err(),
        StartInfoError::CmdlineNotUtf8
    );
}

#[test]
fn a_magic_overwritten_by_text_says_the_command_line_was_too_long() {
    let plain = std::format!("{}", StartInfoError::BadMagic(0xdead_beef));
    assert_eq!(plain, "bad start-info magic 0xdeadbeef");
    // What QEMU 7.2 leaves for `-append` of 4128 bytes or more.
    let text = std::format!("{}", StartInfoError::BadMagic(0x792e_3936));
    assert!(
        text.starts_with("bad start-info magic 0x792e3936 (text \"69.y\""),
        "{text}"
    );
    assert!(text.contains("at most 4095 bytes"), "{text}");
}

#[test]
fn no_modules_means_no_initrd() {
    let mut img = Image::new(0x200);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    let info = StartInfo::parse(&img, 0).unwrap();
    assert!(info.modules.is_empty());
    assert_eq!(info.initrd(), None);
}

#[test]
fn one_module_is_the_initrd() {
    // As QEMU's PVH loader passes `-initrd`: one entry, no command line.
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 1);
    img.put_module(0x100, 0x7f0_0000, 0x1_0200, 0);
    let info = StartInfo::parse(&img, 0).unwrap();
    let initrd = BootModule {
        paddr: 0x7f0_0000,
        size: 0x1_0200,
        cmdline_paddr: None,
    };
    assert_eq!(info.modules.as_slice(), &[initrd]);
    assert_eq!(info.initrd(), Some(&initrd));
    assert_eq!(initrd.end(), 0x7f1_0200);
}

#[test]
fn several_modules_are_kept_in_order_with_their_command_lines() {
    let mut img = Image::new(0x400);
    // Version 0 has the module list too (only the memory map is newer).
    img.put_start_info(0, 0, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 3);
    img.put_module(0x100, 0x20_0000, 0x1000, 0x300);
    img.put_module(0x120, 0x30_0000, 0, 0);
    img.put_module(0x140, 0x1_0000_0000, 0x2000, 0);
    let info = StartInfo::parse(&img, 0).unwrap();
    assert_eq!(info.modules.len(), 3);
    assert_eq!(info.modules[0].cmdline_paddr, Some(0x300));
    assert_eq!(info.modules[1].size, 0, "an empty module is kept");
    assert_eq!(
        info.modules[2].paddr, 0x1_0000_0000,
        "above 4 GiB is parsed"
    );
    assert_eq!(info.initrd().map(|m| m.paddr), Some(0x20_0000));
}

#[test]
fn rejects_too_many_modules() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, MAX_MODULES as u32 + 1);
    let err = StartInfo::parse(&img, 0).unwrap_err();
    assert_eq!(err, StartInfoError::TooManyModules(9));
    assert_eq!(
        std::format!("{err}"),
        "module list has 9 entries, at most 8 supported"
    );
    // A huge count is refused before anything is read.
    img.put_module_list(0, 0xffff_ffff_ffff_ff00, u32::MAX);
    assert_eq!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::TooManyModules(u32::MAX)
    );
}

#[test]
fn rejects_a_wrapping_module() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 2);
    img.put_module(0x100, 0x20_0000, 0x1000, 0);
    img.put_module(0x120, 0xffff_ffff_ffff_f000, 0x2000, 0);
    let err = StartInfo::parse(&img, 0).unwrap_err();
    assert_eq!(
        err,
        StartInfoError::ModuleWraps {
            index: 1,
            paddr: 0xffff_ffff_ffff_f000,
            size: 0x2000
        }
    );
    assert!(
        std::format!("{err}").contains("module 1 at 0xfffffffffffff000+0x2000 wraps"),
        "{err}"
    );
}

#[test]
fn rejects_a_module_outside_physical_memory() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 1);
    // Ends one byte past the 52-bit physical address space.
    img.put_module(0x100, MAX_PHYS_ADDR - 0x1000, 0x1001, 0);
    let err = StartInfo::parse(&img, 0).unwrap_err();
    assert_eq!(
        err,
        StartInfoError::ModuleOutOfRange {
            index: 0,
            paddr: MAX_PHYS_ADDR - 0x1000,
            size: 0x1001
        }
    );
    assert!(
        std::format!("{err}").contains("not in physical memory"),
        "{err}"
    );
    // Ending exactly at the limit is fine.
    img.put_module(0x100, MAX_PHYS_ADDR - 0x1000, 0x1000, 0);
    assert!(StartInfo::parse(&img, 0).is_ok());
    // A module at address 0 is not one the loader placed.
    img.put_module(0x100, 0, 0x1000, 0);
    assert!(matches!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::ModuleOutOfRange {
            index: 0,
            paddr: 0,
            ..
        }
    ));
}

#[test]
fn a_module_list_past_memory_is_bad_address() {
    // The first entry fits, the second runs off the end.
    let mut img = Image::new(0x120);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 2);
    img.put_module(0x100, 0x20_0000, 0x1000, 0);
    assert!(matches!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::BadAddress { .. }
    ));
    // A list address whose entries would wrap.
    img.put_module_list(0, u64::MAX - 0x10, 2);
    assert!(matches!(
        StartInfo::parse(&img, 0).unwrap_err(),
        StartInfoError::BadAddress { .. }
    ));
}

#[test]
fn parse_into_forgets_earlier_modules() {
    let mut img = Image::new(0x400);
    img.put_start_info(0, 1, 0, 0, 0, 0);
    img.put_module_list(0, 0x100, 1);
    img.put_module(0x100, 0x20_0000, 0x1000, 0);
    let mut info = StartInfo::new();
    info.parse_into(&img, 0).unwrap();
    assert_eq!(info.modules.len(), 1);
    img.put_module_list(0, 0, 0);
    info.parse_into(&img, 0).unwrap();
    assert!(info.modules.is_empty());
}
