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
use alloc::vec::Vec;
use helix_modules::v2::{ModuleAdapter, ModuleTrait};
use helix_modules::{Caller, Module, ModuleError, ModuleFlags, ModuleStatus, Registry};

use spin::Once;

static REGISTRY: Once<Registry> = Once::new();

/// Makes a fresh instance of a module.
pub type Factory = fn() -> Box<dyn Module>;

/// Every module the kernel ships, one line each: its name and how to make
/// a fresh instance (used at boot, and by hot reload). Adding a module
/// means adding its line here and its crate to `kernel/Cargo.toml`.
pub const MODULES: &[(&str, Factory)] = &[
    ("round_robin", v2::<round_robin::RoundRobinModule>),
    ("cmos_rtc", v2::<cmos_rtc::CmosRtc>),
    ("serial_console", v2::<serial_console::SerialConsole>),
    ("event_log", v2::<event_log::EventLog>),
    ("uptime", v1::<uptime::Uptime>),
    ("shell", v2::<crate::shell::Shell>),
    // scripts/new-module adds new modules above this line.
];

/// The factory of a v2 module with a `Default` constructor.
fn v2<T: ModuleTrait + Default + 'static>() -> Box<dyn Module> {
    Box::new(ModuleAdapter::new(T::default()))
}

/// The factory of a legacy v1 module with a `Default` constructor: the
/// registry stores it as it is.
fn v1<T: Module + Default + 'static>() -> Box<dyn Module> {
    Box::new(T::default())
}

/// Modules test kernels leave out: the interactive console would print its
/// prompt into the test output.
const INTERACTIVE: &[&str] = &["shell"];

/// The factory of the module called `name`.
pub fn factory(name: &str) -> Option<Factory> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Registers every module in [`MODULES`] except those named in
/// `module_blacklist=a,b` on the command line.
fn register_all(r: &Registry) -> Vec<(&'static str, Result<(), ModuleError>)> {
    let blacklist = crate::startup::cmdline()
        .get("module_blacklist")
        .unwrap_or("");
    let mut results = Vec::new();
    let testing = crate::testing::is_test_kernel();
    for &(name, make) in MODULES {
        if testing && INTERACTIVE.contains(&name) {
            continue;
        }
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

/// Why modules were not started at boot, kept for the module table.
static SKIPPED: spin::Mutex<Vec<(String, String)>> = spin::Mutex::new(Vec::new());

/// Builds the registry and registers every module in [`MODULES`]. Modules
/// are started by [`bring_up`]: the scheduler first, the rest once threads
/// run.
pub fn load() -> &'static Registry {
    let (policy, refused) = crate::supervisor::policy(&crate::startup::cmdline());
    for e in refused {
        log::warn!("{e}; keeping the default");
    }
    let r = REGISTRY.call_once(|| {
        Registry::builder()
            .policy(policy)
            .cmdline(crate::startup::cmdline().as_str())
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
    r
}

/// Starts the registered SCHEDULER modules. They come first because every
/// other module may start threads; a scheduler module therefore must not
/// depend on other modules.
fn start_schedulers(r: &Registry) {
    for m in r
        .list()
        .iter()
        .filter(|m| m.flags.contains(ModuleFlags::SCHEDULER))
    {
        if let Err(e) = r
            .init(Caller::Kernel, &m.name)
            .and_then(|()| r.start(Caller::Kernel, &m.name))
        {
            log::error!("scheduler module {} did not start: {e}", m.name);
        }
    }
}

/// Starts every other module in dependency order and records why any was
/// skipped.
fn start_rest(r: &Registry) {
    let report = r.start_all(Caller::Kernel);
    for (name, e) in &report.failed {
        log::error!("module {name} failed: {e}");
    }
    let mut skipped = SKIPPED.lock();
    for (name, e) in &report.skipped {
        log::warn!("module {name} not started: {e}");
        skipped.push((name.clone(), alloc::format!("{e}")));
    }
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
    start_schedulers(r);
    let Some(sched) = r.scheduler() else {
        // Start the rest anyway, so the module table shows their state.
        start_rest(r);
        return Err(StartError::NoScheduler);
    };
    let name = sched.name();
    crate::thread::start(sched).map_err(StartError::Threads)?;
    log::info!("threads scheduled by module {name}");
    start_rest(r);
    // After every module started, so each of them hears of every CPU.
    crate::smp::announce_online_cpus(r);
    crate::events::start(r).map_err(StartError::Threads)?;
    Ok(r)
}

/// Flag names joined by commas, `-` for none.
pub fn flag_list(flags: ModuleFlags) -> String {
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

/// Prints [`format_table`].
pub fn print_table(r: &Registry) {
    kprintln!("{}", format_table(r));
}

/// One row per module: name, version, API generation (v1 or v2), state,
/// flags, provides and dependencies, plus the reason for any failure.
pub fn format_table(r: &Registry) -> String {
    let mut out = alloc::format!(
        "{:<16} {:<8} {:<3} {:<12} {:<24} {:<16} DEPENDS ON",
        "MODULE",
        "VERSION",
        "API",
        "STATE",
        "FLAGS",
        "PROVIDES"
    );
    for m in r.list() {
        out.push('\n');
        format_row(&mut out, &m);
    }
    out
}

fn format_row(out: &mut String, m: &ModuleStatus) {
    let version = alloc::format!("{}", m.version);
    let state = alloc::format!("{}{}", m.state, if m.held { " (held)" } else { "" });
    let _ = core::fmt::write(
        out,
        format_args!(
            "{:<16} {:<8} {:<3} {:<12} {:<24} {:<16} {}",
            m.name,
            version,
            alloc::format!("v{}", m.api),
            state,
            flag_list(m.flags),
            or_dash(&m.provides),
            or_dash(&m.dependencies)
        ),
    );
    if m.state == helix_modules::ModuleState::Failed
        && let Some(e) = &m.last_error
    {
        let _ = core::fmt::write(out, format_args!("\n    reason: {e}"));
    }
    if matches!(
        m.state,
        helix_modules::ModuleState::Registered | helix_modules::ModuleState::Initialized
    ) && let Some((_, why)) = SKIPPED.lock().iter().find(|(n, _)| *n == m.name)
    {
        let _ = core::fmt::write(out, format_args!("\n    skipped: {why}"));
    }
}
