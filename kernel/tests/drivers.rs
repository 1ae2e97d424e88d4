//! The driver modules on real (emulated) hardware: the CMOS clock answers
//! with a plausible, advancing time, and the serial console's receive
//! interrupt delivers bytes (through the UART's loopback mode). Also the
//! hardware service itself: 16- and 32-bit port access (PCI configuration
//! space through 0xCF8/0xCFC), bounds-checked against the claim, a
//! refused claim whose holder `lsmod` names, and the kernel's own ports
//! (PICs, PIT, debug exit, ACPI, COM1 but for its one lent driver) refused
//! to every driver.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;
use helix_modules::services::hw::{Hardware, HwError};
use helix_modules::{Caller, ModuleError, ModuleState, ModuleStatus, Registry};
use kernel::{kprint, ktest, thread};

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

/// PCI configuration mechanism #1: the address port and the data port.
const PCI_CONFIG: u16 = 0xcf8;

ktest!(
    fn wide_accesses_past_the_claim_are_refused() {
        up();
        let hw = kernel::hw::hardware();
        let ports = hw
            .claim_ports("wide_test", PCI_CONFIG, 8)
            .expect("0xcf8 is free");
        let past = |offset, bits| HwError::WideOutOfRange {
            offset,
            bits,
            count: 8,
        };
        assert_eq!(ports.read32(5), Err(past(5, 32)));
        assert_eq!(ports.write32(8, 0x8000_0000), Err(past(8, 32)));
        assert_eq!(ports.read16(7), Err(past(7, 16)));
        assert_eq!(ports.write16(u16::MAX, 0), Err(past(u16::MAX, 16)));
        assert_eq!(
            ports.read(8),
            Err(HwError::OutOfRange {
                offset: 8,
                count: 8
            })
        );
        // The last whole dword and word are inside.
        assert!(ports.read32(4).is_ok() && ports.read16(6).is_ok());
        drop(ports);
        assert_eq!(hw.release_all("wide_test"), 1);
    }
);

ktest!(
    fn wide_ports_read_the_pci_host_bridge() {
        up();
        let hw = kernel::hw::hardware();
        let ports = hw
            .claim_ports("pci_test", PCI_CONFIG, 8)
            .expect("0xcf8 is free");
        // Enable bit, bus 0, device 0, function 0, register 0: vendor and
        // device id of the host bridge.
        ports.write32(0, 0x8000_0000).unwrap();
        let id = ports.read32(4).unwrap();
        let (vendor, device) = (id & 0xffff, id >> 16);
        // The same register, 16 bits at a time (0xcfc and 0xcfe).
        let halves = (ports.read16(4).unwrap(), ports.read16(6).unwrap());
        drop(ports);
        assert_eq!(hw.release_all("pci_test"), 1);
        kprint!("(00:00.0 is {vendor:04x}:{device:04x}) ");
        assert_eq!(vendor, 0x8086, "{id:#010x}");
        // q35 (MCH) or the older i440FX machine.
        assert!(matches!(device, 0x29c0 | 0x1237), "{id:#010x}");
        assert_eq!((u32::from(halves.0), u32::from(halves.1)), (vendor, device));
    }
);

/// Waits (up to 5 s) until `cmos_rtc` is Failed and out of any call (the
/// supervisor may be retrying it), and returns its status.
fn failed_rtc(r: &Registry) -> ModuleStatus {
    for _ in 0..500 {
        let status = r.status("cmos_rtc").unwrap();
        if status.state == ModuleState::Failed && !status.busy {
            return status;
        }
        thread::sleep_ms(10);
    }
    panic!(
        "cmos_rtc never settled as Failed: {:?}",
        r.status("cmos_rtc")
    );
}

