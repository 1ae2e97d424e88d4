//! The binary interface between the Helix kernel and a module built on its
//! own (a loadable module), and the runtime a module binary carries.
//!
//! A module binary is a static position-independent executable with its
//! own copy of `core`, `alloc` and `helix-modules`. Rust types cannot cross
//! between two separately compiled copies of a crate, so nothing but the
//! `#[repr(C)]` types of [`types`] does: the module's entry point (the ELF
//! entry, [`ENTRY_SYMBOL`]) receives the kernel's [`Services`] table and
//! returns a [`Descriptor`]: [`MAGIC`], the ABI version
//! ([`ABI_MAJOR`].[`ABI_MINOR`]), the [`LAYOUT_HASH`] of every type that
//! crosses, the module's static info and its table of entry points
//! ([`Ops`]). The kernel refuses a binary whose magic, major version or
//! layout hash differ from its own: our answer to Linux's vermagic and
//! modversions. The same stamp is in an ELF note ([`note`]), checked
//! before the binary is mapped; the descriptor is checked again before any
//! entry point but `_start` runs.
//!
//! Data crosses as borrowed byte ranges ([`Bytes`]) valid for one call, and
//! variable-length answers are written into the receiver's [`Sink`]: each
//! side allocates only in its own heap, and nothing one side allocated is
//! ever freed by the other. Errors cross as their `Display` text.
//!
//! With the `runtime` feature (module binaries only), [`runtime`] provides
//! the allocator (the kernel's per-module arena), the panic handler (a
//! contained fault of the call), and the bridge from [`Ops`] to
//! [`helix_modules::v2::ModuleTrait`]; [`export_module!`] puts them in a
//! binary. The same module crate thus builds into the kernel or as a
//! loadable binary without a change to its code.
#![no_std]
#![deny(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

#[cfg(feature = "runtime")]
extern crate alloc;

mod layout;
pub mod note;
pub mod types;

#[cfg(feature = "runtime")]
pub mod runtime;

pub use layout::LAYOUT_HASH;
pub use note::{AbiNote, AbiStamp};
pub use types::*;

/// First field of every [`Descriptor`]: "HELIXMOD" in little-endian bytes.
pub const MAGIC: u64 = u64::from_le_bytes(*b"HELIXMOD");
/// Incompatible changes to the interface: a binary built for another major
/// version is refused.
pub const ABI_MAJOR: u16 = 2;
/// Compatible additions: a binary built for an older minor version loads.
pub const ABI_MINOR: u16 = 0;
/// The symbol of a module binary's entry point, which is also its ELF
/// entry: `extern "C" fn(*const Services) -> *const Descriptor`.
pub const ENTRY_SYMBOL: &str = "_start";
