//! Which events wait for a busy subscriber: a Tick skips a module that is
//! in a call on another thread, every other event waits for it and arrives.

use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, Request, Response,
};
use helix_modules::{Caller, ModuleError, Registry};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;

static IN_CALL: AtomicBool = AtomicBool::new(false);
static RELEASE: AtomicBool = AtomicBool::new(false);
static TICKS: AtomicU32 = AtomicU32::new(0);
static HOTPLUGS: AtomicU32 = AtomicU32::new(0);

/// Its `hold` request blocks until the test releases it.
struct Slow;

impl ModuleTrait for Slow {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("slow")
            .version(1, 0, 0)
            .events(EventKinds::TICK | EventKinds::CPU_HOTPLUG)
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
        IN_CALL.store(true, Ordering::SeqCst);
        while !RELEASE.load(Ordering::SeqCst) {
            std::thread::yield_now();
        }
        Ok(Response::ok(Vec::new()))
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::Tick { .. } => TICKS.fetch_add(1, Ordering::SeqCst),
            Event::CpuHotplug { .. } => HOTPLUGS.fetch_add(1, Ordering::SeqCst),
            _ => return EventResponse::Ignored,
        };
        EventResponse::Handled
    }
}

#[test]
fn tick_skips_a_busy_subscriber_other_events_wait_for_it() {
    let r = Arc::new(Registry::new());
    r.register_v2(Slow).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    let holder = {
        let r = r.clone();
        std::thread::spawn(move || {
            r.request(Caller::Kernel, "slow", Request::new("t", "hold", vec![]))
                .unwrap()
        })
    };
    while !IN_CALL.load(Ordering::SeqCst) {
        std::thread::yield_now();
    }
    let tick = r.dispatch(&Event::Tick { timestamp_ns: 1 });
    assert_eq!(
        (tick.skipped, TICKS.load(Ordering::SeqCst)),
        (1, 0),
        "a Tick must not wait"
    );

    let dispatcher = {
        let r = r.clone();
        std::thread::spawn(move || {
            r.dispatch(&Event::CpuHotplug {
                cpu_id: 1,
                online: true,
            })
        })
    };
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        HOTPLUGS.load(Ordering::SeqCst),
        0,
        "delivered into a module that is in a call"
    );
    assert!(
        !dispatcher.is_finished(),
        "the hotplug dispatch gave up on the busy module"
    );
    RELEASE.store(true, Ordering::SeqCst);
    holder.join().unwrap();
    let summary = dispatcher.join().unwrap();
    assert_eq!((summary.handled, summary.skipped), (1, 0));
    assert_eq!(HOTPLUGS.load(Ordering::SeqCst), 1);
}
