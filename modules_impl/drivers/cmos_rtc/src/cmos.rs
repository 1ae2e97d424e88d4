//! Reading the clock out of CMOS registers.
//!
//! The CMOS is reached through an index port (offset 0) and a data port
//! (offset 1). The clock updates once a second; while status register A's
//! update-in-progress bit is set, the time registers may be inconsistent,
//! and even after waiting an update can start between two register reads.
//! So the time is read until two consecutive reads agree.

use crate::civil::DateTime;
use core::fmt;
use helix_modules::services::hw::{HwError, PortRange};

const REG_SECONDS: u8 = 0x00;
const REG_MINUTES: u8 = 0x02;
const REG_HOURS: u8 = 0x04;
const REG_DAY: u8 = 0x07;
const REG_MONTH: u8 = 0x08;
const REG_YEAR: u8 = 0x09;
const REG_STATUS_A: u8 = 0x0a;
const REG_STATUS_B: u8 = 0x0b;
/// The century register most PC firmware (and QEMU) provides.
const REG_CENTURY: u8 = 0x32;

const UPDATE_IN_PROGRESS: u8 = 0x80;
const STATUS_B_24_HOUR: u8 = 0x02;
const STATUS_B_BINARY: u8 = 0x04;
const HOUR_PM: u8 = 0x80;

/// How long to wait out an update, in register reads (an update takes
/// under 2 ms; this is far beyond that on any machine).
const UPDATE_WAIT_READS: u32 = 1_000_000;
/// How many times to retry for two agreeing reads.
const CONSISTENT_READ_TRIES: u32 = 10;

/// Why the clock could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RtcError {
    /// The port range could not be used.
    Port(HwError),
    /// The update-in-progress bit never cleared.
    StuckUpdating,
    /// Consecutive reads never agreed.
    Unstable,
    /// The registers hold no valid date.
    InvalidDate(DateTime),
}

impl fmt::Display for RtcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Port(e) => write!(f, "CMOS port access failed: {e}"),
            Self::StuckUpdating => f.write_str("the RTC never finished updating"),
            Self::Unstable => f.write_str("the RTC kept changing between reads"),
            Self::InvalidDate(d) => write!(f, "the RTC holds an invalid date ({d})"),
        }
    }
}

impl From<HwError> for RtcError {
    fn from(e: HwError) -> Self {
        Self::Port(e)
    }
}

fn register(ports: &PortRange, reg: u8) -> Result<u8, RtcError> {
    ports.write(0, reg)?;
    Ok(ports.read(1)?)
}

/// The raw registers of one read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Raw {
    second: u8,
    minute: u8,
    hour: u8,
    day: u8,
    month: u8,
    year: u8,
    century: u8,
}

fn read_raw(ports: &PortRange) -> Result<Raw, RtcError> {
    let mut waited = 0;
    while register(ports, REG_STATUS_A)? & UPDATE_IN_PROGRESS != 0 {
        waited += 1;
        if waited > UPDATE_WAIT_READS {
            return Err(RtcError::StuckUpdating);
        }
    }
    Ok(Raw {
        second: register(ports, REG_SECONDS)?,
        minute: register(ports, REG_MINUTES)?,
        hour: register(ports, REG_HOURS)?,
        day: register(ports, REG_DAY)?,
        month: register(ports, REG_MONTH)?,
        year: register(ports, REG_YEAR)?,
        century: register(ports, REG_CENTURY)?,
    })
}

fn from_bcd(v: u8) -> u8 {
    (v >> 4) * 10 + (v & 0x0f)
}

fn decode(raw: Raw, status_b: u8) -> DateTime {
    let binary = status_b & STATUS_B_BINARY != 0;
    let conv = |v: u8| if binary { v } else { from_bcd(v) };
    let pm = raw.hour & HOUR_PM != 0;
    let mut hour = conv(raw.hour & !HOUR_PM);
    if status_b & STATUS_B_24_HOUR == 0 {
        // 12-hour clock: 12 AM is midnight, 12 PM is noon.
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let century = match conv(raw.century) {
        c @ 19..=99 => u16::from(c),
        // No usable century register: this driver postdates 2000.
        _ => 20,
    };
    DateTime {
        year: century * 100 + u16::from(conv(raw.year)),
        month: conv(raw.month),
        day: conv(raw.day),
        hour,
        minute: conv(raw.minute),
        second: conv(raw.second),
    }
}

/// Reads the current time from the CMOS behind `ports` (index, data).
pub fn read_time(ports: &PortRange) -> Result<DateTime, RtcError> {
    let status_b = register(ports, REG_STATUS_B)?;
    let mut last = read_raw(ports)?;
    for _ in 0..CONSISTENT_READ_TRIES {
        let again = read_raw(ports)?;
        if again == last {
            let time = decode(again, status_b);
            return if time.is_valid() {
                Ok(time)
            } else {
                Err(RtcError::InvalidDate(time))
            };
        }
        last = again;
    }
    Err(RtcError::Unstable)
}
