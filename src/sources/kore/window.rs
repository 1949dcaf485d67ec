//! `KoreWindowPlan`: splits a range into getSessions windows.
//!
//! getSessions rejects `dateTo - dateFrom` of 7 days or more (kore.md §1.3).
//! Windows are `window_days` (default 6) long and anchored at the Unix epoch,
//! so the split points are the same fixed UTC instants for every query.
//! Windows are **not** clipped to the range: every query asks for whole
//! aligned windows, so any query whose range lies inside windows fetched
//! before (days 3–20 after days 1–30) is answered from the window cache. The
//! price is fetching up to one window's extra sessions at each edge; the
//! source trims to the exact range (started ≥ start, ended < end) and
//! deduplicates. Whether Kore's dates filter on `start_time`, `end_time` or
//! overlap is NOT DOCUMENTED; for each of those, a session in the range lies
//! in some window of the plan, because the windows cover the range and more.

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
            let ws = epoch(at);
            let we = epoch(at + len);
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
            shared >= other.windows.len() - 1,
            "all but the newest window are shared"
        );
        // A sub-range reuses windows of the range exactly.
        let inner =
            TimeRange::parse(start + Duration::days(2), start + Duration::days(20), 92).unwrap();
        let sub = KoreWindowPlan::new(&inner, 6);
        assert!(sub.windows.iter().all(|w| plan.windows.contains(w)));
    }
}
