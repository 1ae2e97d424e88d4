//! Validation of a loadable module's ELF binary before anything is mapped.
//!
//! A module is an ELF64, little-endian, x86_64 `ET_DYN` file (a static
//! position-independent executable): `PT_LOAD` segments, at most one
//! `PT_DYNAMIC`, and only `R_X86_64_RELATIVE` relocations. The relocations
//! are found through the dynamic section (`PT_DYNAMIC`: `DT_RELA`,
//! `DT_RELASZ`, `DT_RELAENT`), which is what a loader sees at run time;
//! section headers are ignored entirely (they may be stripped). [`plan`]
//! checks everything a loader relies on and returns a [`Plan`]: the span
//! to reserve, each segment to copy with its permissions, and the
//! relocations to apply, so that the loader maps without re-validating.
//!
//! Refused: anything not ELF64/LSB/x86_64/`ET_DYN`, header tables outside
//! the file, segments outside the file or overlapping, `filesz > memsz`,
//! bad alignment, a span over [`MAX_SPAN`], writable and executable
//! segments, segments of different permissions sharing a 4 KiB page,
//! `PT_INTERP` and `PT_TLS`, `DT_NEEDED`, `DT_REL`, `DT_RELR` and PLT
//! relocations, any relocation but `R_X86_64_RELATIVE` (`R_X86_64_NONE` is
//! skipped), a relocation whose 8-byte target is not inside a writable
//! segment or whose addend is outside the image, and an entry point outside
//! an executable segment. Nothing here panics on any input.

use alloc::vec::Vec;

pub(crate) mod dynamic;
mod error;
mod note;

use dynamic::relocations;
pub use error::ElfError;
pub use note::{PT_NOTE, find_note};

/// Largest image span accepted (16 MiB).
pub const MAX_SPAN: u64 = 16 << 20;
/// Page size the plan is computed for.
pub const PAGE_SIZE: u64 = 4096;

pub(crate) const EHDR_LEN: usize = 64;
pub(crate) const PHDR_LEN: usize = 56;

const ET_DYN: u16 = 3;
const EM_X86_64: u16 = 62;

/// Program header type: loadable segment.
pub const PT_LOAD: u32 = 1;
/// Program header type: dynamic section.
pub const PT_DYNAMIC: u32 = 2;
/// Program header type: interpreter (refused).
pub const PT_INTERP: u32 = 3;
/// Program header type: thread-local storage template (refused).
pub const PT_TLS: u32 = 7;

pub(crate) const PF_X: u32 = 1;
pub(crate) const PF_W: u32 = 2;
pub(crate) const PF_R: u32 = 4;

/// Relocation type: nothing to do (skipped).
pub const R_X86_64_NONE: u32 = 0;
/// Relocation type: write `load bias + addend` (the only one applied).
pub const R_X86_64_RELATIVE: u32 = 8;

/// Access rights of a segment (W^X holds: never both `write` and `execute`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Perms {
    /// Readable (`PF_R`).
    pub read: bool,
    /// Writable (`PF_W`).
    pub write: bool,
    /// Executable (`PF_X`).
    pub execute: bool,
}

impl Perms {
    fn from_flags(flags: u32) -> Self {
        Self {
            read: flags & PF_R != 0,
            write: flags & PF_W != 0,
            execute: flags & PF_X != 0,
        }
    }
}

/// One `PT_LOAD` segment to map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Segment {
    /// Link-time address of the segment's first byte.
    pub vaddr: u64,
    /// Size in memory; bytes past `filesz` are zero.
    pub memsz: u64,
    /// Offset of the segment's bytes in the file.
    pub file_offset: usize,
    /// Number of bytes to copy from the file (`<= memsz`).
    pub filesz: usize,
    /// Access rights once relocated.
    pub perms: Perms,
}

/// One `R_X86_64_RELATIVE` relocation: write the 64-bit little-endian value
/// `load bias + addend` at link address `offset` (see [`Plan`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Relocation {
    /// Link-time address of the 8 bytes to write (inside a writable segment).
    pub offset: u64,
    /// Link-time address the value points at (inside the image, or its end).
    pub addend: u64,
}

