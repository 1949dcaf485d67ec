//! `LexRangePlan`: Lex's range rules, and the calls a longer range becomes.
//!
//! The Lex V2 guide ("Filtering results", lex.md §11): "The start date must be
//! within the last 365 days from the current date. The end date must not be
//! more than 1 month after the start date." Whether the API enforces what the
//! console page says is UNCERTAIN, so botscope stays inside both rules:
//! - a start more than 365 days back is refused before any call
//!   (`BAD_USER_INPUT` naming the rule and the date);
//! - a range that ends within one calendar month of its start is one call;
//! - a longer range becomes *pieces* on UTC-day boundaries. Piece `k` owns the
//!   conversations that **start** in `[b_k, b_{k+1})` (27 days, the first one
//!   shorter) and is asked over `[b_k, b_{k+1} + 1 day)` — 28 days at most,
//!   inside any month. The extra day is there because Lex's range rule
//!   ("started at or after start, ended before end") would otherwise lose the
//!   conversations that start before a boundary and end after it; what a
//!   piece sees beyond its owned part belongs to the next piece and is
//!   dropped. A conversation that crosses a boundary and lasts more than a
//!   day is still missed (Lex's session timeout is at most 24 h, so such a
//!   conversation needs continuous activity for a day); the README says so.
//!
//! Hour and day bins start on UTC hours and days, so a bin never straddles a
//! piece; bins are taken from the piece that owns their start.

use chrono::{DateTime, Duration, DurationRound, Months, Utc};

use crate::domain::TimeRange;
use crate::error::{Error, Result};

/// How far back a range may start (the guide's "last 365 days").
pub const LEX_MAX_AGE_DAYS: i64 = 365;
/// Days a piece owns; with the extra day it is asked over at most 28 days.
const PIECE_OWNED_DAYS: i64 = 27;
/// A start this close to the 365-day limit is refused already, so the check
/// the service makes a moment later cannot fail where botscope's passed.
const AGE_MARGIN: Duration = Duration::minutes(5);

/// One call of a plan: the range asked, and the end of the starts it owns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LexPiece {
    pub asked: TimeRange,
    /// Conversations (and bins) starting before this belong to the piece.
    pub owned_end: DateTime<Utc>,
}

impl LexPiece {
    pub fn owns(&self, start: DateTime<Utc>) -> bool {
        start >= self.asked.start() && start < self.owned_end
    }
}

/// The calls one unified range becomes, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexRangePlan {
    pub pieces: Vec<LexPiece>,
}

/// Whether `[start, end)` keeps the guide's one-month rule: the end at most
/// one calendar month after the start (31 January + 1 month = 28/29 February).
pub fn within_one_month(start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
    start
        .checked_add_months(Months::new(1))
        .is_some_and(|limit| end <= limit)
}

impl LexRangePlan {
    /// The plan for `range` asked at `now`; `BAD_USER_INPUT` for a start more
    /// than 365 days before `now`.
    pub fn new(range: &TimeRange, now: DateTime<Utc>) -> Result<Self> {
        let oldest = now - Duration::days(LEX_MAX_AGE_DAYS) + AGE_MARGIN;
        if range.start() < oldest {
            return Err(Error::bad_input(
                "range",
                format!(
                    "Lex V2 analytics only answer ranges that start within the last \
                     {LEX_MAX_AGE_DAYS} days (Lex V2 guide, \"Filtering results\"); \
                     range.start {} is before {}",
                    range.start().to_rfc3339(),
                    oldest.to_rfc3339()
                ),
            ));
        }
        if within_one_month(range.start(), range.end()) {
            return Ok(LexRangePlan {
                pieces: vec![LexPiece {
                    asked: *range,
                    owned_end: range.end(),
                }],
            });
        }
        let midnight = range
            .start()
            .duration_trunc(Duration::days(1))
            .unwrap_or(range.start());
        let mut pieces = Vec::new();
        let mut from = range.start();
        let mut k = 1;
        while from < range.end() {
            let owned_end = (midnight + Duration::days(PIECE_OWNED_DAYS * k)).min(range.end());
            let asked_end = (owned_end + Duration::days(1)).min(range.end());
            if let Some(asked) = TimeRange::new_unbounded(from, asked_end) {
                pieces.push(LexPiece { asked, owned_end });
            }
            from = owned_end;
            k += 1;
        }
        Ok(LexRangePlan { pieces })
    }

    pub fn is_split(&self) -> bool {
        self.pieces.len() > 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    fn range(a: DateTime<Utc>, b: DateTime<Utc>) -> TimeRange {
        TimeRange::new_unbounded(a, b).unwrap()
    }

    #[test]
    fn a_month_or_less_is_one_call() {
        let now = at(2026, 12, 1, 0);
        let r = range(at(2026, 10, 31, 0), at(2026, 11, 30, 0));
        let plan = LexRangePlan::new(&r, now).unwrap();
        assert_eq!(plan.pieces.len(), 1);
        assert_eq!(plan.pieces[0].asked, r);
        // February: 30 days from 1 February is more than one month.
        let feb = range(at(2026, 2, 1, 0), at(2026, 3, 3, 0));
        assert!(
            LexRangePlan::new(&feb, at(2026, 6, 1, 0))
                .unwrap()
                .is_split()
        );
    }

    #[test]
    fn longer_ranges_split_on_utc_days_and_every_start_has_one_owner() {
        let now = at(2026, 12, 1, 0);
        let r = range(at(2026, 9, 1, 15), at(2026, 11, 20, 6));
        let plan = LexRangePlan::new(&r, now).unwrap();
        assert!(plan.pieces.len() >= 3);
        assert_eq!(plan.pieces[0].asked.start(), r.start());
        assert_eq!(plan.pieces.last().unwrap().owned_end, r.end());
        for (i, p) in plan.pieces.iter().enumerate() {
            assert!(within_one_month(p.asked.start(), p.asked.end()), "{p:?}");
            assert!(p.asked.duration() <= Duration::days(28));
            if let Some(next) = plan.pieces.get(i + 1) {
                assert_eq!(next.asked.start(), p.owned_end, "contiguous ownership");
                assert_eq!(
                    p.owned_end,
                    p.owned_end.duration_trunc(Duration::days(1)).unwrap()
                );
                assert_eq!(p.asked.end(), p.owned_end + Duration::days(1));
            }
        }
        let mut t = r.start();
        while t < r.end() {
            let owners = plan.pieces.iter().filter(|p| p.owns(t)).count();
            assert_eq!(owners, 1, "{t}");
            t += Duration::minutes(97);
        }
    }

    #[test]
    fn a_start_over_365_days_back_is_refused_naming_the_rule_and_date() {
        let now = at(2026, 12, 1, 0);
        let r = range(now - Duration::days(400), now - Duration::days(380));
        let e = LexRangePlan::new(&r, now).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::BadUserInput);
        assert!(e.message.contains("365 days"), "{}", e.message);
        assert!(e.message.contains("2025-10-27"), "{}", e.message);
        let ok = range(now - Duration::days(364), now - Duration::days(360));
        assert!(LexRangePlan::new(&ok, now).is_ok());
    }
}
