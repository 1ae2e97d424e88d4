//! Module events from real sources: Tick from the timer at the configured
//! rate, Custom events published by one module and received by another,
//! and the supervisor restarting a failed module and holding one that
//! keeps failing.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{Caller, ModuleError, ModuleHandle, ModuleState, Registry};
use kernel::{ktest, thread};
use spin::Mutex;

kernel::test_kernel!();

fn up() -> &'static Registry {
    kernel::bring_up::run().expect("modules and threads")
}

fn boilerplate() -> Result<(), ModuleError> {
    Ok(())
}

static TICKS: Mutex<Vec<u64>> = Mutex::new(Vec::new());

struct TickCounter;

impl ModuleTrait for TickCounter {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("tick_counter")
            .version(1, 0, 0)
            .events(EventKinds::TICK)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        if let Event::Tick { timestamp_ns } = event {
            TICKS.lock().push(*timestamp_ns);
            EventResponse::Handled
        } else {
            EventResponse::Ignored
        }
    }
}

ktest!(
    fn tick_events_arrive_at_the_configured_rate() {
        let r = up();
        r.register_v2(TickCounter).unwrap();
        assert!(r.start_all(Caller::Kernel).is_clean());
        thread::sleep_ms(50);
        TICKS.lock().clear();
        thread::sleep_ms(1000);
        let ticks = TICKS.lock().clone();
        // 10 Hz by default; TCG timing is loose, the count is not.
        assert!(
            (8..=12).contains(&ticks.len()),
            "{} ticks in 1 s: {ticks:?}",
            ticks.len()
        );
        assert!(
            ticks.windows(2).all(|w| w[1] > w[0]),
            "timestamps not increasing: {ticks:?}"
        );
        let gaps: Vec<u64> = ticks.windows(2).map(|w| w[1] - w[0]).collect();
        assert!(
            gaps.iter().all(|&g| (50_000_000..200_000_000).contains(&g)),
            "{gaps:?}"
        );
        let m = r.metrics("tick_counter").unwrap();
        assert!(m.events_handled >= ticks.len() as u64);
    }
);

static RECEIVED: Mutex<Vec<(String, Vec<u8>)>> = Mutex::new(Vec::new());

/// Publishes a Custom event whenever it is asked to, from its request
/// handler, through the handle it kept from init.
struct Publisher {
    handle: Option<ModuleHandle>,
}

impl ModuleTrait for Publisher {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("publisher")
            .version(1, 0, 0)
            .events(EventKinds::empty())
    }
    fn init(&mut self, ctx: &Context) -> Result<(), ModuleError> {
        self.handle = Some(ctx.handle());
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn handle_request(&mut self, request: &Request) -> Result<Response, ModuleError> {
        let handle = self
            .handle
            .as_ref()
            .ok_or(ModuleError::Failed("no handle"))?;
        let summary = handle.publish("sensor.reading", request.payload.clone())?;
        Ok(Response::ok(
            alloc::format!("{}", summary.handled).into_bytes(),
        ))
    }
}

struct Subscriber;

impl ModuleTrait for Subscriber {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("subscriber")
            .version(1, 0, 0)
            .events(EventKinds::CUSTOM)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        if let Event::Custom { name, data } = event {
            RECEIVED.lock().push((name.clone(), data.clone()));
            EventResponse::Handled
        } else {
            EventResponse::Ignored
        }
    }
}

ktest!(
    fn custom_events_reach_subscribers() {
        let r = up();
        r.register_v2(Publisher { handle: None }).unwrap();
        r.register_v2(Subscriber).unwrap();
        assert!(r.start_all(Caller::Kernel).is_clean());
        let resp = r
            .request(
                Caller::Kernel,
                "publisher",
                Request::new("test", "emit", alloc::vec![1, 2, 3]),
            )
            .unwrap();
        // The subscriber (and event_log, which logs every kind) handled it.
        let handled: u32 = core::str::from_utf8(&resp.payload)
            .unwrap()
            .parse()
            .unwrap();
        assert!(handled >= 1, "nobody handled the event");
        assert_eq!(
            RECEIVED.lock().as_slice(),
            &[(String::from("sensor.reading"), alloc::vec![1, 2, 3])]
        );
    }
);

static FLAKY_INITS: AtomicU64 = AtomicU64::new(0);
static FLAKY_HEALTHY: AtomicBool = AtomicBool::new(true);

/// Reports itself unhealthy on demand; counts its inits.
struct Flaky;

impl ModuleTrait for Flaky {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("flaky")
            .version(1, 0, 0)
            .events(EventKinds::empty())
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        FLAKY_INITS.fetch_add(1, Ordering::Relaxed);
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        boilerplate()
    }
    fn is_healthy(&self) -> bool {
        FLAKY_HEALTHY.load(Ordering::Relaxed)
    }
}

ktest!(
    fn supervisor_restarts_then_holds_a_crash_looping_module() {
        let r = up();
        r.register_v2(Flaky).unwrap();
        assert!(r.start_all(Caller::Kernel).is_clean());
        assert_eq!(FLAKY_INITS.load(Ordering::Relaxed), 1);
        FLAKY_HEALTHY.store(false, Ordering::Relaxed);
        // The events thread supervises on every tick (10 Hz); back-off starts
        // at 10 ms and doubles, and after 5 restarts in 10 s the module is held.
        let deadline = kernel::time::now_ns() + 5_000_000_000;
        while !r.status("flaky").unwrap().held && kernel::time::now_ns() < deadline {
            thread::sleep_ms(20);
        }
        let status = r.status("flaky").unwrap();
        assert!(status.held, "never held: {status}");
        let inits = FLAKY_INITS.load(Ordering::Relaxed);
        assert!(inits >= 2, "never restarted");
        thread::sleep_ms(500);
        assert_eq!(
            FLAKY_INITS.load(Ordering::Relaxed),
            inits,
            "a held module was restarted again"
        );
        FLAKY_HEALTHY.store(true, Ordering::Relaxed);
        r.restart(Caller::Kernel, "flaky").unwrap();
        assert_eq!(r.status("flaky").unwrap().state, ModuleState::Running);
        assert!(!r.status("flaky").unwrap().held);
    }
);
