//! In-kernel benchmark of loadable modules: what the binary interface
//! costs per IPC round trip, and how long `insmod` takes.
//!
//!     scripts/bench-loadable
//!
//! (which builds and signs `event_log` with `scripts/build-module`, packs
//! it in an initrd and runs `cargo bench -p kernel --target
//! x86_64-unknown-none --bench loadable` with it). The built-in `event_log`
//! is blacklisted; the bench inserts the binary (read through `initrd_fs`,
//! checked by `module_sig`, mapped, described), times `request event_log
//! counts` (and `recent`, a smaller answer) against it, removes it,
//! registers the same module built in and times the same requests.
//! Figures are TSC cycles, medians of 7 rounds; compare figures of one run
//! (TCG timing wanders).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::{kprintln, loadable, time};

kernel::entry_point!(bench_main);
kernel::qemu_cmdline!("module_blacklist=event_log");

const OPS: u64 = 2_000;
const ROUNDS: usize = 7;
const INSERTS: usize = 11;

fn median(mut samples: Vec<u64>) -> u64 {
    samples.sort_unstable();
    samples[samples.len() / 2]
}

fn ipc(r: &Registry) -> u64 {
    ipc_of(r, "counts")
}

fn ipc_of(r: &Registry, kind: &str) -> u64 {
    median(
        (0..ROUNDS)
            .map(|_| {
                let start = rdtsc();
                for _ in 0..OPS {
                    let request = Request::new("bench", kind, Vec::new());
                    let answer = r.request(Caller::Kernel, "event_log", request);
                    assert!(answer.is_ok_and(|a| a.is_ok()));
                }
                (rdtsc() - start) / OPS
            })
            .collect(),
    )
}

fn bench_main() -> ! {
    kernel::bring_up::run().expect("modules and threads");
    let r = kernel::modules::registry().expect("the kernel's registry");
    if kernel::bootinfo::initrd().is_none() {
        kprintln!("no initrd: run scripts/bench-loadable, which builds and packs event_log");
        kernel::exit(kernel::ExitCode::Failure)
    }
    let mut inserts = Vec::new();
    let mut removes = Vec::new();
    for _ in 0..INSERTS {
        let start = rdtsc();
        loadable::insmod(r, Caller::Kernel, "event_log", &[]).expect("insmod event_log");
        inserts.push(rdtsc() - start);
        let start = rdtsc();
        loadable::rmmod(r, Caller::Kernel, "event_log").expect("rmmod event_log");
        removes.push(rdtsc() - start);
    }
    let (insert, remove) = (median(inserts), median(removes));

    loadable::insmod(r, Caller::Kernel, "event_log", &[]).expect("insmod event_log");
    let loaded = ipc(r);
    let loaded_recent = ipc_of(r, "recent");
    loadable::rmmod(r, Caller::Kernel, "event_log").expect("rmmod event_log");
    r.register_v2(event_log::EventLog::default())
        .expect("register the built-in event_log");
    r.init(Caller::Kernel, "event_log").expect("init");
    r.start(Caller::Kernel, "event_log").expect("start");
    let built_in = ipc(r);
    let built_in_recent = ipc_of(r, "recent");

    let loaded_again = {
        r.stop(Caller::Kernel, "event_log").expect("stop");
        r.unload(Caller::Kernel, "event_log").expect("unload");
        loadable::insmod(r, Caller::Kernel, "event_log", &[]).expect("insmod event_log");
        ipc(r)
    };
    let loaded = loaded.min(loaded_again);
    kprintln!(
        "IPC `counts` round trip: {loaded} TSC cycles to the loaded event_log, {built_in} built in ({}.{:02}x; {} vs {} ns)",
        loaded * 100 / built_in / 100,
        loaded * 100 / built_in % 100,
        time::cycles_to_ns(loaded),
        time::cycles_to_ns(built_in)
    );
    kprintln!(
        "IPC `recent` round trip (a smaller answer): {loaded_recent} TSC cycles loaded, {built_in_recent} built in"
    );
    kprintln!(
        "insmod event_log (read, signature, ELF checks, map, describe, register, start): {insert} TSC cycles ({} us); rmmod: {remove} TSC cycles ({} us)",
        time::cycles_to_ns(insert) / 1000,
        time::cycles_to_ns(remove) / 1000
    );
    kernel::exit(kernel::ExitCode::Success)
}
