//! What [`super::plan`] refuses, by value: one variant per check, each
//! naming the part of the file that failed it.

use core::fmt;

/// What is wrong with a module image. Indexes are program header indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElfError {
    /// The file is shorter than an ELF header.
    TooShort {
        /// The file's length.
        len: usize,
    },
    /// The file does not start with `\x7fELF`.
    BadMagic,
    /// `EI_CLASS` is not ELFCLASS64 (2).
    NotElf64 {
        /// The class found.
        class: u8,
    },
    /// `EI_DATA` is not little-endian (1).
    NotLittleEndian {
        /// The data encoding found.
        data: u8,
    },
    /// `EI_VERSION` or `e_version` is not 1.
    BadVersion {
        /// The version found.
        version: u32,
    },
    /// `e_machine` is not x86_64 (62).
    NotX86_64 {
        /// The machine found.
        machine: u16,
    },
    /// `e_type` is not `ET_DYN` (3).
    NotDynamic {
        /// The type found.
        kind: u16,
    },
    /// `e_ehsize` is not 64 or `e_phentsize` is not 56.
    BadHeaderSize {
        /// `e_ehsize`.
        ehsize: u16,
        /// `e_phentsize`.
        phentsize: u16,
    },
    /// The program header table does not lie inside the file.
    ProgramHeadersOutOfFile {
        /// `e_phoff`.
        offset: u64,
        /// `e_phnum`.
        count: u16,
        /// The file's length.
        file_len: usize,
    },
    /// There is no `PT_LOAD` segment.
    NoLoadSegments,
    /// A segment type that a module may not have (`PT_INTERP`, `PT_TLS`).
    UnsupportedSegment {
        /// Program header index.
        index: usize,
        /// `p_type`.
        kind: u32,
    },
    /// A segment's file range is not inside the file.
    SegmentOutOfFile {
        /// Program header index.
        index: usize,
        /// `p_offset`.
        offset: u64,
        /// `p_filesz`.
        size: u64,
        /// The file's length.
        file_len: usize,
    },
    /// A `PT_LOAD` segment with `p_filesz > p_memsz`.
    FileSizeExceedsMemSize {
        /// Program header index.
        index: usize,
        /// `p_filesz`.
        filesz: u64,
        /// `p_memsz`.
        memsz: u64,
    },
    /// A `PT_LOAD` segment with `p_memsz` 0.
    EmptySegment {
        /// Program header index.
        index: usize,
    },
    /// `p_vaddr + p_memsz` overflows.
    SegmentAddressOverflow {
        /// Program header index.
        index: usize,
    },
    /// `p_align` is not a power of two, or `p_vaddr % p_align != p_offset % p_align`.
    BadAlignment {
        /// Program header index.
        index: usize,
        /// `p_align`.
        align: u64,
    },
    /// Two `PT_LOAD` segments overlap in memory.
    SegmentsOverlap {
        /// Program header index of the lower segment.
        first: usize,
        /// Program header index of the higher segment.
        second: usize,
    },
    /// Two `PT_LOAD` segments with different permissions share a page.
    SegmentsSharePage {
        /// Program header index of the lower segment.
        first: usize,
        /// Program header index of the higher segment.
        second: usize,
    },
    /// The image spans more than [`MAX_SPAN`](super::MAX_SPAN) bytes.
    ImageTooLarge {
        /// The span, page-rounded (saturated at `u64::MAX` on overflow).
        span: u64,
        /// [`MAX_SPAN`](super::MAX_SPAN).
        max: u64,
    },
    /// A segment is both writable and executable.
    WritableAndExecutable {
        /// Program header index.
        index: usize,
    },
    /// More than one `PT_DYNAMIC`.
    MultipleDynamic {
        /// Program header index of the second one.
        index: usize,
    },
    /// The dynamic section has no `DT_NULL` before its end.
    DynamicNotTerminated,
    /// A dynamic tag a static module may not have (`DT_NEEDED`, `DT_REL`,
    /// `DT_RELR`, PLT relocations).
    UnsupportedDynamicTag {
        /// `d_tag`.
        tag: i64,
    },
    /// `DT_RELA`, `DT_RELASZ` and `DT_RELAENT` are inconsistent: one missing,
    /// `DT_RELAENT` not 24, or `DT_RELASZ` not a multiple of it.
    BadRelocationTable {
        /// `DT_RELA` (0 if absent).
        address: u64,
        /// `DT_RELASZ` (0 if absent).
        size: u64,
        /// `DT_RELAENT` (0 if absent).
        entsize: u64,
    },
    /// The relocation table is not inside the file part of one `PT_LOAD` segment.
    RelocationTableOutOfFile {
        /// `DT_RELA`.
        address: u64,
        /// `DT_RELASZ`.
        size: u64,
    },
    /// A relocation type other than `R_X86_64_RELATIVE` (or `NONE`).
    UnsupportedRelocation {
        /// `ELF64_R_TYPE(r_info)`.
        kind: u32,
    },
    /// An `R_X86_64_RELATIVE` relocation that names a symbol.
    RelocationWithSymbol {
        /// `r_offset`.
        offset: u64,
    },
    /// A relocation whose 8-byte target is not inside one `PT_LOAD` segment.
    RelocationOutOfImage {
        /// `r_offset`.
        offset: u64,
    },
    /// A relocation that targets a segment that is not writable (a text relocation).
    RelocationNotWritable {
        /// `r_offset`.
        offset: u64,
    },
    /// An `R_X86_64_RELATIVE` addend that points outside the image.
    AddendOutOfImage {
        /// `r_offset`.
        offset: u64,
        /// `r_addend`.
        addend: i64,
    },
    /// The entry point is not inside an executable segment.
    EntryNotExecutable {
        /// `e_entry`.
        entry: u64,
    },
}

