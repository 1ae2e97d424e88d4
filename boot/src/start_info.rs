//! Bounds-checked parsing of the PVH `hvm_start_info` structure.
//!
//! The loader leaves the structure, the command line and the memory map in
//! guest memory and passes only a physical address. Nothing in it is
//! trusted: the magic number and version are checked, every read goes
//! through [`PhysRead`] (which the kernel implements over its identity map
//! and refuses out-of-range addresses), the command line is read up to
//! [`MAX_CMDLINE`] bytes (a longer one is cut at a word boundary and the
//! cut reported in [`StartInfo::cmdline_cut`], never an error) and must be
//! UTF-8, the memory map is capped at [`MAX_MEMORY_REGIONS`] entries, and
//! the module list at [`MAX_MODULES`], each module's range checked
//! ([`BootModule`]). The result owns copies of everything but the modules'
//! contents, so the kernel may reuse the loader's memory afterwards, except
//! the modules' ranges, which it must keep (QEMU's `-initrd` file is module
//! 0, [`StartInfo::initrd`]).
//!
//! What QEMU can pass: its PVH loader (the `pvh.bin` option ROM,
//! `pc-bios/optionrom/pvh_main.c`) copies `-append` and its NUL from
//! fw_cfg into a static 4096-byte buffer without checking the length, so
//! only 4095 bytes are sure to arrive. [`MAX_CMDLINE`] is 4096, so every
//! command line QEMU passes is kept whole. A longer one overruns the
//! buffer before the kernel runs: with QEMU 7.2 (measured) up to 4127
//! bytes still arrive, and are cut here with [`CmdlineCut`]; 4128 bytes or
//! more overwrite the `hvm_start_info` that follows the buffer, and the
//! parse fails with [`StartInfoError::BadMagic`], whose message then shows
//! the text found in place of the magic and says why.

use core::fmt;
use heapless::{String, Vec};

mod error;
mod read;

pub use error::StartInfoError;
use read::{read_cmdline, read_memory_map, read_modules};

/// `hvm_start_info.magic`: "xEn3" with the top bit of the last byte set.
pub const START_INFO_MAGIC: u32 = 0x336e_c578;
/// The longest command line kept, in bytes (without the NUL): 4 KiB, one
/// more than QEMU's PVH loader passes intact (see the module docs). A
/// longer one is cut at the last word boundary within the limit
/// ([`CmdlineCut`]).
pub const MAX_CMDLINE: usize = 4096;
/// The most memory map entries kept; more are an error.
pub const MAX_MEMORY_REGIONS: usize = 64;
/// The most boot modules kept; more are an error. QEMU passes one (its
/// `-initrd` file) or none.
pub const MAX_MODULES: usize = 8;
/// One past the highest physical address x86-64 can have (52 address
/// bits): a module that ends beyond it is not in memory.
pub const MAX_PHYS_ADDR: u64 = 1 << 52;

/// Size of the version-1 `hvm_start_info` structure.
const START_INFO_SIZE: usize = 56;
/// Size of one `hvm_memmap_table_entry`.
const MEMMAP_ENTRY_SIZE: usize = 24;
/// Size of one `hvm_modlist_entry`.
const MODLIST_ENTRY_SIZE: usize = 32;
/// Alignment of the command-line reads (see `read_cmdline`).
const CMDLINE_CHUNK: usize = 64;

/// Reads guest-physical memory for the parser.
///
/// The kernel implements it over its identity map; host tests implement it
/// over a byte buffer. An implementation must return
/// [`StartInfoError::BadAddress`] rather than touch memory it cannot read.
pub trait PhysRead {
    /// Fills `buf` with the bytes at physical address `paddr`.
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), StartInfoError>;
}

/// The type of a memory map entry (E820 numbering, as PVH uses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MemoryKind {
    /// Usable RAM.
    Ram,
    /// Reserved by firmware or devices.
    Reserved,
    /// ACPI tables, reclaimable after they are read.
    AcpiReclaimable,
    /// ACPI non-volatile storage.
    AcpiNvs,
    /// Memory reported as faulty.
    Unusable,
    /// A type this parser does not know; treated as reserved.
    Other(u32),
}

impl MemoryKind {
    fn from_raw(raw: u32) -> Self {
        match raw {
            1 => Self::Ram,
            2 => Self::Reserved,
            3 => Self::AcpiReclaimable,
            4 => Self::AcpiNvs,
            5 => Self::Unusable,
            other => Self::Other(other),
        }
    }
}

impl fmt::Display for MemoryKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ram => f.write_str("usable"),
            Self::Reserved => f.write_str("reserved"),
            Self::AcpiReclaimable => f.write_str("ACPI data"),
            Self::AcpiNvs => f.write_str("ACPI NVS"),
            Self::Unusable => f.write_str("unusable"),
            Self::Other(n) => write!(f, "type {n}"),
        }
    }
}

/// One entry of the physical memory map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryRegion {
    /// First physical address of the region.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
    /// What the region is.
    pub kind: MemoryKind,
}

impl MemoryRegion {
    /// One past the last address, saturating instead of wrapping.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
}

/// One module the loader placed in memory (`hvm_modlist_entry`): QEMU's
/// `-initrd` file. Its range is checked: it does not wrap, does not start
/// at address 0 and ends at or below [`MAX_PHYS_ADDR`]; whether the kernel
/// can reach it is the kernel's business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BootModule {
    /// Physical address of its first byte.
    pub paddr: u64,
    /// Its size in bytes.
    pub size: u64,
    /// Physical address of its NUL-terminated command line, if the loader
    /// gave one (QEMU gives none); not read by the parser.
    pub cmdline_paddr: Option<u64>,
}

