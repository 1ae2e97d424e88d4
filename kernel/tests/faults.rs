//! The fault matrix: a module that misbehaves in each entry point, in each
//! way module code can misbehave, and the kernel containing every case.
//!
//! For each entry point (init, start, stop, Tick, a Custom event, a request,
//! a parameter change, a health poll, save_state during a reload, a thread
//! of the module's own) and each fault (panic, null read, general
//! protection, invalid opcode, divide error, stack overflow, endless loop,
//! an allocation over the module's memory limit), the test checks: the caller got a typed error (or
//! the dispatch counted a failure), the module is Failed with the fault as
//! its reason, nothing of it is left busy, its hardware claim and its
//! threads are given back, a bystander module keeps receiving Ticks, and
//! the supervisor restarts it once it behaves. Budgets are shortened on the
//! command line so the endless loops end quickly.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::boxed::Box;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use helix_modules::contain::{CallKind, FaultKind};
use helix_modules::services::hw::{Hardware, HwError};
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleAdapter, ModuleInfo, ModuleTrait, Request,
    Response,
};
use helix_modules::{Caller, ModuleError, ModuleFlags, ModuleState, ParamSpec, Registry};
use kernel::arch::x86_64::provoke;
use kernel::{ktest, thread, time};

kernel::test_kernel!();
kernel::qemu_smp!(2);
kernel::qemu_cmdline!(
    "events.tick_hz=100 budget.lifecycle_ms=100 budget.event_ms=100 budget.request_ms=100 budget.quick_ms=100 budget.state_ms=100 supervisor.backoff_ms=20 supervisor.max_restarts=1000 mem.limit.faulty=256K"
);

/// The fault kinds, in the order of [`WAYS`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Way {
    Panic,
    NullRead,
    GeneralProtection,
    InvalidOpcode,
    DivideError,
    StackOverflow,
    EndlessLoop,
    OverLimit,
}

const WAYS: [Way; 8] = [
    Way::Panic,
    Way::NullRead,
    Way::GeneralProtection,
    Way::InvalidOpcode,
    Way::DivideError,
    Way::StackOverflow,
    Way::EndlessLoop,
    Way::OverLimit,
];

impl Way {
    /// The fault kind the registry must report for it.
    fn kind(self) -> FaultKind {
        match self {
            Way::Panic => FaultKind::Panic,
            Way::EndlessLoop => FaultKind::Timeout,
            Way::OverLimit => FaultKind::OutOfMemory,
            _ => FaultKind::Exception,
        }
    }

    fn misbehave(self) {
        match self {
            Way::Panic => panic!("faulty module panics on purpose"),
            Way::NullRead => {
                core::hint::black_box(provoke::null_read());
            }
            Way::GeneralProtection => {
                core::hint::black_box(provoke::general_protection());
            }
            Way::InvalidOpcode => provoke::invalid_opcode(),
            Way::DivideError => {
                core::hint::black_box(provoke::divide_error());
            }
            Way::StackOverflow => {
                core::hint::black_box(kernel::testing::overflow_stack(0));
            }
            Way::EndlessLoop => loop {
                core::hint::spin_loop();
            },
            Way::OverLimit => {
                // Past the module's limit (mem.limit.faulty on the command
                // line): the allocation fails.
                let v: Vec<u8> = Vec::with_capacity(core::hint::black_box(1 << 20));
                core::hint::black_box(&v);
            }
        }
    }
}

/// Where the module misbehaves: a `CallKind` code (0: nowhere), and how.
static WHERE: AtomicU32 = AtomicU32::new(0);
static HOW: AtomicU32 = AtomicU32::new(0);
/// Ticks the bystander received.
static BYSTANDER_TICKS: AtomicU64 = AtomicU64::new(0);

/// The entry points, as this test names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    Init,
    Start,
    Stop,
    Tick,
    Custom,
    Request,
    Param,
    Health,
    Save,
    Thread,
}

const ENTRY_POINTS: [Entry; 10] = [
    Entry::Init,
    Entry::Start,
    Entry::Stop,
    Entry::Tick,
    Entry::Custom,
    Entry::Request,
    Entry::Param,
    Entry::Health,
    Entry::Save,
    Entry::Thread,
];

