//! The audit ring: a bounded record of privileged operations and their
//! outcomes (who, what, on which module, allowed or not, succeeded or not).
//!
//! The ring has a fixed capacity; when full, the oldest entry is dropped and
//! counted, so the kernel can tell the record is incomplete. Parameter
//! values never enter the ring, only keys.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt;

use crate::error::{ModuleError, Operation};

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

impl AuditOutcome {
    pub(crate) fn of<T>(result: &Result<T, ModuleError>) -> Self {
        match result {
            Ok(_) => AuditOutcome::Success,
            Err(ModuleError::PermissionDenied { .. } | ModuleError::SecurityRefused { .. }) => {
                AuditOutcome::Denied
            }
            Err(e) => AuditOutcome::Failed(e.clone()),
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

/// Fixed-capacity ring of [`AuditEntry`].
pub(crate) struct AuditRing {
    entries: VecDeque<AuditEntry>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

impl AuditRing {
    pub(crate) fn new(capacity: usize) -> Self {
        AuditRing {
            entries: VecDeque::with_capacity(capacity),
            capacity,
            next_seq: 0,
            dropped: 0,
        }
    }

    pub(crate) fn push(&mut self, mut entry: AuditEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.capacity == 0 {
            self.dropped += 1;
            return;
        }
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(entry);
    }

    pub(crate) fn snapshot(&self) -> Vec<AuditEntry> {
        self.entries.iter().cloned().collect()
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped
    }
}
