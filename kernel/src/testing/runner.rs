//! The in-kernel test runner.
//!
//! Reads its options from the command line (the host-side QEMU runner
//! builds them from cargo's arguments): `test.filter=a,b` keeps tests whose
//! name contains any of the substrings (or equals one, with `test.exact`),
//! `test.list` lists instead of running, and `test.timeout_ms` limits each
//! test (default [`DEFAULT_TIMEOUT_MS`]). Each test runs through
//! [`catch_call`]: a panic, a CPU exception (reported as a panic) or the
//! time limit (enforced from the timer interrupt, through the tick callback
//! [`run`] adds to the clock) ends that test only, and the runner goes on.
//! The output follows libtest's format so that cargo users, and tools that
//! read `test result:` lines, understand it.

use super::{ShouldPanic, TestCase};
use crate::arch::x86_64::catch::{JumpBuffer, catch_call, resume};
use crate::arch::x86_64::qemu::{ExitCode, exit};
use crate::{kprint, kprintln, time};
use alloc::string::{String as HeapString, ToString};
use alloc::vec::Vec;
use core::fmt::Write;
use core::panic::PanicInfo;
use core::ptr::null_mut;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use heapless::String;
use spin::Mutex;

/// Per-test time limit when `test.timeout_ms` is not given.
pub const DEFAULT_TIMEOUT_MS: u64 = 10_000;
/// Longest panic message kept for the failure report.
const MESSAGE_CAPACITY: usize = 2048;

/// The catch point of the running test; null when no test is running.
static CATCH: AtomicPtr<JumpBuffer> = AtomicPtr::new(null_mut());
/// When the running test must have finished (ns since boot); 0 = no limit.
static DEADLINE_NS: AtomicU64 = AtomicU64::new(0);
static TIMEOUT_MS: AtomicU64 = AtomicU64::new(DEFAULT_TIMEOUT_MS);
static MESSAGE: Mutex<String<MESSAGE_CAPACITY>> = Mutex::new(String::new());

unsafe extern "C" {
    static __helix_tests_start: u8;
    static __helix_tests_end: u8;
}

fn registered() -> &'static [TestCase] {
    let start = (&raw const __helix_tests_start).cast::<TestCase>();
    let end = &raw const __helix_tests_end;
    let count = (end as usize - start as usize) / core::mem::size_of::<TestCase>();
    // SAFETY: `boot/linker.ld` brackets the `.helix_tests` input sections
    // with the two symbols, 8-aligned; only `ktest!` puts anything there,
    // one `TestCase` static each (one type, so one size and alignment, and
    // the size a multiple of the alignment: no gaps). They are immutable
    // statics, so the slice is valid and unaliased by writes for the whole
    // run.
    unsafe { core::slice::from_raw_parts(start, count) }
}

fn short_name(name: &str) -> &str {
    name.split_once("::").map_or(name, |(_, rest)| rest)
}

enum Outcome {
    Passed,
    Failed(HeapString),
}

extern "C" fn call_test(func: *mut u8) {
    // SAFETY: `run_one` is the only caller, and passes a test's `fn()`
    // cast to a data pointer; on x86_64 both are plain 64-bit addresses, so
    // the transmute gives back that same, valid function pointer.
    let f: fn() = unsafe { core::mem::transmute::<*mut u8, fn()>(func) };
    f();
}

fn run_one(test: &TestCase) -> Outcome {
    MESSAGE.lock().clear();
    let mut buf = JumpBuffer::default();
    CATCH.store(&raw mut buf, Ordering::SeqCst);
    let limit = TIMEOUT_MS.load(Ordering::Relaxed);
    DEADLINE_NS.store(time::now_ns() + limit * 1_000_000, Ordering::SeqCst);
    // SAFETY: `buf` lives on this frame until `catch_call` returns, and
    // `CATCH` names it only until then (cleared below); `call_test` is
    // safe to call with the test's `fn()` cast to a data pointer, which is
    // what it expects.
    let panicked = unsafe { catch_call(&raw mut buf, call_test, test.func as *mut u8) } != 0;
    DEADLINE_NS.store(0, Ordering::SeqCst);
    CATCH.store(null_mut(), Ordering::SeqCst);
    let message = MESSAGE.lock().as_str().to_string();
    let mut why = HeapString::new();
    match (test.should_panic, panicked) {
        (ShouldPanic::No, false) | (ShouldPanic::Yes, true) => return Outcome::Passed,
        (ShouldPanic::WithMessage(expected), true) if message.contains(expected) => {
            return Outcome::Passed;
        }
        (ShouldPanic::No, true) => why = message,
        (_, false) => why.push_str("note: test did not panic as expected"),
        (ShouldPanic::WithMessage(expected), true) => {
            let _ = write!(
                why,
                "note: panic did not contain expected string\n      panic message: {message:?}\n expected substring: {expected:?}"
            );
        }
    }
    Outcome::Failed(why)
}

/// Whether the calling code runs on the thread that runs the tests: the
/// boot context, which becomes the `main` thread when threads start. Before
/// that, only CPU 0 runs it (the other CPUs run their idle loops).
fn on_runner_thread() -> bool {
    if crate::thread::is_running() {
        crate::thread::current_id() == crate::thread::main_thread_id()
    } else {
        crate::arch::x86_64::percpu::cpu_index() == 0
    }
}

