//! Memory pressure: watermarks with hysteresis, and the whole loop in a
//! small machine (64 MiB): a module keeps a large cache, the test then
//! allocates more than is left, the module is told, releases its cache,
//! and every allocation succeeds.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use helix_modules::v2::{
    Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait, PressureLevel,
};
use helix_modules::{Caller, ModuleError};
use kernel::ktest;
use kernel::mm::pressure::{WatermarkError, Watermarks, next_level};

kernel::test_kernel!();
kernel::qemu_mem!("64M");

const MIB: usize = 1 << 20;

ktest!(
    fn levels_have_hysteresis() {
        let m = Watermarks::DEFAULT; // 20 / 10 / 5, 5 points of hysteresis
        assert_eq!(next_level(50, 100, 0, &m), 0);
        assert_eq!(next_level(19, 100, 0, &m), 1);
        assert_eq!(next_level(4, 100, 0, &m), 3, "jumps straight to critical");
        assert_eq!(next_level(22, 100, 1, &m), 1, "stays Low inside the margin");
        assert_eq!(next_level(25, 100, 1, &m), 0, "leaves Low past the margin");
        assert_eq!(
            next_level(12, 100, 3, &m),
            2,
            "Critical eases to Medium, not further"
        );
        assert_eq!(next_level(30, 100, 3, &m), 0);
    }
);

ktest!(
    fn watermark_spec_is_validated() {
        assert_eq!(
            Watermarks::parse("30,15,5"),
            Ok(Watermarks {
                low_pct: 30,
                medium_pct: 15,
                critical_pct: 5,
                hysteresis_pct: 5
            })
        );
        assert_eq!(
            Watermarks::parse("30,15,5,2").map(|m| m.hysteresis_pct),
            Ok(2)
        );
        assert_eq!(Watermarks::parse("30,15"), Err(WatermarkError::WrongCount));
        assert_eq!(
            Watermarks::parse("5,15,30"),
            Err(WatermarkError::NotDecreasing)
        );
        assert_eq!(Watermarks::parse("a,b,c"), Err(WatermarkError::NotANumber));
    }
);

static CACHED: AtomicUsize = AtomicUsize::new(0);
static EVENTS: AtomicU64 = AtomicU64::new(0);
static WORST: AtomicU64 = AtomicU64::new(0);

/// Keeps `CACHE_MIB` MiB of cache, and drops it all under pressure.
struct Cache {
    chunks: Vec<Vec<u8>>,
}

const CACHE_MIB: usize = 36;

impl ModuleTrait for Cache {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("cache")
            .version(1, 0, 0)
            .events(EventKinds::MEMORY_PRESSURE)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        for _ in 0..CACHE_MIB {
            self.chunks.push(Vec::with_capacity(MIB));
        }
        CACHED.store(self.chunks.len() * MIB, Ordering::Relaxed);
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        self.chunks.clear();
        Ok(())
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        let Event::MemoryPressure { level } = event else {
            return EventResponse::Ignored;
        };
        EVENTS.fetch_add(1, Ordering::Relaxed);
        let rank = match level {
            PressureLevel::Low => 1,
            PressureLevel::Medium => 2,
            PressureLevel::Critical => 3,
        };
        WORST.fetch_max(rank, Ordering::Relaxed);
        self.chunks = Vec::new();
        CACHED.store(0, Ordering::Relaxed);
        EventResponse::Handled
    }
}

ktest!(
    fn pressure_releases_a_cache_and_the_allocation_succeeds() {
        let r = kernel::bring_up::run().expect("modules and threads");
        r.register_v2(Cache { chunks: Vec::new() }).unwrap();
        assert!(r.start_all(Caller::Kernel).is_clean());
        assert_eq!(CACHED.load(Ordering::Relaxed), CACHE_MIB * MIB);
        let (available, total) = kernel::mm::pressure::snapshot();
        let want = (available as usize / MIB) + 4; // more than is left
        let mut mine: Vec<Vec<u8>> = Vec::new();
        for _ in 0..want {
            mine.push(Vec::with_capacity(MIB));
        }
        assert_eq!(mine.len(), want, "every allocation succeeded");
        assert!(
            EVENTS.load(Ordering::Relaxed) >= 1,
            "no MemoryPressure event delivered"
        );
        assert_eq!(CACHED.load(Ordering::Relaxed), 0, "cache not released");
        assert!(want * MIB > available as usize && (want * MIB) < total as usize);
    }
);
