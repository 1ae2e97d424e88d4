//! The event log among other subscribers: each module gets its own events.

use event_log::EventLog;
use helix_modules::v2::{Event, Request};
use helix_modules::{Caller, Registry};

#[test]
fn counts_survive_dispatch_to_several_modules() {
    let r = Registry::new();
    r.register_v2(round_robin::RoundRobinModule::new()).unwrap();
    r.register_v2(EventLog::new()).unwrap();
    assert!(r.start_all(Caller::Kernel).is_clean());
    for t in 1..=3 {
        r.dispatch(&Event::Tick { timestamp_ns: t });
    }
    let resp = r
        .request(
            Caller::Kernel,
            "event_log",
            Request::new("t", "counts", vec![]),
        )
        .unwrap();
    let text = String::from_utf8(resp.payload).unwrap();
    assert!(text.starts_with("ticks=3 "), "{text}");
}