/// Records a panic of the running test and resumes the runner. Returns if
/// no test is running, or if the panic is not on the runner's thread (a
/// panic on another CPU's idle loop, say): that one is not the test's to
/// absorb, and resuming the runner's buffer there would put two CPUs on
/// one stack. The normal handler then reports it.
pub fn on_panic(info: &PanicInfo<'_>) {
    if !on_runner_thread() {
        return;
    }
    let buf = CATCH.swap(null_mut(), Ordering::SeqCst);
    if buf.is_null() {
        return;
    }
    DEADLINE_NS.store(0, Ordering::SeqCst);
    // Only the runner's thread gets here, and it holds `MESSAGE` only while
    // `CATCH` is null (before and after `catch_call`), so the lock is free.
    // It is tried, not forced or waited for: were that reasoning ever
    // broken, a lost message is better than a broken lock or a hang.
    if let Some(mut m) = MESSAGE.try_lock() {
        m.clear();
        let _ = write!(m, "{}", info.message());
        if let Some(loc) = info.location() {
            let _ = write!(m, "\n  at {}:{}", loc.file(), loc.line());
        }
    }
    // SAFETY: `buf` was stored by `run_one` for its `catch_call`, which is
    // still running: `run_one` clears `CATCH` before `catch_call` returns,
    // and the swap above took it, so no other panic can resume it. We are
    // on the thread that called `catch_call` (checked above), so on its
    // stack, whichever CPU it runs on now. The frames between that call
    // and here are abandoned without running their destructors (see
    // `catch`); a test that fails while holding a lock leaves it held.
    unsafe { resume(buf) }
}

/// Shortens (or extends) the running test's time limit to `ms` from now.
/// For tests of the time limit itself; has no effect outside a test.
pub fn set_current_test_limit_ms(ms: u64) {
    if !CATCH.load(Ordering::SeqCst).is_null() {
        DEADLINE_NS.store(time::now_ns() + ms * 1_000_000, Ordering::SeqCst);
    }
}

/// Called on every CPU's timer tick (the runner installs it): fails the
/// running test once it is over its time limit.
pub fn check_deadline() {
    let deadline = DEADLINE_NS.load(Ordering::Relaxed);
    // Only the thread running the test can be unwound to the runner; if it
    // is blocked, the limit fires once it runs again (or the QEMU timeout
    // ends the kernel).
    if deadline != 0
        && on_runner_thread()
        && time::now_ns() > deadline
        && !CATCH.load(Ordering::Relaxed).is_null()
    {
        DEADLINE_NS.store(0, Ordering::SeqCst);
        panic!(
            "test timed out after {} ms",
            TIMEOUT_MS.load(Ordering::Relaxed)
        );
    }
}

/// The test kernel's `main`: runs the selected tests and exits QEMU.
pub fn run() -> ! {
    time::add_tick_callback(|_| check_deadline());
    let cmdline = crate::bootinfo::cmdline();
    if let Some(ms) = cmdline
        .get("test.timeout_ms")
        .and_then(|v| v.parse::<u64>().ok())
    {
        TIMEOUT_MS.store(ms.max(1), Ordering::Relaxed);
    }
    let exact = cmdline.flag("test.exact");
    let filters: Vec<&str> = cmdline
        .get("test.filter")
        .map(|f| f.split(',').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    let selected = |name: &str| {
        filters.is_empty()
            || filters
                .iter()
                .any(|f| if exact { name == *f } else { name.contains(f) })
    };

    let all = registered();
    let mut tests: Vec<&TestCase> = all
        .iter()
        .filter(|t| selected(short_name(t.name)))
        .collect();
    tests.sort_by_key(|t| t.name);
    let filtered_out = all.len() - tests.len();

    if cmdline.flag("test.list") {
        for t in &tests {
            kprintln!("{}: test", short_name(t.name));
        }
        exit(ExitCode::Success);
    }

    let started = time::now_ns();
    kprintln!(
        "\nrunning {} test{}",
        tests.len(),
        if tests.len() == 1 { "" } else { "s" }
    );
    let mut failures: Vec<(&str, HeapString)> = Vec::new();
    for t in &tests {
        kprint!("test {} ... ", short_name(t.name));
        match run_one(t) {
            Outcome::Passed => kprintln!("ok"),
            Outcome::Failed(why) => {
                kprintln!("FAILED");
                failures.push((short_name(t.name), why));
            }
        }
    }
    if !failures.is_empty() {
        kprintln!("\nfailures:\n");
        for (name, why) in &failures {
            kprintln!("---- {name} stdout ----\n{why}\n");
        }
        kprintln!("\nfailures:");
        for (name, _) in &failures {
            kprintln!("    {name}");
        }
    }
    let secs = time::now_ns().saturating_sub(started) as f64 / 1e9;
    let verdict = if failures.is_empty() { "ok" } else { "FAILED" };
    kprintln!(
        "\ntest result: {verdict}. {} passed; {} failed; 0 ignored; 0 measured; {filtered_out} filtered out; finished in {secs:.2}s\n",
        tests.len() - failures.len(),
        failures.len()
    );
    exit(if failures.is_empty() {
        ExitCode::Success
    } else {
        ExitCode::Failure
    })
}
