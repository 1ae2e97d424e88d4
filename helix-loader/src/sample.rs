//! A small module image built in code, for the tests of whatever maps one
//! (the kernel's `mm::image`): an ELF64 `ET_DYN` file that
//! [`elf::plan`](crate::elf::plan) accepts, with one segment of each kind
//! and one relocation, so that loading it exercises every step.
//!
//! Link addresses start at 0 (`link_base` 0), one 4 KiB page per segment:
//!
//! | link address | segment | contents |
//! |---|---|---|
//! | `0x0000` | text, R+X | the ELF and program headers; at [`ENTRY`], `mov rax, [rip + WORD]; ret` |
//! | `0x1000` | read-only, R | [`TARGET_VALUE`] at [`TARGET`], the dynamic section at [`DYNAMIC`], the relocation table at [`RELA`] |
//! | `0x2000` | data, R+W | the word at [`WORD`] (0 in the file), a `ret` byte at [`DATA_RET`], zero-filled (`.bss`) up to [`SPAN`] |
//!
//! The one `R_X86_64_RELATIVE` relocation sets the word at [`WORD`] to the
//! load address of [`TARGET`], so the function at [`ENTRY`], called as
//! `extern "C" fn() -> u64`, returns `load base + TARGET`, where a
//! [`TARGET_VALUE`] can be read. The `ret` in the data segment is there
//! for tests that try to execute data: on a machine where that did not
//! fault, the call would simply return.

use alloc::vec;
use alloc::vec::Vec;

use crate::elf::dynamic::{DT_NULL, DT_RELA, DT_RELAENT, DT_RELASZ, RELA_LEN};
use crate::elf::{EHDR_LEN, PF_R, PF_W, PF_X, PHDR_LEN, PT_DYNAMIC, PT_LOAD, R_X86_64_RELATIVE};

/// Link-time address (and file offset) of the function: after the headers.
pub const ENTRY: u64 = 0x180;
/// Link-time address of the read-only `u64` the relocated word points at.
pub const TARGET: u64 = 0x1000;
/// The value stored at [`TARGET`].
pub const TARGET_VALUE: u64 = 0x4865_6c69_7853_616d;
/// Link-time address of the dynamic section (in the read-only segment).
pub const DYNAMIC: u64 = 0x1008;
/// Link-time address of the `DT_RELA` table (in the read-only segment).
pub const RELA: u64 = 0x1048;
/// Link-time address of the relocated word (in the data segment).
pub const WORD: u64 = 0x2000;
/// Link-time address of a `ret` (0xc3) byte in the data segment.
pub const DATA_RET: u64 = 0x2008;
/// Link-time address of the text segment.
pub const TEXT: u64 = 0;
/// Link-time address of the read-only segment.
pub const RODATA: u64 = 0x1000;
/// Link-time address of the data segment.
pub const DATA: u64 = 0x2000;
/// Bytes of the text segment (headers and code).
pub const TEXT_SIZE: u64 = ENTRY + CODE_LEN as u64;
/// Bytes of the read-only segment in the file (and in memory).
pub const RODATA_SIZE: u64 = RELA + RELA_LEN as u64 - RODATA;
/// Bytes of the data segment in the file.
pub const DATA_FILE_SIZE: u64 = 0x10;
/// Bytes of the data segment in memory (the rest is zero-filled).
pub const DATA_MEM_SIZE: u64 = 0x1800;
/// Bytes to reserve for the image: four pages.
pub const SPAN: u64 = 0x4000;

const PHNUM: usize = 4;
const CODE_LEN: usize = 8;
const PAGE: u64 = 0x1000;

/// The function at [`ENTRY`]: `mov rax, [rip + disp32]` (the displacement
/// counts from the next instruction, at `ENTRY + 7`) and `ret`.
fn code() -> [u8; CODE_LEN] {
    // 0 < WORD - (ENTRY + 7) < 2^31: the cast cannot truncate.
    let disp = (WORD - (ENTRY + 7)) as u32;
    let d = disp.to_le_bytes();
    [0x48, 0x8b, 0x05, d[0], d[1], d[2], d[3], 0xc3]
}

