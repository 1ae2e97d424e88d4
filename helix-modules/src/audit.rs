//! The audit ring: a bounded record of privileged operations and their
//! outcomes (who, what, on which module, allowed or not, succeeded or not).
//!
//! The ring has a fixed capacity; when full, the oldest entry is dropped and
//! counted, so the kernel can tell the record is incomplete. Parameter
//! values never enter the ring, only keys.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{ModuleError, Operation};
use crate::name::ModuleName;

/// How an audited operation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuditOutcome {
    /// Allowed and completed.
    Success,
    /// Refused by the permission check or by the SECURITY module.
    Denied,
    /// Allowed, then failed with this error.
    Failed(ModuleError),
}

/// [`AuditOutcome`] as the ring keeps it: the rare error boxed, so that a
/// record stays small to write and to overwrite.
#[derive(Clone)]
pub(crate) enum Outcome {
    Success,
    Denied,
    Failed(alloc::boxed::Box<ModuleError>),
}

impl Outcome {
    pub(crate) fn of<T>(result: &Result<T, ModuleError>) -> Self {
        match result {
            Ok(_) => Outcome::Success,
            Err(ModuleError::PermissionDenied { .. } | ModuleError::SecurityRefused { .. }) => {
                Outcome::Denied
            }
            Err(e) => Outcome::Failed(alloc::boxed::Box::new(e.clone())),
        }
    }

    fn spelled_out(&self) -> AuditOutcome {
        match self {
            Outcome::Success => AuditOutcome::Success,
            Outcome::Denied => AuditOutcome::Denied,
            Outcome::Failed(e) => AuditOutcome::Failed((**e).clone()),
        }
    }
}

/// One audited operation.
///
/// ```
/// use helix_modules::{AuditOutcome, Caller, Operation, Registry};
/// let r = Registry::new();
/// let _ = r.stop(Caller::Kernel, "nothing");
/// let log = r.audit_log(Caller::Kernel).unwrap();
/// assert_eq!(log[0].op, Operation::Stop);
/// assert!(matches!(log[0].outcome, AuditOutcome::Failed(_)));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number, increasing from 0 for the registry's lifetime.
    pub seq: u64,
    /// The registry clock when the operation ended.
    pub time: u64,
    /// `kernel` or the calling module's name.
    pub caller: String,
    /// The operation.
    pub op: Operation,
    /// The module operated on (or the name asked for).
    pub target: String,
    /// Extra detail, e.g. the parameter key for set-param.
    pub detail: Option<String>,
    /// How it ended.
    pub outcome: AuditOutcome,
}

impl fmt::Display for AuditEntry {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "#{} t={} {} {} {}",
            self.seq, self.time, self.caller, self.op, self.target
        )?;
        if let Some(d) = &self.detail {
            write!(f, " ({d})")?;
        }
        match &self.outcome {
            AuditOutcome::Success => f.write_str(": ok"),
            AuditOutcome::Denied => f.write_str(": denied"),
            AuditOutcome::Failed(e) => write!(f, ": failed: {e}"),
        }
    }
}

/// One audited operation as the ring keeps it: names are shared copies
/// (the kernel, which calls most, is no name at all), so recording an
/// operation on a registered module allocates nothing. Spelled out as an
/// [`AuditEntry`] when the log is read.
pub(crate) struct AuditRecord {
    pub(crate) time: u64,
    /// `None`: the kernel.
    pub(crate) caller: Option<ModuleName>,
    pub(crate) op: Operation,
    pub(crate) target: ModuleName,
    pub(crate) detail: Option<String>,
    pub(crate) outcome: Outcome,
}

/// Fixed-capacity ring of [`AuditRecord`]s. Once full, each new record
/// overwrites the oldest in place; record `seq` lives at `seq % capacity`.
pub(crate) struct AuditRing {
    entries: Vec<AuditRecord>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

impl AuditRing {
    pub(crate) fn new(capacity: usize) -> Self {
        AuditRing {
            entries: Vec::with_capacity(capacity),
            capacity,
            next_seq: 0,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, record: AuditRecord) {
        let seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() < self.capacity {
            self.entries.push(record);
            return;
        }
        self.dropped += 1;
        let slot = self.slot_of(seq);
        if let Some(oldest) = self.entries.get_mut(slot) {
            *oldest = record;
        }
    }

    fn slot_of(&self, seq: u64) -> usize {
        (seq % self.capacity.max(1) as u64) as usize
    }

    pub(crate) fn snapshot(&self) -> Vec<AuditEntry> {
        let first = self.next_seq - self.entries.len() as u64;
        (first..self.next_seq)
            .filter_map(|seq| Some((seq, self.entries.get(self.slot_of(seq))?)))
            .map(|(seq, r)| AuditEntry {
                seq,
                time: r.time,
                caller: r
                    .caller
                    .as_ref()
                    .map_or_else(|| String::from("kernel"), String::from),
                op: r.op,
                target: String::from(&r.target),
                detail: r.detail.clone(),
                outcome: r.outcome.spelled_out(),
            })
            .collect()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
