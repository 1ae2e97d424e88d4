//! The driver modules on real (emulated) hardware: the CMOS clock answers
//! with a plausible, advancing time, and the serial console's receive
//! interrupt delivers bytes (through the UART's loopback mode).
#![no_std]
#![no_main]

extern crate alloc;

use alloc::string::String;
use helix_modules::services::hw::{Hardware, HwError};
use helix_modules::{Caller, Registry};
use kernel::{ktest, thread};

kernel::test_kernel!();

use kernel::testing::up;

fn ask(r: &Registry, module: &str, kind: &str) -> Result<String, String> {
    kernel::testing::ask(r, module, kind, b"")
}

ktest!(
    fn rtc_gives_a_plausible_time() {
        let r = up();
        let iso = ask(r, "cmos_rtc", "get_time").unwrap();
        assert_eq!(iso.len(), 20, "{iso}");
        let year: u32 = iso[..4].parse().unwrap();
        assert!((2024..2100).contains(&year), "{iso}");
        assert!(iso.ends_with('Z') && &iso[10..11] == "T", "{iso}");
        let unix: i64 = ask(r, "cmos_rtc", "get_unix").unwrap().parse().unwrap();
        assert!(unix > 1_700_000_000, "{unix}");
    }
);

ktest!(
    fn rtc_time_advances() {
        let r = up();
        let a: i64 = ask(r, "cmos_rtc", "get_unix").unwrap().parse().unwrap();
        thread::sleep_ms(1100);
        let b: i64 = ask(r, "cmos_rtc", "get_unix").unwrap().parse().unwrap();
        assert!((1..=3).contains(&(b - a)), "{a} -> {b}");
    }
);

ktest!(
    fn rtc_rejects_unknown_requests() {
        let r = up();
        assert!(
            ask(r, "cmos_rtc", "set_time")
                .unwrap_err()
                .contains("unknown request")
        );
    }
);

ktest!(
    fn serial_receive_interrupt_delivers_bytes() {
        let r = up();
        let irqs_before = kernel::hw::irq_count(4);
        let result = ask(r, "serial_console", "self_test");
        assert!(result.is_ok(), "{result:?}");
        assert!(kernel::hw::irq_count(4) > irqs_before, "IRQ 4 never fired");
        let stats = ask(r, "serial_console", "stats").unwrap();
        assert!(
            stats.contains("received=") && !stats.contains("received=0 "),
            "{stats}"
        );
    }
);

ktest!(
    fn claims_are_exclusive_and_released_on_stop() {
        let r = up();
        let hw = kernel::hw::hardware();
        assert!(
            matches!(hw.claim_ports("intruder", 0x70, 2), Err(HwError::PortsInUse { owner, .. }) if owner == "cmos_rtc")
        );
        r.stop(Caller::Kernel, "cmos_rtc").unwrap();
        let ports = hw
            .claim_ports("intruder", 0x70, 2)
            .expect("released when the driver stopped");
        drop(ports);
        assert_eq!(hw.release_all("intruder"), 1);
        r.start(Caller::Kernel, "cmos_rtc")
            .expect("a stopped driver starts again");
        assert!(ask(r, "cmos_rtc", "get_time").is_ok());
    }
);
