//! [`LoadError`]: why a module binary was not inserted, removed or
//! upgraded. Each names what was wrong; the kernel goes on.

use alloc::string::String;
use core::fmt;
use helix_loader::elf::ElfError;
use helix_modules::ModuleError;

use crate::mm::image::ImageError;

/// Why `insmod`, `rmmod` or `upgrade` failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoadError {
    /// The file could not be read.
    File {
        /// The path asked for.
        path: String,
        /// Why.
        reason: String,
    },
    /// The signature trailer is malformed.
    Signature(String),
    /// The running SECURITY module refused the operation.
    Refused(ModuleError),
    /// The ELF file is not a module binary we can load.
    Elf(ElfError),
    /// Mapping the image or its arena failed.
    Image(ImageError),
    /// The entry point faulted (panic, exception, budget) before it
    /// described the module.
    EntryFaulted(String),
    /// The binary carries no ABI note (`helix_abi::note`): not built with
    /// `helix_abi::export_module!`.
    NoAbiNote,
    /// The descriptor's magic is wrong: not a Helix module binary.
    BadMagic(u64),
    /// Built for another major version of the interface.
    AbiMajor {
        /// The binary's.
        found: u16,
        /// The kernel's.
        expected: u16,
    },
    /// Built with other layouts for the types that cross the interface.
    LayoutHash {
        /// The binary's.
        found: u64,
        /// The kernel's.
        expected: u64,
    },
    /// The module's static information is malformed (text that is not
    /// UTF-8, lists too long, more interned text than the kernel keeps).
    BadInfo(&'static str),
    /// No loaded module of that name.
    NotLoaded(String),
    /// The registry refused (name taken, dependency missing, a step
    /// failed, ...).
    Registry(ModuleError),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, reason } => write!(f, "cannot read {path}: {reason}"),
            Self::Signature(why) => write!(f, "bad signature trailer: {why}"),
            Self::Refused(e) => write!(f, "refused: {e}"),
            Self::Elf(e) => write!(f, "not a loadable module binary: {e}"),
            Self::Image(e) => write!(f, "cannot map the module: {e}"),
            Self::EntryFaulted(why) => write!(f, "the module's entry point faulted: {why}"),
            Self::NoAbiNote => f.write_str(
                "not a Helix module binary: no ABI note (build it with scripts/build-module)",
            ),
            Self::BadMagic(m) => write!(f, "not a Helix module (descriptor magic {m:#018x})"),
            Self::AbiMajor { found, expected } => write!(
                f,
                "built for module ABI {found}.x, this kernel speaks {expected}.x"
            ),
            Self::LayoutHash { found, expected } => write!(
                f,
                "module ABI layout hash {found:#018x} differs from the kernel's {expected:#018x}"
            ),
            Self::BadInfo(why) => write!(f, "bad module information: {why}"),
            Self::NotLoaded(name) => write!(f, "no loaded module called {name}"),
            Self::Registry(e) => write!(f, "{e}"),
        }
    }
}

impl core::error::Error for LoadError {}

impl From<ElfError> for LoadError {
    fn from(e: ElfError) -> Self {
        Self::Elf(e)
    }
}

impl From<ImageError> for LoadError {
    fn from(e: ImageError) -> Self {
        Self::Image(e)
    }
}

impl From<ModuleError> for LoadError {
    fn from(e: ModuleError) -> Self {
        Self::Registry(e)
    }
}
