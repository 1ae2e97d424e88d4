//! Heap use per owner: every heap block is charged to whoever was running
//! when it was allocated (a module's contained call or one of its threads;
//! owner 0 is the kernel), so the console can show what each module uses
//! and a module can be held to a limit.
//!
//! The owner is the per-CPU charge word (`arch::x86_64::percpu::charge`),
//! which the containment layer sets for the length of each call into a
//! module and the thread layer moves with its thread; the heap records it
//! in each block's header and gives the bytes back to the same owner when
//! the block is freed, whoever frees it. Owners are small numbers (the
//! registry's module id plus one); anything past [`OWNERS`] is counted as
//! the kernel's.

use core::sync::atomic::{AtomicU64, Ordering};

/// Owners tracked (the kernel and 255 modules).
pub const OWNERS: usize = 256;

/// No limit.
pub const UNLIMITED: u64 = u64::MAX;

struct Counters {
    in_use: AtomicU64,
    peak: AtomicU64,
    failures: AtomicU64,
    limit: AtomicU64,
}

static TABLE: [Counters; OWNERS] = [const {
    Counters {
        in_use: AtomicU64::new(0),
        peak: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        limit: AtomicU64::new(UNLIMITED),
    }
}; OWNERS];

/// One owner's heap use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    /// Bytes in blocks it allocated and nobody freed yet.
    pub in_use: u64,
    /// The highest `in_use` seen.
    pub peak: u64,
    /// Allocations refused because of its limit (or an exhausted heap).
    pub failures: u64,
    /// Its limit in bytes ([`UNLIMITED`] for none).
    pub limit: u64,
}

fn slot(owner: u32) -> &'static Counters {
    let i = owner as usize;
    &TABLE[if i < OWNERS { i } else { 0 }]
}

/// Charges `bytes` to `owner`; `false` (and nothing charged, a failure
/// counted) if that would pass its limit and `limited` (the kernel's own
/// work on the owner's behalf is charged but not limited).
pub fn charge(owner: u32, bytes: u64, limited: bool) -> bool {
    let c = slot(owner);
    let limit = if limited {
        c.limit.load(Ordering::Relaxed)
    } else {
        UNLIMITED
    };
    let mut now = c.in_use.load(Ordering::Relaxed);
    loop {
        let next = now.saturating_add(bytes);
        if next > limit {
            c.failures.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        match c
            .in_use
            .compare_exchange_weak(now, next, Ordering::Relaxed, Ordering::Relaxed)
        {
            Ok(_) => {
                c.peak.fetch_max(next, Ordering::Relaxed);
                return true;
            }
            Err(seen) => now = seen,
        }
    }
}

/// Gives `bytes` back to `owner` (a block it was charged for was freed).
pub fn uncharge(owner: u32, bytes: u64) {
    let c = slot(owner);
    let _ = c
        .in_use
        .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
            Some(n.saturating_sub(bytes))
        });
}

/// Counts an allocation of `owner` that failed for lack of heap.
pub fn count_failure(owner: u32) {
    slot(owner).failures.fetch_add(1, Ordering::Relaxed);
}

/// Sets `owner`'s limit in bytes ([`UNLIMITED`] for none). Owners past
/// [`OWNERS`] share the kernel's counters and cannot be limited (setting
/// one would limit the kernel): `false` then.
pub fn set_limit(owner: u32, bytes: u64) -> bool {
    if owner as usize >= OWNERS {
        return false;
    }
    slot(owner).limit.store(bytes, Ordering::Relaxed);
    true
}

/// `owner`'s heap use.
pub fn usage(owner: u32) -> Usage {
    let c = slot(owner);
    Usage {
        in_use: c.in_use.load(Ordering::Relaxed),
        peak: c.peak.load(Ordering::Relaxed),
        failures: c.failures.load(Ordering::Relaxed),
        limit: c.limit.load(Ordering::Relaxed),
    }
}