/// What to map and fix up, all validated by [`plan`].
///
/// To load at a page-aligned address `B`: reserve `span` bytes at `B`;
/// the load bias is `B - link_base` (wrapping arithmetic); for each segment,
/// zero `memsz` bytes at `bias + vaddr` and copy
/// `image[file_offset..file_offset + filesz]` there; for each relocation,
/// write `bias + addend` (as a `u64`) at `bias + offset`; then apply each
/// segment's permissions page by page (no two segments with different
/// permissions share a page) and jump to `bias + entry`. Every address
/// involved lies in `[link_base, link_base + span]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// Lowest segment address rounded down to a page.
    pub link_base: u64,
    /// Bytes to reserve: highest segment end rounded up to a page, minus `link_base`.
    pub span: u64,
    /// Largest segment alignment (at least [`PAGE_SIZE`]).
    pub align: u64,
    /// Link-time entry point (inside an executable segment).
    pub entry: u64,
    /// The `PT_LOAD` segments, in program header order.
    pub segments: Vec<Segment>,
    /// The relocations, in table order (`R_X86_64_NONE` entries dropped).
    pub relocations: Vec<Relocation>,
}

impl Plan {
    /// The segment whose memory contains the `len` bytes at link address `vaddr`.
    pub fn segment_containing(&self, vaddr: u64, len: u64) -> Option<&Segment> {
        let end = vaddr.checked_add(len)?;
        self.segments
            .iter()
            .find(|s| s.vaddr <= vaddr && s.vaddr.checked_add(s.memsz).is_some_and(|e| end <= e))
    }
}

fn bytes<const N: usize>(b: &[u8], off: usize) -> Option<[u8; N]> {
    b.get(off..off.checked_add(N)?)?.try_into().ok()
}
fn u16_at(b: &[u8], off: usize) -> Option<u16> {
    bytes(b, off).map(u16::from_le_bytes)
}
fn u32_at(b: &[u8], off: usize) -> Option<u32> {
    bytes(b, off).map(u32::from_le_bytes)
}
fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    bytes(b, off).map(u64::from_le_bytes)
}

fn page_down(v: u64) -> u64 {
    v & !(PAGE_SIZE - 1)
}
fn page_up(v: u64) -> Option<u64> {
    v.checked_add(PAGE_SIZE - 1).map(page_down)
}

/// A `PT_LOAD` segment and its program header index.
struct Load {
    index: usize,
    seg: Segment,
    end: u64,
    align: u64,
}

