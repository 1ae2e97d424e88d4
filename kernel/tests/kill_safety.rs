//! Killing a module's threads never leaves a kernel lock or a registry call
//! half done: a module whose two threads hammer the registry (requests to
//! another module, as fast as they can) is stopped and started a thousand
//! times on two CPUs. Its threads are killed at each stop; they must die
//! only at safe points, so after every cycle the registry still answers,
//! the target module is not left busy, and the hammering threads are gone.
#![no_std]
#![no_main]

extern crate alloc;

use core::sync::atomic::{AtomicU64, Ordering};
use helix_modules::v2::{Context, ModuleHandle, ModuleInfo, ModuleTrait, Request, Response};
use helix_modules::{Caller, ModuleError, Registry};
use kernel::{ktest, thread, time};

kernel::test_kernel!();
kernel::qemu_smp!(2);
// The time limit leaves room for a loaded machine.
kernel::qemu_cmdline!("round_robin.time_slice_ms=1 test.timeout_ms=30000");

/// Requests the target answered.
static ANSWERED: AtomicU64 = AtomicU64::new(0);

struct Target;

impl ModuleTrait for Target {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("target")
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
        ANSWERED.fetch_add(1, Ordering::Relaxed);
        Ok(Response::ok(alloc::vec![1, 2, 3]))
    }
}

#[derive(Default)]
struct Hammer {
    handle: Option<ModuleHandle>,
}

impl ModuleTrait for Hammer {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("hammer").dependencies(&["target"])
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.handle = Some(ctx.handle());
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        for _ in 0..2 {
            let handle = self
                .handle
                .clone()
                .ok_or(ModuleError::Failed("not initialised"))?;
            thread::Builder::new("hammer")
                .owner("hammer")
                .spawn(move || {
                    loop {
                        let _ =
                            handle.request("target", Request::new("hammer", "ping", alloc::vec![]));
                    }
                })
                .map_err(|_| ModuleError::Failed("cannot spawn"))?;
        }
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
}

fn hammers_alive() -> usize {
    thread::list()
        .iter()
        .filter(|t| t.owner.as_deref() == Some("hammer") && t.state != thread::ThreadState::Exited)
        .count()
}

fn up() -> &'static Registry {
    let r = kernel::testing::up();
    if r.status("hammer").is_err() {
        r.register_v2(Target).expect("register target");
        r.register_v2(Hammer::default()).expect("register hammer");
        assert!(r.start_all(Caller::Kernel).is_clean());
    }
    r
}

ktest!(
    fn a_thread_hammering_the_registry_is_killed_safely_a_thousand_times() {
        let r = up();
        let heap_before = kernel::mm::heap::stats().used;
        for cycle in 0..1000 {
            // Let the threads get going (and be inside the registry).
            let seen = ANSWERED.load(Ordering::Relaxed);
            let deadline = time::now_ns() + 2_000_000_000;
            while ANSWERED.load(Ordering::Relaxed) < seen + 2 {
                assert!(
                    time::now_ns() < deadline,
                    "cycle {cycle}: no requests answered"
                );
                thread::yield_now();
            }
            r.stop(Caller::Kernel, "hammer").expect("stop");
            // Killed threads end at their next safe point.
            let deadline = time::now_ns() + 2_000_000_000;
            while hammers_alive() > 0 {
                assert!(
                    time::now_ns() < deadline,
                    "cycle {cycle}: {} hammer threads still alive",
                    hammers_alive()
                );
                thread::yield_now();
            }
            // Nothing is left held: the registry answers and the target is
            // free (the events thread's health poll may hold it a moment).
            let deadline = time::now_ns() + 1_000_000_000;
            while r.status("target").expect("registry answers").busy {
                assert!(time::now_ns() < deadline, "cycle {cycle}: target left busy");
                thread::yield_now();
            }
            assert_eq!(
                kernel::testing::ask(r, "target", "ping", b"").map(|s| s.len()),
                Ok(3),
                "cycle {cycle}"
            );
            r.start(Caller::Kernel, "hammer").expect("start");
        }
        // A killed thread is not unwound: what it had allocated at that
        // moment (its request and answer) stays allocated. That is bounded
        // by a few small blocks per thread.
        let grown = kernel::mm::heap::stats().used.saturating_sub(heap_before);
        assert!(
            grown <= 1000 * 2 * 256,
            "the heap grew by {grown} bytes over 1000 cycles"
        );
    }
);
