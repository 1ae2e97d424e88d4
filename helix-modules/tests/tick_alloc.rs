//! Dispatching Tick allocates nothing, measured with a counting global
//! allocator. This is its own test binary so no other test allocates
//! concurrently.

mod common;

use std::alloc::System;

use common::{Journal, Probe, leak};
use helix_modules::v2::{Event, EventKinds, EventResponse, ModuleInfo};
use helix_modules::{Caller, Registry};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

#[test]
fn tick_dispatch_allocates_nothing_and_skips_non_subscribers() {
    let r = Registry::new();
    let j = Journal::default();
    for i in 0..64 {
        let kinds = if i % 8 == 0 {
            EventKinds::TICK
        } else {
            EventKinds::SHUTDOWN
        };
        let info = ModuleInfo::new(leak(format!("m{i}"))).events(kinds);
        r.register_v2(Probe::new(info, &j).on_event(|_, _| EventResponse::Handled))
            .unwrap();
    }
    assert!(r.start_all(Caller::Kernel).is_clean());
    // The first dispatch after start-up rebuilds the subscriber lists.
    r.dispatch(&Event::Tick { timestamp_ns: 0 });
    // Probes journal each call (which allocates), so they only show who
    // was called; the allocation count uses journal-free modules below.
    let before = j.entries().len();
    let s = r.dispatch(&Event::Tick { timestamp_ns: 1 });
    assert_eq!(s.delivered, 8);
    let called: Vec<String> = j.entries()[before..].to_vec();
    let expected: Vec<String> = (0..64).step_by(8).map(|i| format!("m{i}:event")).collect();
    assert_eq!(called, expected);

    let quiet = Registry::new();
    for i in 0..64 {
        let kinds = if i % 8 == 0 {
            EventKinds::TICK
        } else {
            EventKinds::SHUTDOWN
        };
        quiet
            .register_v2(Quiet(ModuleInfo::new(leak(format!("q{i}"))).events(kinds)))
            .unwrap();
    }
    quiet.start_all(Caller::Kernel);
    quiet.dispatch(&Event::Tick { timestamp_ns: 0 });
    // The counter is global: the test harness's own thread can allocate
    // while a round runs (seen on a loaded machine). A dispatch that
    // allocated would show in every round, so the quietest of three counts.
    let change = (0..3)
        .map(|round| {
            let region = Region::new(GLOBAL);
            for t in 0..1000 {
                quiet.dispatch(&Event::Tick {
                    timestamp_ns: round * 1000 + t,
                });
            }
            region.change()
        })
        .min_by_key(|c| (c.allocations, c.reallocations))
        .expect("three rounds");
    assert_eq!(change.allocations, 0, "{change:?}");
    assert_eq!(change.reallocations, 0, "{change:?}");
    assert_eq!(quiet.metrics("q8").unwrap().events_handled, 3001);
    assert_eq!(quiet.metrics("q9").unwrap().events_handled, 0);
}

struct Quiet(ModuleInfo);

impl helix_modules::v2::ModuleTrait for Quiet {
    fn info(&self) -> ModuleInfo {
        self.0
    }
    fn init(&mut self, _: &helix_modules::v2::Context) -> Result<(), helix_modules::ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), helix_modules::ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), helix_modules::ModuleError> {
        Ok(())
    }
    fn handle_event(&mut self, _: &Event) -> EventResponse {
        EventResponse::Handled
    }
}
