//! Kernel bring-up: from the PVH entry stub to a kernel `main` running on a
//! guarded stack with interrupts on.
//!
//! [`entry_point!`](crate::entry_point) defines `helix_kernel_entry`, the
//! symbol the boot stub calls, for the kernel binary and for each test
//! kernel. [`start`] then brings the machine up in dependency order:
//! serial first (so everything after can report), the start info and
//! command line, the logger, CPU tables, memory, the timer, and finally a
//! switch to a stack with a guard page, where `main` runs.

use crate::arch::x86_64::{self as arch, cpu};
use crate::mm::stack::KernelStack;
use crate::{kprintln, mm, time};
use ::boot::{Cmdline, PhysRead, StartInfo, StartInfoError};
use log::LevelFilter;
use spin::Once;

static BOOT_COMPLETE: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);
static BOOT_WAITERS: crate::thread::WaitQueue = crate::thread::WaitQueue::new();

/// Declares the boot finished (every module started, the table printed):
/// releases whoever waits in [`wait_for_boot`].
pub fn mark_complete() {
    BOOT_COMPLETE.store(true, core::sync::atomic::Ordering::Release);
    BOOT_WAITERS.wake_all();
}

/// Blocks the calling thread until [`mark_complete`] (so the console's
/// first prompt comes after the boot log, not in the middle of it).
pub fn wait_for_boot() {
    BOOT_WAITERS.wait_until(|| BOOT_COMPLETE.load(core::sync::atomic::Ordering::Acquire));
}

/// Pages of the stack `main` runs on.
pub const MAIN_STACK_PAGES: usize = 32;

/// Where the start info is parsed, in place: it holds a 4 KiB command-line
/// buffer, and moving it by value (returning it, handing it to a `Once`)
/// costs several copies on the 64 KiB boot stack in unoptimised builds.
/// Locked once by [`start`] and the lock leaked into [`START_INFO`].
static START_INFO_STORAGE: spin::Mutex<StartInfo> = spin::Mutex::new(StartInfo::new());
static START_INFO: Once<&'static StartInfo> = Once::new();
static MAIN: Once<fn() -> !> = Once::new();
static MAIN_STACK: Once<KernelStack> = Once::new();

/// Defines the entry symbol the boot stub jumps to, running `$main` (a
/// `fn() -> !`) once the kernel is up.
#[macro_export]
macro_rules! entry_point {
    ($main:path) => {
        #[unsafe(no_mangle)]
        extern "C" fn helix_kernel_entry(start_info_paddr: u64) -> ! {
            $crate::startup::start(start_info_paddr, $main)
        }
    };
}

/// Reads physical memory through the boot identity map (first 4 GiB).
struct IdentityMap;

impl PhysRead for IdentityMap {
    fn read(&self, paddr: u64, buf: &mut [u8]) -> Result<(), StartInfoError> {
        let bad = StartInfoError::BadAddress {
            paddr,
            len: buf.len(),
        };
        let end = paddr.checked_add(buf.len() as u64).ok_or(bad)?;
        if paddr == 0 || end > mm::frame::MANAGED_LIMIT {
            return Err(bad);
        }
        // SAFETY: [paddr, end) is past address 0 and inside the
        // identity-mapped first 4 GiB (checked above; page 0 is still
        // mapped, as this runs before memory protection). The addresses
        // come from the loader's start info, which points at RAM where it
        // put these structures, so the read has no side effects; it runs
        // at boot on the boot CPU alone, so nothing writes them meanwhile.
        // `buf` is a distinct, writable Rust buffer of `buf.len()` bytes.
        unsafe { core::ptr::copy_nonoverlapping(paddr as *const u8, buf.as_mut_ptr(), buf.len()) };
        Ok(())
    }
}

/// The parsed PVH start info.
pub fn start_info() -> &'static StartInfo {
    START_INFO
        .get()
        .copied()
        .expect("start info is parsed before anything can ask for it")
}

/// The kernel command line.
pub fn cmdline() -> Cmdline<'static> {
    Cmdline::new(START_INFO.get().map_or("", |s| s.cmdline.as_str()))
}

