//! Host test of `sample`: the built-in module image is a valid module,
//! planned with the segments, entry and relocation its constants describe.

use helix_loader::elf::{self, Perms, Plan, Relocation, Segment};
use helix_loader::sample::{self, *};

const RX: Perms = Perms {
    read: true,
    write: false,
    execute: true,
};
const R: Perms = Perms {
    read: true,
    write: false,
    execute: false,
};
const RW: Perms = Perms {
    read: true,
    write: true,
    execute: false,
};

#[test]
fn sample_image_is_planned() {
    let image = sample::image();
    let plan = elf::plan(&image).expect("the sample is a valid module");
    assert_eq!(
        plan,
        Plan {
            link_base: 0,
            span: SPAN,
            align: 0x1000,
            entry: ENTRY,
            segments: vec![
                Segment {
                    vaddr: TEXT,
                    memsz: TEXT_SIZE,
                    file_offset: TEXT as usize,
                    filesz: TEXT_SIZE as usize,
                    perms: RX,
                },
                Segment {
                    vaddr: RODATA,
                    memsz: RODATA_SIZE,
                    file_offset: RODATA as usize,
                    filesz: RODATA_SIZE as usize,
                    perms: R,
                },
                Segment {
                    vaddr: DATA,
                    memsz: DATA_MEM_SIZE,
                    file_offset: DATA as usize,
                    filesz: DATA_FILE_SIZE as usize,
                    perms: RW,
                },
            ],
            relocations: vec![Relocation {
                offset: WORD,
                addend: TARGET,
            }],
        }
    );
}

#[test]
fn sample_contents_are_where_the_constants_say() {
    let image = sample::image();
    let at = |a: u64| a as usize;
    // `mov rax, [rip + disp32]` reading WORD, then `ret`.
    assert_eq!(image[at(ENTRY)..at(ENTRY) + 3], [0x48, 0x8b, 0x05]);
    let disp = i32::from_le_bytes(image[at(ENTRY) + 3..at(ENTRY) + 7].try_into().unwrap());
    assert_eq!((ENTRY + 7).wrapping_add_signed(disp.into()), WORD);
    assert_eq!(image[at(ENTRY) + 7], 0xc3);
    let u64_at = |a: u64| u64::from_le_bytes(image[at(a)..at(a) + 8].try_into().unwrap());
    assert_eq!(u64_at(TARGET), TARGET_VALUE);
    assert_eq!(u64_at(WORD), 0, "the word is set by the relocation only");
    assert_eq!(image[at(DATA_RET)], 0xc3);
    const { assert!(DYNAMIC >= RODATA && RELA + 24 <= RODATA + RODATA_SIZE) };
}

#[test]
fn sample_is_deterministic() {
    assert_eq!(sample::image(), sample::image());
}
