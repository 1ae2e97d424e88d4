//! The RTC read protocol against a modelled CMOS (a register file behind the index/data ports): BCD and binary, 12- and
//! 24-hour formats, waiting out updates, and bad data reported as errors.

use cmos_rtc::{DateTime, RtcError, read_time};
use helix_modules::services::hw::{PortIo, PortRange};
use std::sync::{Arc, Mutex};

/// CMOS registers behind an index/data port pair. `busy_reads` makes
/// status A report an update in progress that many times; `tick_after`
/// advances the seconds register after that many data reads.
#[derive(Default)]
struct FakeCmos {
    state: Mutex<State>,
}

struct State {
    index: u8,
    regs: [u8; 128],
    busy_reads: u32,
    tick_after: Option<u32>,
    data_reads: u32,
}

impl Default for State {
    fn default() -> Self {
        Self {
            index: 0,
            regs: [0; 128],
            busy_reads: 0,
            tick_after: None,
            data_reads: 0,
        }
    }
}

impl PortIo for FakeCmos {
    fn read_u8(&self, port: u16) -> u8 {
        let mut s = self.state.lock().unwrap();
        assert_eq!(port, 0x71, "reads go to the data port");
        if s.index == 0x0a && s.busy_reads > 0 {
            s.busy_reads -= 1;
            return 0x80;
        }
        s.data_reads += 1;
        if s.tick_after == Some(s.data_reads) {
            s.regs[0] = s.regs[0].wrapping_add(1);
        }
        s.regs[usize::from(s.index & 0x7f)]
    }
    fn write_u8(&self, port: u16, value: u8) {
        assert_eq!(port, 0x70, "writes select a register");
        self.state.lock().unwrap().index = value;
    }
}

fn cmos(regs: &[(u8, u8)]) -> (Arc<FakeCmos>, PortRange) {
    let dev = Arc::new(FakeCmos::default());
    {
        let mut s = dev.state.lock().unwrap();
        for &(r, v) in regs {
            s.regs[usize::from(r)] = v;
        }
    }
    let io: Arc<dyn PortIo> = dev.clone();
    (dev, PortRange::new(0x70, 2, io))
}

#[test]
fn bcd_24_hour() {
    let (_, ports) = cmos(&[
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
    let (_, ports) = cmos(&[
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
    let (_, ports) = cmos(&[
        (0x04, 12),
        (0x07, 1),
        (0x08, 2),
        (0x09, 24),
        (0x32, 20),
        (0x0b, 0x04),
    ]);
    assert_eq!(read_time(&ports).unwrap().hour, 0, "12 AM is midnight");
    let (_, ports) = cmos(&[
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
    let (_, ports) = cmos(&[(0x07, 0x01), (0x08, 0x01), (0x09, 0x30), (0x0b, 0x02)]);
    assert_eq!(read_time(&ports).unwrap().year, 2030);
}

#[test]
fn waits_out_an_update_in_progress() {
    let (dev, ports) = cmos(&[
        (0x07, 1),
        (0x08, 1),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    dev.state.lock().unwrap().busy_reads = 50;
    assert!(read_time(&ports).is_ok());
    assert_eq!(dev.state.lock().unwrap().busy_reads, 0);
}

#[test]
fn rereads_when_the_clock_ticks_mid_read() {
    let (dev, ports) = cmos(&[
        (0x00, 0x10),
        (0x07, 1),
        (0x08, 1),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    dev.state.lock().unwrap().tick_after = Some(3);
    assert_eq!(read_time(&ports).unwrap().second, 11);
}

#[test]
fn stuck_update_and_garbage_are_errors() {
    let (dev, ports) = cmos(&[(0x0b, 0x02)]);
    dev.state.lock().unwrap().busy_reads = u32::MAX;
    assert_eq!(read_time(&ports), Err(RtcError::StuckUpdating));
    let (_, ports) = cmos(&[
        (0x07, 0x45),
        (0x08, 0x13),
        (0x09, 0x26),
        (0x32, 0x20),
        (0x0b, 0x02),
    ]);
    assert!(matches!(read_time(&ports), Err(RtcError::InvalidDate(_))));
}
