//! CPUs beyond the first: bringing them up from the ACPI MADT, and taking
//! them offline and back online (hotplug).
//!
//! [`start_aps`] starts every usable processor the MADT lists, one at a
//! time, each on the stack of its own idle thread; an AP sets up its GDT,
//! TSS, IDT and APIC timer, reports in, and idles until the scheduler gives
//! it work. The scheduler module learns about each CPU through
//! `CpuHotplug` events ([`announce_online_cpus`], [`set_online`]).
//!
//! Taking a CPU offline: the `CpuHotplug { online: false }` event lets the
//! scheduler move its threads away; the CPU is then asked to park
//! ([`thread::park`], the mechanism), and at its next timer tick it hands
//! its running thread back, switches to its idle thread, masks its timer
//! and halts. Bringing it back: the park request is withdrawn and a wake-up
//! IPI sent, it resumes its timer, and the `online: true` event gives it
//! work. CPU 0 (the boot CPU) always stays online.

use crate::arch::x86_64::percpu::{self, MAX_CPUS};
use crate::arch::x86_64::{acpi, ap_startup, apic, gdt, idt, interrupts, protect};
use crate::thread::{self, park};
use crate::time;
use core::fmt;
use core::sync::atomic::{AtomicU32, AtomicU64, AtomicUsize, Ordering};
use helix_modules::Registry;
use helix_modules::v2::Event;

/// Vector of the IPI that wakes a parked CPU.
pub const WAKE_VECTOR: u8 = 0xf0;

static APIC_IDS: [AtomicU32; MAX_CPUS] = [const { AtomicU32::new(0) }; MAX_CPUS];
static CPU_COUNT: AtomicUsize = AtomicUsize::new(1);
static ONLINE: AtomicU64 = AtomicU64::new(1);

/// Why a hotplug request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HotplugError {
    /// No such CPU was brought up.
    NoSuchCpu(usize),
    /// CPU 0 runs the boot thread and the system tick; it stays online.
    BootCpu,
    /// The CPU already is in the requested state.
    AlreadyInState(usize),
    /// The scheduler module did not take the CPU out of (or into) service.
    SchedulerRefused(usize),
    /// The CPU did not park or wake in time.
    Timeout(usize),
    /// No module registry is running yet.
    NotReady,
}

impl fmt::Display for HotplugError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoSuchCpu(c) => write!(f, "no CPU {c}"),
            Self::BootCpu => f.write_str("CPU 0 is the boot CPU and cannot go offline"),
            Self::AlreadyInState(c) => write!(f, "CPU {c} is already in that state"),
            Self::SchedulerRefused(c) => {
                write!(f, "the scheduler did not accept the change for CPU {c}")
            }
            Self::Timeout(c) => write!(f, "CPU {c} did not respond in time"),
            Self::NotReady => f.write_str("modules are not loaded yet"),
        }
    }
}

/// How many CPUs were brought up (online or parked).
pub fn cpu_count() -> usize {
    CPU_COUNT.load(Ordering::Acquire)
}

/// Whether CPU `cpu` is online.
pub fn is_online(cpu: usize) -> bool {
    cpu < MAX_CPUS && ONLINE.load(Ordering::Acquire) & (1 << cpu) != 0
}

/// The APIC id of CPU `cpu`.
pub fn apic_id(cpu: usize) -> u32 {
    APIC_IDS.get(cpu).map_or(0, |a| a.load(Ordering::Relaxed))
}

fn wake_ipi(_: &mut crate::arch::x86_64::entry::InterruptFrame) {}

extern "C" fn ap_entry(index: u64) -> ! {
    let cpu = index as usize;
    percpu::init(cpu);
    protect::check_this_cpu(cpu);
    gdt::init_ap();
    idt::load();
    apic::init_secondary(time::apic_timer_hz(), time::timer_hz());
    ap_startup::report_started();
    thread::run_idle(index as u32)
}

