//! Loading modules at boot: the one place that lists them.
//!
//! [`load`] builds the kernel's single [`Registry`] (the kernel command line
//! for `module.key=value` parameters, the TSC as the clock for handler
//! timings, the hardware service) and registers every module in
//! [`MODULES`], logging the command-line parameters an ESSENTIAL module
//! will start without (an invalid value gives way to the default); it
//! starts nothing. The boot sequence ([`bring_up`](crate::bring_up)) then
//! starts them with [`start_scheduler`] (`scheduler=NAME` picks it when
//! several SCHEDULER modules are loaded; the others wait in standby),
//! starts threads on its policy, and starts every other module in
//! dependency order with [`start_others`]. [`format_table`] is the
//! lsmod-style table: a module that failed is shown Failed with its
//! reason, its dependents skipped with theirs, a waiting scheduler as
//! standby; everything else runs. [`wait_for_boot`] blocks until the boot
//! sequence declares the boot complete.

use crate::arch::x86_64::cpu;
use crate::bootinfo;
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use helix_modules::v2::{ModuleAdapter, ModuleTrait};
use helix_modules::{Caller, Module, ModuleError, ModuleFlags, Registry};

use spin::Once;

mod table;

pub use table::{flag_list, format_table, print_table};

static REGISTRY: Once<Registry> = Once::new();

static BOOT_COMPLETE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
static BOOT_WAITERS: crate::thread::WaitQueue = crate::thread::WaitQueue::new();

/// Declares the boot finished (every module started, the table printed):
/// releases whoever waits in [`wait_for_boot`]. Called by the boot
/// sequence (`bring_up::mark_complete`).
pub fn mark_boot_complete() {
    BOOT_COMPLETE.store(true, core::sync::atomic::Ordering::Release);
    BOOT_WAITERS.wake_all();
}

/// Blocks the calling thread until the boot is complete (so the console's
/// first prompt comes after the boot log, not in the middle of it).
pub fn wait_for_boot() {
    BOOT_WAITERS.wait_until(|| BOOT_COMPLETE.load(core::sync::atomic::Ordering::Acquire));
}

/// Makes a fresh instance of a module.
pub type Factory = fn() -> Box<dyn Module>;

