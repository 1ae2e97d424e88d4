//! Host tests of `elf::plan`: a valid module image (built in the test by
//! `common::Image`) is planned as expected, and every check refuses a
//! broken image with the expected `ElfError` value.

mod common;

use common::*;
use helix_loader::elf::{self, ElfError, MAX_SPAN, Perms, Plan, Relocation, Segment};

fn plan(image: &Image) -> Result<Plan, ElfError> {
    elf::plan(&image.build())
}

fn with(f: impl FnOnce(&mut Image)) -> Result<Plan, ElfError> {
    let mut image = Image::valid();
    f(&mut image);
    plan(&image)
}

const RX: Perms = Perms {
    read: true,
    write: false,
    execute: true,
};
const RW: Perms = Perms {
    read: true,
    write: true,
    execute: false,
};

#[test]
fn valid_image_is_planned() {
    let plan = plan(&Image::valid()).unwrap();
    assert_eq!(
        plan,
        Plan {
            link_base: 0,
            span: 0x4000,
            align: 0x1000,
            entry: 0x200,
            segments: vec![
                Segment {
                    vaddr: 0,
                    memsz: 0x1000,
                    file_offset: 0,
                    filesz: 0x1000,
                    perms: RX
                },
                Segment {
                    vaddr: 0x1000,
                    memsz: 0x3000,
                    file_offset: 0x1000,
                    filesz: 0x400,
                    perms: RW
                },
            ],
            relocations: vec![
                Relocation {
                    offset: 0x1200,
                    addend: 0x200
                },
                Relocation {
                    offset: 0x1208,
                    addend: 0x1000
                },
                Relocation {
                    offset: 0x1210,
                    addend: 0x2000
                },
            ],
        }
    );
    assert_eq!(plan.segment_containing(0x1ff8, 8).unwrap().vaddr, 0x1000);
    assert!(plan.segment_containing(0x3ffc, 8).is_none());
}

#[test]
fn non_zero_link_base_and_large_alignment() {
    let plan = with(|i| {
        i.phdrs[0].vaddr = 0x40_0000;
        i.phdrs[0].align = 0x20_0000;
        i.phdrs[1].vaddr = 0x40_1000;
        i.entry = 0x40_0200;
        i.dynamic[0].1 = 0x40_1100;
        i.relas = vec![
            (0x40_1200, R_RELATIVE, 0x40_3fff),
            (0x40_1208, R_RELATIVE, 0x40_4000),
        ];
        i.fit_relas();
    })
    .unwrap();
    assert_eq!(
        (plan.link_base, plan.span, plan.align),
        (0x40_0000, 0x4000, 0x20_0000)
    );
    assert_eq!(
        plan.relocations[1],
        Relocation {
            offset: 0x40_1208,
            addend: 0x40_4000
        }
    );
}

#[test]
fn no_dynamic_means_no_relocations() {
    let plan = with(|i| i.phdrs.retain(|p| p.p_type != PT_DYNAMIC)).unwrap();
    assert!(plan.relocations.is_empty());
    // A dynamic section without DT_RELA is fine too.
    let plan = with(|i| {
        i.dynamic = vec![(DT_NULL, 0)];
        i.fit_dynamic();
    })
    .unwrap();
    assert!(plan.relocations.is_empty());
}

#[test]
fn none_relocations_are_skipped() {
    let plan = with(|i| {
        i.relas.insert(1, (0, R_NONE, 0));
        i.fit_relas();
    })
    .unwrap();
    assert_eq!(plan.relocations.len(), 3);
}

#[test]
fn too_short() {
    let image = Image::valid().build();
    assert_eq!(elf::plan(&image[..63]), Err(ElfError::TooShort { len: 63 }));
    assert_eq!(elf::plan(&[]), Err(ElfError::TooShort { len: 0 }));
}

