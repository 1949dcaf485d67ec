//! Kore's per-bot call budget as the server enforces it: rolling windows
//! checked at one minute and one hour (kore.md §5.2, [S14]).

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct SlidingBudget {
    per_minute: usize,
    per_hour: usize,
    minute: Duration,
    hour: Duration,
    /// Times of the admitted calls within the last `hour`, oldest first.
    log: Mutex<VecDeque<Instant>>,
    /// Every call that asked, admitted or not, within the last `minute`, and
    /// the most there ever were: lets tests check that the callers (several
    /// replicas together) never sent more than the budget in a rolling minute.
    arrivals: Mutex<(VecDeque<Instant>, usize)>,
}

impl SlidingBudget {
    pub fn new(per_minute: u32, per_hour: u32, minute: Duration, hour: Duration) -> Self {
        SlidingBudget {
            per_minute: per_minute as usize,
            per_hour: per_hour as usize,
            minute,
            hour,
            log: Mutex::default(),
            arrivals: Mutex::default(),
        }
    }

    /// The most calls that arrived within one rolling `minute`.
    pub fn peak_minute(&self) -> usize {
        self.arrivals.lock().unwrap_or_else(|e| e.into_inner()).1
    }

    /// Admits one call now, or says which window is full (`true` = hourly).
    pub fn try_take(&self) -> Result<(), bool> {
        let now = Instant::now();
        {
            let mut arrivals = self.arrivals.lock().unwrap_or_else(|e| e.into_inner());
            let (times, peak) = &mut *arrivals;
            while times
                .front()
                .is_some_and(|t| now.duration_since(*t) >= self.minute)
            {
                times.pop_front();
            }
            times.push_back(now);
            *peak = (*peak).max(times.len());
        }
        let mut log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.hour)
        {
            log.pop_front();
        }
        if log.len() >= self.per_hour {
            return Err(true);
        }
        let in_minute = log
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < self.minute)
            .count();
        if in_minute >= self.per_minute {
            return Err(false);
        }
        log.push_back(now);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_past_either_window() {
        let b = SlidingBudget::new(2, 3, Duration::from_millis(50), Duration::from_secs(10));
        assert_eq!(b.try_take(), Ok(()));
        assert_eq!(b.try_take(), Ok(()));
        assert_eq!(b.try_take(), Err(false), "per-minute window full");
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.try_take(), Ok(()));
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(b.try_take(), Err(true), "hourly window full");
    }
}