/// Every module the kernel ships, one line each: its name and how to make
/// a fresh instance (used at boot, and by hot reload). Adding a module
/// means adding its line here and its crate to `kernel/Cargo.toml`.
pub const MODULES: &[(&str, Factory)] = &[
    ("round_robin", v2::<round_robin::RoundRobinModule>),
    ("cmos_rtc", v2::<cmos_rtc::CmosRtc>),
    ("serial_console", v2::<serial_console::SerialConsole>),
    ("virtio_rng", v2::<virtio_rng::VirtioRng>),
    ("virtio_blk", v2::<virtio_blk::VirtioBlk>),
    ("event_log", v2::<event_log::EventLog>),
    ("uptime", v1::<uptime::Uptime>),
    ("shell", v2::<crate::shell::Shell>),
    ("crashtest", v2::<crate::crashtest::CrashTest>),
    ("initrd_fs", v2::<crate::fs::InitrdFs>),
    ("module_sig", v2::<module_sig::ModuleSig>),
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

/// Modules loaded only when the command line asks for them with
/// `NAME.enable`: tools for testing the kernel, not part of a normal boot.
const OPT_IN: &[&str] = &[crate::crashtest::NAME];

/// The factory of the module called `name`.
pub fn factory(name: &str) -> Option<Factory> {
    MODULES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Registers every module in [`MODULES`] except those named in
/// `module_blacklist=a,b` on the command line. An entry matches a module's
/// name or any capability it provides (`module_blacklist=scheduler` leaves
/// out every scheduler, `module_blacklist=clock` the clock driver).
fn register_all(r: &Registry) -> Vec<(&'static str, Result<(), ModuleError>)> {
    let blacklist = bootinfo::cmdline().get("module_blacklist").unwrap_or("");
    let mut results = Vec::new();
    let testing = bootinfo::is_test_kernel();
    for &(name, make) in MODULES {
        if testing && INTERACTIVE.contains(&name) {
            continue;
        }
        if OPT_IN.contains(&name) && !bootinfo::cmdline().flag(&alloc::format!("{name}.enable")) {
            continue;
        }
        let module = make();
        let mut entries = blacklist.split(',').filter(|b| !b.is_empty()).peekable();
        // The module's metadata (built anew on each call) only when there
        // is a blacklist to match its capabilities against.
        let matched = if entries.peek().is_some() {
            let meta = module.metadata();
            entries.find(|b| *b == name || meta.provides.iter().any(|p| p == b))
        } else {
            None
        };
        match matched {
            Some(entry) if entry == name => {
                log::warn!("not loading module {name}: blacklisted on the command line");
            }
            Some(entry) => log::warn!(
                "not loading module {name}: it provides `{entry}`, blacklisted on the command line"
            ),
            None => results.push((name, r.register(module).map(|_| ()))),
        }
    }
    results
}

/// Gives back what a module held once it stops running (stopped, failed
/// or replaced): kills the threads it started and releases its hardware
/// claims, whatever its own `stop` did or did not do.
fn reclaim(module: &str) {
    let n = crate::thread::kill_owned_by(module);
    if n > 0 {
        log::info!(
            "stopped {n} thread{} owned by module {module}",
            if n == 1 { "" } else { "s" }
        );
    }
    let claims =
        helix_modules::services::hw::Hardware::release_all(&*crate::hw::hardware(), module);
    if claims > 0 {
        log::info!(
            "released {claims} hardware claim{} of module {module}",
            if claims == 1 { "" } else { "s" }
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
/// are started by the boot sequence: the scheduler first
/// ([`start_scheduler`]), the rest once threads run ([`start_others`]).
pub fn load() -> &'static Registry {
    let (policy, refused) = crate::supervisor::policy(&bootinfo::cmdline());
    for e in refused {
        log::warn!("{e}; keeping the default");
    }
    let (budgets, refused) = crate::contain::budgets(&bootinfo::cmdline());
    for e in refused {
        log::warn!("{e}; keeping the default");
    }
    let r = REGISTRY.call_once(|| {
        Registry::builder()
            .policy(policy)
            .cmdline(bootinfo::cmdline().as_str())
            .clock(cpu::rdtsc)
            .on_stopped(reclaim)
            .hardware(crate::hw::hardware())
            .containment(crate::contain::containment())
            .budgets(budgets)
            .build()
    });
    for (name, result) in register_all(r) {
        if let Err(e) = result {
            log::error!("module {name} was not registered: {e}");
        }
    }
    // An ESSENTIAL module (the scheduler) starts with its defaults rather
    // than fail on a bad command-line parameter; say what was set aside.
    for fallback in r.param_fallbacks() {
        log::warn!("{fallback}");
    }
    apply_memory_limits(r);
    r
}

/// Sets every registered module's heap limit: `mem.limit.NAME=SIZE` on the
/// command line (bytes, or with a K, M or G suffix), else the limit in its
/// info, else none. A bad value is logged and ignored. Test kernels that
/// register modules of their own call it again afterwards.
pub fn apply_memory_limits(r: &Registry) {
    let cmdline = bootinfo::cmdline();
    for m in r.list() {
        let key = alloc::format!("mem.limit.{}", m.name);
        let from_cmdline = cmdline.get(&key).and_then(|text| match parse_size(text) {
            Some(bytes) => Some(bytes),
            None => {
                log::warn!("{key}={text}: not a size (bytes, or with K, M or G); ignored");
                None
            }
        });
        let limit = from_cmdline.or(m.memory_limit);
        let set = crate::mm::account::set_limit(
            owner_of(m.id),
            limit.unwrap_or(crate::mm::account::UNLIMITED),
        );
        if !set && limit.is_some() {
            log::warn!(
                "module {}: memory is accounted for the first {} modules only; its limit is not enforced",
                m.name,
                crate::mm::account::OWNERS - 1
            );
        }
    }
}

/// The memory-accounting owner of module `id` (0 is the kernel).
pub fn owner_of(id: helix_modules::ModuleId) -> u32 {
    id.get().saturating_add(1)
}

/// The heap use of module `name`, if it exists.
pub fn memory_of(r: &Registry, name: &str) -> Option<crate::mm::account::Usage> {
    r.id_of(name)
        .ok()
        .map(|id| crate::mm::account::usage(owner_of(id)))
}

/// `4096`, `64K`, `16M`, `1G` as bytes.
fn parse_size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1u64 << shift)
}

/// Starts the kernel's scheduler: the SCHEDULER module named by
/// `scheduler=NAME` on the command line, else the first one registered
/// (the order of [`MODULES`]). If it cannot start, the next one is tried.
/// Schedulers come before every other module because any module may start
/// threads; a scheduler module therefore must not depend on other modules.
/// The SCHEDULER modules that do not run wait in standby (see
/// [`start_others`]); that is a normal state, not a failure.
pub fn start_scheduler(r: &Registry) {
    let schedulers: Vec<String> = r
        .list()
        .into_iter()
        .filter(|m| m.flags.contains(ModuleFlags::SCHEDULER))
        .map(|m| m.name)
        .collect();
    let wanted = bootinfo::cmdline().get("scheduler");
    let mut order: Vec<&String> = Vec::new();
    match wanted {
        Some(w) if schedulers.iter().any(|s| s == w) => {
            order.extend(schedulers.iter().filter(|s| *s == w));
        }
        Some(w) => log::warn!(
            "scheduler={w}: no SCHEDULER module of that name is loaded (have: {}); using the default",
            if schedulers.is_empty() {
                String::from("none")
            } else {
                schedulers.join(", ")
            }
        ),
        None => {}
    }
    order.extend(schedulers.iter().filter(|s| Some(s.as_str()) != wanted));
    for name in order {
        match r
            .init(Caller::Kernel, name)
            .and_then(|()| r.start(Caller::Kernel, name))
        {
            Ok(()) => return,
            Err(e) => log::error!("scheduler module {name} did not start: {e}"),
        }
    }
}

/// Starts every other module in dependency order and records why any was
/// skipped. A second SCHEDULER module is reported in standby, at INFO.
pub fn start_others(r: &Registry) {
    let report = r.start_all(Caller::Kernel);
    for (name, e) in &report.failed {
        log::error!("module {name} failed: {e}");
    }
    for (name, holder) in &report.standby {
        log::info!("module {name} is in standby: {holder} holds its role");
    }
    let mut skipped = SKIPPED.lock();
    for (name, e) in &report.skipped {
        log::warn!("module {name} not started: {e}");
        skipped.push((String::from(name), alloc::format!("{e}")));
    }
}