impl BootModule {
    /// One past its last byte (cannot wrap: checked when parsed).
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(self.size)
    }
}

/// How a command line longer than [`MAX_CMDLINE`] bytes was shortened: it
/// was cut after the last whole word that fits, so no parameter is kept
/// with half its value.
///
/// ```
/// let cut = boot::CmdlineCut { kept: 4090 };
/// assert_eq!(
///     cut.to_string(),
///     "the command line is longer than 4096 bytes: kept its first 4090 bytes \
///      (cut at a word boundary), ignored the rest"
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CmdlineCut {
    /// How many bytes of the command line were kept.
    pub kept: usize,
}

impl fmt::Display for CmdlineCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "the command line is longer than {MAX_CMDLINE} bytes: kept its first {} bytes \
             (cut at a word boundary), ignored the rest",
            self.kept
        )
    }
}

/// The parsed, owned contents of `hvm_start_info`.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// Structure version reported by the loader.
    pub version: u32,
    /// Loader flags.
    pub flags: u32,
    /// The kernel command line (`-append`), empty if none was given; at
    /// most [`MAX_CMDLINE`] bytes (see [`StartInfo::cmdline_cut`]).
    pub cmdline: String<MAX_CMDLINE>,
    /// Set when the loader's command line was longer than
    /// [`MAX_CMDLINE`] bytes and [`StartInfo::cmdline`] holds only its
    /// first words: the kernel logs it as a warning.
    pub cmdline_cut: Option<CmdlineCut>,
    /// Physical address of the ACPI RSDP, if the loader gave one.
    pub rsdp: Option<u64>,
    /// The physical memory map, in the loader's order.
    pub memory_map: Vec<MemoryRegion, MAX_MEMORY_REGIONS>,
    /// The modules the loader placed in memory, in its order: QEMU's
    /// `-initrd` file, or nothing ([`StartInfo::initrd`]).
    pub modules: Vec<BootModule, MAX_MODULES>,
}

impl Default for StartInfo {
    fn default() -> Self {
        Self::new()
    }
}

impl StartInfo {
    /// An empty start info (no command line, no memory map), for
    /// [`StartInfo::parse_into`] to fill; `const`, so it can sit in a
    /// static.
    pub const fn new() -> Self {
        Self {
            version: 0,
            flags: 0,
            cmdline: String::new(),
            cmdline_cut: None,
            rsdp: None,
            memory_map: Vec::new(),
            modules: Vec::new(),
        }
    }

    /// Parses the structure at `paddr`, copying out what it points to.
    ///
    /// The result is several KiB (the command line buffer alone is
    /// [`MAX_CMDLINE`] bytes), and unoptimised builds copy a returned
    /// value several times; the kernel, on its small boot stack, uses
    /// [`StartInfo::parse_into`] on a static instead.
    pub fn parse(mem: &dyn PhysRead, paddr: u64) -> Result<Self, StartInfoError> {
        let mut info = Self::new();
        info.parse_into(mem, paddr)?;
        Ok(info)
    }

    /// Parses the structure at `paddr` into `self`, in place: nothing the
    /// size of the command line is ever on the stack. On error `self` may
    /// hold part of the result.
    pub fn parse_into(&mut self, mem: &dyn PhysRead, paddr: u64) -> Result<(), StartInfoError> {
        let mut raw = [0u8; START_INFO_SIZE];
        mem.read(paddr, &mut raw)?;
        let u32_at =
            |off: usize| u32::from_le_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
        let u64_at = |off: usize| u64::from(u32_at(off)) | (u64::from(u32_at(off + 4)) << 32);

        let magic = u32_at(0);
        if magic != START_INFO_MAGIC {
            return Err(StartInfoError::BadMagic(magic));
        }
        self.version = u32_at(4);
        self.flags = u32_at(8);
        let modules = u32_at(12);
        let modlist_paddr = u64_at(16);
        let cmdline_paddr = u64_at(24);
        let rsdp_paddr = u64_at(32);
        self.rsdp = (rsdp_paddr != 0).then_some(rsdp_paddr);
        // The memory map fields exist from version 1 on; version 0 loaders
        // leave that memory undefined, so it must not be read.
        let (memmap_paddr, memmap_entries) = if self.version >= 1 {
            (u64_at(40), u32_at(48))
        } else {
            (0, 0)
        };

        self.cmdline.clear();
        self.cmdline_cut = None;
        if cmdline_paddr != 0 {
            self.cmdline_cut = read_cmdline(mem, cmdline_paddr, &mut self.cmdline)?;
        }
        read_memory_map(mem, memmap_paddr, memmap_entries, &mut self.memory_map)?;
        read_modules(mem, modlist_paddr, modules, &mut self.modules)
    }

    /// The initrd: the first module, which is QEMU's `-initrd` file (QEMU
    /// passes at most one module).
    pub fn initrd(&self) -> Option<&BootModule> {
        self.modules.first()
    }

    /// Total bytes of usable RAM in the memory map.
    pub fn usable_bytes(&self) -> u64 {
        self.memory_map
            .iter()
            .filter(|r| r.kind == MemoryKind::Ram)
            .map(|r| r.len)
            .sum()
    }
}

#[cfg(test)]
mod tests;
