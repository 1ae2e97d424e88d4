//! A loaded module image and the kernel's state for it: the mapped
//! [`Image`], the module's [`Arena`], the [`Services`] table its code calls
//! and the [`Host`] those services act for; [`LoadedImage::load`] maps a
//! validated plan, runs the entry point (contained) and checks the
//! descriptor it returns before anything else of the module runs.

use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::c_void;
use helix_abi::{Descriptor, Entry, Services};
use helix_loader::elf::Plan;
use helix_modules::ModuleHandle;
use helix_modules::contain::{CallInfo, CallKind, Containment};
use helix_modules::services::hw::{HardwareAccess, PortRange};
use helix_modules::sync::IrqMutex;

use super::LoadError;
use crate::contain::KernelContainment;
use crate::mm::arena::Arena;
use crate::mm::image::Image;

/// The kernel's side of one loaded image, which its services act for.
pub struct Host {
    /// The image's first address and length.
    image: (u64, u64),
    /// The module's name as a request source (set once the descriptor is
    /// read; interned, see `intern`).
    pub name: spin::Once<&'static str>,
    /// The module's heap.
    pub arena: IrqMutex<Arena>,
    /// The handle of the current instance (set by its `init`).
    pub handle: spin::Mutex<Option<ModuleHandle>>,
    /// Its hardware access, for drivers (set by its `init`).
    pub hardware: spin::Mutex<Option<HardwareAccess>>,
    /// The port ranges it claimed.
    pub claims: spin::Mutex<Vec<PortRange>>,
}

/// A mapped module binary: its image, arena and services, and the
/// descriptor its entry point returned (copied). Dropped only when no
/// module instance of it is left (each holds an `Arc`), which unmaps the
/// image and frees the arena whole.
pub struct LoadedImage {
    // Field order is drop order: the services and host (which point into
    // nothing of the image) may go in any order, the image last. The
    // module keeps the services' address: they must live as long as it.
    _services: Box<Services>,
    host: Box<Host>,
    descriptor: Descriptor,
    image: Image,
}

// SAFETY: the descriptor's pointers point into the image, which lives as
// long as this value and is never written after loading (its data is
// written only by module code, one call at a time, which the registry
// serialises); everything else is `Sync`.
unsafe impl Send for LoadedImage {}
// SAFETY: as above.
unsafe impl Sync for LoadedImage {}

/// The budget of the entry point: a describing call, as quick as a
/// health check.
const ENTRY_KIND: CallKind = CallKind::Health;

/// Owner number for memory the kernel allocates while the entry point
/// runs (no module id exists yet): past every module's, so the kernel's.
const NO_MODULE: u32 = u32::MAX - 1;

impl LoadedImage {
    /// Maps `payload` as `plan` says, with an arena of at most
    /// `arena_limit` bytes, runs its entry point and checks the descriptor:
    /// magic, ABI major version, layout hash.
    pub fn load(plan: &Plan, payload: &[u8], arena_limit: u64) -> Result<Self, LoadError> {
        let image = Image::load(plan, payload)?;
        let host = Box::new(Host {
            image: (image.base(), image.len()),
            name: spin::Once::new(),
            arena: IrqMutex::new(Arena::new(arena_limit)?),
            handle: spin::Mutex::new(None),
            hardware: spin::Mutex::new(None),
            claims: spin::Mutex::new(Vec::new()),
        });
        let services = Box::new(super::services::table(&*host as *const Host as *const c_void));
        let entry_addr = image.entry();
        // SAFETY: `entry_addr` is the entry point of the image just mapped
        // (inside it, executable: checked by the plan and `Image::load`);
        // module binaries are built with the `Entry` signature by
        // `helix_abi::export_module!`. A binary that lies about it can only
        // fault, inside the contained call below.
        let entry: Entry = unsafe { core::mem::transmute::<u64, Entry>(entry_addr) };
        let services_ptr: *const Services = &*services;
        let mut out: *const Descriptor = core::ptr::null();
        let info = CallInfo {
            module_index: NO_MODULE,
            kind: ENTRY_KIND,
            budget_ns: crate::contain::budgets(&crate::bootinfo::cmdline())
                .0
                .for_call(ENTRY_KIND),
        };
        KernelContainment
            .run(&info, &mut || out = entry(services_ptr))
            .map_err(|f| LoadError::EntryFaulted(String::from(&f.report)))?;
        let descriptor = check(out, &host)?;
        Ok(LoadedImage {
            _services: services,
            host,
            descriptor,
            image,
        })
    }

    /// The descriptor the entry point returned.
    pub fn descriptor(&self) -> &Descriptor {
        &self.descriptor
    }

    /// The kernel state its services act for.
    pub fn host(&self) -> &Host {
        &self.host
    }

    /// Bytes the image maps.
    pub fn image_len(&self) -> u64 {
        self.image.len()
    }
}

impl Host {
    /// Whether the `len` bytes at `ptr` are the module's own memory (its
    /// image or its arena's mapped part).
    pub fn readable(&self, ptr: u64, len: u64) -> bool {
        inside(self.image, ptr, len) || self.arena.lock().contains(ptr, len)
    }
}

/// Whether `[ptr, ptr + len)` lies in `(base, size)`.
fn inside((base, size): (u64, u64), ptr: u64, len: u64) -> bool {
    ptr >= base && ptr.checked_add(len).is_some_and(|end| end <= base + size)
}

/// Reads the descriptor at `at` (which the module's code returned, so it
/// is checked to lie in the image or the module's arena before it is
/// read) and checks its magic, ABI major version and layout hash.
fn check(at: *const Descriptor, host: &Host) -> Result<Descriptor, LoadError> {
    let addr = at as u64;
    let len = core::mem::size_of::<Descriptor>() as u64;
    let aligned = addr.is_multiple_of(core::mem::align_of::<Descriptor>() as u64);
    if !aligned || !host.readable(addr, len) {
        return Err(LoadError::BadInfo("the entry point returned no descriptor"));
    }
    // SAFETY: `at` is aligned and lies in memory mapped for this module (its
    // image or its arena, checked above); reading it as bytes-to-struct
    // is sound for a `#[repr(C)]` type of integers and pointers, whatever
    // their values (function pointers are checked before use below).
    let d = unsafe { core::ptr::read_volatile(at) };
    if d.magic != helix_abi::MAGIC {
        return Err(LoadError::BadMagic(d.magic));
    }
    if d.abi_major != helix_abi::ABI_MAJOR {
        return Err(LoadError::AbiMajor {
            found: d.abi_major,
            expected: helix_abi::ABI_MAJOR,
        });
    }
    if d.layout_hash != helix_abi::LAYOUT_HASH {
        return Err(LoadError::LayoutHash {
            found: d.layout_hash,
            expected: helix_abi::LAYOUT_HASH,
        });
    }
    let ops = d.ops;
    let entries = [
        ops.create as u64,
        ops.destroy as u64,
        ops.init as u64,
        ops.start as u64,
        ops.stop as u64,
        ops.event as u64,
        ops.request as u64,
        ops.param_change as u64,
        ops.healthy as u64,
        ops.save_state as u64,
        ops.restore_state as u64,
    ];
    if !entries.iter().all(|&e| inside(host.image, e, 1)) {
        return Err(LoadError::BadInfo("an entry point lies outside the image"));
    }
    Ok(d)
}
