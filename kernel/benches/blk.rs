//! In-kernel benchmark of the virtio block driver: sequential write and
//! read throughput over a fresh 16 MiB disk, in the largest requests the
//! driver takes (64 sectors, 32 KiB), through the registry like any
//! client of `block`.
//!
//!     scripts/bench-blk
//!
//! (which also times the host reading the same image file, as the
//! reference the issue asks for). Figures are MiB/s from TSC cycles;
//! compare figures of one run (TCG timing wanders).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use kernel::arch::x86_64::cpu::rdtsc;
use kernel::{kprintln, time};

kernel::entry_point!(bench_main);
kernel::qemu_disk!("16M");

const SECTORS: u64 = 16 * 2048;
const CHUNK: u64 = 64;

fn ask(r: &Registry, kind: &str, payload: Vec<u8>) -> Vec<u8> {
    let resp = r
        .request(
            Caller::Kernel,
            "block",
            Request::new("bench", kind, payload),
        )
        .expect("block request");
    assert!(resp.is_ok(), "{:?}", resp.error);
    resp.payload
}

fn mib_per_s(bytes: u64, cycles: u64) -> (u64, u64) {
    let ns = time::cycles_to_ns(cycles).max(1);
    let centi = bytes * 100 * 1_000_000_000 / ns / (1 << 20);
    (centi / 100, centi % 100)
}

fn bench_main() -> ! {
    let r = kernel::bring_up::run().expect("modules and threads");
    let data: Vec<u8> = (0..CHUNK * 512).map(|i| i as u8).collect();
    let start = rdtsc();
    for first in (0..SECTORS).step_by(CHUNK as usize) {
        let mut payload = first.to_le_bytes().to_vec();
        payload.extend_from_slice(&data);
        ask(r, "write", payload);
    }
    ask(r, "flush", Vec::new());
    let write = rdtsc() - start;
    let start = rdtsc();
    for first in (0..SECTORS).step_by(CHUNK as usize) {
        let got = ask(r, "read", format!("{first} {CHUNK}").into_bytes());
        assert_eq!(got.len(), data.len());
    }
    let read = rdtsc() - start;
    let bytes = SECTORS * 512;
    let (w, wc) = mib_per_s(bytes, write);
    let (rd, rc) = mib_per_s(bytes, read);
    kprintln!(
        "virtio_blk sequential, 32 KiB requests over 16 MiB: write {w}.{wc:02} MiB/s ({} ms), read {rd}.{rc:02} MiB/s ({} ms)",
        time::cycles_to_ns(write) / 1_000_000,
        time::cycles_to_ns(read) / 1_000_000
    );
    kernel::exit(kernel::ExitCode::Success)
}
