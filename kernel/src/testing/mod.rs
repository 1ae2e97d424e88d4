//! In-kernel tests: registration, and the hooks the runner needs from the
//! rest of the kernel.
//!
//! Each file under `kernel/tests/` is its own small kernel: it invokes
//! [`test_kernel!`](crate::test_kernel) once and declares tests with
//! [`ktest!`](crate::ktest). Every `ktest!` places a [`TestCase`] in the
//! `.helix_tests` linker section, which the linker script brackets with
//! `__helix_tests_start`/`__helix_tests_end`, so the runner finds all tests
//! without a hand-kept list. [`runner`] runs them and prints libtest-style
//! results; the host-side QEMU runner turns the exit status into cargo's.
//!
//! A test kernel, whole:
//!
//! ```ignore
//! #![no_std]
//! #![no_main]
//! use kernel::ktest;
//!
//! kernel::test_kernel!();              // the entry point and the runner
//! kernel::qemu_smp!(2);                // boot it with 2 CPUs
//! kernel::qemu_mem!("64M");            // and 64 MiB of memory
//! kernel::qemu_cmdline!("log=debug");  // and this kernel command line
//!
//! ktest!(
//!     fn the_scheduler_runs() {
//!         let r = kernel::testing::up();
//!         assert!(r.scheduler().is_some());
//!     }
//! );
//! ```
//!
//! It is listed in `kernel/Cargo.toml` as a `[[test]]` with
//! `harness = false`, and `cargo ktest --test NAME` (or the whole `cargo
//! test`) boots it. The `qemu_*` markers are strings embedded in the image
//! that `scripts/qemu-runner.sh` reads before booting it. Panics and CPU
//! exceptions inside a test fail that test only; the others still run.
//!
//! Nothing below this module calls it: the runner adds its time limit to
//! the clock's tick callbacks when it starts (so only test kernels have
//! it), and the panic handler hands a panic to it only in a test kernel.

mod irq_probe;
pub mod runner;

pub use irq_probe::IrqProbe;

pub use crate::arch::x86_64::provoke::overflow_stack;
pub use crate::bootinfo::is_test_kernel;
pub use runner::{check_deadline, on_panic};

/// Whether (and how) a test is expected to panic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShouldPanic {
    /// The test passes by returning.
    No,
    /// The test passes by panicking.
    Yes,
    /// The test passes by panicking with a message containing this text.
    WithMessage(&'static str),
}

/// One registered test. Built only by [`ktest!`](crate::ktest).
#[derive(Debug)]
#[repr(C)]
pub struct TestCase {
    /// `module::function`, the crate name left out as libtest does.
    pub name: &'static str,
    /// The test body.
    pub func: fn(),
    /// The panic expectation.
    pub should_panic: ShouldPanic,
}

/// Makes this binary a test kernel whose `main` is the test runner.
#[macro_export]
macro_rules! test_kernel {
    () => {
        #[unsafe(no_mangle)]
        extern "C" fn helix_kernel_entry(start_info_paddr: u64) -> ! {
            $crate::bootinfo::mark_test_kernel();
            $crate::startup::start(start_info_paddr, $crate::testing::runner::run)
        }
    };
}

/// Brings the kernel up for a test: other CPUs, every module (but the
/// interactive shell), threads and events ([`bring_up::run`]).
/// Idempotent.
///
/// [`bring_up::run`]: crate::bring_up::run
pub fn up() -> &'static helix_modules::Registry {
    crate::bring_up::run().expect("modules and threads start")
}

/// Sends `kind` with `payload` to `module` as the kernel: the answer as
/// text, or the refusal (an error response or a typed IPC error) as text.
pub fn ask(
    r: &helix_modules::Registry,
    module: &str,
    kind: &str,
    payload: &[u8],
) -> Result<alloc::string::String, alloc::string::String> {
    let request = helix_modules::v2::Request::new("test", kind, payload.into());
    let resp = r
        .request(helix_modules::Caller::Kernel, module, request)
        .map_err(|e| alloc::format!("{e}"))?;
    match resp.error {
        None => Ok(alloc::string::String::from_utf8_lossy(&resp.payload).into_owned()),
        Some(e) => Err(e.into_owned()),
    }
}

