//! Parking a CPU: taking it out of service until it is asked back.
//!
//! A CPU asked to park ([`request`]) gives its running thread back to the
//! policy at its next timer tick, switches to its idle thread, and the idle
//! loop parks it: its timer masked, it halts with interrupts on until the
//! request is withdrawn ([`cancel`]) and an interrupt wakes it. This is
//! the mechanism; when a CPU goes offline, who is told, and how it is woken
//! (the wake-up IPI) is hotplug policy, in `smp`.

use crate::arch::x86_64::apic;
use core::sync::atomic::{AtomicU64, Ordering};

static REQUESTED: AtomicU64 = AtomicU64::new(0);
static PARKED: AtomicU64 = AtomicU64::new(0);

/// Asks CPU `cpu` to park at its next timer tick.
pub fn request(cpu: usize) {
    REQUESTED.fetch_or(1 << cpu, Ordering::AcqRel);
}

/// Withdraws the request to park CPU `cpu`: once an interrupt wakes it, it
/// leaves its park loop and resumes its timer.
pub fn cancel(cpu: usize) {
    REQUESTED.fetch_and(!(1 << cpu), Ordering::AcqRel);
}

/// Whether CPU `cpu` has been asked to park.
pub fn is_requested(cpu: usize) -> bool {
    REQUESTED.load(Ordering::Acquire) & (1 << cpu) != 0
}

/// Whether CPU `cpu` is parked now (in its park loop).
pub fn is_parked(cpu: usize) -> bool {
    PARKED.load(Ordering::Acquire) & (1 << cpu) != 0
}

/// Parks the calling CPU (from its idle thread) until the request is
/// withdrawn.
pub(super) fn park_this_cpu(cpu: usize) {
    apic::mask_timer(true);
    PARKED.fetch_or(1 << cpu, Ordering::AcqRel);
    loop {
        x86_64::instructions::interrupts::disable();
        if !is_requested(cpu) {
            break;
        }
        x86_64::instructions::interrupts::enable_and_hlt();
    }
    apic::mask_timer(false);
    PARKED.fetch_and(!(1 << cpu), Ordering::AcqRel);
}
