//! The boot sequence once the kernel runs `main`: CPUs, modules, threads,
//! events, one named step each.
//!
//! [`run`] is the whole of it, in order:
//!
//! 0. [`pci::init`]: PCI enumeration, before the APs (it changes the
//!    caching of the ECAM window and flushes only this CPU's TLB);
//! 1. [`start_cpus`]: the application processors the ACPI MADT lists;
//! 2. [`modules::load`]: the registry, every module of
//!    [`MODULES`](modules::MODULES) registered (none started);
//! 3. [`modules::start_scheduler`]: the one SCHEDULER module;
//! 4. [`start_threads`]: the thread layer on that module's policy, the
//!    boot context becoming the `main` thread;
//! 5. [`modules::start_others`]: every other module, in dependency order;
//! 6. [`smp::announce_online_cpus`]: a `CpuHotplug` per AP, now that
//!    every module can hear it;
//! 7. [`start_events`]: the events thread (Tick, memory pressure,
//!    supervision), with its hooks in the clock and the allocator;
//! 8. [`check_essentials`]: an ESSENTIAL module that failed fails the boot.
//!
//! The kernel binary's `main` calls it, and so do test kernels (through
//! `testing::up`) and benchmarks that need modules and threads. It is
//! idempotent: a later call returns the same registry. Once the module
//! table is printed, [`mark_complete`] releases whoever waits for the end
//! of the boot (the console).

use crate::{events, modules, pci, smp, thread};
use alloc::string::String;
use helix_modules::{ModuleFlags, ModuleState, Registry};

/// Why the boot could not bring modules and threads up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// No running module provides the scheduler service.
    NoScheduler,
    /// The thread subsystem refused to start.
    Threads(thread::ThreadError),
    /// An ESSENTIAL module failed at boot (its init or start returned an
    /// error or faulted): there is nothing to fall back to.
    EssentialFailed {
        /// The module.
        module: String,
        /// Why it failed.
        reason: String,
    },
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoScheduler => f.write_str(
                "no running module is flagged SCHEDULER and provides \"scheduler\": the kernel cannot run threads",
            ),
            Self::Threads(e) => write!(f, "cannot start threads: {e}"),
            Self::EssentialFailed { module, reason } => write!(
                f,
                "essential module {module} failed at boot ({reason}); the kernel cannot run without it"
            ),
        }
    }
}

/// Runs the boot sequence (see the module docs). Idempotent: once threads
/// run, later calls return the same registry at once.
pub fn run() -> Result<&'static Registry, StartError> {
    let r = match modules::registry() {
        Some(r) => r,
        None => {
            pci::init();
            start_cpus();
            modules::load()
        }
    };
    if thread::is_running() {
        return Ok(r);
    }
    modules::start_scheduler(r);
    if let Err(e) = start_threads(r) {
        if e == StartError::NoScheduler {
            // Start the rest anyway, so the module table shows their state.
            modules::start_others(r);
        }
        return Err(e);
    }
    modules::start_others(r);
    // Every module runs: the kernel's randomness is seeded from the
    // entropy device, and the PERSISTENT modules get their state back.
    crate::random::seed_at_boot(r);
    crate::persist::restore_at_boot(r);
    // After every module started, so each of them hears of every CPU.
    smp::announce_online_cpus(r);
    start_events(r)?;
    check_essentials(r)?;
    Ok(r)
}

/// Starts the application processors and logs how many CPUs are online.
pub fn start_cpus() {
    let aps = smp::start_aps();
    log::info!("{} CPU{} online", aps + 1, if aps == 0 { "" } else { "s" });
}

/// Starts the thread layer on the policy of the running SCHEDULER module
/// ([`StartError::NoScheduler`] if none runs).
pub fn start_threads(r: &Registry) -> Result<(), StartError> {
    let sched = r.scheduler().ok_or(StartError::NoScheduler)?;
    let name = sched.name();
    thread::start(sched).map_err(StartError::Threads)?;
    log::info!("threads scheduled by module {name}");
    Ok(())
}

/// Starts the events thread for `r`.
pub fn start_events(r: &'static Registry) -> Result<(), StartError> {
    events::start(r).map_err(StartError::Threads)
}

/// Fails the boot if an ESSENTIAL module did not come up: a non-essential
/// module that fails (returns an error or faults in init or start) fails
/// alone, but an essential one has nothing to fall back to.
pub fn check_essentials(r: &Registry) -> Result<(), StartError> {
    for m in r.list() {
        if m.flags.contains(ModuleFlags::ESSENTIAL) && m.state == ModuleState::Failed {
            return Err(StartError::EssentialFailed {
                reason: m.last_error.map_or_else(
                    || String::from("no reason recorded"),
                    |e| alloc::format!("{e}"),
                ),
                module: m.name,
            });
        }
    }
    Ok(())
}

/// Declares the boot finished (every module started, the table printed):
/// releases whoever waits in [`modules::wait_for_boot`].
pub fn mark_complete() {
    modules::mark_boot_complete();
}
