//! Calendar time for the wire: a virtual instant rendered as a date, from a
//! fixed epoch (the calendar time of virtual instant 0), and dates read back
//! into instants. The simulator has only virtual milliseconds; the platforms'
//! APIs speak RFC 3339 timestamps (`2026-01-01T00:00:05.250Z`) and HTTP
//! dates (`Thu, 01 Jan 2026 00:00:05 GMT`, RFC 9110 section 5.6.7).
//!
//! Pure arithmetic on integers (the proleptic Gregorian calendar, days from
//! civil dates as in Howard Hinnant's "chrono-Compatible Low-Level Date
//! Algorithms"): nothing here reads a clock.

use crate::time::Instant;

/// The calendar time of virtual instant 0, in milliseconds since the Unix
/// epoch (1970-01-01T00:00:00Z).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epoch(pub i64);

/// The server's default epoch: 2026-01-01T00:00:00Z.
pub const DEFAULT_EPOCH: Epoch = Epoch(1_767_225_600_000);

const DAY_MS: i64 = 86_400_000;

impl Default for Epoch {
    fn default() -> Epoch {
        DEFAULT_EPOCH
    }
}

impl Epoch {
    /// Unix milliseconds of `at`.
    pub fn unix_ms(self, at: Instant) -> i64 {
        self.0
            .saturating_add(i64::try_from(at.ms()).unwrap_or(i64::MAX))
    }

    /// `at` as RFC 3339 in UTC with milliseconds: `2026-01-01T00:00:05.250Z`.
    pub fn rfc3339(self, at: Instant) -> String {
        rfc3339(self.unix_ms(at))
    }

    /// `at` as an HTTP date (whole seconds): `Thu, 01 Jan 2026 00:00:05 GMT`.
    pub fn http_date(self, at: Instant) -> String {
        http_date(self.unix_ms(at))
    }

    /// The virtual instant of an RFC 3339 date; a date before the epoch is
    /// instant 0 (nothing in the simulation is older).
    pub fn instant(self, unix_ms: i64) -> Instant {
        Instant(u64::try_from(unix_ms.saturating_sub(self.0)).unwrap_or(0))
    }

    /// Parses an epoch given as RFC 3339.
    pub fn parse(text: &str) -> Result<Epoch, String> {
        parse_rfc3339(text).map(Epoch)
    }
}

/// Days since 1970-01-01 of a civil date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date (year, month, day) of days since 1970-01-01.
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Unix milliseconds as RFC 3339 UTC with milliseconds.
pub fn rfc3339(unix_ms: i64) -> String {
    let days = unix_ms.div_euclid(DAY_MS);
    let in_day = unix_ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    let (h, m, s, ms) = (
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60,
        in_day % 1000,
    );
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{ms:03}Z")
}

/// Unix milliseconds as an HTTP date (IMF-fixdate, whole seconds).
pub fn http_date(unix_ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = unix_ms.div_euclid(DAY_MS);
    let in_day = unix_ms.rem_euclid(DAY_MS);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{}, {day:02} {} {year:04} {:02}:{:02}:{:02} GMT",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        in_day / 3_600_000,
        in_day / 60_000 % 60,
        in_day / 1000 % 60
    )
}

