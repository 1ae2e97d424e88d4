//! In-kernel benchmark: two threads yield to each other, and the TSC gives
//! the cost of one switch (yield -> scheduler -> context switch -> resume).
//!
//!     cargo bench -p kernel --target x86_64-unknown-none --bench switch
//!
//! A long time slice keeps the timer from preempting, so every switch is a
//! voluntary yield. Prints cycles and nanoseconds per switch, best of a few
//! rounds.
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use helix_modules::Caller;
use helix_modules::v2::Request;
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::{kprintln, thread, time};

kernel::entry_point!(bench_main);

const ROUND_TRIPS: u64 = 20_000;
const ROUNDS: usize = 5;

static ARRIVED: AtomicUsize = AtomicUsize::new(0);
static START: AtomicU64 = AtomicU64::new(0);

fn player() {
    // Wait until both players are runnable, so every yield below switches.
    ARRIVED.fetch_add(1, Ordering::AcqRel);
    while ARRIVED.load(Ordering::Acquire) < 2 {
        thread::yield_now();
    }
    let _ = START.compare_exchange(0, rdtsc(), Ordering::AcqRel, Ordering::Acquire);
    for _ in 0..ROUND_TRIPS {
        thread::yield_now();
    }
}

fn one_round() -> u64 {
    ARRIVED.store(0, Ordering::Release);
    START.store(0, Ordering::Release);
    let a = thread::spawn("ping", player).expect("spawn");
    let b = thread::spawn("pong", player).expect("spawn");
    a.join().expect("join");
    b.join().expect("join");
    let cycles = rdtsc() - START.load(Ordering::Acquire);
    cycles / (2 * ROUND_TRIPS)
}

fn bench_main() -> ! {
    let registry = kernel::bring_up::run().expect("scheduler module");
    let slice = Request::new("bench", "set_time_slice", b"1000".to_vec());
    let resp = registry
        .request(Caller::Kernel, "scheduler", slice)
        .expect("the scheduler answers");
    assert!(resp.is_ok());
    let best = (0..ROUNDS).map(|_| one_round()).min().unwrap_or(0);
    kprintln!(
        "yield ping-pong: {} round trips x {ROUNDS} rounds, best {best} TSC cycles per switch ({} ns at {} MHz)",
        ROUND_TRIPS,
        time::cycles_to_ns(best),
        time::tsc_hz() / 1_000_000
    );
    kernel::exit(kernel::ExitCode::Success)
}