/// Validates `image` as a loadable module and returns what to map.
pub fn plan(image: &[u8]) -> Result<Plan, ElfError> {
    let len = image.len();
    let ehdr = image.get(..EHDR_LEN).ok_or(ElfError::TooShort { len })?;
    if ehdr.get(..4) != Some(&b"\x7fELF"[..]) {
        return Err(ElfError::BadMagic);
    }
    let ident = |i: usize| ehdr.get(i).copied().unwrap_or(0);
    if ident(4) != 2 {
        return Err(ElfError::NotElf64 { class: ident(4) });
    }
    if ident(5) != 1 {
        return Err(ElfError::NotLittleEndian { data: ident(5) });
    }
    if ident(6) != 1 {
        return Err(ElfError::BadVersion {
            version: u32::from(ident(6)),
        });
    }
    // The header is 64 bytes long: these reads cannot fail.
    let field16 = |off| u16_at(ehdr, off).unwrap_or(0);
    let kind = field16(16);
    let machine = field16(18);
    let version = u32_at(ehdr, 20).unwrap_or(0);
    let entry = u64_at(ehdr, 24).unwrap_or(0);
    let phoff = u64_at(ehdr, 32).unwrap_or(0);
    let ehsize = field16(52);
    let phentsize = field16(54);
    let phnum = field16(56);
    if machine != EM_X86_64 {
        return Err(ElfError::NotX86_64 { machine });
    }
    if kind != ET_DYN {
        return Err(ElfError::NotDynamic { kind });
    }
    if version != 1 {
        return Err(ElfError::BadVersion { version });
    }
    if usize::from(ehsize) != EHDR_LEN || usize::from(phentsize) != PHDR_LEN {
        return Err(ElfError::BadHeaderSize { ehsize, phentsize });
    }
    let ph_out = ElfError::ProgramHeadersOutOfFile {
        offset: phoff,
        count: phnum,
        file_len: len,
    };
    let ph_start = usize::try_from(phoff).map_err(|_| ph_out)?;
    let ph_end = usize::from(phnum)
        .checked_mul(PHDR_LEN)
        .and_then(|n| n.checked_add(ph_start))
        .ok_or(ph_out)?;
    let phdrs = image.get(ph_start..ph_end).ok_or(ph_out)?;

    let mut loads: Vec<Load> = Vec::new();
    let mut dynamic: Option<(usize, usize)> = None;
    for (index, ph) in phdrs.chunks_exact(PHDR_LEN).enumerate() {
        let p_type = u32_at(ph, 0).unwrap_or(0);
        let flags = u32_at(ph, 4).unwrap_or(0);
        let offset = u64_at(ph, 8).unwrap_or(0);
        let vaddr = u64_at(ph, 16).unwrap_or(0);
        let filesz = u64_at(ph, 32).unwrap_or(0);
        let memsz = u64_at(ph, 40).unwrap_or(0);
        let align = u64_at(ph, 48).unwrap_or(0);
        match p_type {
            PT_INTERP | PT_TLS => {
                return Err(ElfError::UnsupportedSegment {
                    index,
                    kind: p_type,
                });
            }
            PT_LOAD | PT_DYNAMIC => {}
            _ => continue,
        }
        let out = ElfError::SegmentOutOfFile {
            index,
            offset,
            size: filesz,
            file_len: len,
        };
        let file_offset = usize::try_from(offset).map_err(|_| out)?;
        let file_size = usize::try_from(filesz).map_err(|_| out)?;
        let file_end = file_offset.checked_add(file_size).ok_or(out)?;
        if file_end > len {
            return Err(out);
        }
        if p_type == PT_DYNAMIC {
            if dynamic.is_some() {
                return Err(ElfError::MultipleDynamic { index });
            }
            dynamic = Some((file_offset, file_end));
            continue;
        }
        if filesz > memsz {
            return Err(ElfError::FileSizeExceedsMemSize {
                index,
                filesz,
                memsz,
            });
        }
        if memsz == 0 {
            return Err(ElfError::EmptySegment { index });
        }
        let end = vaddr
            .checked_add(memsz)
            .ok_or(ElfError::SegmentAddressOverflow { index })?;
        if align > 1 && (!align.is_power_of_two() || vaddr % align != offset % align) {
            return Err(ElfError::BadAlignment { index, align });
        }
        if flags & PF_W != 0 && flags & PF_X != 0 {
            return Err(ElfError::WritableAndExecutable { index });
        }
        loads.push(Load {
            index,
            seg: Segment {
                vaddr,
                memsz,
                file_offset,
                filesz: file_size,
                perms: Perms::from_flags(flags),
            },
            end,
            align,
        });
    }
    if loads.is_empty() {
        return Err(ElfError::NoLoadSegments);
    }

    // Overlap and page sharing, on the segments sorted by address.
    let mut order: Vec<&Load> = loads.iter().collect();
    order.sort_by_key(|l| l.seg.vaddr);
    for pair in order.windows(2) {
        let [a, b] = pair else { continue };
        if a.end > b.seg.vaddr {
            return Err(ElfError::SegmentsOverlap {
                first: a.index,
                second: b.index,
            });
        }
        // `a.end - 1` is a's last byte (memsz > 0).
        if a.seg.perms != b.seg.perms
            && page_down(a.end.saturating_sub(1)) == page_down(b.seg.vaddr)
        {
            return Err(ElfError::SegmentsSharePage {
                first: a.index,
                second: b.index,
            });
        }
    }
    let low = order.first().map_or(0, |l| l.seg.vaddr);
    let high = order.iter().map(|l| l.end).max().unwrap_or(0);
    let link_base = page_down(low);
    let span = page_up(high).map_or(u64::MAX, |top| top.saturating_sub(link_base));
    if span > MAX_SPAN {
        return Err(ElfError::ImageTooLarge {
            span,
            max: MAX_SPAN,
        });
    }
    let align = loads
        .iter()
        .map(|l| l.align)
        .max()
        .unwrap_or(0)
        .max(PAGE_SIZE);
    let segments: Vec<Segment> = loads.iter().map(|l| l.seg).collect();
    let mut plan = Plan {
        link_base,
        span,
        align,
        entry,
        segments,
        relocations: Vec::new(),
    };

    if !plan
        .segment_containing(entry, 1)
        .is_some_and(|s| s.perms.execute)
    {
        return Err(ElfError::EntryNotExecutable { entry });
    }

    if let Some((start, end)) = dynamic {
        let dyn_bytes = image.get(start..end).unwrap_or(&[]);
        plan.relocations = relocations(image, dyn_bytes, &plan)?;
    }
    Ok(plan)
}
