//! The events thread: turns hardware-driven happenings into module events.
//!
//! Module handlers must not run in interrupt context, so interrupts only
//! record what happened and wake this thread, which dispatches through the
//! registry:
//!
//! - `Tick { timestamp_ns }` at `events.tick_hz` (default
//!   [`DEFAULT_TICK_HZ`]), counted down from the boot CPU's timer
//!   interrupt, carrying the monotonic time of that interrupt;
//! - `MemoryPressure { level }` when the heap's watermarks are crossed
//!   (see [`crate::mm::pressure`]), checked on every tick and marked by the
//!   allocator; and synchronously, through [`reclaim`], when an allocation
//!   fails;
//! - supervision: on every tick the registry polls module health and
//!   restarts failed or unhealthy modules with back-off.
//!
//! The clock and the allocator sit below this module and never call it:
//! [`start`] installs its hooks in them, a tick callback
//! (`time::add_tick_callback`) and the allocator's reclaim hook
//! (`heap::set_reclaim_hook`, [`reclaim`]).

use crate::bootinfo;
use crate::mm::{heap, pressure};
use crate::thread::{self, ThreadId, WaitQueue};
use crate::time;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use helix_modules::Registry;
use helix_modules::v2::Event;

/// Tick events per second unless `events.tick_hz` says otherwise.
pub const DEFAULT_TICK_HZ: u32 = 10;
/// How long an allocation waits for modules to release memory.
const RECLAIM_WAIT_MS: u64 = 500;

static WAKE: WaitQueue = WaitQueue::new();
static WORK: AtomicU64 = AtomicU64::new(0);
static TICK_TIMESTAMP: AtomicU64 = AtomicU64::new(0);
static DIVIDER: AtomicU32 = AtomicU32::new(0);
static COUNTDOWN: AtomicU32 = AtomicU32::new(0);
static THREAD: AtomicU64 = AtomicU64::new(0);
static TICKS_SENT: AtomicU64 = AtomicU64::new(0);
static RECLAIMS: AtomicU64 = AtomicU64::new(0);

fn notify() {
    WORK.fetch_add(1, Ordering::AcqRel);
    WAKE.wake_one();
}

/// The tick callback [`start`] installs: on the boot CPU's timer
/// interrupt, counts down to the next Tick event.
fn on_timer_tick(cpu: usize) {
    if cpu != 0 {
        return;
    }
    let divider = DIVIDER.load(Ordering::Relaxed);
    if divider == 0 {
        return;
    }
    if COUNTDOWN.fetch_add(1, Ordering::Relaxed) + 1 >= divider {
        COUNTDOWN.store(0, Ordering::Relaxed);
        TICK_TIMESTAMP.store(time::now_ns().max(1), Ordering::Release);
        notify();
    }
}

/// Tick events dispatched so far.
pub fn ticks_sent() -> u64 {
    TICKS_SENT.load(Ordering::Relaxed)
}

/// Parses `events.tick_hz`: 1 up to the timer rate.
fn tick_hz() -> u32 {
    let timer = time::timer_hz().max(1);
    match bootinfo::cmdline()
        .get("events.tick_hz")
        .map(str::parse::<u32>)
    {
        None => DEFAULT_TICK_HZ.min(timer),
        Some(Ok(hz)) if (1..=timer).contains(&hz) => hz,
        Some(_) => {
            log::warn!("events.tick_hz must be 1..={timer}; using {DEFAULT_TICK_HZ}");
            DEFAULT_TICK_HZ.min(timer)
        }
    }
}

/// Starts the events thread for `registry`, and installs its hooks: the
/// tick callback that wakes it, the allocator's reclaim hook.
pub fn start(registry: &'static Registry) -> Result<(), thread::ThreadError> {
    if THREAD.load(Ordering::Acquire) != 0 {
        return Ok(());
    }
    if let Some(marks) = bootinfo::cmdline().get("mem.watermarks") {
        match pressure::Watermarks::parse(marks) {
            Ok(m) => pressure::configure(m),
            Err(e) => log::warn!("{e}; using the defaults"),
        }
    }
    let handle = thread::spawn("events", move || run(registry))?;
    THREAD.store(handle.id().0, Ordering::Release);
    DIVIDER.store(time::timer_hz() / tick_hz(), Ordering::Release);
    time::add_tick_callback(on_timer_tick);
    heap::set_reclaim_hook(reclaim);
    Ok(())
}

