//! Virtual time: instants and durations in whole milliseconds since the start of a run.
//!
//! Nothing here reads a clock. Durations parse from the forms scenario files use
//! (`"250ms"`, `"90s"`, `"1h30m"`, `"31d"`) and render back in the same form.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A virtual instant: milliseconds since the start of the run.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Instant(pub u64);

/// A virtual span of time in milliseconds.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
pub struct Duration(pub u64);

impl Instant {
    /// The start of virtual time.
    pub const ZERO: Instant = Instant(0);

    /// Milliseconds since the start of virtual time.
    pub fn ms(self) -> u64 {
        self.0
    }

    /// `self + d`, saturating at the end of time rather than wrapping.
    pub fn after(self, d: Duration) -> Instant {
        Instant(self.0.saturating_add(d.0))
    }

    /// The span from `earlier` to `self`, zero if `earlier` is later.
    pub fn since(self, earlier: Instant) -> Duration {
        Duration(self.0.saturating_sub(earlier.0))
    }
}

impl Duration {
    /// No time at all.
    pub const ZERO: Duration = Duration(0);

    /// `ms` milliseconds.
    pub const fn from_ms(ms: u64) -> Duration {
        Duration(ms)
    }
    /// `s` seconds.
    pub const fn from_secs(s: u64) -> Duration {
        Duration(s * 1000)
    }
    /// `m` minutes.
    pub const fn from_mins(m: u64) -> Duration {
        Duration(m * 60_000)
    }
    /// `h` hours.
    pub const fn from_hours(h: u64) -> Duration {
        Duration(h * 3_600_000)
    }
    /// `d` days of 24 hours.
    pub const fn from_days(d: u64) -> Duration {
        Duration(d * 86_400_000)
    }
    /// The length, in milliseconds.
    pub fn ms(self) -> u64 {
        self.0
    }

    /// Parses `"250ms"`, `"90s"`, `"5m"`, `"2h"`, `"31d"` and combinations in
    /// decreasing order of unit such as `"1h30m"` or `"1d2h3m4s5ms"`.
    pub fn parse(text: &str) -> Result<Duration, DurationError> {
        const UNITS: [(&str, u64); 5] = [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ];
        if text.is_empty() {
            return Err(DurationError::Empty);
        }
        let bytes = text.as_bytes();
        let mut i = 0;
        let mut total: u64 = 0;
        // Index into UNITS of the last unit used: each next unit must be smaller.
        let mut last_unit: Option<usize> = None;
        while i < bytes.len() {
            let start = i;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
            if start == i {
                return Err(DurationError::ExpectedNumber { at: start });
            }
            let number: u64 = text[start..i]
                .parse()
                .map_err(|_| DurationError::Overflow)?;
            let unit_start = i;
            while i < bytes.len() && bytes[i].is_ascii_alphabetic() {
                i += 1;
            }
            let unit = &text[unit_start..i];
            let Some(index) = UNITS.iter().position(|(name, _)| *name == unit) else {
                return Err(DurationError::UnknownUnit {
                    unit: unit.to_string(),
                });
            };
            if last_unit.is_some_and(|last| index <= last) {
                return Err(DurationError::UnitOrder {
                    unit: unit.to_string(),
                });
            }
            last_unit = Some(index);
            total = number
                .checked_mul(UNITS[index].1)
                .and_then(|part| total.checked_add(part))
                .ok_or(DurationError::Overflow)?;
        }
        Ok(Duration(total))
    }
}

impl Instant {
    /// `self + d`, or `None` past the end of virtual time.
    pub fn checked_add(self, d: Duration) -> Option<Instant> {
        self.0.checked_add(d.0).map(Instant)
    }

    /// `self - d`, or `None` before the start of the run.
    pub fn checked_sub(self, d: Duration) -> Option<Instant> {
        self.0.checked_sub(d.0).map(Instant)
    }
}

impl Duration {
    /// `self + other`, or `None` on overflow.
    pub fn checked_add(self, other: Duration) -> Option<Duration> {
        self.0.checked_add(other.0).map(Duration)
    }

    /// `self - other`, or `None` if `other` is longer.
    pub fn checked_sub(self, other: Duration) -> Option<Duration> {
        self.0.checked_sub(other.0).map(Duration)
    }
}

/// Arithmetic panics on overflow, as `std::time`'s does; the `checked_`
/// methods return `None` instead.
impl std::ops::Add<Duration> for Instant {
    type Output = Instant;
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d)
            .expect("overflow when adding a duration to an instant")
    }
}

impl std::ops::AddAssign<Duration> for Instant {
    fn add_assign(&mut self, d: Duration) {
        *self = *self + d;
    }
}

impl std::ops::Sub<Duration> for Instant {
    type Output = Instant;
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d)
            .expect("overflow when subtracting a duration from an instant")
    }
}

impl std::ops::SubAssign<Duration> for Instant {
    fn sub_assign(&mut self, d: Duration) {
        *self = *self - d;
    }
}

impl std::ops::Sub<Instant> for Instant {
    type Output = Duration;
    fn sub(self, earlier: Instant) -> Duration {
        Duration(
            self.0
                .checked_sub(earlier.0)
                .expect("overflow when subtracting a later instant"),
        )
    }
}

impl std::ops::Add for Duration {
    type Output = Duration;
    fn add(self, other: Duration) -> Duration {
        self.checked_add(other)
            .expect("overflow when adding durations")
    }
}

impl std::ops::AddAssign for Duration {
    fn add_assign(&mut self, other: Duration) {
        *self = *self + other;
    }
}

