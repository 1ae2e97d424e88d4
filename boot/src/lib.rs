//! The boot path of the Helix kernel: how QEMU's PVH entry gets us from
//! 32-bit protected mode to Rust in long mode.
//!
//! QEMU loads the kernel ELF at its physical addresses when it finds a Xen
//! `PHYS32_ENTRY` note (docs/architecture.md §4). [`pvh`] holds that note
//! and the entry code: it builds identity-mapped early page tables for the
//! first 4 GiB, enables long mode, switches to the boot stack and calls the
//! kernel's `helix_kernel_entry(start_info_paddr)`. [`start_info`] then
//! turns the `hvm_start_info` structure the loader left in memory into a
//! [`StartInfo`] with owned copies of the command line and memory map and
//! the list of modules the loader placed in memory (QEMU's `-initrd`),
//! checking every pointer and length on the way. The linker script that
//! lays out every Helix kernel image is `boot/linker.ld`.
//!
//! Parsing is plain safe Rust over a [`PhysRead`] source, so it is unit
//! tested on the host against hand-built images of the structure; only the
//! entry code is x86-specific and is compiled for the kernel target alone.
#![no_std]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs)]

pub mod cmdline;
#[cfg(target_os = "none")]
pub mod pvh;
pub mod start_info;

pub use cmdline::{Cmdline, Param};
pub use start_info::{
    BootModule, CmdlineCut, MAX_CMDLINE, MAX_MEMORY_REGIONS, MAX_MODULES, MAX_PHYS_ADDR,
    MemoryKind, MemoryRegion, PhysRead, StartInfo, StartInfoError,
};

/// The absolute path of the linker script every kernel image links with.
///
/// The kernel's build script passes it to the linker; keeping the path here
/// ties the script to the crate that owns the memory layout it describes.
pub const LINKER_SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/linker.ld");
