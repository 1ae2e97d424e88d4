//! In-kernel benchmark of the module boundary: what containment costs.
//!
//!     cargo bench -p kernel --target x86_64-unknown-none --bench modules
//!
//! Two registries run the same modules side by side: one built like the
//! kernel's, with the kernel's containment (every call into module code
//! guarded: a catch frame, the budget, the memory charge), and one without
//! any. For each, TSC cycles per IPC round trip by name (a request and its
//! answer) and per Tick dispatch to 64 modules of which 8 subscribe. Each
//! figure is the median of 7 rounds of 20,000 operations; TCG timing
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

fn measure(r: &Registry) -> (u64, u64) {
    let ipc = median_cycles(|| {
        let request = Request::new("bench", "ping", Vec::new());
        let answer = r.request(Caller::Kernel, "bench_7", request);
        assert!(answer.is_ok());
    });
    let tick = Event::Tick { timestamp_ns: 1 };
    let dispatch = median_cycles(|| {
        let s = r.dispatch(&tick);
        assert_eq!(s.handled, 8);
    });
    (ipc, dispatch)
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
    let (g_ipc, g_tick) = measure(&guarded);
    let (b_ipc, b_tick) = measure(&bare);
    let mhz = time::tsc_hz() / 1_000_000;
    kprintln!(
        "IPC round trip by name: {g_ipc} TSC cycles with the guard, {b_ipc} without ({} vs {} ns at {mhz} MHz)",
        time::cycles_to_ns(g_ipc),
        time::cycles_to_ns(b_ipc)
    );
    kprintln!(
        "Tick to 8 of 64 modules: {g_tick} TSC cycles with the guard, {b_tick} without ({} vs {} ns)",
        time::cycles_to_ns(g_tick),
        time::cycles_to_ns(b_tick)
    );
    kernel::exit(kernel::ExitCode::Success)
}