/// Brings the kernel up and runs `main` on a guarded stack.
pub fn start(start_info_paddr: u64, main: fn() -> !) -> ! {
    // First of all, so that whatever runs next (a panic included) finds
    // this CPU's per-CPU area through GS.
    arch::percpu::init(0);
    crate::serial::init();
    let Some(mut storage) = START_INFO_STORAGE.try_lock() else {
        panic!("the kernel was started twice");
    };
    if let Err(e) = storage.parse_into(&IdentityMap, start_info_paddr) {
        panic!("unusable PVH start info at {start_info_paddr:#x}: {e}");
    }
    // Read-only from here on, for the rest of the run.
    let info: &'static StartInfo = spin::MutexGuard::leak(storage);
    START_INFO.call_once(|| info);
    let cmdline = cmdline();
    // Test kernels stay quiet unless asked, so their output reads like
    // libtest's; the kernel proper logs at info.
    let default_level = if crate::testing::is_test_kernel() {
        LevelFilter::Warn
    } else {
        LevelFilter::Info
    };
    if let Err(e) = crate::logger::init(cmdline.get("log"), default_level) {
        log::warn!("ignoring log={:?}: {e}", cmdline.get("log").unwrap_or(""));
    }
    if let Some(cut) = info.cmdline_cut {
        log::warn!("{cut}");
    }
    for bad in cmdline.errors() {
        log::warn!("ignoring malformed command-line token {bad:?}");
    }

    arch::init_bsp();
    helix_modules::sync::set_interrupt_control(cpu::disable_interrupts, cpu::restore_interrupts);
    // SAFETY: `info.memory_map` is the loader's memory map, copied out of
    // the start info above, and this runs once: a second `start` stops at
    // the `try_lock` above.
    unsafe { mm::init(&info.memory_map) };

    let hz = match cmdline.get("timer.hz").map(time::parse_timer_hz) {
        None => time::DEFAULT_TIMER_HZ,
        Some(Ok(hz)) => hz,
        Some(Err(e)) => {
            log::warn!("{e}; using {} Hz", time::DEFAULT_TIMER_HZ);
            time::DEFAULT_TIMER_HZ
        }
    };
    time::init(hz);
    cpu::enable_interrupts();

    MAIN.call_once(|| main);
    let stack = KernelStack::new(MAIN_STACK_PAGES).expect("no memory for the main kernel stack");
    let top = MAIN_STACK.call_once(|| stack).top();
    // SAFETY: `top` is the 16-byte-aligned top of a freshly mapped stack
    // kept alive forever in MAIN_STACK; `run_main` never returns, so
    // nothing on the boot stack is needed again.
    unsafe { arch::cpu::call_on_stack(top, run_main) }
}

extern "C" fn run_main() -> ! {
    match MAIN.get() {
        Some(main) => main(),
        None => panic!("kernel main was not recorded"),
    }
}

/// The guard page of the stack `main` runs on.
pub fn main_stack_guard() -> Option<core::ops::Range<u64>> {
    MAIN_STACK.get().map(KernelStack::guard)
}

/// Prints the boot banner: CPU, memory map, heap and timer.
pub fn print_banner() {
    let info = start_info();
    let mut model = [0u8; 48];
    kprintln!("Helix {} (x86_64) booting", env!("CARGO_PKG_VERSION"));
    kprintln!(
        "  cpu      {} (APIC id {})",
        cpu::model_name(&mut model),
        arch::apic::id()
    );
    kprintln!("  cmdline  {:?}", info.cmdline.as_str());
    kprintln!(
        "  memory   {} regions, {} MiB usable",
        info.memory_map.len(),
        info.usable_bytes() >> 20
    );
    for r in &info.memory_map {
        kprintln!(
            "           {:#012x}-{:#012x} {:>8} KiB  {}",
            r.start,
            r.end(),
            r.len >> 10,
            r.kind
        );
    }
    let (img_start, img_end) = mm::kernel_image();
    kprintln!(
        "  image    {img_start:#x}-{img_end:#x} ({} KiB)",
        (img_end - img_start) >> 10
    );
    let frames = mm::frame::stats();
    kprintln!(
        "  frames   {} free of {} ({} MiB)",
        frames.free,
        frames.total,
        (frames.total * 4) >> 10
    );
    let heap = mm::heap::stats();
    kprintln!(
        "  heap     {} KiB at {:#x}, {} KiB used, grows on demand up to {} MiB",
        heap.size >> 10,
        mm::heap::HEAP_START,
        heap.used >> 10,
        mm::heap::MAX_SIZE >> 20
    );
    kprintln!(
        "  timer    local APIC at {} Hz (input {} kHz), TSC {} MHz",
        time::timer_hz(),
        time::apic_timer_hz() / 1000,
        time::tsc_hz() / 1_000_000
    );
}
