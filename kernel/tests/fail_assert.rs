//! Must fail: a failing assertion, a `should_panic` test that does not
//! panic, and one passing test. The runner must run all three, report
//! `test result: FAILED. 1 passed; 2 failed` and exit with failure. Run by harness/tests/runner_failures.rs, never by default.
#![no_std]
#![no_main]

use kernel::ktest;

kernel::test_kernel!();

ktest!(
    fn assertion_fails() {
        assert_eq!(core::hint::black_box(1 + 1), 3, "deliberate failure");
    }
);

ktest!(
    fn passes_after_the_failure() {
        assert!(true);
    }
);

ktest!(
    #[should_panic]
    fn should_panic_but_returns() {}
);
