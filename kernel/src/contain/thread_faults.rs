//! Faults no caller waits for: a panic or CPU exception in a module's own
//! thread (reported by the thread layer's hook) or in its interrupt
//! handler (by the interrupt dispatch). They are queued, without
//! allocating, from the panic handler or interrupt context, and the events
//! thread fails the module at its next tick ([`report_thread_faults`]);
//! the supervisor then restarts it.

use helix_modules::FaultReport;
use helix_modules::contain::{CallKind, Fault};

use super::{REPORT_CAPACITY, classify};
use crate::arch::x86_64::cpu;
use core::fmt::Write;

/// A fault in a module's own thread, waiting to be reported to the
/// registry: owner and report, fixed-size because they are written from
/// the panic handler.
struct ThreadFault {
    owner: heapless::String<64>,
    report: heapless::String<REPORT_CAPACITY>,
    /// A thread of its own, or its interrupt handler.
    kind: CallKind,
}

/// Faults in module threads not yet reported (a few at most: the module is
/// failed at the next supervision tick, which ends its other threads).
static THREAD_FAULTS: spin::Mutex<heapless::Vec<ThreadFault, 8>> =
    spin::Mutex::new(heapless::Vec::new());

type Faults = heapless::Vec<ThreadFault, 8>;

/// Queues a fault of `owner` unless one is waiting already (one fails the
/// module); `report` writes its text. Dropped only if eight other modules
/// have faults waiting.
fn push(faults: &mut Faults, owner: &str, kind: CallKind, report: impl FnOnce(&mut ThreadFault)) {
    if faults.iter().any(|f| f.owner == owner) {
        return;
    }
    let mut f = ThreadFault {
        owner: heapless::String::new(),
        report: heapless::String::new(),
        kind,
    };
    let _ = f.owner.push_str(owner);
    report(&mut f);
    let _ = faults.push(f);
}

pub(super) fn on_owned_thread_fault(owner: &str, info: &core::panic::PanicInfo<'_>) {
    // The panicking code may hold this lock only if it panicked inside
    // `report_thread_faults`, which does not panic; never wait for it.
    let Some(mut faults) = THREAD_FAULTS.try_lock() else {
        return;
    };
    push(&mut faults, owner, CallKind::Thread, |f| {
        let _ = write!(f.report, "{}", info.message());
        if let Some(l) = info.location() {
            let _ = write!(f.report, " at {}:{}", l.file(), l.line());
        }
    });
}

/// Fails the modules whose threads faulted since the last call (the events
/// thread calls this on every tick, before supervision, which then restarts
/// them). A module that is in a call right now is reported at a later tick.
pub fn report_thread_faults(registry: &helix_modules::Registry) {
    // Moved out one by one onto the heap: the whole queue is several KiB,
    // too much to hold on the events thread's stack.
    let pending = cpu::without_interrupts(|| {
        let mut faults = THREAD_FAULTS.lock();
        let mut pending = alloc::vec::Vec::with_capacity(faults.len());
        while let Some(f) = faults.pop() {
            pending.push(f);
        }
        pending
    });
    let mut later = alloc::vec::Vec::new();
    for f in pending {
        let fault = Fault::new(classify(f.report.as_str()), f.report.as_str());
        match registry.report_fault(f.owner.as_str(), f.kind, fault) {
            Ok(FaultReport::Failed) => log::error!(
                "module {} failed: {} faulted: {}",
                f.owner,
                f.kind.name(),
                f.report
            ),
            // In a call right now: try again at the next tick.
            Ok(FaultReport::Busy) => later.push(f),
            Ok(FaultReport::NotRunning) | Err(_) => {}
        }
    }
    if !later.is_empty() {
        cpu::without_interrupts(|| {
            let mut faults = THREAD_FAULTS.lock();
            for f in later {
                let _ = faults.push(f);
            }
        });
    }
}

/// Queues a fault of `owner`'s interrupt handler for the events thread,
/// which fails the driver (and the supervisor restarts it).
pub fn queue_irq_fault(owner: &str, fault: &Fault) {
    queue_fault(owner, CallKind::Irq, fault.report.as_str());
}

/// Queues a fault of `owner`'s interrupt handler. Waits for the lock
/// rather than dropping the fault: the line or entry is masked already, so
/// no second fault would come to queue it again, and every holder of the
/// lock runs with interrupts off, so only another CPU's short hold is
/// waited for.
fn queue_fault(owner: &str, kind: CallKind, report: &str) {
    let mut faults = THREAD_FAULTS.lock();
    push(&mut faults, owner, kind, |f| {
        let _ = f.report.push_str(report);
    });
}
