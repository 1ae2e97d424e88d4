//! Calendar arithmetic: a UTC date and time, validated, printed in ISO 8601
//! and converted to Unix seconds (proleptic Gregorian calendar).

use core::fmt;

/// A UTC calendar date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DateTime {
    /// Full year, e.g. 2026.
    pub year: u16,
    /// 1..=12.
    pub month: u8,
    /// 1..=31 (checked against the month).
    pub day: u8,
    /// 0..=23.
    pub hour: u8,
    /// 0..=59.
    pub minute: u8,
    /// 0..=59.
    pub second: u8,
}

fn is_leap(year: u16) -> bool {
    (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400)
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

impl DateTime {
    /// Whether every field is in range for a real date and time.
    pub fn is_valid(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=days_in_month(self.year, self.month)).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before it).
    pub fn unix_seconds(&self) -> i64 {
        // Days from civil, after Howard Hinnant's algorithm: shift the year
        // to start in March so the leap day is the last day of the year.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        let days = era * 146_097 + doe - 719_468;
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }
}

impl fmt::Display for DateTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;

    fn dt(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> DateTime {
        DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        }
    }

    #[test]
    fn unix_epoch_and_known_instants() {
        assert_eq!(dt(1970, 1, 1, 0, 0, 0).unix_seconds(), 0);
        assert_eq!(dt(2000, 3, 1, 0, 0, 0).unix_seconds(), 951_868_800);
        assert_eq!(dt(2026, 11, 22, 15, 6, 28).unix_seconds(), 1_795_359_988);
        assert_eq!(dt(1969, 12, 31, 23, 59, 59).unix_seconds(), -1);
    }

    #[test]
    fn validity_follows_the_calendar() {
        assert!(dt(2024, 2, 29, 23, 59, 59).is_valid());
        assert!(!dt(2023, 2, 29, 0, 0, 0).is_valid());
        assert!(!dt(2100, 2, 29, 0, 0, 0).is_valid());
        assert!(dt(2000, 2, 29, 0, 0, 0).is_valid());
        assert!(!dt(2026, 13, 1, 0, 0, 0).is_valid());
        assert!(!dt(2026, 4, 31, 0, 0, 0).is_valid());
        assert!(!dt(2026, 1, 1, 24, 0, 0).is_valid());
    }

    #[test]
    fn iso_format() {
        assert_eq!(dt(2026, 1, 2, 3, 4, 5).to_string(), "2026-01-02T03:04:05Z");
    }
}
