//! Why the start info was refused: one variant per check of
//! [`super::StartInfo::parse`], each with what was read.

use core::fmt;

use super::{MAX_MEMORY_REGIONS, MAX_MODULES, MAX_PHYS_ADDR};

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
    /// The command line is not valid UTF-8.
    CmdlineNotUtf8,
    /// The memory map has more than [`MAX_MEMORY_REGIONS`] entries.
    TooManyRegions(u32),
    /// The module list has more than [`MAX_MODULES`] entries.
    TooManyModules(u32),
    /// A module's `paddr + size` wraps around the address space.
    ModuleWraps {
        /// Index of the module in the loader's list.
        index: u32,
        /// Its physical address.
        paddr: u64,
        /// Its size in bytes.
        size: u64,
    },
    /// A module starts at address 0 or ends past [`MAX_PHYS_ADDR`].
    ModuleOutOfRange {
        /// Index of the module in the loader's list.
        index: u32,
        /// Its physical address.
        paddr: u64,
        /// Its size in bytes.
        size: u64,
    },
}

impl fmt::Display for StartInfoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadMagic(m) => {
                write!(f, "bad start-info magic {m:#010x}")?;
                let bytes = m.to_le_bytes();
                if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                    // What QEMU's PVH loader leaves when `-append` overran
                    // its buffer into the start info (see the module docs).
                    let text = core::str::from_utf8(&bytes).unwrap_or("");
                    write!(
                        f,
                        " (text {text:?}: a kernel command line too long for the loader \
                         overwrote the start info; QEMU's PVH loader passes at most \
                         4095 bytes)"
                    )?;
                }
                Ok(())
            }
            Self::BadAddress { paddr, len } => {
                write!(f, "unreadable physical range {paddr:#x}+{len:#x}")
            }
            Self::CmdlineNotUtf8 => write!(f, "command line is not valid UTF-8"),
            Self::TooManyRegions(n) => {
                write!(
                    f,
                    "memory map has {n} entries, at most {MAX_MEMORY_REGIONS} supported"
                )
            }
            Self::TooManyModules(n) => {
                write!(
                    f,
                    "module list has {n} entries, at most {MAX_MODULES} supported"
                )
            }
            Self::ModuleWraps { index, paddr, size } => write!(
                f,
                "module {index} at {paddr:#x}+{size:#x} wraps around the address space"
            ),
            Self::ModuleOutOfRange { index, paddr, size } => write!(
                f,
                "module {index} at {paddr:#x}+{size:#x} is not in physical memory \
                 (it starts at 0 or ends past {MAX_PHYS_ADDR:#x})"
            ),
        }
    }
}
