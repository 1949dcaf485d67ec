use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// A half-open time range `[start, end)` with Lex's membership rule, applied to
/// every vendor: a session is in the range when it started at or after `start`
/// and ended before `end`. A session still open at `end` is not (yet) in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TimeRange {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TimeRange {
    /// Validates `end > start` and a length of at most `max_days` days.
    pub fn parse(start: DateTime<Utc>, end: DateTime<Utc>, max_days: u32) -> Result<Self> {
        if end <= start {
            return Err(Error::bad_input(
                "range",
                format!("end ({end}) must be after start ({start})"),
            ));
        }
        if end - start > Duration::days(i64::from(max_days)) {
            return Err(Error::bad_input(
                "range",
                format!(
                    "spans {} days; at most {max_days} days are allowed (limits.max_range_days)",
                    (end - start).num_hours() as f64 / 24.0
                ),
            ));
        }
        Ok(TimeRange { start, end })
    }

    /// A range known to be valid (`end > start`) without a length check, for
    /// internal windows. Returns `None` when `end <= start`.
    pub fn new_unbounded(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Self> {
        (end > start).then_some(TimeRange { start, end })
    }

    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    pub fn duration(&self) -> Duration {
        self.end - self.start
    }

    /// Lex's rule: started at or after `start`, ended before `end`.
    /// Whether an instant (an utterance) lies in `[start, end)`.
    pub fn contains_instant(&self, t: DateTime<Utc>) -> bool {
        t >= self.start && t < self.end
    }

    pub fn contains_conversation(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        start >= self.start && end < self.end
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 1, h, 0, 0).unwrap()
    }

    #[test]
    fn rejects_empty_and_inverted_ranges() {
        assert!(TimeRange::parse(t(2), t(2), 92).is_err());
        let err = TimeRange::parse(t(3), t(2), 92).unwrap_err();
        assert_eq!(err.argument.as_deref(), Some("range"));
    }

    #[test]
    fn rejects_too_long_ranges() {
        let start = t(0);
        assert!(TimeRange::parse(start, start + Duration::days(92), 92).is_ok());
        let err = TimeRange::parse(start, start + Duration::days(93), 92).unwrap_err();
        assert!(err.message.contains("max_range_days"), "{}", err.message);
    }

    #[test]
    fn membership_is_lex_rule() {
        let r = TimeRange::parse(t(1), t(3), 92).unwrap();
        assert!(r.contains_conversation(t(1), t(2)));
        assert!(!r.contains_conversation(t(0), t(2)), "started before start");
        assert!(
            !r.contains_conversation(t(2), t(3)),
            "ended at end: still counts as open"
        );
    }
}
