//! Loading modules at boot: the one place that lists them.
//!
//! [`load`] builds the kernel's single [`Registry`] with the kernel command
//! line (for `module.key=value` parameters) and the TSC as the clock for
//! handler timings, registers every module in [`register_all`] and starts
//! them in dependency order; [`print_table`] shows the lsmod-style table. A module that fails
//! is shown Failed with its reason; its dependents are skipped with theirs;
//! everything else runs.

use crate::arch::x86_64::cpu;
use crate::kprintln;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::sync::Arc;
use alloc::vec::Vec;
use helix_modules::services::scheduler::Scheduler;
use helix_modules::v2::ModuleAdapter;
use helix_modules::{Caller, Module, ModuleError, ModuleFlags, ModuleStatus, Registry};

use spin::Once;

static REGISTRY: Once<Registry> = Once::new();

/// Makes a fresh instance of a module.
pub type Factory = fn() -> Box<dyn Module>;

/// Every module the kernel ships, one line each: its name and how to make
/// a fresh instance (used at boot, and by hot reload). Adding a module
/// means adding its line here and its crate to `kernel/Cargo.toml`.
pub const MODULES: &[(&str, Factory)] = &[
    ("round_robin", || {
        Box::new(ModuleAdapter::new(round_robin::RoundRobinModule::new()))
    }),
    ("cmos_rtc", || {
        Box::new(ModuleAdapter::new(cmos_rtc::CmosRtc::new()))
    }),
    ("serial_console", || {
        Box::new(ModuleAdapter::new(serial_console::SerialConsole::new()))
    }),
];

/// The factory of the module called `name`.
pub fn factory(name: &str) -> Option<Factory> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Registers every module in [`MODULES`] except those named in
/// `module_blacklist=a,b` on the command line.
fn register_all(r: &Registry) -> Vec<(&'static str, Result<(), ModuleError>)> {
    let blacklist = crate::boot::cmdline().get("module_blacklist").unwrap_or("");
    let mut results = Vec::new();
    for &(name, make) in MODULES {
        if blacklist.split(',').any(|b| b == name) {
            log::warn!("not loading module {name}: blacklisted on the command line");
        } else {
            results.push((name, r.register(make()).map(|_| ())));
        }
    }
    results
}

/// Kills the threads a module started once it stops running.
fn reap_threads(module: &str) {
    let n = crate::thread::kill_owned_by(module);
    if n > 0 {
        log::info!(
            "stopped {n} thread{} owned by module {module}",
            if n == 1 { "" } else { "s" }
        );
    }
}

/// The kernel's module registry (after [`load`]).
pub fn registry() -> Option<&'static Registry> {
    REGISTRY.get()
}

/// Builds the registry, registers every module and starts them in
/// dependency order. Returns the registry.
pub fn load() -> &'static Registry {
    let r = REGISTRY.call_once(|| {
        Registry::builder()
            .cmdline(crate::boot::cmdline().as_str())
            .clock(cpu::rdtsc)
            .on_stopped(reap_threads)
            .hardware(crate::hw::hardware())
            .build()
    });
    for (name, result) in register_all(r) {
        if let Err(e) = result {
            log::error!("module {name} was not registered: {e}");
        }
    }
    let report = r.start_all(Caller::Kernel);
    if !report.is_clean() {
        log::warn!("some modules did not start: {report:?}");
    }
    r
}

/// Why threads could not be started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// No running module provides the scheduler service.
    NoScheduler,
    /// The thread subsystem refused to start.
    Threads(crate::thread::ThreadError),
}

impl core::fmt::Display for StartError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoScheduler => f.write_str(
                "no running module is flagged SCHEDULER and provides \"scheduler\": the kernel cannot run threads",
            ),
            Self::Threads(e) => write!(f, "cannot start threads: {e}"),
        }
    }
}

/// Starts the other CPUs, loads the modules and starts the thread
/// subsystem on the scheduler module's policy, then tells the modules
/// which CPUs are online. Idempotent: later calls return the same registry.
pub fn bring_up() -> Result<&'static Registry, StartError> {
    let r = match registry() {
        Some(r) => r,
        None => {
            let aps = crate::smp::start_aps();
            log::info!("{} CPU{} online", aps + 1, if aps == 0 { "" } else { "s" });
            load()
        }
    };
    if crate::thread::is_running() {
        return Ok(r);
    }
    let sched: Arc<dyn Scheduler> = r.scheduler().ok_or(StartError::NoScheduler)?;
    let name = sched.name();
    crate::thread::start(sched).map_err(StartError::Threads)?;
    crate::smp::announce_online_cpus(r);
    log::info!("threads scheduled by module {name}");
    Ok(r)
}

fn flag_list(flags: ModuleFlags) -> String {
    let mut out = String::new();
    for (name, _) in flags.iter_names() {
        if !out.is_empty() {
            out.push(',');
        }
        out.push_str(name);
    }
    if out.is_empty() {
        out.push('-');
    }
    out
}

fn or_dash(list: &[String]) -> String {
    if list.is_empty() {
        String::from("-")
    } else {
        list.join(",")
    }
}

/// Prints one row per module: name, version, state, flags, provides and
/// dependencies, plus the reason for any failure.
pub fn print_table(r: &Registry) {
    kprintln!(
        "{:<16} {:<8} {:<12} {:<24} {:<16} DEPENDS ON",
        "MODULE",
        "VERSION",
        "STATE",
        "FLAGS",
        "PROVIDES"
    );
    for m in r.list() {
        print_row(&m);
    }
}

fn print_row(m: &ModuleStatus) {
    let mut version = String::new();
    let _ = core::fmt::write(&mut version, format_args!("{}", m.version));
    let mut state = String::new();
    let _ = core::fmt::write(
        &mut state,
        format_args!("{}{}", m.state, if m.held { " (held)" } else { "" }),
    );
    kprintln!(
        "{:<16} {:<8} {:<12} {:<24} {:<16} {}",
        m.name,
        version,
        state,
        flag_list(m.flags),
        or_dash(&m.provides),
        or_dash(&m.dependencies)
    );
    if let Some(e) = &m.last_error {
        kprintln!("    reason: {e}");
    }
}