fn put(out: &mut [u8], at: u64, bytes: &[u8]) {
    let at = at as usize;
    out[at..at + bytes.len()].copy_from_slice(bytes);
}

fn put_u64(out: &mut [u8], at: u64, value: u64) {
    put(out, at, &value.to_le_bytes());
}

/// One program header at index `i`: `(type, flags, vaddr, filesz, memsz,
/// align)`, its file offset equal to its address (link base 0).
fn phdr(out: &mut [u8], i: usize, (kind, flags, vaddr, filesz, memsz, align): PhdrFields) {
    let at = (EHDR_LEN + i * PHDR_LEN) as u64;
    put(out, at, &kind.to_le_bytes());
    put(out, at + 4, &flags.to_le_bytes());
    put_u64(out, at + 8, vaddr);
    put_u64(out, at + 16, vaddr);
    put_u64(out, at + 24, vaddr);
    put_u64(out, at + 32, filesz);
    put_u64(out, at + 40, memsz);
    put_u64(out, at + 48, align);
}

type PhdrFields = (u32, u32, u64, u64, u64, u64);

/// The module image: a valid ELF64 `ET_DYN` file (see the module docs).
pub fn image() -> Vec<u8> {
    let mut out = vec![0u8; (DATA + DATA_FILE_SIZE) as usize];

    // ELF header.
    put(&mut out, 0, b"\x7fELF");
    out[4] = 2; // ELFCLASS64
    out[5] = 1; // little-endian
    out[6] = 1; // EV_CURRENT
    put(&mut out, 16, &3u16.to_le_bytes()); // ET_DYN
    put(&mut out, 18, &62u16.to_le_bytes()); // EM_X86_64
    put(&mut out, 20, &1u32.to_le_bytes()); // e_version
    put_u64(&mut out, 24, ENTRY);
    put_u64(&mut out, 32, EHDR_LEN as u64); // e_phoff
    put(&mut out, 52, &(EHDR_LEN as u16).to_le_bytes());
    put(&mut out, 54, &(PHDR_LEN as u16).to_le_bytes());
    put(&mut out, 56, &(PHNUM as u16).to_le_bytes());

    // Program headers.
    let r = PF_R;
    phdr(
        &mut out,
        0,
        (PT_LOAD, r | PF_X, TEXT, TEXT_SIZE, TEXT_SIZE, PAGE),
    );
    let ro = RODATA_SIZE;
    phdr(&mut out, 1, (PT_LOAD, r, RODATA, ro, ro, PAGE));
    let (file, mem) = (DATA_FILE_SIZE, DATA_MEM_SIZE);
    phdr(&mut out, 2, (PT_LOAD, r | PF_W, DATA, file, mem, PAGE));
    let dyn_len = RELA - DYNAMIC;
    phdr(&mut out, 3, (PT_DYNAMIC, r, DYNAMIC, dyn_len, dyn_len, 8));

    // Text.
    put(&mut out, ENTRY, &code());

    // Read-only data: the target, the dynamic section, the relocations.
    put_u64(&mut out, TARGET, TARGET_VALUE);
    let dynamic = [
        (DT_RELA as u64, RELA),
        (DT_RELASZ as u64, RELA_LEN as u64),
        (DT_RELAENT as u64, RELA_LEN as u64),
        (DT_NULL as u64, 0),
    ];
    for (i, (tag, value)) in dynamic.into_iter().enumerate() {
        let at = DYNAMIC + 16 * i as u64;
        put_u64(&mut out, at, tag);
        put_u64(&mut out, at + 8, value);
    }
    put_u64(&mut out, RELA, WORD);
    put_u64(&mut out, RELA + 8, u64::from(R_X86_64_RELATIVE));
    put_u64(&mut out, RELA + 16, TARGET);

    // Data: the word stays 0 until relocated; then a `ret`.
    out[DATA_RET as usize] = 0xc3;
    out
}
