//! The kernel's random numbers, seeded at boot from the `entropy`
//! capability (the `virtio_rng` driver: QEMU's virtio-rng device), for
//! whatever in the kernel wants randomness.
//!
//! The generator is xoshiro256** (fast, small state, not cryptographic:
//! callers that need secrets ask `entropy` themselves). [`seed_at_boot`]
//! takes 32 bytes from `entropy`; without a provider it falls back to the
//! time stamp counter, says so in the log, and [`source`] reports it.

use helix_modules::v2::Request;
use helix_modules::{Caller, Registry};
use spin::Mutex;

/// Where the generator's seed came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Not seeded yet.
    Unseeded,
    /// 32 bytes from the `entropy` capability.
    Entropy,
    /// The time stamp counter (no `entropy` provider answered).
    Tsc,
}

struct State {
    s: [u64; 4],
    source: Source,
}

static STATE: Mutex<State> = Mutex::new(State {
    s: [
        0x9e37_79b9_7f4a_7c15,
        0xbf58_476d_1ce4_e5b9,
        0x94d0_49bb_1331_11eb,
        1,
    ],
    source: Source::Unseeded,
});

/// Seeds the generator from `entropy`, or from the TSC without it.
pub fn seed_at_boot(r: &Registry) {
    let bytes = r
        .request(
            Caller::Kernel,
            "entropy",
            Request::new("kernel", "read", b"32".to_vec()),
        )
        .ok()
        .filter(|resp| resp.is_ok() && resp.payload.len() == 32)
        .map(|resp| resp.payload);
    let (seed, source) = match bytes {
        Some(b) => {
            let mut s = [0u64; 4];
            for (w, chunk) in s.iter_mut().zip(b.chunks_exact(8)) {
                let mut v = [0u8; 8];
                v.copy_from_slice(chunk);
                *w = u64::from_le_bytes(v);
            }
            (s, Source::Entropy)
        }
        None => {
            log::warn!("random: no entropy provider answered; seeded from the TSC");
            let t = crate::arch::x86_64::cpu::rdtsc();
            (
                [
                    t,
                    t.rotate_left(17) ^ 0x9e37_79b9_7f4a_7c15,
                    !t,
                    t.wrapping_mul(3),
                ],
                Source::Tsc,
            )
        }
    };
    crate::arch::x86_64::cpu::without_interrupts(|| {
        let mut st = STATE.lock();
        // An all-zero state would stay zero.
        st.s = if seed == [0; 4] { [1, 2, 3, 4] } else { seed };
        st.source = source;
    });
    if source == Source::Entropy {
        log::info!("random: seeded from entropy");
    }
}

/// Where the seed came from.
pub fn source() -> Source {
    crate::arch::x86_64::cpu::without_interrupts(|| STATE.lock().source)
}

/// The next random number.
pub fn next_u64() -> u64 {
    crate::arch::x86_64::cpu::without_interrupts(|| {
        let mut st = STATE.lock();
        let s = &mut st.s;
        let result = s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    })
}
