//! The RTC read protocol against a modelled CMOS (a register file behind
//! the index/data ports of a `FakeHardware`): BCD and binary, 12- and
//! 24-hour formats, waiting out updates, and bad data reported as errors.

use cmos_rtc::{DateTime, RtcError, read_time};
use helix_modules::services::hw::{Hardware, PortRange};
use helix_modules::testing::{Direction, FakeHardware, Width};
use std::sync::{Arc, Mutex};

/// CMOS registers behind an index/data port pair. `busy_reads` makes
/// status A report an update in progress that many times; `tick_after`
/// advances the seconds register after that many data reads.
struct State {
    index: u8,
    regs: [u8; 128],
    busy_reads: u32,
    tick_after: Option<u32>,
    data_reads: u32,
}

impl State {
    fn read_data(&mut self) -> u8 {
        if self.index == 0x0a && self.busy_reads > 0 {
            self.busy_reads -= 1;
            return 0x80;
        }
        self.data_reads += 1;
        if self.tick_after == Some(self.data_reads) {
            self.regs[0] = self.regs[0].wrapping_add(1);
        }
        self.regs[usize::from(self.index & 0x7f)]
    }
}

/// A CMOS holding `regs` (register, value), modelled on a fake machine:
/// the device state, the machine, and the driver's claim of 0x70-0x71.
fn cmos(regs: &[(u8, u8)]) -> (Arc<Mutex<State>>, FakeHardware, PortRange) {
    let mut state = State {
        index: 0,
        regs: [0; 128],
        busy_reads: 0,
        tick_after: None,
        data_reads: 0,
    };
    for &(r, v) in regs {
        state.regs[usize::from(r)] = v;
    }
    let state = Arc::new(Mutex::new(state));
    let hw = FakeHardware::new();
    let s = state.clone();
    hw.on_write(0x70, move |_, _, index| {
        s.lock().unwrap().index = index as u8
    });
    let s = state.clone();
    hw.on_read(0x71, move |_, _| s.lock().unwrap().read_data().into());
    let ports = hw.claim_ports("cmos_rtc", 0x70, 2).unwrap();
    (state, hw, ports)
}

#[test]
fn every_access_is_a_byte_index_write_then_a_byte_data_read() {
    let (_, hw, ports) = cmos(&[(0x07, 1), (0x08, 1), (0x09, 0x26), (0x0b, 0x02)]);
    read_time(&ports).unwrap();
    let log = hw.accesses();
    assert!(!log.is_empty());
    for pair in log.chunks(2) {
        assert_eq!(pair.len(), 2, "{log:?}");
        assert_eq!(
            (pair[0].port, pair[0].direction, pair[0].width),
            (0x70, Direction::Write, Width::U8),
            "{log:?}"
        );
        assert_eq!(
            (pair[1].port, pair[1].direction, pair[1].width),
            (0x71, Direction::Read, Width::U8),
            "{log:?}"
        );
    }
    assert_eq!(hw.writes_to(0x70)[0], 0x0b, "status B is read first");
}

#[test]
fn bcd_24_hour() {
    let (_, _, ports) = cmos(&[
        (0x00, 0x28),
        (0x02, 0x06),
        (0x04, 0x15),
        (0x07, 0x22),
        (0x08, 0x11),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    let t = read_time(&ports).unwrap();
    assert_eq!(
        t,
        DateTime {
            year: 2026,
            month: 11,
            day: 22,
            hour: 15,
            minute: 6,
            second: 28
        }
    );
    assert_eq!(t.to_string(), "2026-11-22T15:06:28Z");
}

#[test]
fn binary_12_hour_pm_and_midnight() {
    let (_, _, ports) = cmos(&[
        (0x00, 5),
        (0x02, 7),
        (0x04, 0x80 | 3),
        (0x07, 1),
        (0x08, 2),
        (0x09, 24),
        (0x32, 20),
        (0x0b, 0x04),
    ]);
    assert_eq!(read_time(&ports).unwrap().hour, 15);
    let (_, _, ports) = cmos(&[
        (0x04, 12),
        (0x07, 1),
        (0x08, 2),
        (0x09, 24),
        (0x32, 20),
        (0x0b, 0x04),
    ]);
    assert_eq!(read_time(&ports).unwrap().hour, 0, "12 AM is midnight");
    let (_, _, ports) = cmos(&[
        (0x04, 0x80 | 12),
        (0x07, 1),
        (0x08, 2),
        (0x09, 24),
        (0x32, 20),
        (0x0b, 0x04),
    ]);
    assert_eq!(read_time(&ports).unwrap().hour, 12, "12 PM is noon");
}

#[test]
fn missing_century_register_means_2000s() {
    let (_, _, ports) = cmos(&[(0x07, 0x01), (0x08, 0x01), (0x09, 0x30), (0x0b, 0x02)]);
    assert_eq!(read_time(&ports).unwrap().year, 2030);
}

#[test]
fn waits_out_an_update_in_progress() {
    let (dev, _, ports) = cmos(&[
        (0x07, 1),
        (0x08, 1),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    dev.lock().unwrap().busy_reads = 50;
    assert!(read_time(&ports).is_ok());
    assert_eq!(dev.lock().unwrap().busy_reads, 0);
}

#[test]
fn rereads_when_the_clock_ticks_mid_read() {
    let (dev, _, ports) = cmos(&[
        (0x00, 0x10),
        (0x07, 1),
        (0x08, 1),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    dev.lock().unwrap().tick_after = Some(3);
    assert_eq!(read_time(&ports).unwrap().second, 11);
}

#[test]
fn stuck_update_and_garbage_are_errors() {
    let (dev, _, ports) = cmos(&[(0x0b, 0x02)]);
    dev.lock().unwrap().busy_reads = u32::MAX;
    assert_eq!(read_time(&ports), Err(RtcError::StuckUpdating));
    let (_, _, ports) = cmos(&[
        (0x07, 0x45),
        (0x08, 0x13),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    assert!(matches!(read_time(&ports), Err(RtcError::InvalidDate(_))));
}