ktest!(
    fn a_refused_claim_names_its_holder_in_lsmod() {
        let r = up();
        let hw = kernel::hw::hardware();
        r.stop(Caller::Kernel, "cmos_rtc").unwrap();
        let held = hw
            .claim_ports("squatter", 0x70, 2)
            .expect("released when the driver stopped");
        let err = r.start(Caller::Kernel, "cmos_rtc").unwrap_err();
        assert!(format!("{err}").ends_with("claimed by squatter"), "{err}");

        let status = failed_rtc(r);
        let Some(ModuleError::StepFailed { reason, .. }) = &status.last_error else {
            panic!("{:?}", status.last_error);
        };
        assert!(
            matches!(&**reason, ModuleError::Hardware(HwError::PortsInUse { owner, .. }) if owner == "squatter"),
            "{reason:?}"
        );
        // The table shows the reason while the driver is Failed (the
        // supervisor may be between two retries: look again then).
        let mut table = String::new();
        for _ in 0..100 {
            failed_rtc(r);
            table = kernel::modules::format_table(r);
            if table.contains("claimed by squatter") {
                break;
            }
        }
        let mut lines = table.lines().skip_while(|l| !l.starts_with("cmos_rtc "));
        assert!(
            lines.next().is_some_and(|l| l.contains(" failed")),
            "{table}"
        );
        assert!(
            lines
                .next()
                .is_some_and(|l| l.trim_start().starts_with("reason:")
                    && l.ends_with("ports 0x70..0x72 are claimed by squatter")),
            "{table}"
        );

        drop(held);
        assert_eq!(hw.release_all("squatter"), 1);
        // The supervisor may be between the init and start of a retry
        // (Initialized, which cannot be restarted): try again then.
        let mut restarted = r.restart(Caller::Kernel, "cmos_rtc");
        for _ in 0..100 {
            if !matches!(restarted, Err(ModuleError::InvalidState { .. })) {
                break;
            }
            thread::sleep_ms(10);
            restarted = r.restart(Caller::Kernel, "cmos_rtc");
        }
        restarted.expect("the driver starts once its ports are free");
        assert_eq!(r.status("cmos_rtc").unwrap().state, ModuleState::Running);
        assert!(ask(r, "cmos_rtc", "get_time").is_ok());
    }
);

ktest!(
    fn the_kernels_own_ports_are_refused_to_drivers() {
        let r = up();
        let hw = kernel::hw::hardware();
        let refused_as_kernels = |base: u16, count: u16, what: &str| {
            let err = hw
                .claim_ports("intruder", base, count)
                .expect_err("the kernel's ports are never a driver's");
            let holder = format!("kernel ({what})");
            assert!(
                matches!(&err, HwError::PortsInUse { owner, .. } if *owner == holder),
                "{base:#x}+{count}: {err:?}"
            );
            assert!(
                format!("{err}").ends_with(&format!("claimed by {holder}")),
                "{err}"
            );
        };
        // The 8259 PICs, the PIT and its gate, QEMU's debug exit, whole or
        // in part, alone or inside a larger range.
        refused_as_kernels(0x20, 1, "8259 PIC");
        refused_as_kernels(0x21, 1, "8259 PIC");
        refused_as_kernels(0xa0, 2, "8259 PIC");
        refused_as_kernels(0x40, 1, "8254 PIT");
        refused_as_kernels(0x43, 1, "8254 PIT");
        refused_as_kernels(0x61, 1, "PIT channel 2 gate");
        refused_as_kernels(0xf4, 1, "QEMU debug exit");
        refused_as_kernels(0xf7, 1, "QEMU debug exit");
        refused_as_kernels(0x10, 0x20, "8259 PIC");
        // Every reservation, the ACPI power-off ports included when the
        // firmware has them; COM1 in part is the kernel's too.
        for p in kernel::hw::reserved_ports() {
            refused_as_kernels(p.base + p.count - 1, 1, p.what);
        }
        refused_as_kernels(0x3fd, 1, "COM1 log output");
        refused_as_kernels(0x3f0, 0x10, "COM1 log output");
        assert_eq!(hw.release_all("intruder"), 0, "nothing was granted");

        // COM1 whole is lent to one driver at a time: serial_console has
        // it, so a second borrower is refused naming it; once it stops,
        // another driver may borrow it, and after that, serial_console
        // again (and still works).
        let err = hw.claim_ports("intruder", 0x3f8, 8).unwrap_err();
        assert!(
            matches!(&err, HwError::PortsInUse { owner, .. } if owner == "serial_console"),
            "{err:?}"
        );
        r.stop(Caller::Kernel, "serial_console").unwrap();
        let lent = hw
            .claim_ports("other_uart", 0x3f8, 8)
            .expect("COM1 is lent whole to a driver");
        drop(lent);
        assert_eq!(hw.release_all("other_uart"), 1);
        r.start(Caller::Kernel, "serial_console").unwrap();
        let result = ask(r, "serial_console", "self_test");
        assert!(result.is_ok(), "{result:?}");
    }
);
