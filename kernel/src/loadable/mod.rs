//! Loadable modules: module binaries built on their own
//! (`scripts/build-module`), read from the initrd through the `fs`
//! capability, and inserted, removed and upgraded in the running kernel.
//!
//! [`insmod`] reads the file, asks the running SECURITY module (if any) to
//! authorise it (`module_sig` checks the signature), splits off the
//! signature trailer, validates the ELF file completely
//! (`helix_loader::elf::plan`) and its ABI note (magic, ABI major version,
//! layout hash: `helix_abi::note`), and only then maps it (W^X, relocated, in a
//! slot of its own, with an arena for its heap: `host`). The entry point
//! runs contained and returns the descriptor, whose magic, ABI version and
//! layout hash are checked before any other module code runs; the module's
//! information becomes registry metadata (`describe`) and the module one
//! more [`Module`](helix_modules::Module) of the registry (`module`):
//! lifecycle, dependencies, events, IPC, permissions, supervision and
//! metrics apply unchanged. [`rmmod`] stops and unloads it (refused like a
//! stop when others need it or it is essential) and frees its image and
//! arena. [`upgrade`] replaces a running module by a new binary through the
//! registry's reload: state handed over, and the old one kept running if
//! anything fails. Every failure is a [`LoadError`]; the kernel goes on.

mod describe;
mod error;
mod host;
mod intern;
mod module;
mod services;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::v2::Version;
use helix_modules::{Caller, ModuleMetadata, Operation, Registry};

pub use error::LoadError;
use host::LoadedImage;
use module::LoadedModule;

/// The arena limit of a module that sets none of its own.
pub const DEFAULT_ARENA_LIMIT: u64 = 4 << 20;

/// What the kernel knows of one loaded module, for `lsmod` and `modinfo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadedInfo {
    /// The module's name.
    pub name: String,
    /// The file it was loaded from.
    pub file: String,
    /// Bytes its image maps.
    pub image_bytes: u64,
    /// Bytes of its arena in use.
    pub arena_used: u64,
    /// Bytes of its arena mapped.
    pub arena_mapped: u64,
    /// Its arena's limit.
    pub arena_limit: u64,
    /// The ABI version it was built for.
    pub abi: (u16, u16),
    /// The layout hash it was built with.
    pub layout_hash: u64,
    /// What the SECURITY module said about it (`None`: none was running).
    pub verdict: Option<String>,
}

struct Entry {
    name: String,
    file: String,
    image: Arc<LoadedImage>,
    verdict: Option<String>,
}

/// Modules loaded from binaries, in load order.
static LOADED: spin::Mutex<Vec<Entry>> = spin::Mutex::new(Vec::new());

fn info_of(e: &Entry) -> LoadedInfo {
    let d = e.image.descriptor();
    let arena = e.image.host().arena.lock();
    LoadedInfo {
        name: e.name.clone(),
        file: e.file.clone(),
        image_bytes: e.image.image_len(),
        arena_used: arena.used(),
        arena_mapped: arena.mapped(),
        arena_limit: arena.limit(),
        abi: (d.abi_major, d.abi_minor),
        layout_hash: d.layout_hash,
        verdict: e.verdict.clone(),
    }
}

/// The loaded module called `name`, if it was loaded from a binary.
pub fn info(name: &str) -> Option<LoadedInfo> {
    LOADED.lock().iter().find(|e| e.name == name).map(info_of)
}

/// The path a module file is read from: `NAME` as given if it has a `/`
/// or a `.`, else `modules/NAME.hxm` (where `scripts/run.sh -m` puts it).
pub fn path_of(file: &str) -> String {
    if file.contains('/') || file.contains('.') {
        String::from(file)
    } else {
        format!("modules/{file}.hxm")
    }
}

/// A binary read, authorised, validated, mapped and described: a module
/// ready to register.
struct Prepared {
    image: Arc<LoadedImage>,
    meta: ModuleMetadata,
    state_version: u32,
    /// The PCI devices it drives (its descriptor's table, interned).
    pci_ids: &'static [helix_modules::services::pci::DeviceId],
    verdict: Option<String>,
    file: String,
}