impl Entry {
    /// The call kind the registry reports a fault in this entry point as.
    fn call_kind(self) -> CallKind {
        match self {
            Entry::Init => CallKind::Init,
            Entry::Start => CallKind::Start,
            Entry::Stop => CallKind::Stop,
            Entry::Tick | Entry::Custom => CallKind::Event,
            Entry::Request => CallKind::Request,
            Entry::Param => CallKind::ParamChange,
            Entry::Health => CallKind::Health,
            Entry::Save => CallKind::SaveState,
            Entry::Thread => CallKind::Thread,
        }
    }

    fn code(self) -> u32 {
        ENTRY_POINTS
            .iter()
            .position(|e| *e == self)
            .map_or(0, |i| i as u32 + 1)
    }
}

fn arm(at: Entry, way: Way) {
    HOW.store(
        WAYS.iter().position(|w| *w == way).unwrap_or(0) as u32,
        Ordering::SeqCst,
    );
    WHERE.store(at.code(), Ordering::SeqCst);
}

fn disarm() {
    WHERE.store(0, Ordering::SeqCst);
}

/// Misbehaves if armed for `at`, once: the arming is used up, so a call
/// made after the fault (a restarted module's new worker thread, before
/// the test disarms) cannot fault again and be taken for the next case.
fn maybe_fault(at: Entry) {
    if WHERE
        .compare_exchange(at.code(), 0, Ordering::SeqCst, Ordering::SeqCst)
        .is_ok()
    {
        WAYS[HOW.load(Ordering::SeqCst) as usize].misbehave();
    }
}

/// The port the faulty module claims while it runs (an unused one).
const PORT: u16 = 0x520;

const PARAMS: [ParamSpec; 1] = [ParamSpec::new("level", "1").range(0, 9)];

#[derive(Default)]
struct Faulty {
    kept: Vec<u8>,
}

/// Bytes the `keep` request holds on to.
const KEPT: usize = 64 * 1024;

impl ModuleTrait for Faulty {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("faulty")
            .version(1, 0, 0)
            .flags(ModuleFlags::DRIVER.union(ModuleFlags::HOT_RELOADABLE))
            .events(EventKinds::TICK.union(EventKinds::CUSTOM))
            .params(&PARAMS)
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        maybe_fault(Entry::Init);
        let hw = ctx.hardware()?;
        hw.claim_ports(PORT, 2)?;
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        maybe_fault(Entry::Start);
        thread::Builder::new("faulty_worker")
            .owner("faulty")
            .spawn(|| {
                loop {
                    maybe_fault(Entry::Thread);
                    thread::sleep_ms(2);
                }
            })
            .map_err(|_| ModuleError::Failed("cannot start the worker"))?;
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        maybe_fault(Entry::Stop);
        Ok(())
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::Tick { .. } => maybe_fault(Entry::Tick),
            Event::Custom { .. } => maybe_fault(Entry::Custom),
            _ => {}
        }
        EventResponse::Handled
    }
    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        maybe_fault(Entry::Request);
        match request.request_type.as_str() {
            // Keeps (or lets go of) a block of known size, for the memory
            // accounting test.
            "keep" => self.kept = alloc::vec![7u8; KEPT],
            "free" => self.kept = Vec::new(),
            _ => {}
        }
        Ok(Response::ok(b"fine".to_vec()))
    }
    fn on_param_change(&mut self, _: &str, _: &str) -> Result<(), ModuleError> {
        maybe_fault(Entry::Param);
        Ok(())
    }
    fn is_healthy(&self) -> bool {
        maybe_fault(Entry::Health);
        true
    }
    fn save_state(&self) -> Option<Vec<u8>> {
        maybe_fault(Entry::Save);
        Some(Vec::new())
    }
}

struct Bystander;

impl ModuleTrait for Bystander {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("bystander").events(EventKinds::TICK)
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
        BYSTANDER_TICKS.fetch_add(1, Ordering::SeqCst);
        EventResponse::Handled
    }
}