#[test]
fn ident_checks() {
    assert_eq!(with(|i| i.ident[1] = b'e'), Err(ElfError::BadMagic));
    assert_eq!(
        with(|i| i.ident[4] = 1),
        Err(ElfError::NotElf64 { class: 1 })
    );
    assert_eq!(
        with(|i| i.ident[5] = 2),
        Err(ElfError::NotLittleEndian { data: 2 })
    );
    assert_eq!(
        with(|i| i.ident[6] = 0),
        Err(ElfError::BadVersion { version: 0 })
    );
}

#[test]
fn header_checks() {
    assert_eq!(
        with(|i| i.machine = 3),
        Err(ElfError::NotX86_64 { machine: 3 })
    );
    assert_eq!(with(|i| i.kind = 2), Err(ElfError::NotDynamic { kind: 2 }));
    assert_eq!(with(|i| i.kind = 1), Err(ElfError::NotDynamic { kind: 1 }));
    assert_eq!(
        with(|i| i.version = 2),
        Err(ElfError::BadVersion { version: 2 })
    );
    assert_eq!(
        with(|i| i.ehsize = 52),
        Err(ElfError::BadHeaderSize {
            ehsize: 52,
            phentsize: 56
        })
    );
    assert_eq!(
        with(|i| i.phentsize = 64),
        Err(ElfError::BadHeaderSize {
            ehsize: 64,
            phentsize: 64
        })
    );
}

#[test]
fn program_headers_out_of_file() {
    assert_eq!(
        with(|i| i.phnum = Some(200)),
        Err(ElfError::ProgramHeadersOutOfFile {
            offset: 64,
            count: 200,
            file_len: 0x1400
        })
    );
    assert_eq!(
        with(|i| {
            i.phoff = u64::MAX - 8;
            i.phnum = Some(1);
        }),
        Err(ElfError::ProgramHeadersOutOfFile {
            offset: u64::MAX - 8,
            count: 1,
            file_len: 0x1400
        })
    );
}

#[test]
fn no_load_segments() {
    assert_eq!(with(|i| i.phnum = Some(0)), Err(ElfError::NoLoadSegments));
    assert_eq!(
        with(|i| i.phdrs.retain(|p| p.p_type != PT_LOAD)),
        Err(ElfError::NoLoadSegments)
    );
}

#[test]
fn interp_and_tls_refused() {
    for kind in [PT_INTERP, PT_TLS] {
        assert_eq!(
            with(|i| i.phdrs[3].p_type = kind),
            Err(ElfError::UnsupportedSegment { index: 3, kind })
        );
    }
}

#[test]
fn segment_out_of_file() {
    assert_eq!(
        with(|i| i.phdrs[1].filesz = 0x401),
        Err(ElfError::SegmentOutOfFile {
            index: 1,
            offset: 0x1000,
            size: 0x401,
            file_len: 0x1400
        })
    );
    assert_eq!(
        with(|i| i.phdrs[1].offset = u64::MAX),
        Err(ElfError::SegmentOutOfFile {
            index: 1,
            offset: u64::MAX,
            size: 0x400,
            file_len: 0x1400
        })
    );
    // The dynamic segment is checked as well.
    assert_eq!(
        with(|i| i.phdrs[2].offset = 0x13f0),
        Err(ElfError::SegmentOutOfFile {
            index: 2,
            offset: 0x13f0,
            size: 0x50,
            file_len: 0x1400
        })
    );
}

#[test]
fn filesz_exceeds_memsz() {
    assert_eq!(
        with(|i| i.phdrs[1].memsz = 0x300),
        Err(ElfError::FileSizeExceedsMemSize {
            index: 1,
            filesz: 0x400,
            memsz: 0x300
        })
    );
}

#[test]
fn empty_segment() {
    assert_eq!(
        with(|i| {
            i.phdrs[1].filesz = 0;
            i.phdrs[1].memsz = 0;
        }),
        Err(ElfError::EmptySegment { index: 1 })
    );
}