fn prepare(
    registry: &Registry,
    caller: Caller,
    op: Operation,
    file: &str,
) -> Result<Prepared, LoadError> {
    let path = path_of(file);
    let bytes =
        crate::fs::read_file(registry, Caller::Kernel, &path).map_err(|e| LoadError::File {
            path: path.clone(),
            reason: format!("{e}"),
        })?;
    let verdict = registry
        .authorize(caller, op, &path, &bytes)
        .map_err(LoadError::Refused)?;
    let (payload, _trailer) =
        helix_loader::sig::split(&bytes).map_err(|e| LoadError::Signature(format!("{e}")))?;
    let plan = helix_loader::elf::plan(payload)?;
    check_stamp(payload)?;
    let image = LoadedImage::load(&plan, payload, DEFAULT_ARENA_LIMIT)?;
    let (meta, state_version, limit) = describe::metadata(image.host(), &image.descriptor().info)?;
    if let Some(limit) = limit {
        image.host().arena.lock().set_limit(limit);
    }
    let name = intern::text(&meta.name)
        .ok_or(LoadError::BadInfo("the kernel keeps no more module texts"))?;
    image.host().name.call_once(|| name);
    let pci_ids = describe::pci_ids(image.host(), &image.descriptor().info)?;
    Ok(Prepared {
        image: Arc::new(image),
        meta,
        state_version,
        pci_ids,
        verdict,
        file: path,
    })
}

/// Checks the binary's ABI note (`helix_abi::note`) against the kernel's
/// interface, before anything is mapped.
fn check_stamp(payload: &[u8]) -> Result<(), LoadError> {
    use helix_abi::note::{NOTE_NAME, NOTE_TYPE};
    let stamp = helix_loader::elf::find_note(payload, NOTE_NAME, NOTE_TYPE)
        .and_then(helix_abi::AbiStamp::parse)
        .ok_or(LoadError::NoAbiNote)?;
    host::check_stamp(stamp.magic, stamp.abi_major, stamp.layout_hash)
}

/// Inserts the module in `file` (see [`path_of`]) with parameters
/// `params` (`key=value`), and starts it; returns its name and version.
/// On any failure nothing stays: the module is unloaded and its image freed.
pub fn insmod(
    registry: &Registry,
    caller: Caller,
    file: &str,
    params: &[(&str, &str)],
) -> Result<(String, Version), LoadError> {
    let p = prepare(registry, caller, Operation::Load, file)?;
    let name = p.meta.name.clone();
    let version = p.meta.version;
    let module = LoadedModule::new(p.image.clone(), p.meta, p.state_version, p.pci_ids);
    registry.register(Box::new(module))?;
    let started = registry
        .preset_params(caller, &name, params)
        .and_then(|()| registry.init(caller, &name))
        .and_then(|()| registry.start(caller, &name));
    if let Err(e) = started {
        // Unregistering drops the instance; the image goes with `p`.
        let _ = registry.unload(Caller::Kernel, &name);
        return Err(LoadError::Registry(e));
    }
    LOADED.lock().push(Entry {
        name: name.clone(),
        file: p.file,
        image: p.image,
        verdict: p.verdict,
    });
    log::info!("inserted module {name} {version}");
    Ok((name, version))
}

/// Stops and removes the loaded module `name`, freeing its image and
/// arena. Refused for built-in modules, and, as a stop is, for a module
/// others need or an essential one.
pub fn rmmod(registry: &Registry, caller: Caller, name: &str) -> Result<(), LoadError> {
    if !LOADED.lock().iter().any(|e| e.name == name) {
        return Err(LoadError::NotLoaded(String::from(name)));
    }
    if registry.status(name)?.state == helix_modules::ModuleState::Running {
        registry.stop(caller, name)?;
    }
    registry.unload(caller, name)?;
    // The registry dropped the last instance; the image and arena go now.
    let entry = {
        let mut loaded = LOADED.lock();
        let at = loaded.iter().position(|e| e.name == name);
        at.map(|i| loaded.remove(i))
    };
    drop(entry);
    log::info!("removed module {name}");
    Ok(())
}

/// Replaces the running module `name` (loaded or built in, if it is
/// HOT_RELOADABLE) by the binary in `file`: old `save_state`, new `init`
/// and `restore_state`, old `stop`, new `start` (the registry's reload).
/// If anything fails the old one keeps running and the new image is freed.
/// Returns the old and new versions.
pub fn upgrade(
    registry: &Registry,
    caller: Caller,
    name: &str,
    file: &str,
) -> Result<(Version, Version), LoadError> {
    let old = registry.status(name)?.version;
    let p = prepare(registry, caller, Operation::Reload, file)?;
    let new = p.meta.version;
    let module = LoadedModule::new(p.image.clone(), p.meta, p.state_version, p.pci_ids);
    registry.reload(caller, name, Box::new(module))?;
    let replaced = {
        let mut loaded = LOADED.lock();
        let at = loaded.iter().position(|e| e.name == name);
        let old = at.map(|i| loaded.remove(i));
        loaded.push(Entry {
            name: String::from(name),
            file: p.file,
            image: p.image,
            verdict: p.verdict,
        });
        old
    };
    // The old instance is gone (the reload dropped it): its image too.
    drop(replaced);
    log::info!("upgraded module {name} {old} -> {new}");
    Ok((old, new))
}
