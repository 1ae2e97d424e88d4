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
        let services = Box::new(super::services::table(
            &*host as *const Host as *const c_void,
        ));
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
    /// Whether the kernel may read the `len` bytes at `ptr` that module
    /// code handed it: the module's image, its arena's mapped part, or the
    /// stack of the thread running the call (module code keeps locals
    /// there; it is mapped for as long as the call lasts).
    pub fn readable(&self, ptr: u64, len: u64) -> bool {
        inside(self.image, ptr, len)
            || self.arena.lock().contains(ptr, len)
            || crate::thread::current_stack()
                .is_some_and(|s| inside((s.start, s.end - s.start), ptr, len))
    }
}

/// Whether `[ptr, ptr + len)` lies in `(base, size)`.
fn inside((base, size): (u64, u64), ptr: u64, len: u64) -> bool {
    ptr >= base && ptr.checked_add(len).is_some_and(|end| end <= base + size)
}

/// Checks a binary's magic, ABI major version and layout hash against the
/// kernel's (from its ABI note before mapping, from its descriptor after
/// the entry point ran).
pub fn check_stamp(magic: u64, abi_major: u16, layout_hash: u64) -> Result<(), LoadError> {
    if magic != helix_abi::MAGIC {
        return Err(LoadError::BadMagic(magic));
    }
    if abi_major != helix_abi::ABI_MAJOR {
        return Err(LoadError::AbiMajor {
            found: abi_major,
            expected: helix_abi::ABI_MAJOR,
        });
    }
    if layout_hash != helix_abi::LAYOUT_HASH {
        return Err(LoadError::LayoutHash {
            found: layout_hash,
            expected: helix_abi::LAYOUT_HASH,
        });
    }
    Ok(())
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
    // The header fields first, as plain integers: any bits are valid.
    let header = at.cast::<u64>();
    // SAFETY: `at` is aligned and its `size_of::<Descriptor>()` bytes lie in
    // memory mapped for this module (its image or arena, checked above);
    // `magic` is the first `u64`, the ABI versions the next, the layout hash
    // the third (the `#[repr(C)]` layout the layout hash fixes).
    let (magic, versions, layout_hash) = unsafe {
        (
            header.read_volatile(),
            header.add(1).read_volatile(),
            header.add(2).read_volatile(),
        )
    };
    check_stamp(magic, versions as u16, layout_hash)?;
    // The entry points as addresses before they are read as function
    // pointers (a null or stray one must never become one).
    const OPS: usize = core::mem::size_of::<helix_abi::Ops>() / 8;
    let ops_at = (addr + core::mem::offset_of!(Descriptor, ops) as u64) as *const [u64; OPS];
    // SAFETY: inside the checked descriptor, aligned (`Ops` holds only
    // pointers); plain integers.
    let entries = unsafe { ops_at.read_volatile() };
    if !entries.iter().all(|&e| inside(host.image, e, 1)) {
        return Err(LoadError::BadInfo("an entry point lies outside the image"));
    }
    // SAFETY: every field is now valid for its type: integers and raw
    // pointers take any bits, and each function pointer is a non-null
    // address inside the image's code (its signature is the one the ABI
    // version and layout hash just checked promise).
    let d = unsafe { core::ptr::read_volatile(at) };
    Ok(d)
}
