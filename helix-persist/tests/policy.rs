//! The restore policy: a record goes to its module only when the module is
//! registered with the state version the record was saved with; the rest
//! are skipped with the reason, in the records' order.

use helix_persist::Record;
use helix_persist::policy::{Decision, SkipReason, plan_restore};

fn rec(module: &str, state_version: u32, data: &[u8]) -> Record {
    Record {
        module: module.into(),
        state_version,
        data: data.to_vec(),
    }
}

#[test]
fn matching_records_are_restored_and_the_rest_skipped_with_the_reason() {
    let records = [
        rec("event_log", 2, b"log"),
        rec("gone", 0, b"x"),
        rec("clock", 1, b"old format"),
        rec("uptime", 0, b""),
    ];
    let modules = [("clock", 2), ("event_log", 2), ("uptime", 0), ("idle", 0)];
    let plan = plan_restore(&records, &modules);
    assert_eq!(
        plan,
        vec![
            Decision::Restore {
                module: "event_log",
                state_version: 2,
                data: b"log"
            },
            Decision::Skip {
                module: "gone",
                reason: SkipReason::NotRegistered
            },
            Decision::Skip {
                module: "clock",
                reason: SkipReason::VersionMismatch {
                    saved: 1,
                    current: 2
                }
            },
            Decision::Restore {
                module: "uptime",
                state_version: 0,
                data: b""
            },
        ]
    );
    let names: Vec<&str> = plan.iter().map(Decision::module).collect();
    assert_eq!(names, ["event_log", "gone", "clock", "uptime"]);
}

#[test]
fn a_newer_saved_version_is_skipped_too() {
    let records = [rec("m", 5, b"future")];
    let plan = plan_restore(&records, &[("m", 4)]);
    let reason = SkipReason::VersionMismatch {
        saved: 5,
        current: 4,
    };
    assert_eq!(
        plan,
        vec![Decision::Skip {
            module: "m",
            reason
        }]
    );
}

#[test]
fn only_the_first_record_of_a_module_is_restored() {
    let records = [rec("m", 1, b"first"), rec("m", 1, b"second")];
    let plan = plan_restore(&records, &[("m", 1)]);
    assert!(matches!(plan[0], Decision::Restore { data: b"first", .. }));
    assert_eq!(
        plan[1],
        Decision::Skip {
            module: "m",
            reason: SkipReason::Duplicate
        }
    );
}

#[test]
fn nothing_registered_or_nothing_saved() {
    assert!(plan_restore(&[], &[("m", 0)]).is_empty());
    let records = [rec("m", 0, b"s")];
    let plan = plan_restore(&records, &[]);
    assert_eq!(
        plan,
        vec![Decision::Skip {
            module: "m",
            reason: SkipReason::NotRegistered
        }]
    );
}

#[test]
fn decisions_read_well_in_a_log() {
    let records = [rec("event_log", 2, &[0; 12]), rec("clock", 1, b"")];
    let plan = plan_restore(&records, &[("event_log", 2), ("clock", 3)]);
    assert_eq!(
        plan[0].to_string(),
        "event_log: restore 12 bytes (state version 2)"
    );
    assert_eq!(
        plan[1].to_string(),
        "clock: not restored: saved with state version 1, the module reads version 3"
    );
}