#[test]
fn address_overflow() {
    assert_eq!(
        with(|i| i.phdrs[1].vaddr = u64::MAX - 0xfff),
        Err(ElfError::SegmentAddressOverflow { index: 1 })
    );
}

#[test]
fn bad_alignment() {
    assert_eq!(
        with(|i| i.phdrs[1].align = 0x1800),
        Err(ElfError::BadAlignment {
            index: 1,
            align: 0x1800
        })
    );
    assert_eq!(
        with(|i| i.phdrs[1].vaddr = 0x1010),
        Err(ElfError::BadAlignment {
            index: 1,
            align: 0x1000
        })
    );
}

#[test]
fn overlapping_segments() {
    assert_eq!(
        with(|i| i.phdrs[0].memsz = 0x1001),
        Err(ElfError::SegmentsOverlap {
            first: 0,
            second: 1
        })
    );
    // Reported in address order whatever the header order.
    assert_eq!(
        with(|i| {
            i.phdrs.swap(0, 1);
            i.phdrs[1].memsz = 0x2000;
        }),
        Err(ElfError::SegmentsOverlap {
            first: 1,
            second: 0
        })
    );
}

#[test]
fn different_permissions_on_one_page() {
    assert_eq!(
        with(|i| {
            i.phdrs[0].filesz = 0x800;
            i.phdrs[0].memsz = 0x800;
            i.phdrs[1].vaddr = 0xa00;
            i.phdrs[1].align = 16;
        }),
        Err(ElfError::SegmentsSharePage {
            first: 0,
            second: 1
        })
    );
}

#[test]
fn image_too_large() {
    assert_eq!(
        with(|i| i.phdrs[1].memsz = MAX_SPAN),
        Err(ElfError::ImageTooLarge {
            span: MAX_SPAN + 0x1000,
            max: MAX_SPAN
        })
    );
    assert_eq!(
        with(|i| i.phdrs[1].vaddr = 0x1000_0000_0000),
        Err(ElfError::ImageTooLarge {
            span: 0x1000_0000_3000,
            max: MAX_SPAN
        })
    );
    // Exactly the limit is accepted.
    assert_eq!(
        with(|i| i.phdrs[1].memsz = MAX_SPAN - 0x1000).unwrap().span,
        MAX_SPAN
    );
}

#[test]
fn writable_and_executable() {
    assert_eq!(
        with(|i| i.phdrs[1].flags = PF_R | PF_W | PF_X),
        Err(ElfError::WritableAndExecutable { index: 1 })
    );
    assert_eq!(
        with(|i| i.phdrs[0].flags = PF_W | PF_X),
        Err(ElfError::WritableAndExecutable { index: 0 })
    );
}

#[test]
fn multiple_dynamic() {
    assert_eq!(
        with(|i| i.phdrs[3] = i.phdrs[2]),
        Err(ElfError::MultipleDynamic { index: 3 })
    );
}

#[test]
fn dynamic_not_terminated() {
    assert_eq!(
        with(|i| {
            i.dynamic.pop();
            i.fit_dynamic();
        }),
        Err(ElfError::DynamicNotTerminated)
    );
}

#[test]
fn unsupported_dynamic_tags() {
    for (tag, val) in [
        (DT_NEEDED, 1),
        (DT_REL, 0x1100),
        (DT_JMPREL, 0x1100),
        (DT_RELR, 0x1100),
        (DT_PLTRELSZ, 24),
    ] {
        assert_eq!(
            with(|i| {
                i.dynamic.insert(0, (tag, val));
                i.fit_dynamic();
            }),
            Err(ElfError::UnsupportedDynamicTag { tag })
        );
    }
}

