//! Both API generations in the running kernel: the legacy v1 `uptime`
//! module (which implements `Module` directly) is loaded from the module
//! table beside the v2 modules, receives the same Tick events and answers
//! over the same IPC bus, and the module table lists it alike.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use helix_modules::{ModuleState, Registry};
use kernel::{ktest, thread};

kernel::test_kernel!();

use kernel::testing::up;

fn ask(r: &Registry, module: &str, kind: &str) -> Result<String, String> {
    kernel::testing::ask(r, module, kind, b"")
}

/// `up 12.345 s` as milliseconds.
fn uptime_ms(r: &Registry) -> u64 {
    let text = ask(r, "uptime", "uptime").unwrap();
    let secs = text
        .strip_prefix("up ")
        .and_then(|t| t.strip_suffix(" s"))
        .unwrap_or_else(|| panic!("unexpected answer {text:?}"));
    let (whole, frac) = secs.split_once('.').expect("seconds.millis");
    whole.parse::<u64>().unwrap() * 1000 + frac.parse::<u64>().unwrap()
}

ktest!(
    fn v1_and_v2_modules_are_listed_running_side_by_side() {
        let r = up();
        for name in ["uptime", "event_log", "cmos_rtc", "round_robin"] {
            assert_eq!(
                r.status(name).unwrap().state,
                ModuleState::Running,
                "{name}"
            );
        }
        let table = kernel::modules::format_table(r);
        let row = table
            .lines()
            .find(|l| l.starts_with("uptime "))
            .unwrap_or_else(|| panic!("no uptime row:\n{table}"));
        assert!(
            row.contains(" 1.0.0 ") && row.contains(" v1 ") && row.contains(" running "),
            "{row}"
        );
        let v2_row = table
            .lines()
            .find(|l| l.starts_with("event_log "))
            .unwrap_or_else(|| panic!("no event_log row:\n{table}"));
        assert!(v2_row.contains(" v2 "), "{v2_row}");
    }
);

ktest!(
    fn uptime_follows_the_kernel_clock() {
        let r = up();
        thread::sleep_ms(300);
        let a = uptime_ms(r);
        thread::sleep_ms(1000);
        let b = uptime_ms(r);
        assert!((800..=1500).contains(&(b - a)), "{a} ms -> {b} ms");
        let now_ms = kernel::time::now_ns() / 1_000_000;
        assert!(
            b <= now_ms && now_ms - b < 500,
            "uptime {b} ms, clock {now_ms} ms"
        );
    }
);

ktest!(
    fn both_generations_count_the_same_ticks() {
        let r = up();
        let ticks = |m: &str, kind: &str| -> u64 {
            let text = ask(r, m, kind).unwrap();
            text.split(' ')
                .find_map(|f| f.strip_prefix("ticks="))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("{m}: {text}"))
        };
        let (v1_before, v2_before) = (ticks("uptime", "stats"), ticks("event_log", "counts"));
        thread::sleep_ms(500);
        let v1 = ticks("uptime", "stats") - v1_before;
        let v2 = ticks("event_log", "counts") - v2_before;
        assert!(v1 >= 3, "uptime saw {v1} ticks in 500 ms");
        assert!(
            v1.abs_diff(v2) <= 1,
            "uptime saw {v1} ticks, event_log {v2}"
        );
        assert!(
            ask(r, "uptime", "reset")
                .unwrap_err()
                .contains("unknown request")
        );
    }
);