/// Starts the application processors listed in the MADT; returns how many
/// came up. Needs the heap, the timer and interrupts on the boot CPU. Runs
/// once: later calls start nothing and return 0.
pub fn start_aps() -> usize {
    static ONCE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
    if ONCE.swap(true, Ordering::AcqRel) {
        return 0;
    }
    let platform = match acpi::platform() {
        Ok(p) => p,
        Err(e) => {
            log::warn!("no application processors: {e}");
            return 0;
        }
    };
    if platform.ignored_cpus > 0 {
        log::warn!(
            "{} CPUs beyond the supported {MAX_CPUS} ignored",
            platform.ignored_cpus
        );
    }
    let _ = interrupts::set_handler(WAKE_VECTOR, wake_ipi);
    let bsp = apic::id();
    APIC_IDS[0].store(bsp, Ordering::Relaxed);
    let aps: heapless::Vec<u32, MAX_CPUS> = platform
        .cpus
        .iter()
        .filter(|c| c.usable && u32::from(c.apic_id) != bsp)
        .map(|c| u32::from(c.apic_id))
        .collect();
    if aps.is_empty() {
        return 0;
    }
    // SAFETY: this runs once (`ONCE`), on the boot CPU, before any AP is
    // started.
    unsafe { ap_startup::install_trampoline() };
    let mut started = 0;
    for apic_id in aps {
        let index = 1 + started;
        if index >= MAX_CPUS {
            break;
        }
        let top = match thread::idle::create_idle(index as u32) {
            Ok(top) => top,
            Err(e) => {
                log::warn!("CPU with APIC id {apic_id} not started: {e}");
                break;
            }
        };
        APIC_IDS[index].store(apic_id, Ordering::Relaxed);
        // SAFETY: the trampoline is installed; `top` is the top of the idle
        // stack `create_idle` just mapped for this CPU alone (kept by its
        // idle thread for good); APs start one at a time here, and the loop
        // stops at the first that does not report in; `apic_id` is a MADT
        // CPU other than this one, started by nothing before (`ONCE`).
        let started_ap =
            unsafe { ap_startup::start_ap(apic_id, index, top, ap_entry, time::now_ns) };
        if started_ap {
            started += 1;
            CPU_COUNT.store(index + 1, Ordering::Release);
            ONLINE.fetch_or(1 << index, Ordering::AcqRel);
            log::info!("CPU {index} (APIC id {apic_id}) is up");
        } else {
            log::warn!("CPU with APIC id {apic_id} did not start");
            break;
        }
    }
    started
}

/// Tells the modules about every CPU that came up at boot (a `CpuHotplug
/// { online: true }` each), once the scheduler module is running.
pub fn announce_online_cpus(r: &Registry) {
    for cpu in 1..cpu_count() {
        if is_online(cpu) {
            r.dispatch(&Event::CpuHotplug {
                cpu_id: cpu as u32,
                online: true,
            });
        }
    }
}

fn policy_says_online(cpu: usize) -> Option<bool> {
    thread::scheduler()?.stats().cpus.get(cpu).map(|c| c.online)
}

fn wait_for(cpu: usize, done: impl Fn() -> bool) -> Result<(), HotplugError> {
    let deadline = time::now_ns() + 2_000_000_000;
    while !done() {
        if time::now_ns() > deadline {
            return Err(HotplugError::Timeout(cpu));
        }
        thread::sleep_ms(1);
    }
    Ok(())
}

/// Takes CPU `cpu` offline (`online = false`) or brings it back, emitting
/// the matching `CpuHotplug` event to the modules.
pub fn set_online(cpu: usize, online: bool) -> Result<(), HotplugError> {
    let r = crate::modules::registry().ok_or(HotplugError::NotReady)?;
    if cpu >= cpu_count() {
        return Err(HotplugError::NoSuchCpu(cpu));
    }
    if cpu == 0 {
        return Err(HotplugError::BootCpu);
    }
    if is_online(cpu) == online {
        return Err(HotplugError::AlreadyInState(cpu));
    }
    let bit = 1u64 << cpu;
    if online {
        park::cancel(cpu);
        apic::send_ipi(apic_id(cpu), WAKE_VECTOR);
        wait_for(cpu, || !park::is_parked(cpu))?;
        ONLINE.fetch_or(bit, Ordering::AcqRel);
        r.dispatch(&Event::CpuHotplug {
            cpu_id: cpu as u32,
            online: true,
        });
        if policy_says_online(cpu) == Some(false) {
            return Err(HotplugError::SchedulerRefused(cpu));
        }
    } else {
        r.dispatch(&Event::CpuHotplug {
            cpu_id: cpu as u32,
            online: false,
        });
        if policy_says_online(cpu) == Some(true) {
            return Err(HotplugError::SchedulerRefused(cpu));
        }
        park::request(cpu);
        wait_for(cpu, || park::is_parked(cpu))?;
        ONLINE.fetch_and(!bit, Ordering::AcqRel);
    }
    log::info!("CPU {cpu} is {}", if online { "online" } else { "offline" });
    Ok(())
}