#[test]
fn bad_relocation_table() {
    assert_eq!(
        with(|i| i.dynamic[2].1 = 16),
        Err(ElfError::BadRelocationTable {
            address: 0x1100,
            size: 72,
            entsize: 16
        })
    );
    assert_eq!(
        with(|i| i.dynamic[1].1 = 70),
        Err(ElfError::BadRelocationTable {
            address: 0x1100,
            size: 70,
            entsize: 24
        })
    );
    assert_eq!(
        with(|i| {
            i.dynamic.remove(1);
            i.fit_dynamic();
        }),
        Err(ElfError::BadRelocationTable {
            address: 0x1100,
            size: 0,
            entsize: 24
        })
    );
    assert_eq!(
        with(|i| {
            i.dynamic.remove(0);
            i.fit_dynamic();
        }),
        Err(ElfError::BadRelocationTable {
            address: 0,
            size: 72,
            entsize: 24
        })
    );
}

#[test]
fn relocation_table_out_of_file() {
    // In the data segment's bss: no file bytes there.
    assert_eq!(
        with(|i| i.dynamic[0].1 = 0x3000),
        Err(ElfError::RelocationTableOutOfFile {
            address: 0x3000,
            size: 72
        })
    );
    // Straddling the end of the file-backed part.
    assert_eq!(
        with(|i| i.dynamic[0].1 = 0x13f0),
        Err(ElfError::RelocationTableOutOfFile {
            address: 0x13f0,
            size: 72
        })
    );
    assert_eq!(
        with(|i| i.dynamic[1].1 = u64::MAX / 24 * 24),
        Err(ElfError::RelocationTableOutOfFile {
            address: 0x1100,
            size: u64::MAX / 24 * 24
        })
    );
}

#[test]
fn unsupported_relocation() {
    assert_eq!(
        with(|i| i.relas[1].1 = R_64),
        Err(ElfError::UnsupportedRelocation { kind: 1 })
    );
    assert_eq!(
        with(|i| i.relas[1].1 = 7 | (5 << 32)),
        Err(ElfError::UnsupportedRelocation { kind: 7 })
    );
}

#[test]
fn relocation_with_symbol() {
    assert_eq!(
        with(|i| i.relas[2].1 = R_RELATIVE | (1 << 32)),
        Err(ElfError::RelocationWithSymbol { offset: 0x1210 })
    );
}

#[test]
fn relocation_out_of_image() {
    for offset in [0x4000, 0x3ffc, u64::MAX - 3, u64::MAX] {
        assert_eq!(
            with(|i| i.relas[0].0 = offset),
            Err(ElfError::RelocationOutOfImage { offset })
        );
    }
}

#[test]
fn relocation_not_writable() {
    assert_eq!(
        with(|i| i.relas[0].0 = 0x300),
        Err(ElfError::RelocationNotWritable { offset: 0x300 })
    );
}

#[test]
fn addend_out_of_image() {
    assert_eq!(
        with(|i| i.relas[0].2 = 0x4001),
        Err(ElfError::AddendOutOfImage {
            offset: 0x1200,
            addend: 0x4001
        })
    );
    assert_eq!(
        with(|i| i.relas[0].2 = -8),
        Err(ElfError::AddendOutOfImage {
            offset: 0x1200,
            addend: -8
        })
    );
    // One past the end (an end-of-image symbol) is allowed.
    assert!(with(|i| i.relas[0].2 = 0x4000).is_ok());
}

#[test]
fn entry_not_executable() {
    for entry in [0x1200, 0x10_0000, u64::MAX] {
        assert_eq!(
            with(|i| i.entry = entry),
            Err(ElfError::EntryNotExecutable { entry })
        );
    }
}

#[test]
fn errors_display() {
    let e = ElfError::SegmentOutOfFile {
        index: 1,
        offset: 0x1000,
        size: 0x401,
        file_len: 5120,
    };
    assert_eq!(
        e.to_string(),
        "ELF: segment 1 (1025 bytes at 0x1000) is outside the file of 5120 bytes"
    );
    let e: &dyn std::error::Error = &ElfError::UnsupportedRelocation { kind: 1 };
    assert_eq!(e.to_string(), "ELF: unsupported relocation type 1");
}
