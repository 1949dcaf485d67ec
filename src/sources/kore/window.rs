//! `KoreWindowPlan`: splits a range into getSessions windows.
//!
//! getSessions rejects `dateTo - dateFrom` of 7 days or more (kore.md §1.3).
//! Windows are `window_days` (default 6) long and anchored at the Unix epoch,
//! so the split points are the same fixed UTC instants for every query.
//! Each window is trimmed only to the **UTC days** the range touches: a
//! one-day query asks for one day (one small page per containment type, so a
//! cold query costs about one upstream round trip), while a 30-day query asks
//! for whole aligned windows in its interior. [`KoreWindowPlan::parent`] names
//! the whole window a trimmed one lies in: the source answers a trimmed window
//! from its cached parent when an earlier, larger query fetched it, so days
//! 3–20 after days 1–30 cost no upstream call. The source trims sessions to
//! the exact range (started ≥ start, ended < end) and deduplicates. Whether
//! Kore's dates filter on `start_time`, `end_time` or overlap is NOT
//! DOCUMENTED; for each of those, a session in the range lies in some window
//! of the plan, because the windows cover the range.

use chrono::{DateTime, Duration, TimeZone, Utc};

use crate::domain::TimeRange;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KoreWindowPlan {
    pub windows: Vec<TimeRange>,
}

impl KoreWindowPlan {
    pub fn new(range: &TimeRange, window_days: u32) -> Self {
        let len = window_len(window_days);
        let first = range.start().timestamp().div_euclid(len) * len;
        let from = range.start().timestamp().div_euclid(DAY) * DAY;
        let to = (range.end().timestamp() + DAY - 1).div_euclid(DAY) * DAY;
        let mut windows = Vec::new();
        let mut at = first;
        while at < range.end().timestamp() || windows.is_empty() {
            let ws = epoch(at.max(from));
            let we = epoch((at + len).min(to));
            if let Some(w) = TimeRange::new_unbounded(ws, we) {
                windows.push(w);
            }
            at += len;
        }
        KoreWindowPlan { windows }
    }

    /// The whole aligned window `window` lies in.
    pub fn parent(window: &TimeRange, window_days: u32) -> TimeRange {
        let len = window_len(window_days);
        let at = window.start().timestamp().div_euclid(len) * len;
        TimeRange::new_unbounded(epoch(at), epoch(at + len)).unwrap_or(*window)
    }
}

const DAY: i64 = 86_400;

fn window_len(window_days: u32) -> i64 {
    Duration::days(i64::from(window_days.clamp(1, 6))).num_seconds()
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
        assert!(plan.windows[0].start() <= range.start(), "covers the start");
        assert!(
            plan.windows.last().unwrap().end() >= range.end(),
            "covers the end"
        );
        for w in &plan.windows {
            assert_eq!(w.start().timestamp() % (6 * 86_400), 0, "aligned");
        }
        for pair in plan.windows.windows(2) {
            assert_eq!(pair[0].end(), pair[1].start());
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
        let shared = other
            .windows
            .iter()
            .filter(|w| plan.windows.contains(w))
            .count();
        assert!(
            shared >= other.windows.len() - 2,
            "the interior windows are shared"
        );
        // A one-day query asks for one day.
        let day = TimeRange::parse(start, start + Duration::hours(3), 92).unwrap();
        let one = KoreWindowPlan::new(&day, 6);
        assert_eq!(one.windows.len(), 1);
        assert_eq!(one.windows[0].duration(), Duration::days(1));
    }
}
