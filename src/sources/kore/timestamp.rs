//! Kore's timestamps read without chrono's general parser where they take
//! the documented form.
//!
//! Every getSessions session carries two timestamps in the documented form
//! `yyyy-mm-ddThh:mm:ss.msZ` (kore.md §1.4). A cold 30-day query reads tens
//! of thousands of them, and chrono's format-driven parser was a fifth of
//! reading a page. This reads that one form directly (any number of
//! fraction digits up to nine, or none) and hands every other spelling
//! (offsets, a space for `T`, lower case, leap seconds) to chrono's
//! `DateTime<Utc>` parser, so what is accepted is exactly what chrono
//! accepts.

use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::de::{Deserializer, Error, Visitor};

/// A timestamp as chrono's `DateTime<Utc>: FromStr` reads it.
pub fn parse(s: &str) -> Option<DateTime<Utc>> {
    documented_form(s.as_bytes()).or_else(|| s.parse().ok())
}

/// `yyyy-mm-ddThh:mm:ss[.f{1,9}]Z`, or `None` for anything else.
fn documented_form(b: &[u8]) -> Option<DateTime<Utc>> {
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return None;
    }
    if b[13] != b':' || b[16] != b':' || *b.last()? != b'Z' {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<u32> {
        b[from..to].iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let (year, month, day) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (hour, minute, second) = (num(11, 13)?, num(14, 16)?, num(17, 19)?);
    if second > 59 {
        return None; // a leap second: chrono's reading
    }
    let nanos = match &b[19..b.len() - 1] {
        [] => 0,
        [b'.', digits @ ..] if (1..=9).contains(&digits.len()) => {
            num(20, b.len() - 1)? * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?
        .and_hms_nano_opt(hour, minute, second, nanos)
        .map(|t| t.and_utc())
}

/// `#[serde(deserialize_with = "timestamp::required")]`
pub fn required<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_str(TimestampVisitor)
}

/// `#[serde(default, deserialize_with = "timestamp::optional")]`: absent or
/// `null` is `None`.
pub fn optional<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    d.deserialize_option(OptionalVisitor)
}

struct TimestampVisitor;

impl Visitor<'_> for TimestampVisitor {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp")
    }

    fn visit_str<E: Error>(self, s: &str) -> Result<Self::Value, E> {
        parse(s).ok_or_else(|| E::custom(format!("not an RFC 3339 timestamp: {s:?}")))
    }
}

struct OptionalVisitor;

impl<'de> Visitor<'de> for OptionalVisitor {
    type Value = Option<DateTime<Utc>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 timestamp or null")
    }

    fn visit_none<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        required(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_chrono_reads() {
        for s in [
            "2026-03-02T07:30:00.515Z",
            "2026-03-02T07:30:00Z",
            "2026-03-02T07:30:00.5Z",
            "2026-03-02T07:30:00.123456789Z",
            "2024-02-29T23:59:59.999Z",
            "0001-01-01T00:00:00.000Z",
            // Not the documented form: chrono's reading.
            "2026-03-02T07:30:00.515+02:00",
            "2026-03-02 07:30:00.515Z",
            "2026-03-02t07:30:00.515z",
            "2026-03-02T07:30:00.1234567891Z",
            "2016-12-31T23:59:60.000Z",
            "+2026-03-02T07:30:00.000Z",
        ] {
            let chrono: DateTime<Utc> = s.parse().unwrap();
            assert_eq!(parse(s), Some(chrono), "{s}");
        }
    }

    #[test]
    fn refuses_what_chrono_refuses() {
        for s in [
            "2026-02-30T07:30:00.000Z",
            "2026-13-02T07:30:00.000Z",
            "2026-03-02T24:30:00.000Z",
            "2026-03-02T07:60:00.000Z",
            "2026-03-02T07:30:00.Z",
            "2026-03-02T07:30:00.000",
            "2026-03-02T07:3a:00.000Z",
            "2026-03-02",
            "",
        ] {
            assert!(s.parse::<DateTime<Utc>>().is_err(), "chrono takes {s}");
            assert_eq!(parse(s), None, "{s}");
        }
    }
}
