//! The virtio block driver on QEMU's virtio-blk-pci device, over a fresh
//! 2 MiB disk (`qemu_disk!`): every sector of the disk is written with a
//! pattern naming it, flushed, and read back, each request completed on
//! the device's interrupt; sectors past the end and
//! oversized requests are refused by value. `harness/tests/blk.rs` boots
//! this kernel on a disk file of its own and then finds the pattern in the
//! file from the host.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::vec::Vec;
use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use kernel::ktest;

kernel::test_kernel!();
kernel::qemu_disk!("2M");

const SECTORS: u64 = 4096;
const CHUNK: u64 = 64;

fn ask(r: &Registry, kind: &str, payload: Vec<u8>) -> Result<Vec<u8>, alloc::string::String> {
    let resp = r
        .request(Caller::Kernel, "block", Request::new("test", kind, payload))
        .map_err(|e| format!("{e}"))?;
    match resp.error {
        None => Ok(resp.payload),
        Some(e) => Err(e.into_owned()),
    }
}

/// Sector `s`'s pattern: its number (8 bytes LE), then `(s * 7 + i) % 256`.
fn pattern(s: u64) -> [u8; 512] {
    let mut b = [0u8; 512];
    for (i, x) in b.iter_mut().enumerate() {
        *x = (s * 7 + i as u64) as u8;
    }
    b[..8].copy_from_slice(&s.to_le_bytes());
    b
}

ktest!(
    fn every_sector_is_written_flushed_and_read_back() {
        let r = kernel::testing::up();
        let info = ask(r, "info", Vec::new()).expect("info");
        assert_eq!(
            info,
            format!("sectors={SECTORS} sector_size=512 bytes=2097152").as_bytes()
        );
        for first in (0..SECTORS).step_by(CHUNK as usize) {
            let mut payload = first.to_le_bytes().to_vec();
            for s in first..first + CHUNK {
                payload.extend_from_slice(&pattern(s));
            }
            ask(r, "write", payload).expect("write");
        }
        ask(r, "flush", Vec::new()).expect("flush");
        for first in (0..SECTORS).step_by(CHUNK as usize) {
            let data = ask(r, "read", format!("{first} {CHUNK}").into_bytes()).expect("read");
            assert_eq!(data.len(), (CHUNK * 512) as usize);
            for (k, sector) in data.chunks(512).enumerate() {
                assert_eq!(
                    sector,
                    pattern(first + k as u64),
                    "sector {}",
                    first + k as u64
                );
            }
        }
        // Every request completed on its interrupt: 64 writes, a flush and
        // 64 reads, each of which slept until the device's MSI-X message.
        let stats = ask(r, "stats", Vec::new()).expect("stats");
        let stats = core::str::from_utf8(&stats).expect("text");
        assert!(stats.contains("completions=irq"), "{stats}");
        let interrupts: u64 = stats
            .split_whitespace()
            .find_map(|w| w.strip_prefix("interrupts="))
            .and_then(|n| n.parse().ok())
            .expect("an interrupt count");
        let requests = 2 * SECTORS / CHUNK + 1;
        assert!(interrupts >= requests, "{interrupts} < {requests}: {stats}");
    }
);

ktest!(
    fn requests_past_the_disk_or_too_large_are_refused() {
        let r = kernel::testing::up();
        let e = ask(r, "read", format!("{SECTORS} 1").into_bytes()).unwrap_err();
        assert!(e.contains("past the end of the disk (4096 sectors)"), "{e}");
        let e = ask(r, "read", b"0 65".to_vec()).unwrap_err();
        assert!(e.contains("at most 64"), "{e}");
        let mut payload = (SECTORS - 1).to_le_bytes().to_vec();
        payload.extend_from_slice(&[0; 1024]);
        let e = ask(r, "write", payload).unwrap_err();
        assert!(e.contains("past the end"), "{e}");
    }
);
