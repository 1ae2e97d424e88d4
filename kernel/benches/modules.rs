//! In-kernel benchmark of the module boundary: what containment costs.
//!
//!     cargo bench -p kernel --target x86_64-unknown-none --bench modules
//!
//! Two registries run the same modules side by side: one built like the
//! kernel's, with the kernel's containment (every call into module code
//! guarded: a catch frame, the budget, the memory charge), and one without
//! any. For each, TSC cycles per IPC round trip by name and by a kept id
//! (`Registry::lookup` / `request_id`; a request and its answer) and per
//! Tick dispatch to 64 modules of which 8 subscribe. Then what a timer
//! interrupt costs the thread it interrupts: a fixed loop timed with the
//! CPU's timer running and masked, the difference divided by the ticks
//! that arrived. Each figure is the median of 7 rounds; TCG timing
//! wanders from run to run, so compare figures of one run.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{Caller, ModuleError, Registry};
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::{kprintln, time};

kernel::entry_point!(bench_main);

const OPS: u64 = 20_000;
const ROUNDS: usize = 7;

/// Answers every request; counts Ticks if it subscribes.
struct Echo {
    name: &'static str,
    events: EventKinds,
    ticks: u64,
}

impl ModuleTrait for Echo {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.name).events(self.events)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_event(&mut self, _: &Event) -> EventResponse {
        self.ticks += 1;
        EventResponse::Handled
    }
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        Ok(Response::ok(Vec::new()))
    }
}

/// 64 modules, `bench_0` .. `bench_63`; every eighth subscribes to Tick.
fn populate(r: &Registry) {
    for i in 0..64 {
        let name: &'static str = format!("bench_{i}").leak();
        let events = if i % 8 == 0 {
            EventKinds::TICK
        } else {
            EventKinds::empty()
        };
        r.register_v2(Echo {
            name,
            events,
            ticks: 0,
        })
        .expect("register");
    }
    assert!(r.start_all(Caller::Kernel).is_clean());
}

fn median_cycles(mut op: impl FnMut()) -> u64 {
    let mut rounds: Vec<u64> = (0..ROUNDS)
        .map(|_| {
            let start = rdtsc();
            for _ in 0..OPS {
                op();
            }
            (rdtsc() - start) / OPS
        })
        .collect();
    rounds.sort_unstable();
    rounds[ROUNDS / 2]
}

/// Cycles per IPC round trip by name and by id, and per Tick dispatch.
fn measure(r: &Registry) -> (u64, u64, u64) {
    let ipc = median_cycles(|| {
        let request = Request::new("bench", "ping", Vec::new());
        let answer = r.request(Caller::Kernel, "bench_7", request);
        assert!(answer.is_ok());
    });
    let id = r.lookup("bench_7").expect("bench_7");
    let by_id = median_cycles(|| {
        let request = Request::new("bench", "ping", Vec::new());
        let answer = r.request_id(Caller::Kernel, id, request);
        assert!(answer.is_ok());
    });
    let tick = Event::Tick { timestamp_ns: 1 };
    let dispatch = median_cycles(|| {
        let s = r.dispatch(&tick);
        assert_eq!(s.handled, 8);
    });
    (ipc, by_id, dispatch)
}

/// A loop of `n` steps the compiler cannot remove; its cycles.
fn busy(n: u64) -> u64 {
    let start = rdtsc();
    let mut x = 1u64;
    for i in 0..n {
        x = core::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
    }
    core::hint::black_box(x);
    rdtsc() - start
}

/// What one timer interrupt costs the interrupted thread, in cycles: the
/// same loop with this CPU's timer running and masked (median of 7 pairs),
/// the difference over the ticks that arrived meanwhile. Also the ticks.
fn timer_interrupt_cost() -> (u64, u64) {
    const STEPS: u64 = 20_000_000;
    let mut costs: Vec<(u64, u64)> = (0..ROUNDS)
        .map(|_| {
            kernel::arch::x86_64::cpu::without_interrupts(|| {
                kernel::arch::x86_64::apic::mask_timer(true)
            });
            let quiet = busy(STEPS);
            kernel::arch::x86_64::cpu::without_interrupts(|| {
                kernel::arch::x86_64::apic::mask_timer(false)
            });
            let before = time::ticks();
            let ticking = busy(STEPS);
            let ticks = (time::ticks() - before).max(1);
            (ticking.saturating_sub(quiet) / ticks, ticks)
        })
        .collect();
    costs.sort_unstable();
    costs[ROUNDS / 2]
}

fn bench_main() -> ! {
    // Threads and the kernel's own modules run as in a real boot.
    kernel::bring_up::run().expect("modules and threads");
    let guarded = Registry::builder()
        .containment(kernel::contain::containment())
        .build();
    let bare = Registry::builder().build();
    populate(&guarded);
    populate(&bare);
    // Alternate, so drift in TCG's speed hits both alike.
    let (g_ipc, g_id, g_tick) = measure(&guarded);
    let (b_ipc, b_id, b_tick) = measure(&bare);
    let mhz = time::tsc_hz() / 1_000_000;
    kprintln!(
        "IPC round trip by name: {g_ipc} TSC cycles with the guard, {b_ipc} without ({} vs {} ns at {mhz} MHz)",
        time::cycles_to_ns(g_ipc),
        time::cycles_to_ns(b_ipc)
    );
    kprintln!(
        "IPC round trip by a kept id: {g_id} TSC cycles with the guard, {b_id} without ({} vs {} ns)",
        time::cycles_to_ns(g_id),
        time::cycles_to_ns(b_id)
    );
    kprintln!(
        "Tick to 8 of 64 modules: {g_tick} TSC cycles with the guard, {b_tick} without ({} vs {} ns)",
        time::cycles_to_ns(g_tick),
        time::cycles_to_ns(b_tick)
    );
    let (per_tick, ticks) = timer_interrupt_cost();
    kprintln!(
        "a timer interrupt costs the interrupted thread {per_tick} TSC cycles ({} ns; {ticks} ticks at {} Hz in the measured loop)",
        time::cycles_to_ns(per_tick),
        time::timer_hz()
    );
    kernel::exit(kernel::ExitCode::Success)
}
