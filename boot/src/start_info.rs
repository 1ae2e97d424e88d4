//! Bounds-checked parsing of the PVH `hvm_start_info` structure.
//!
//! The loader leaves the structure, the command line and the memory map in
//! guest memory and passes only a physical address. Nothing in it is
//! trusted: the magic number and version are checked, every read goes
//! through [`PhysRead`] (which the kernel implements over its identity map
//! and refuses out-of-range addresses), the command line is read up to a
//! fixed maximum and must be UTF-8, and the memory map is capped at
//! [`MAX_MEMORY_REGIONS`] entries. The result owns copies of everything, so
//! the kernel may reuse the loader's memory afterwards.

use core::fmt;
use heapless::{String, Vec};

/// `hvm_start_info.magic`: "xEn3" with the top bit of the last byte set.
pub const START_INFO_MAGIC: u32 = 0x336e_c578;
/// The longest command line kept, in bytes; longer ones are an error.
pub const MAX_CMDLINE: usize = 1024;
/// The most memory map entries kept; more are an error.
pub const MAX_MEMORY_REGIONS: usize = 64;

/// Size of the version-1 `hvm_start_info` structure.
const START_INFO_SIZE: usize = 56;
/// Size of one `hvm_memmap_table_entry`.
const MEMMAP_ENTRY_SIZE: usize = 24;
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

/// What went wrong while parsing the start info.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartInfoError {
    /// The structure's magic number is not [`START_INFO_MAGIC`].
    BadMagic(u32),
    /// The address is null, out of range, or its span overflows.
    BadAddress {
        /// Physical address of the read.
        paddr: u64,
        /// Length of the read in bytes.
        len: usize,
    },
    /// The command line has no terminating NUL within [`MAX_CMDLINE`] bytes.
    CmdlineTooLong,
    /// The command line is not valid UTF-8.
    CmdlineNotUtf8,
    /// The memory map has more than [`MAX_MEMORY_REGIONS`] entries.
    TooManyRegions(u32),
}

impl fmt::Display for StartInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(m) => write!(f, "bad start-info magic {m:#010x}"),
            Self::BadAddress { paddr, len } => {
                write!(f, "unreadable physical range {paddr:#x}+{len:#x}")
            }
            Self::CmdlineTooLong => write!(f, "command line longer than {MAX_CMDLINE} bytes"),
            Self::CmdlineNotUtf8 => write!(f, "command line is not valid UTF-8"),
            Self::TooManyRegions(n) => {
                write!(
                    f,
                    "memory map has {n} entries, at most {MAX_MEMORY_REGIONS} supported"
                )
            }
        }
    }
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

/// The parsed, owned contents of `hvm_start_info`.
#[derive(Debug, Clone)]
pub struct StartInfo {
    /// Structure version reported by the loader.
    pub version: u32,
    /// Loader flags.
    pub flags: u32,
    /// The kernel command line (`-append`), empty if none was given.
    pub cmdline: String<MAX_CMDLINE>,
    /// Physical address of the ACPI RSDP, if the loader gave one.
    pub rsdp: Option<u64>,
    /// The physical memory map, in the loader's order.
    pub memory_map: Vec<MemoryRegion, MAX_MEMORY_REGIONS>,
}

impl StartInfo {
    /// Parses the structure at `paddr`, copying out what it points to.
    pub fn parse(mem: &dyn PhysRead, paddr: u64) -> Result<Self, StartInfoError> {
        let mut raw = [0u8; START_INFO_SIZE];
        mem.read(paddr, &mut raw)?;
        let u32_at =
            |off: usize| u32::from_le_bytes([raw[off], raw[off + 1], raw[off + 2], raw[off + 3]]);
        let u64_at = |off: usize| u64::from(u32_at(off)) | (u64::from(u32_at(off + 4)) << 32);

        let magic = u32_at(0);
        if magic != START_INFO_MAGIC {
            return Err(StartInfoError::BadMagic(magic));
        }
        let version = u32_at(4);
        let flags = u32_at(8);
        let cmdline_paddr = u64_at(24);
        let rsdp_paddr = u64_at(32);
        // The memory map fields exist from version 1 on; version 0 loaders
        // leave that memory undefined, so it must not be read.
        let (memmap_paddr, memmap_entries) = if version >= 1 {
            (u64_at(40), u32_at(48))
        } else {
            (0, 0)
        };

        let cmdline = if cmdline_paddr == 0 {
            String::new()
        } else {
            read_cmdline(mem, cmdline_paddr)?
        };
        let memory_map = read_memory_map(mem, memmap_paddr, memmap_entries)?;
        Ok(Self {
            version,
            flags,
            cmdline,
            rsdp: (rsdp_paddr != 0).then_some(rsdp_paddr),
            memory_map,
        })
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

fn read_cmdline(mem: &dyn PhysRead, paddr: u64) -> Result<String<MAX_CMDLINE>, StartInfoError> {
    // Read in chunks that stop at 64-byte boundaries: a chunk then never
    // crosses a page, so a command line ending just before unreadable
    // memory parses as long as the page holding its NUL is readable.
    let mut bytes: Vec<u8, MAX_CMDLINE> = Vec::new();
    let mut chunk = [0u8; CMDLINE_CHUNK];
    loop {
        let addr = paddr
            .checked_add(bytes.len() as u64)
            .ok_or(StartInfoError::BadAddress {
                paddr,
                len: bytes.len(),
            })?;
        let len = CMDLINE_CHUNK - (addr % CMDLINE_CHUNK as u64) as usize;
        mem.read(addr, &mut chunk[..len])?;
        for &b in &chunk[..len] {
            if b == 0 {
                let text =
                    core::str::from_utf8(&bytes).map_err(|_| StartInfoError::CmdlineNotUtf8)?;
                let mut out = String::new();
                out.push_str(text)
                    .map_err(|_| StartInfoError::CmdlineTooLong)?;
                return Ok(out);
            }
            bytes.push(b).map_err(|_| StartInfoError::CmdlineTooLong)?;
        }
    }
}

fn read_memory_map(
    mem: &dyn PhysRead,
    paddr: u64,
    entries: u32,
) -> Result<Vec<MemoryRegion, MAX_MEMORY_REGIONS>, StartInfoError> {
    let mut map = Vec::new();
    if entries as usize > MAX_MEMORY_REGIONS {
        return Err(StartInfoError::TooManyRegions(entries));
    }
    for i in 0..u64::from(entries) {
        let mut raw = [0u8; MEMMAP_ENTRY_SIZE];
        let addr =
            paddr
                .checked_add(i * MEMMAP_ENTRY_SIZE as u64)
                .ok_or(StartInfoError::BadAddress {
                    paddr,
                    len: MEMMAP_ENTRY_SIZE,
                })?;
        mem.read(addr, &mut raw)?;
        let u64_at = |off: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&raw[off..off + 8]);
            u64::from_le_bytes(b)
        };
        let kind = MemoryKind::from_raw(u32::from_le_bytes([raw[16], raw[17], raw[18], raw[19]]));
        let region = MemoryRegion {
            start: u64_at(0),
            len: u64_at(8),
            kind,
        };
        map.push(region)
            .map_err(|_| StartInfoError::TooManyRegions(entries))?;
    }
    Ok(map)
}

#[cfg(test)]
mod tests;
