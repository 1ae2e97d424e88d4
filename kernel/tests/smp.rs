//! Several CPUs (booted with `-smp 4`): application processors come up
//! from the MADT, the scheduler runs threads on every online CPU, and a CPU
//! taken offline stops running threads, parks, and comes back with the
//! matching `CpuHotplug` events delivered to modules.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use helix_modules::v2::{Context, Event, EventKinds, EventResponse, ModuleInfo, ModuleTrait};
use helix_modules::{Caller, ModuleError, Registry};
use kernel::arch::x86_64::percpu::cpu_index;
use kernel::smp::{self, HotplugError};
use kernel::{ktest, thread};

kernel::test_kernel!();
kernel::qemu_smp!(4);

static ONLINE_EVENTS: AtomicU64 = AtomicU64::new(0);
static OFFLINE_EVENTS: AtomicU64 = AtomicU64::new(0);

/// Counts the hotplug events it receives.
struct HotplugCounter;

impl ModuleTrait for HotplugCounter {
    fn info(&self) -> ModuleInfo {
        ModuleInfo::new("hotplug_counter")
            .version(1, 0, 0)
            .events(EventKinds::CPU_HOTPLUG)
    }
    fn init(&mut self, _: &Context) -> Result<(), ModuleError> {
        Ok(())
    }
    fn start(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn stop(&mut self) -> Result<(), ModuleError> {
        Ok(())
    }
    fn handle_event(&mut self, event: &Event) -> EventResponse {
        match event {
            Event::CpuHotplug { online: true, .. } => ONLINE_EVENTS.fetch_add(1, Ordering::Relaxed),
            Event::CpuHotplug { online: false, .. } => {
                OFFLINE_EVENTS.fetch_add(1, Ordering::Relaxed)
            }
            _ => return EventResponse::Ignored,
        };
        EventResponse::Handled
    }
}

fn up() -> &'static Registry {
    let r = kernel::bring_up::run().expect("modules and threads");
    if r.status("hotplug_counter").is_err() {
        r.register_v2(HotplugCounter).unwrap();
        r.start_all(Caller::Kernel);
    }
    r
}

/// Runs `n` CPU-bound threads for `ms` and returns the set of CPUs (as a
/// bit mask) they were seen on after `settle_ms`.
fn cpus_used(n: usize, settle_ms: u64, ms: u64) -> u64 {
    let stop = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicU64::new(0));
    let record = Arc::new(AtomicBool::new(false));
    let hs: Vec<_> = (0..n)
        .map(|_| {
            let (stop, seen, record) = (stop.clone(), seen.clone(), record.clone());
            thread::spawn("spinner", move || {
                while !stop.load(Ordering::Relaxed) {
                    if record.load(Ordering::Relaxed) {
                        seen.fetch_or(1 << cpu_index(), Ordering::Relaxed);
                    }
                    core::hint::spin_loop();
                }
            })
            .unwrap()
        })
        .collect();
    thread::sleep_ms(settle_ms);
    record.store(true, Ordering::Relaxed);
    thread::sleep_ms(ms);
    stop.store(true, Ordering::Relaxed);
    for h in hs {
        h.join().unwrap();
    }
    seen.load(Ordering::Relaxed)
}

ktest!(
    fn application_processors_come_up() {
        up();
        assert_eq!(smp::cpu_count(), 4);
        assert!((0..4).all(smp::is_online));
        let stats = thread::scheduler().unwrap().stats();
        assert!(
            stats.cpus.iter().take(4).all(|c| c.online),
            "scheduler knows every CPU: {stats:?}"
        );
    }
);

ktest!(
    fn threads_run_on_every_online_cpu() {
        up();
        assert_eq!(cpus_used(8, 20, 200), 0b1111);
    }
);

ktest!(
    fn offline_cpu_runs_nothing_and_comes_back() {
        let _ = up();
        let (on0, off0) = (
            ONLINE_EVENTS.load(Ordering::Relaxed),
            OFFLINE_EVENTS.load(Ordering::Relaxed),
        );
        smp::set_online(2, false).expect("CPU 2 goes offline");
        assert!(!smp::is_online(2));
        assert_eq!(OFFLINE_EVENTS.load(Ordering::Relaxed), off0 + 1);
        let stats = thread::scheduler().unwrap().stats();
        assert!(
            !stats.cpus[2].online && stats.cpus[2].queued == 0 && stats.cpus[2].running.is_none(),
            "{stats:?}"
        );
        assert_eq!(
            cpus_used(8, 20, 150) & 0b0100,
            0,
            "a thread ran on the offline CPU"
        );

        smp::set_online(2, true).expect("CPU 2 comes back");
        assert_eq!(ONLINE_EVENTS.load(Ordering::Relaxed), on0 + 1);
        assert_eq!(cpus_used(8, 20, 200), 0b1111);
    }
);

ktest!(
    fn hotplug_errors_are_typed() {
        up();
        assert_eq!(smp::set_online(0, false), Err(HotplugError::BootCpu));
        assert_eq!(smp::set_online(7, false), Err(HotplugError::NoSuchCpu(7)));
        assert_eq!(
            smp::set_online(1, true),
            Err(HotplugError::AlreadyInState(1))
        );
    }
);

ktest!(
    fn run_time_is_charged_on_every_tick_not_only_at_switch_out() {
        up();
        let idle = || -> Vec<thread::ThreadInfo> {
            thread::list().into_iter().filter(|t| t.idle).collect()
        };
        let before = idle();
        thread::sleep_ms(200);
        let after = idle();
        // An idle thread that kept its CPU the whole window (no switch in
        // between) was never switched out, so only per-tick charging can
        // have given it time.
        let mut kept = 0;
        for a in &after {
            let Some(b) = before.iter().find(|b| b.id == a.id) else {
                continue;
            };
            if a.switches == b.switches && a.state == thread::ThreadState::Running {
                kept += 1;
                assert!(
                    a.run_ns >= b.run_ns + 100_000_000,
                    "{} kept its CPU for 200 ms but was charged {} ns",
                    a.name,
                    a.run_ns - b.run_ns
                );
            }
        }
        assert!(kept > 0, "no idle thread kept its CPU: {after:?}");
    }
);
