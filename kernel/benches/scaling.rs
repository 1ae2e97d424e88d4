//! In-kernel benchmark of IPC across CPUs: requests per second when 1, 2
//! (and, with more CPUs, 4) threads at once each send requests to a module
//! of their own, through one registry with the kernel's containment.
//!
//!     cargo bench -p kernel --target x86_64-unknown-none --bench scaling
//!     HELIX_SMP=4 cargo bench -p kernel --target x86_64-unknown-none --bench scaling
//!
//! The registry's table sits behind one lock, taken twice per request:
//! the question is whether two CPUs get more done than one, or less. QEMU
//! runs one host thread per virtual CPU, so on a 2-core host only the
//! 1- and 2-thread figures measure the kernel; beyond that the host is
//! oversubscribed. Each figure is the median of 5 rounds of 200 ms.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use helix_modules::v2::{Context, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, Registry};
use kernel::{kprintln, thread, time};

kernel::entry_point!(bench_main);
kernel::qemu_smp!(2);

const ROUNDS: usize = 5;
const ROUND_MS: u64 = 200;

/// Answers every request.
struct Echo(&'static str);

impl ModuleTrait for Echo {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new(self.0)
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
    fn handle_request(&mut self, _: &Request) -> Result<Response, ModuleError> {
        Ok(Response::ok(Vec::new()))
    }
}

/// Requests per second from `senders` threads at once, each to its own
/// module, over one round.
fn round(r: &Arc<Registry>, senders: usize) -> u64 {
    let go = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let handles: Vec<_> = (0..senders)
        .map(|i| {
            let (r, go, stop, done) = (r.clone(), go.clone(), stop.clone(), done.clone());
            thread::Builder::new("sender")
                .spawn(move || {
                    let id = r.lookup(&format!("echo_{i}")).expect("its module");
                    while !go.load(Ordering::Acquire) {
                        core::hint::spin_loop();
                    }
                    let mut n = 0u64;
                    while !stop.load(Ordering::Relaxed) {
                        let request = Request::new("bench", "ping", Vec::new());
                        assert!(r.request_id(Caller::Kernel, id, request).is_ok());
                        n += 1;
                    }
                    done.fetch_add(n, Ordering::AcqRel);
                })
                .expect("spawn a sender")
        })
        .collect();
    let start = time::now_ns();
    go.store(true, Ordering::Release);
    thread::sleep_ms(ROUND_MS);
    stop.store(true, Ordering::Release);
    let elapsed = time::now_ns() - start;
    for h in handles {
        h.join().expect("join a sender");
    }
    done.load(Ordering::Acquire) * 1_000_000_000 / elapsed.max(1)
}

fn bench_main() -> ! {
    kernel::bring_up::run().expect("modules and threads");
    let r = Arc::new(
        Registry::builder()
            .containment(kernel::contain::containment())
            .build(),
    );
    for i in 0..4 {
        r.register_v2(Echo(format!("echo_{i}").leak()))
            .expect("register");
    }
    assert!(r.start_all(Caller::Kernel).is_clean());
    let cpus = kernel::smp::cpu_count();
    let mut counts = Vec::new();
    for senders in [1usize, 2, 4].into_iter().filter(|&n| n <= cpus.max(2)) {
        let mut rates: Vec<u64> = (0..ROUNDS).map(|_| round(&r, senders)).collect();
        rates.sort_unstable();
        counts.push((senders, rates[ROUNDS / 2]));
    }
    for (senders, rate) in &counts {
        kprintln!("IPC from {senders} thread(s) at once on {cpus} CPUs: {rate} requests/s");
    }
    kernel::exit(kernel::ExitCode::Success)
}