impl std::ops::Sub for Duration {
    type Output = Duration;
    fn sub(self, other: Duration) -> Duration {
        self.checked_sub(other)
            .expect("overflow when subtracting durations")
    }
}

impl std::ops::SubAssign for Duration {
    fn sub_assign(&mut self, other: Duration) {
        *self = *self - other;
    }
}

impl std::ops::Mul<u64> for Duration {
    type Output = Duration;
    fn mul(self, n: u64) -> Duration {
        Duration(
            self.0
                .checked_mul(n)
                .expect("overflow when multiplying a duration"),
        )
    }
}

impl std::str::FromStr for Duration {
    type Err = DurationError;
    fn from_str(text: &str) -> Result<Duration, DurationError> {
        Duration::parse(text)
    }
}

/// Why a duration text did not parse.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DurationError {
    /// The text is empty.
    Empty,
    /// Something other than a number where one must stand.
    ExpectedNumber {
        /// The byte offset where a number was expected.
        at: usize,
    },
    /// A unit other than `d`, `h`, `m`, `s` or `ms` (or none).
    UnknownUnit {
        /// The unit as written.
        unit: String,
    },
    /// Units out of order (larger units come first, each at most once).
    UnitOrder {
        /// The unit out of place.
        unit: String,
    },
    /// A number or the total does not fit in 64 bits of milliseconds.
    Overflow,
}

impl fmt::Display for DurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DurationError::Empty => write!(f, "empty duration"),
            DurationError::ExpectedNumber { at } => {
                write!(f, "expected a number at character {at}")
            }
            DurationError::UnknownUnit { unit } if unit.is_empty() => {
                write!(f, "a number needs a unit (ms, s, m, h or d)")
            }
            DurationError::UnknownUnit { unit } => {
                write!(f, "unknown unit {unit:?} (use ms, s, m, h or d)")
            }
            DurationError::UnitOrder { unit } => {
                write!(f, "unit {unit:?} out of order (write larger units first)")
            }
            DurationError::Overflow => write!(f, "duration too large"),
        }
    }
}

impl std::error::Error for DurationError {}

impl fmt::Display for Duration {
    /// Renders in the parse form, largest units first: `1h30m`, `250ms`, `0ms`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return write!(f, "0ms");
        }
        let mut rest = self.0;
        for (name, size) in [
            ("d", 86_400_000),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if rest >= size {
                write!(f, "{}{name}", rest / size)?;
                rest %= size;
            }
        }
        Ok(())
    }
}

impl fmt::Display for Instant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", Duration(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit_and_combinations() {
        assert_eq!(Duration::parse("250ms"), Ok(Duration(250)));
        assert_eq!(Duration::parse("90s"), Ok(Duration(90_000)));
        assert_eq!(Duration::parse("5m"), Ok(Duration(300_000)));
        assert_eq!(Duration::parse("2h"), Ok(Duration(7_200_000)));
        assert_eq!(Duration::parse("31d"), Ok(Duration(31 * 86_400_000)));
        assert_eq!(Duration::parse("1h30m"), Ok(Duration(5_400_000)));
        assert_eq!(
            Duration::parse("1d2h3m4s5ms"),
            Ok(Duration(86_400_000 + 7_200_000 + 180_000 + 4_000 + 5))
        );
        assert_eq!(Duration::parse("0s"), Ok(Duration(0)));
    }

    #[test]
    fn rejects_malformed_durations() {
        assert_eq!(Duration::parse(""), Err(DurationError::Empty));
        assert!(matches!(
            Duration::parse("5"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            Duration::parse("5w"),
            Err(DurationError::UnknownUnit { .. })
        ));
        assert!(matches!(
            Duration::parse("30m1h"),
            Err(DurationError::UnitOrder { .. })
        ));
        assert!(matches!(
            Duration::parse("1s1s"),
            Err(DurationError::UnitOrder { .. })
        ));
        assert!(matches!(
            Duration::parse("h"),
            Err(DurationError::ExpectedNumber { at: 0 })
        ));
        assert!(matches!(
            Duration::parse("-5s"),
            Err(DurationError::ExpectedNumber { .. })
        ));
        assert_eq!(
            Duration::parse("99999999999999999999d"),
            Err(DurationError::Overflow)
        );
        assert_eq!(
            Duration::parse("999999999999999d"),
            Err(DurationError::Overflow)
        );
    }

    #[test]
    fn renders_in_parse_form_and_round_trips() {
        assert_eq!(Duration(5_400_000).to_string(), "1h30m");
        assert_eq!(Duration(250).to_string(), "250ms");
        assert_eq!(Duration(0).to_string(), "0ms");
        for ms in [0, 1, 999, 1000, 61_001, 86_400_000 * 31 + 5] {
            let d = Duration(ms);
            assert_eq!(Duration::parse(&d.to_string()), Ok(d));
        }
    }

    #[test]
    fn instants_and_durations_have_arithmetic() {
        let t = Instant(1_000) + Duration::from_secs(2);
        assert_eq!(t, Instant(3_000));
        assert_eq!(t - Instant(1_000), Duration::from_secs(2));
        assert_eq!(t - Duration::from_ms(500), Instant(2_500));
        let mut d = Duration::from_mins(1) + Duration::from_secs(30) - Duration::from_secs(10);
        d += Duration::from_ms(1);
        assert_eq!(d, Duration(80_001));
        assert_eq!(Duration::from_secs(2) * 3, Duration::from_secs(6));
        assert_eq!(Instant(u64::MAX).checked_add(Duration(1)), None);
        assert_eq!(Instant(0).checked_sub(Duration(1)), None);
        assert_eq!("1h30m".parse::<Duration>(), Ok(Duration::from_mins(90)));
    }
}
