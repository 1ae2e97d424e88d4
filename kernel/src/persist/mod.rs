//! The `persist` service: module state that survives a reboot, on the
//! disk behind the `block` capability (docs/architecture.md §10,
//! "Persistent module state").
//!
//! At boot, once every module runs, [`restore_at_boot`] opens the store
//! (`helix_persist::Store` over `block::IpcBlock`) and hands each record
//! to its module's `restore_state` when the module is flagged PERSISTENT
//! and still saves the same state format (`helix_persist::plan_restore`);
//! an empty disk is formatted. At shutdown, before modules stop,
//! [`save_all`] writes every PERSISTENT module's `save_state` (the console's
//! `persist save` does the same on demand). Whatever is wrong with the
//! disk (none, someone else's, corrupt, another format version) is a
//! warning: modules start fresh and say why, and a disk that is not ours
//! is never written. [`status`] is the console's `persist status`.

mod block;

use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;
use helix_modules::{Caller, Registry};
use helix_persist::policy::{Decision, plan_restore};
use helix_persist::{OpenError, Record, Store};

use block::IpcBlock;

/// What the last boot's restore did, for `persist status`.
static LAST_RESTORE: spin::Mutex<Vec<String>> = spin::Mutex::new(Vec::new());
/// Why the disk is not usable (set at boot; saves are refused then).
static UNUSABLE: spin::Mutex<Option<String>> = spin::Mutex::new(None);

/// Why `persist` could not do something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PersistError {
    /// No `block` provider with a disk.
    NoDisk,
    /// The disk is not usable (someone else's, another format version):
    /// it is never written.
    Unusable(String),
    /// Opening, saving or loading failed.
    Store(String),
}

impl core::fmt::Display for PersistError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoDisk => f.write_str("no disk: boot with one (scripts/run.sh --disk FILE)"),
            Self::Unusable(why) => write!(f, "the disk is not used: {why}"),
            Self::Store(why) => write!(f, "{why}"),
        }
    }
}

/// The store on the disk, formatting an empty one (never a foreign one).
fn open(r: &Registry) -> Result<Store<IpcBlock<'_>>, PersistError> {
    if let Some(why) = UNUSABLE.lock().clone() {
        return Err(PersistError::Unusable(why));
    }
    let dev = IpcBlock::open(r).map_err(|_| PersistError::NoDisk)?;
    match Store::open(dev) {
        Ok(store) => Ok(store),
        Err(OpenError::Empty) => {
            let dev = IpcBlock::open(r).map_err(|_| PersistError::NoDisk)?;
            Store::format(dev).map_err(|e| PersistError::Store(format!("formatting: {e}")))
        }
        Err(e) => Err(PersistError::Unusable(format!("{e}"))),
    }
}

/// Restores the PERSISTENT modules' state from the disk (see the module
/// docs); logs every decision. Never fails the boot.
pub fn restore_at_boot(r: &Registry) {
    let mut notes = Vec::new();
    match open(r) {
        Err(PersistError::NoDisk) => notes.push(String::from("no disk: nothing restored")),
        Err(e) => {
            if let PersistError::Unusable(why) = &e {
                *UNUSABLE.lock() = Some(why.clone());
            }
            log::warn!("persist: modules start fresh: {e}");
            notes.push(format!("modules start fresh: {e}"));
        }
        Ok(mut store) => match store.load() {
            Err(e) => {
                log::warn!("persist: modules start fresh: reading the disk: {e}");
                notes.push(format!("modules start fresh: reading the disk: {e}"));
            }
            Ok(loaded) => {
                for e in &loaded.errors {
                    log::warn!("persist: a record was skipped: {e}");
                    notes.push(format!("skipped: {e}"));
                }
                let modules = r.persistent();
                let names: Vec<(&str, u32)> =
                    modules.iter().map(|(n, v)| (n.as_str(), *v)).collect();
                for decision in plan_restore(&loaded.records, &names) {
                    let note = match decision {
                        Decision::Restore { module, data, .. } => {
                            match r.restore_state(Caller::Kernel, module, data) {
                                Ok(()) => format!("{decision}"),
                                Err(e) => format!("{module}: restore failed: {e}"),
                            }
                        }
                        Decision::Skip { .. } => format!("{decision}"),
                    };
                    log::info!("persist: {note}");
                    notes.push(note);
                }
            }
        },
    }
    *LAST_RESTORE.lock() = notes;
}

/// Writes every PERSISTENT module's state to the disk; returns how many
/// records were written.
pub fn save_all(r: &Registry) -> Result<usize, PersistError> {
    let mut store = open(r)?;
    let mut records = Vec::new();
    for (name, state_version) in r.persistent() {
        match r.save_state(Caller::Kernel, &name) {
            Ok(Some(data)) => records.push(Record {
                module: name,
                state_version,
                data,
            }),
            Ok(None) => {}
            Err(e) => log::warn!("persist: {name} gave no state: {e}"),
        }
    }
    store
        .save(&records)
        .map_err(|e| PersistError::Store(format!("saving: {e}")))?;
    Ok(records.len())
}

/// The console's `persist status`: the store and what the boot restored.
pub fn status(r: &Registry) -> String {
    let mut out = String::new();
    match open(r) {
        Ok(store) => {
            let s = store.status();
            let _ = writeln!(
                out,
                "disk: generation {}, {} records, {} of {} bytes used",
                s.generation, s.records, s.bytes_used, s.capacity
            );
        }
        Err(e) => {
            let _ = writeln!(out, "disk: {e}");
        }
    }
    let modules = r.persistent();
    let _ = writeln!(
        out,
        "persistent modules: {}",
        if modules.is_empty() {
            String::from("-")
        } else {
            modules
                .iter()
                .map(|(n, v)| format!("{n} (state version {v})"))
                .collect::<Vec<_>>()
                .join(", ")
        }
    );
    for note in LAST_RESTORE.lock().iter() {
        let _ = writeln!(out, "at boot: {note}");
    }
    out.trim_end().into()
}