/// Asks the QEMU runner to boot this test kernel with `$n` CPUs: embeds
/// the marker `HELIX_QEMU_SMP=$n;`, which `scripts/qemu-runner.sh` looks
/// for (the `;` ends the number whatever bytes follow in the image).
#[macro_export]
macro_rules! qemu_smp {
    ($n:literal) => {
        #[used]
        #[unsafe(link_section = ".helix_qemu")]
        static HELIX_QEMU_SMP: [u8; concat!("HELIX_QEMU_SMP=", $n, ";").len()] =
            *concat!("HELIX_QEMU_SMP=", $n, ";")
                .as_bytes()
                .first_chunk()
                .expect("marker length");
    };
}

/// Asks the QEMU runner to give this test kernel a fresh, zeroed disk of
/// `$size` bytes (e.g. `"2M"`) on a virtio-blk device, through the marker
/// `HELIX_QEMU_DISK=$size;`: the runner makes the file under
/// `target/disks/` (named after the kernel) for each run, unless
/// `HELIX_DISK` names one (a host test that checks the file afterwards
/// passes its own).
#[macro_export]
macro_rules! qemu_disk {
    ($size:literal) => {
        #[used]
        #[unsafe(link_section = ".helix_qemu")]
        static HELIX_QEMU_DISK: [u8; concat!("HELIX_QEMU_DISK=", $size, ";").len()] =
            *concat!("HELIX_QEMU_DISK=", $size, ";")
                .as_bytes()
                .first_chunk()
                .expect("marker length");
    };
}

/// Asks the QEMU runner to give this test kernel `$size` of memory (e.g.
/// `"64M"`), through the marker `HELIX_QEMU_MEM=$size;`.
#[macro_export]
macro_rules! qemu_mem {
    ($size:literal) => {
        #[used]
        #[unsafe(link_section = ".helix_qemu")]
        static HELIX_QEMU_MEM: [u8; concat!("HELIX_QEMU_MEM=", $size, ";").len()] =
            *concat!("HELIX_QEMU_MEM=", $size, ";")
                .as_bytes()
                .first_chunk()
                .expect("marker length");
    };
}

/// Gives this test kernel its own kernel command line (e.g.
/// `kernel::qemu_cmdline!("scheduler=fifo")` to run a second scheduler
/// module as the kernel's scheduler), through the marker
/// `HELIX_QEMU_CMDLINE=...;`. `scripts/qemu-runner.sh` puts it first on the
/// command line; `HELIX_CMDLINE` and test filters follow. The text may not
/// contain `;`, which ends the marker.
///
/// ```ignore
/// kernel::test_kernel!();
/// kernel::qemu_cmdline!("module_blacklist=event_log log=debug");
/// ```
#[macro_export]
macro_rules! qemu_cmdline {
    ($line:literal) => {
        const _: () = assert!(
            !$crate::testing::contains_semicolon($line),
            "qemu_cmdline!: the command line may not contain ';'"
        );
        #[used]
        #[unsafe(link_section = ".helix_qemu")]
        static HELIX_QEMU_CMDLINE: [u8; concat!("HELIX_QEMU_CMDLINE=", $line, ";").len()] =
            *concat!("HELIX_QEMU_CMDLINE=", $line, ";")
                .as_bytes()
                .first_chunk()
                .expect("marker length");
    };
}

/// Whether `text` contains `;` (checked at compile time by
/// [`qemu_cmdline!`]).
#[doc(hidden)]
pub const fn contains_semicolon(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b';' {
            return true;
        }
        i += 1;
    }
    false
}

/// Declares an in-kernel test.
///
/// ```ignore
/// kernel::ktest!(fn heap_allocates() { assert!(Box::new(1) == Box::new(1)); });
/// kernel::ktest!(#[should_panic] fn fails() { panic!() });
/// kernel::ktest!(#[should_panic(expected = "CR2=0x1000")] fn faults() { ... });
/// ```
#[macro_export]
macro_rules! ktest {
    (#[should_panic(expected = $msg:literal)] fn $name:ident() $body:block) => {
        $crate::ktest!(@emit $name, $crate::testing::ShouldPanic::WithMessage($msg), $body);
    };
    (#[should_panic] fn $name:ident() $body:block) => {
        $crate::ktest!(@emit $name, $crate::testing::ShouldPanic::Yes, $body);
    };
    (fn $name:ident() $body:block) => {
        $crate::ktest!(@emit $name, $crate::testing::ShouldPanic::No, $body);
    };
    (@emit $name:ident, $should_panic:expr, $body:block) => {
        fn $name() $body
        const _: () = {
            #[used]
            #[unsafe(link_section = ".helix_tests")]
            static TEST: $crate::testing::TestCase = $crate::testing::TestCase {
                name: concat!(module_path!(), "::", stringify!($name)),
                func: $name,
                should_panic: $should_panic,
            };
        };
    };
}