fn up() -> &'static Registry {
    let r = kernel::testing::up();
    if r.status("faulty").is_err() {
        r.register_v2(Faulty::default()).expect("register faulty");
        r.register_v2(Bystander).expect("register bystander");
        kernel::modules::apply_memory_limits(r);
        // Only this test's modules are checked: with budgets shortened to
        // 100 ms, a real device's start (virtio_rng's first round trip) can
        // run out under a loaded host, and that is not what is tested here.
        let report = r.start_all(Caller::Kernel);
        for name in ["faulty", "bystander"] {
            assert!(report.started.iter().any(|s| s == name), "{report:?}");
        }
    }
    r
}

/// Waits (bounded, in 5 ms sleeps) until `done` holds; panics with `what`.
fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = time::now_ns() + 5_000_000_000;
    while !done() {
        assert!(time::now_ns() < deadline, "timed out waiting: {what}");
        thread::sleep_ms(5);
    }
}

fn faults(r: &Registry) -> u64 {
    r.metrics("faulty").map_or(0, |m| m.faults)
}

/// The entry point and fault kind inside an error, if it is a fault.
fn fault_of(e: &ModuleError) -> Option<(CallKind, FaultKind, String)> {
    match e {
        ModuleError::Faulted { during, fault, .. } => {
            Some((*during, fault.kind, fault.report.clone()))
        }
        ModuleError::StepFailed { reason, .. } => fault_of(reason),
        _ => None,
    }
}

/// The ids of the live threads `faulty` owns.
fn worker_threads() -> Vec<thread::ThreadId> {
    thread::list()
        .into_iter()
        .filter(|t| t.owner.as_deref() == Some("faulty") && t.state != thread::ThreadState::Exited)
        .map(|t| t.id)
        .collect()
}

/// Brings `faulty` back to Running with nothing armed.
fn reset(r: &Registry) {
    disarm();
    wait_until("faulty running again", || {
        match r.status("faulty").map(|s| (s.state, s.busy)) {
            Ok((ModuleState::Running, false)) => true,
            Ok((ModuleState::Failed, false)) => {
                let _ = r.restart(Caller::Kernel, "faulty");
                false
            }
            Ok((ModuleState::Stopped | ModuleState::Initialized, false)) => {
                let _ = r.start(Caller::Kernel, "faulty");
                false
            }
            _ => false,
        }
    });
}

/// Makes `faulty` misbehave in `at` the way `way` says; returns the error
/// the caller saw (or the module's reason where no caller waits: events,
/// health, its thread).
fn provoke_fault(r: &Registry, at: Entry, way: Way) -> ModuleError {
    let before = faults(r);
    let case = format!("{way:?} in {at:?}");
    let case = case.as_str();
    arm(at, way);
    let direct = match at {
        Entry::Init | Entry::Start => Some(r.restart(Caller::Kernel, "faulty").expect_err(case)),
        Entry::Stop => Some(r.stop(Caller::Kernel, "faulty").expect_err(case)),
        Entry::Request => Some(
            r.request(Caller::Kernel, "faulty", Request::new("t", "x", Vec::new()))
                .expect_err(case),
        ),
        Entry::Param => Some(
            r.set_param(Caller::Kernel, "faulty", "level", "3")
                .expect_err(case),
        ),
        Entry::Save => Some(
            r.reload(
                Caller::Kernel,
                "faulty",
                Box::new(ModuleAdapter::new(Faulty::default())),
            )
            .expect_err(case),
        ),
        Entry::Custom => {
            let s = r.dispatch(&Event::Custom {
                name: String::from("poke"),
                data: Vec::new(),
            });
            assert_eq!(s.failed, 1, "{case}: {s:?}");
            None
        }
        Entry::Health => {
            r.poll_health();
            None
        }
        // Tick (from the events thread) and the module's thread: wait.
        Entry::Tick | Entry::Thread => None,
    };
    wait_until(&format!("{case}: the fault to be counted"), || {
        faults(r) > before
    });
    let reason = r.status("faulty").ok().and_then(|s| s.last_error);
    disarm();
    direct.or(reason).expect("a reason")
}

