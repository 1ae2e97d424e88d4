//! Kernel start-up: from the PVH entry stub to a kernel `main` running on a
//! guarded stack with interrupts on.
//!
//! [`entry_point!`](crate::entry_point) defines `helix_kernel_entry`, the
//! symbol the boot stub calls, for the kernel binary and for each test
//! kernel. [`start`] then brings the machine up in dependency order:
//! serial first (so everything after can report), the start info and
//! command line ([`bootinfo`]), the logger, CPU tables, memory, the timer,
//! and finally a switch to a stack with a guard page, where `main` runs.
//! What `main` does next (CPUs, modules, threads) is
//! [`bring_up`](crate::bring_up).

use crate::arch::x86_64::{self as arch, acpi, cpu};
use crate::mm::stack::KernelStack;
use crate::{bootinfo, kprintln, mm, time};
use log::LevelFilter;
use spin::Once;

/// Pages of the stack `main` runs on.
pub const MAIN_STACK_PAGES: usize = 32;

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

/// Brings the kernel up and runs `main` on a guarded stack.
pub fn start(start_info_paddr: u64, main: fn() -> !) -> ! {
    // First of all, so that whatever runs next (a panic included) finds
    // this CPU's per-CPU area through GS.
    arch::percpu::init(0);
    crate::serial::init();
    let info = bootinfo::init(start_info_paddr);
    // SAFETY: `info.rsdp` is the RSDP address from the loader's start
    // info, just parsed, which is what `acpi::init` requires.
    unsafe { acpi::init(info.rsdp) };
    let cmdline = bootinfo::cmdline();
    // Test kernels stay quiet unless asked, so their output reads like
    // libtest's; the kernel proper logs at info.
    let default_level = if bootinfo::is_test_kernel() {
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
    if let Some(refused) = bootinfo::initrd_refused() {
        log::warn!("{refused}");
    }
    if info.modules.len() > 1 {
        log::warn!(
            "the loader passed {} modules: the first is the initrd, the others are kept \
             out of the frame allocator and unused",
            info.modules.len()
        );
    }
    for bad in cmdline.errors() {
        log::warn!("ignoring malformed command-line token {bad:?}");
    }

    arch::init_bsp();
    helix_modules::sync::set_interrupt_control(cpu::disable_interrupts, cpu::restore_interrupts);
    // SAFETY: `info.memory_map` and `info.modules` are the loader's memory
    // map and module list, copied out of the start info above, and this
    // runs once: a second `start` stops in `bootinfo::init` above.
    unsafe { mm::init(&info.memory_map, &info.modules) };

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
    let info = bootinfo::start_info();
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
    if let Some(m) = info.initrd().filter(|_| bootinfo::initrd().is_some()) {
        kprintln!(
            "  initrd   {:#x}-{:#x} ({} KiB, {} bytes)",
            m.paddr,
            m.end(),
            m.size.div_ceil(1024),
            m.size
        );
    }
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