impl fmt::Display for ElfError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::TooShort { len } => {
                write!(f, "ELF: file of {len} bytes is shorter than a header")
            }
            Self::BadMagic => f.write_str("ELF: bad magic"),
            Self::NotElf64 { class } => write!(f, "ELF: class {class} is not ELF64"),
            Self::NotLittleEndian { data } => {
                write!(f, "ELF: data encoding {data} is not little-endian")
            }
            Self::BadVersion { version } => write!(f, "ELF: version {version} is not 1"),
            Self::NotX86_64 { machine } => write!(f, "ELF: machine {machine} is not x86_64"),
            Self::NotDynamic { kind } => write!(f, "ELF: type {kind} is not ET_DYN"),
            Self::BadHeaderSize { ehsize, phentsize } => write!(
                f,
                "ELF: header size {ehsize} / program header size {phentsize} (want 64 / 56)"
            ),
            Self::ProgramHeadersOutOfFile {
                offset,
                count,
                file_len,
            } => write!(
                f,
                "ELF: {count} program headers at {offset:#x} do not fit in {file_len} bytes"
            ),
            Self::NoLoadSegments => f.write_str("ELF: no PT_LOAD segment"),
            Self::UnsupportedSegment { index, kind } => {
                write!(f, "ELF: segment {index} has unsupported type {kind:#x}")
            }
            Self::SegmentOutOfFile {
                index,
                offset,
                size,
                file_len,
            } => write!(
                f,
                "ELF: segment {index} ({size} bytes at {offset:#x}) is outside the file of {file_len} bytes"
            ),
            Self::FileSizeExceedsMemSize {
                index,
                filesz,
                memsz,
            } => write!(
                f,
                "ELF: segment {index} has filesz {filesz:#x} > memsz {memsz:#x}"
            ),
            Self::EmptySegment { index } => write!(f, "ELF: segment {index} has memsz 0"),
            Self::SegmentAddressOverflow { index } => {
                write!(f, "ELF: segment {index} address range overflows")
            }
            Self::BadAlignment { index, align } => {
                write!(f, "ELF: segment {index} has bad alignment {align:#x}")
            }
            Self::SegmentsOverlap { first, second } => {
                write!(f, "ELF: segments {first} and {second} overlap")
            }
            Self::SegmentsSharePage { first, second } => write!(
                f,
                "ELF: segments {first} and {second} have different permissions on one page"
            ),
            Self::ImageTooLarge { span, max } => {
                write!(f, "ELF: image spans {span:#x} bytes, more than {max:#x}")
            }
            Self::WritableAndExecutable { index } => {
                write!(f, "ELF: segment {index} is writable and executable")
            }
            Self::MultipleDynamic { index } => {
                write!(f, "ELF: segment {index} is a second PT_DYNAMIC")
            }
            Self::DynamicNotTerminated => f.write_str("ELF: dynamic section has no DT_NULL"),
            Self::UnsupportedDynamicTag { tag } => {
                write!(f, "ELF: unsupported dynamic tag {tag:#x}")
            }
            Self::BadRelocationTable {
                address,
                size,
                entsize,
            } => write!(
                f,
                "ELF: bad relocation table (DT_RELA {address:#x}, DT_RELASZ {size:#x}, DT_RELAENT {entsize})"
            ),
            Self::RelocationTableOutOfFile { address, size } => write!(
                f,
                "ELF: relocation table ({size:#x} bytes at {address:#x}) is not in a segment's file data"
            ),
            Self::UnsupportedRelocation { kind } => {
                write!(f, "ELF: unsupported relocation type {kind}")
            }
            Self::RelocationWithSymbol { offset } => {
                write!(f, "ELF: RELATIVE relocation at {offset:#x} names a symbol")
            }
            Self::RelocationOutOfImage { offset } => {
                write!(
                    f,
                    "ELF: relocation target {offset:#x} is outside the segments"
                )
            }
            Self::RelocationNotWritable { offset } => write!(
                f,
                "ELF: relocation target {offset:#x} is in a segment that is not writable"
            ),
            Self::AddendOutOfImage { offset, addend } => write!(
                f,
                "ELF: relocation at {offset:#x} has addend {addend:#x} outside the image"
            ),
            Self::EntryNotExecutable { entry } => {
                write!(
                    f,
                    "ELF: entry point {entry:#x} is not in an executable segment"
                )
            }
        }
    }
}

impl core::error::Error for ElfError {}