fn check_case(r: &Registry, at: Entry, way: Way) {
    let ticks = BYSTANDER_TICKS.load(Ordering::SeqCst);
    let workers = worker_threads();
    // The module runs before every case, so it has its worker: what the
    // check below says of the threads it owned is not vacuous.
    assert!(!workers.is_empty(), "{way:?} in {at:?}: no worker to check");
    let err = provoke_fault(r, at, way);
    let case = format!("{way:?} in {at:?}");
    let (during, kind, report) =
        fault_of(&err).unwrap_or_else(|| panic!("{case}: not a fault: {err}"));
    assert_eq!(during, at.call_kind(), "{case}: {err}");
    assert_eq!(kind, way.kind(), "{case}: {err}");
    if way == Way::Panic {
        assert!(report.contains("panics on purpose"), "{case}: {report}");
    }
    // Given back: the module's threads (those it had before the fault end;
    // a restart by the supervisor starts new ones) and its hardware claim
    // (someone else can claim the ports, unless it was restarted already).
    wait_until("the module's threads ended", || {
        let now = worker_threads();
        workers.iter().all(|t| !now.contains(t))
    });
    let hw = kernel::hw::hardware();
    wait_until("the claim released", || {
        match hw.claim_ports("probe", PORT, 2) {
            Ok(_) => {
                hw.release_all("probe");
                true
            }
            Err(HwError::PortsInUse { owner, .. }) if owner == "faulty" => r
                .status("faulty")
                .is_ok_and(|s| s.state == ModuleState::Running),
            Err(e) => panic!("{case}: {e}"),
        }
    });
    // A bystander keeps getting its Ticks.
    wait_until("the bystander's ticks", || {
        BYSTANDER_TICKS.load(Ordering::SeqCst) >= ticks + 2
    });
    // And once it behaves, it runs again (the supervisor restarts it).
    reset(r);
    let answer = kernel::testing::ask(r, "faulty", "x", b"");
    assert_eq!(answer.as_deref(), Ok("fine"), "{case}: after the restart");
}

fn run_row(at: Entry) {
    let r = up();
    reset(r);
    for way in WAYS {
        check_case(r, at, way);
    }
}

/// One test per entry point: every fault kind in it (see [`run_row`]).
macro_rules! matrix_rows {
    ($($name:ident: $entry:ident),* $(,)?) => {
        $(ktest!(
            fn $name() {
                run_row(Entry::$entry);
            }
        );)*
    };
}

matrix_rows! {
    faults_in_init_are_contained: Init,
    faults_in_start_are_contained: Start,
    faults_in_stop_are_contained: Stop,
    faults_in_a_tick_handler_are_contained: Tick,
    faults_in_a_custom_event_handler_are_contained: Custom,
    faults_in_a_request_handler_are_contained: Request,
    faults_in_a_parameter_change_are_contained: Param,
    faults_in_a_health_poll_are_contained: Health,
    faults_in_save_state_are_contained: Save,
}
ktest!(
    fn faults_in_a_module_thread_fail_the_module() {
        let r = up();
        reset(r);
        // A thread has no budget (an endless loop is just a busy thread);
        // every other fault ends the thread and fails its module.
        for way in WAYS.into_iter().filter(|w| *w != Way::EndlessLoop) {
            wait_until("the worker running", || !worker_threads().is_empty());
            check_case(r, Entry::Thread, way);
        }
    }
);

ktest!(
    fn repeated_faults_leak_no_memory() {
        let r = up();
        reset(r);
        // Warm up whatever a first fault allocates once (log buffers...).
        check_case(r, Entry::Request, Way::Panic);
        let before = kernel::mm::heap::stats().used;
        for _ in 0..30 {
            check_case(r, Entry::Request, Way::Panic);
        }
        let after = kernel::mm::heap::stats().used;
        // An abandoned call's own allocations are not given back (its
        // frames are not unwound): this handler allocates nothing, so the
        // heap must come back to within a small bound.
        assert!(
            after <= before + 32 * 1024,
            "heap grew from {before} to {after} bytes over 30 faults"
        );
    }
);