/// Delivers pending memory pressure. `may_wait`: whether the dispatch may
/// wait for subscribers busy in other calls (not when this thread may
/// itself be inside a dispatch, see [`reclaim`]).
fn deliver_pressure(registry: &Registry, may_wait: bool) {
    if let Some(level) = pressure::take_pending() {
        log::info!("memory pressure {level:?}: notifying modules");
        let event = Event::MemoryPressure { level };
        if may_wait {
            registry.dispatch(&event);
        } else {
            registry.dispatch_without_waiting(&event);
        }
    }
    RECLAIMS.fetch_add(1, Ordering::AcqRel);
}

fn run(registry: &'static Registry) {
    let mut seen = WORK.load(Ordering::Acquire);
    // Held modules already reported, so each hold is logged once.
    let mut reported_held: alloc::vec::Vec<alloc::string::String> = alloc::vec::Vec::new();
    loop {
        let ts = TICK_TIMESTAMP.swap(0, Ordering::AcqRel);
        if ts != 0 {
            registry.dispatch(&Event::Tick { timestamp_ns: ts });
            TICKS_SENT.fetch_add(1, Ordering::Relaxed);
            pressure::check();
            crate::contain::report_thread_faults(registry);
            let report = registry.supervise(time::now_ns());
            for name in &report.restarted {
                log::warn!("supervisor restarted module {name}");
            }
            for name in &report.held {
                if !reported_held.contains(name) {
                    log::error!("supervisor holds module {name}: it keeps failing");
                }
            }
            reported_held = report.held;
        }
        // During a reclaim the allocation that failed may be inside a
        // dispatch that holds subscribers: never wait for them then.
        deliver_pressure(registry, !RECLAIMING.load(Ordering::Acquire));
        WAKE.wait_until(|| WORK.load(Ordering::Acquire) != seen);
        seen = WORK.load(Ordering::Acquire);
    }
}

static RECLAIMING: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// The allocator's reclaim hook (installed by [`start`]), called with no
/// locks held when an allocation failed: tells the modules memory is
/// critical and waits (bounded) for them to release some. Returns whether
/// it is worth retrying. Only thread context with interrupts enabled can
/// wait; anything else gets `false` at once. The wait halts between timer
/// ticks instead of sleeping, because sleeping allocates; and a reclaim is
/// never nested (an allocation failing inside a reclaim just fails).
///
/// The whole reclaim is a kernel section: a contained call whose budget
/// runs out while it waits here is stopped only once the reclaim is over,
/// so the reclaim is never abandoned half way (with modules out of their
/// slots, or `RECLAIMING` left set).
pub fn reclaim() -> bool {
    if THREAD.load(Ordering::Acquire) == 0 || !thread::is_running() {
        return false;
    }
    crate::contain::enter_section();
    let retry = reclaim_in_section();
    crate::contain::leave_section();
    retry
}

fn reclaim_in_section() -> bool {
    let events = ThreadId(THREAD.load(Ordering::Acquire));
    if events.0 == 0 || !crate::arch::x86_64::cpu::interrupts_enabled() || !thread::is_running() {
        return false;
    }
    if RECLAIMING.swap(true, Ordering::AcqRel) {
        return false;
    }
    pressure::raise_critical();
    let delivered = if thread::current_id() == events {
        // A handler on the events thread itself ran out: deliver in place,
        // without waiting for subscribers, since the dispatch this
        // allocation happened in may hold them.
        if let Some(r) = crate::modules::registry() {
            deliver_pressure(r, false);
        }
        true
    } else {
        let before = RECLAIMS.load(Ordering::Acquire);
        notify();
        let deadline = time::now_ns() + RECLAIM_WAIT_MS * 1_000_000;
        while RECLAIMS.load(Ordering::Acquire) == before && time::now_ns() < deadline {
            crate::arch::x86_64::cpu::halt();
        }
        RECLAIMS.load(Ordering::Acquire) != before
    };
    RECLAIMING.store(false, Ordering::Release);
    delivered
}
