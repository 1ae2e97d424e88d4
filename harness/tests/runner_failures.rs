//! The kernel test runner must fail when it should: a failing assertion, a
//! triple fault and a hang each end in a reported failure. These kernels
//! are built with `test = false`, so only this test runs them.

use harness::run_captured;

#[test]
fn failed_assertion_is_reported_and_later_tests_still_run() {
    let (out, text) = run_captured(&["--test", "fail_assert"], &[]);
    assert!(
        !out.status.success(),
        "a failing kernel test passed:\n{text}"
    );
    assert!(text.contains("test assertion_fails ... FAILED"), "{text}");
    assert!(text.contains("deliberate failure"), "{text}");
    assert!(
        text.contains("test should_panic_but_returns ... FAILED"),
        "{text}"
    );
    assert!(
        text.contains("note: test did not panic as expected"),
        "{text}"
    );
    assert!(
        text.contains("test passes_after_the_failure ... ok"),
        "{text}"
    );
    assert!(
        text.contains("test result: FAILED. 1 passed; 2 failed;"),
        "{text}"
    );
}

#[test]
fn triple_fault_is_reported_as_failure() {
    let (out, text) = run_captured(&["--test", "fail_triple_fault"], &[]);
    assert!(
        !out.status.success(),
        "a triple-faulting kernel passed:\n{text}"
    );
    assert!(text.contains("the machine reset"), "{text}");
    assert!(!text.contains("test result: ok"), "{text}");
}

#[test]
fn hang_is_reported_as_failure() {
    let (out, text) = run_captured(&["--test", "fail_hang"], &[("HELIX_TIMEOUT", "3")]);
    assert!(!out.status.success(), "a hanging kernel passed:\n{text}");
    assert!(text.contains("kernel hung, killed"), "{text}");
}

#[test]
fn filters_select_tests_by_name() {
    let (out, text) = run_captured(&["--test", "runner", "--", "should_panic"], &[]);
    assert!(out.status.success(), "{text}");
    assert!(text.contains("running 2 tests"), "{text}");
    assert!(
        text.contains("test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 4 filtered out"),
        "{text}"
    );
    let (out, text) = run_captured(
        &["--test", "runner", "--", "--exact", "a_plain_test_passes"],
        &[],
    );
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("1 passed; 0 failed; 0 ignored; 0 measured; 5 filtered out"),
        "{text}"
    );
}