ktest!(
    fn allocations_are_charged_to_the_module_that_made_them() {
        let r = up();
        reset(r);
        let usage = || kernel::modules::memory_of(r, "faulty").expect("usage");
        let before = usage();
        assert_eq!(before.limit, 256 * 1024);
        let kernel_before = kernel::mm::account::usage(0).in_use;
        // What the module's code allocates is charged to it, not to the
        // kernel, and given back when freed.
        assert_eq!(
            kernel::testing::ask(r, "faulty", "keep", b"").as_deref(),
            Ok("fine")
        );
        let holding = usage();
        assert!(
            holding.in_use >= before.in_use + KEPT as u64,
            "{before:?} -> {holding:?}"
        );
        assert!(holding.peak >= holding.in_use, "{holding:?}");
        let kernel_during = kernel::mm::account::usage(0).in_use;
        assert!(
            kernel_during < kernel_before + KEPT as u64,
            "the kernel was charged for the module's block: {kernel_before} -> {kernel_during}"
        );
        assert_eq!(
            kernel::testing::ask(r, "faulty", "free", b"").as_deref(),
            Ok("fine")
        );
        let freed = usage();
        assert!(
            freed.in_use + (KEPT as u64) <= holding.in_use,
            "{holding:?} -> {freed:?}"
        );
        // The limit refuses an allocation past it, and counts it.
        check_case(r, Entry::Request, Way::OverLimit);
        let failed = usage();
        assert!(failed.failures > before.failures, "{failed:?}");
    }
);

/// Panics while holding a lock of its own that masks interrupts.
struct Masked {
    lock: helix_modules::sync::IrqMutex<u64>,
}

impl ModuleTrait for Masked {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("masked").events(EventKinds::empty())
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
        let mut held = self.lock.lock();
        *held += 1;
        panic!("masked module panics with interrupts masked");
    }
}

ktest!(
    #[should_panic(expected = "masked module panics with interrupts masked")]
    fn a_fault_with_interrupts_masked_is_not_resumed() {
        // Kernel locks are interrupt-off sections: a fault with interrupts
        // off may have left one held, so the containment does not resume
        // past it; the fault goes on as a panic (here, the test's).
        let r = up();
        r.register_v2(Masked {
            lock: helix_modules::sync::IrqMutex::new(0),
        })
        .expect("register masked");
        let report = r.start_all(Caller::Kernel);
        assert!(report.started.iter().any(|s| s == "masked"), "{report:?}");
        let _ = r.request(Caller::Kernel, "masked", Request::new("t", "x", Vec::new()));
    }
);

/// How many of the deep threads sat near the bottom of their stacks
/// through ten timer ticks and came back.
static DEEP_DONE: AtomicU32 = AtomicU32::new(0);

/// Recurses until fewer than `margin` bytes of the thread's stack are
/// left, then spins there through ten timer ticks.
#[inline(never)]
fn sit_near_the_bottom(bottom: u64, margin: u64) {
    let pad = core::hint::black_box([0u8; 64]);
    let here = &raw const pad as u64;
    if here > bottom + margin {
        sit_near_the_bottom(bottom, margin);
        core::hint::black_box(&pad);
        return;
    }
    let start = time::ticks();
    while time::ticks() < start + 10 {
        core::hint::spin_loop();
    }
}

ktest!(
    fn threads_near_the_bottom_of_their_stacks_take_interrupts_and_switches() {
        // Device interrupts, and the work after a switch, run on the CPU's
        // interrupt stack: threads (a module's calls) 768 bytes from their
        // guard pages take timer interrupts and are preempted and resumed
        // (three busy threads on two CPUs) without the kernel running off
        // the end of their stacks.
        up();
        let before = DEEP_DONE.load(Ordering::SeqCst);
        let handles: Vec<_> = (0..3)
            .map(|_| {
                thread::Builder::new("deep")
                    .spawn(|| {
                        let stack = thread::current_stack().expect("a thread has a stack");
                        sit_near_the_bottom(stack.start, 768);
                        DEEP_DONE.fetch_add(1, Ordering::SeqCst);
                    })
                    .expect("spawn a deep thread")
            })
            .collect();
        for handle in handles {
            let status = handle.join().expect("join a deep thread");
            assert_eq!(status, thread::ExitStatus::Exited(0));
        }
        assert_eq!(DEEP_DONE.load(Ordering::SeqCst), before + 3);
    }
);
