//! What to restore at boot: each loaded record is handed to its module's
//! `restore_state` only when that module is registered and its
//! `ModuleInfo::state_version` is the one the record was saved with;
//! otherwise it is skipped with the reason, and the module starts fresh.
//! Independent of the kernel: it is given the registry's view as
//! `(name, state_version)` pairs.

use crate::record::Record;
use alloc::collections::BTreeSet;
use alloc::vec::Vec;
use core::fmt;

/// Why a record is not restored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// No module of that name is registered.
    NotRegistered,
    /// The module reads another state format than the record's.
    VersionMismatch {
        /// The record's state version.
        saved: u32,
        /// The module's state version now.
        current: u32,
    },
    /// An earlier record already names the module.
    Duplicate,
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotRegistered => f.write_str("no such module"),
            Self::VersionMismatch { saved, current } => write!(
                f,
                "saved with state version {saved}, the module reads version {current}"
            ),
            Self::Duplicate => f.write_str("a second record for the module"),
        }
    }
}

/// What to do with one record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision<'r> {
    /// Hand `data` to the module's `restore_state`.
    Restore {
        /// The module.
        module: &'r str,
        /// The state format (equal to the module's).
        state_version: u32,
        /// The saved state.
        data: &'r [u8],
    },
    /// Leave the module alone.
    Skip {
        /// The module the record names.
        module: &'r str,
        /// Why.
        reason: SkipReason,
    },
}

impl Decision<'_> {
    /// The module the decision is about.
    pub fn module(&self) -> &str {
        match self {
            Self::Restore { module, .. } | Self::Skip { module, .. } => module,
        }
    }
}

impl fmt::Display for Decision<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Restore {
                module,
                state_version,
                data,
            } => write!(
                f,
                "{module}: restore {} bytes (state version {state_version})",
                data.len()
            ),
            Self::Skip { module, reason } => write!(f, "{module}: not restored: {reason}"),
        }
    }
}

/// One decision per record, in the records' order. `modules` lists the
/// registered modules with their current state versions; a name listed
/// twice counts with its first version.
///
/// ```
/// use helix_persist::{Record, policy::{Decision, SkipReason, plan_restore}};
/// let records = [Record { module: "event_log".into(), state_version: 1, data: vec![7] }];
/// let plan = plan_restore(&records, &[("event_log", 2)]);
/// assert_eq!(
///     plan[0],
///     Decision::Skip {
///         module: "event_log",
///         reason: SkipReason::VersionMismatch { saved: 1, current: 2 },
///     }
/// );
/// ```
pub fn plan_restore<'r>(records: &'r [Record], modules: &[(&str, u32)]) -> Vec<Decision<'r>> {
    let mut seen = BTreeSet::new();
    records
        .iter()
        .map(|r| {
            let module = r.module.as_str();
            let current = modules
                .iter()
                .find(|(name, _)| *name == module)
                .map(|m| m.1);
            let reason = if !seen.insert(module) {
                SkipReason::Duplicate
            } else {
                match current {
                    None => SkipReason::NotRegistered,
                    Some(current) if current != r.state_version => SkipReason::VersionMismatch {
                        saved: r.state_version,
                        current,
                    },
                    Some(_) => {
                        return Decision::Restore {
                            module,
                            state_version: r.state_version,
                            data: &r.data,
                        };
                    }
                }
            };
            Decision::Skip { module, reason }
        })
        .collect()
}
