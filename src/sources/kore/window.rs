//! `KoreWindowPlan`: splits a range into getSessions windows.
//!
//! getSessions rejects `dateTo - dateFrom` of 7 days or more (kore.md §1.3).
//! Windows are `window_days` (default 6) long and anchored at the Unix epoch,
//! so the split points are the same fixed UTC instants for every query and
//! neighbouring queries share their interior windows. The first and last
//! windows are clipped to the range: whether Kore's dates filter on
//! `start_time`, `end_time` or overlap is NOT DOCUMENTED, and for each of
//! those a session in the range (started ≥ start, ended < end) lies in some
//! clipped window; the source trims to the exact range and deduplicates.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::TimeRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KoreWindowPlan {
    pub windows: Vec<TimeRange>,
}

impl KoreWindowPlan {
    pub fn new(range: &TimeRange, window_days: u32) -> Self {
        let len = Duration::days(i64::from(window_days.clamp(1, 6))).num_seconds();
        let first = range.start().timestamp().div_euclid(len) * len;
        let mut windows = Vec::new();
        let mut at = first;
        while at < range.end().timestamp() || windows.is_empty() {
            let ws = epoch(at).max(range.start());
            let we = epoch(at + len).min(range.end());
            if let Some(w) = TimeRange::new_unbounded(ws, we) {
                windows.push(w);
            }
            at += len;
        }
        KoreWindowPlan { windows }
    }
}

fn epoch(s: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(s, 0)
        .single()
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_aligned_contiguous_and_short() {
        let start = Utc.with_ymd_and_hms(2026, 3, 2, 7, 30, 0).unwrap();
        let range = TimeRange::parse(start, start + Duration::days(30), 92).unwrap();
        let plan = KoreWindowPlan::new(&range, 6);
        assert!(plan.windows.len() >= 5);
        assert_eq!(plan.windows[0].start(), range.start());
        assert_eq!(plan.windows.last().unwrap().end(), range.end());
        for pair in plan.windows.windows(2) {
            assert_eq!(pair[0].end(), pair[1].start());
            assert_eq!(pair[1].start().timestamp() % (6 * 86_400), 0, "aligned");
        }
        assert!(
            plan.windows
                .iter()
                .all(|w| w.duration() < Duration::days(7))
        );
        // A neighbouring query shares the interior windows.
        let later =
            TimeRange::parse(start + Duration::days(1), start + Duration::days(31), 92).unwrap();
        let other = KoreWindowPlan::new(&later, 6);
        assert_eq!(
            plan.windows[1..plan.windows.len() - 1],
            other.windows[1..plan.windows.len() - 1]
        );
    }
}
