//! Locks for state that a module shares with the kernel's interrupt path.
//!
//! A module's handlers run in thread context with interrupts enabled. If
//! such a handler holds a plain spin lock and the timer interrupt on the
//! same CPU calls into the module's service (the scheduler's `tick`), the
//! interrupt spins on a lock its own CPU holds: a deadlock. [`IrqMutex`]
//! masks interrupts on the local CPU for as long as it is held. This crate
//! knows nothing of CPUs, so the kernel installs the two operations with
//! [`set_interrupt_control`] at boot; on the host (tests, benchmarks) they
//! are no-ops.

use core::ops::{Deref, DerefMut};
use spin::{Mutex, MutexGuard, Once};

/// Disables interrupts on the calling CPU and says whether they were on.
pub type DisableFn = fn() -> bool;
/// Re-enables interrupts on the calling CPU if the argument is true.
pub type RestoreFn = fn(bool);

static CONTROL: Once<(DisableFn, RestoreFn)> = Once::new();

/// Installs the kernel's interrupt masking. The first call wins; later
/// ones are ignored (the kernel has one way to do it).
pub fn set_interrupt_control(disable: DisableFn, restore: RestoreFn) {
    CONTROL.call_once(|| (disable, restore));
}

fn disable() -> bool {
    CONTROL.get().is_some_and(|(d, _)| d())
}

fn restore(were_enabled: bool) {
    if let Some((_, r)) = CONTROL.get() {
        r(were_enabled);
    }
}

/// A spin lock that keeps interrupts masked on the holding CPU.
///
/// ```
/// use helix_modules::sync::IrqMutex;
/// let counter = IrqMutex::new(0u64);
/// *counter.lock() += 1;
/// assert_eq!(*counter.lock(), 1);
/// ```
pub struct IrqMutex<T> {
    inner: Mutex<T>,
}

impl<T> IrqMutex<T> {
    /// A lock around `value`.
    pub const fn new(value: T) -> Self {
        Self {
            inner: Mutex::new(value),
        }
    }

    /// Masks interrupts on this CPU, then takes the lock.
    pub fn lock(&self) -> IrqMutexGuard<'_, T> {
        let were_enabled = disable();
        IrqMutexGuard {
            guard: Some(self.inner.lock()),
            were_enabled,
        }
    }
}

/// Access to the data of an [`IrqMutex`]; unlocks, then restores the
/// interrupt state, when dropped.
pub struct IrqMutexGuard<'a, T> {
    guard: Option<MutexGuard<'a, T>>,
    were_enabled: bool,
}

impl<T> Deref for IrqMutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.guard
            .as_deref()
            .unwrap_or_else(|| unreachable!("guard is only taken in drop"))
    }
}

impl<T> DerefMut for IrqMutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.guard
            .as_deref_mut()
            .unwrap_or_else(|| unreachable!("guard is only taken in drop"))
    }
}

impl<T> Drop for IrqMutexGuard<'_, T> {
    fn drop(&mut self) {
        drop(self.guard.take());
        restore(self.were_enabled);
    }
}