/// Parses RFC 3339 (`2026-01-01T00:00:05Z`, with an optional fraction, `Z` or
/// an offset such as `+02:00`; `t`, `z` and a space separator too) into Unix
/// milliseconds; digits past the millisecond are dropped.
pub fn parse_rfc3339(text: &str) -> Result<i64, String> {
    let bad = || format!("{text:?} is not an RFC 3339 date-time");
    let b = text.as_bytes();
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = b.get(from..from + n)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0i64, |v, d| v * 10 + i64::from(d - b'0')))
    };
    let sep = |at: usize, c: &[u8]| b.get(at).is_some_and(|x| c.contains(x));
    if b.len() < 20 || !sep(4, b"-") || !sep(7, b"-") || !sep(10, b"Tt ") || !sep(13, b":") {
        return Err(bad());
    }
    if !sep(16, b":") {
        return Err(bad());
    }
    let (year, month, day) = (
        digits(0, 4).ok_or_else(bad)?,
        digits(5, 2).ok_or_else(bad)?,
        digits(8, 2).ok_or_else(bad)?,
    );
    let (hour, minute, second) = (
        digits(11, 2).ok_or_else(bad)?,
        digits(14, 2).ok_or_else(bad)?,
        digits(17, 2).ok_or_else(bad)?,
    );
    let month_days = [
        31,
        28 + i64::from(leap(year)),
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    if !(1..=12).contains(&month)
        || !(1..=month_days[(month - 1) as usize]).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut millis = 0i64;
    if sep(i, b".") {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_min = match b.get(i..) {
        Some(b"Z" | b"z") => 0,
        Some([sign @ (b'+' | b'-'), ..]) if b.len() == i + 6 && b[i + 3] == b':' => {
            let (oh, om) = (
                digits(i + 1, 2).ok_or_else(bad)?,
                digits(i + 4, 2).ok_or_else(bad)?,
            );
            if oh > 23 || om > 59 {
                return Err(bad());
            }
            let offset = oh * 60 + om;
            if *sign == b'+' { offset } else { -offset }
        }
        _ => return Err(bad()),
    };
    let seconds =
        days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second.min(59)
            - offset_min * 60;
    Ok(seconds * 1000 + millis)
}

fn leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_epoch_is_new_year_2026() {
        assert_eq!(
            DEFAULT_EPOCH.rfc3339(Instant::ZERO),
            "2026-01-01T00:00:00.000Z"
        );
        assert_eq!(
            DEFAULT_EPOCH.http_date(Instant(5_250)),
            "Thu, 01 Jan 2026 00:00:05 GMT"
        );
        assert_eq!(parse_rfc3339("2026-01-01T00:00:00Z"), Ok(DEFAULT_EPOCH.0));
    }

    #[test]
    fn known_dates_render_and_parse_back() {
        // 2020-10-30T10:50:50Z, the ACS Chat API specification's example.
        let ms = 1_604_055_050_000;
        assert_eq!(rfc3339(ms), "2020-10-30T10:50:50.000Z");
        assert_eq!(http_date(ms), "Fri, 30 Oct 2020 10:50:50 GMT");
        assert_eq!(http_date(0), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(http_date(951_782_400_000), "Tue, 29 Feb 2000 00:00:00 GMT");
        for text in [
            "2020-10-30T10:50:50Z",
            "2020-10-30t10:50:50z",
            "2020-10-30 10:50:50Z",
            "2020-10-30T12:50:50+02:00",
            "2020-10-30T09:50:50-01:00",
            "2020-10-30T10:50:50.0000000Z",
        ] {
            assert_eq!(parse_rfc3339(text), Ok(ms), "{text}");
        }
        assert_eq!(parse_rfc3339("2020-10-30T10:50:50.6830000Z"), Ok(ms + 683));
        assert_eq!(parse_rfc3339("2020-10-30T10:50:50.5Z"), Ok(ms + 500));
    }

    #[test]
    fn every_day_of_four_centuries_round_trips() {
        for days in -146_097..146_097 {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            let ms = days * DAY_MS + 45_296_789;
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Ok(ms));
        }
    }

    #[test]
    fn malformed_dates_are_refused() {
        for text in [
            "",
            "2020-10-30",
            "2020-13-01T00:00:00Z",
            "2021-02-29T00:00:00Z",
            "2020-10-30T24:00:00Z",
            "2020-10-30T10:50:50",
            "2020-10-30T10:50:50.Z",
            "2020-10-30T10:50:50+2:00",
            "2020-1a-30T10:50:50Z",
            "２020-10-30T10:50:50Z",
        ] {
            assert!(parse_rfc3339(text).is_err(), "{text}");
        }
    }

    #[test]
    fn instants_before_the_epoch_are_zero() {
        let epoch = DEFAULT_EPOCH;
        assert_eq!(epoch.instant(epoch.0 - 1), Instant::ZERO);
        assert_eq!(epoch.instant(epoch.0 + 1500), Instant(1500));
    }
}
