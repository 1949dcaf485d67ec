//! `KoreBudget`: one bot's call budget on our side, shared by every query
//! for that bot (DESIGN §6).
//!
//! Kore counts calls per bot in rolling windows of one minute and one hour
//! (kore.md §5.2). A token bucket (e.g. `governor`'s GCRA) would let a full
//! burst plus the refill into one rolling minute — up to twice the limit — so
//! this keeps the log of recent call times and admits a call only when both
//! rolling windows have room. Callers wait (they do not fail) until
//! `max_wait` has passed.
//!
//! With `[redis]`, the budget is the fleet's ([`FleetBudget`]: the same two
//! rolling windows, in Redis, shared by every replica); while Redis gives no
//! answer, this replica falls back to a local log holding its share,
//! `calls / expected_replicas`.

use std::collections::VecDeque;
use std::time::Duration;

use tokio::sync::Mutex;
use tokio::time::Instant;

use crate::error::{Error, ErrorKind, Result};
use crate::fleet::{Fleet, FleetBudget, budget::share};

pub struct KoreBudget {
    local: RollingLog,
    /// The fleet-wide budget, and this replica's share for when Redis is down.
    fleet: Option<(FleetBudget, RollingLog)>,
}

/// The log of this process's recent calls, admitting one only when both
/// rolling windows have room.
struct RollingLog {
    per_minute: usize,
    per_hour: usize,
    minute: Duration,
    hour: Duration,
    log: Mutex<VecDeque<Instant>>,
}

impl RollingLog {
    fn new(per_minute: u32, per_hour: u32, minute: Duration, hour: Duration) -> Self {
        RollingLog {
            per_minute: per_minute.max(1) as usize,
            per_hour: per_hour.max(1) as usize,
            minute,
            hour,
            log: Mutex::default(),
        }
    }

    /// Takes a slot now (`None`), or says how long until one frees up.
    async fn try_take(&self) -> Option<Duration> {
        let now = Instant::now();
        let mut log = self.log.lock().await;
        while log
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.hour)
        {
            log.pop_front();
        }
        let in_minute = log
            .iter()
            .rev()
            .take_while(|t| now.duration_since(**t) < self.minute)
            .count();
        if log.len() < self.per_hour && in_minute < self.per_minute {
            log.push_back(now);
            return None;
        }
        // The call that frees a slot first leaves its window at `until`.
        let until = if log.len() >= self.per_hour {
            log[log.len() - self.per_hour] + self.hour
        } else {
            log[log.len() - self.per_minute] + self.minute
        };
        Some(until.saturating_duration_since(now))
    }
}

impl KoreBudget {
    /// `margin` widens both windows to absorb jitter between our clock and Kore's.
    pub fn new(
        per_minute: u32,
        per_hour: u32,
        minute: Duration,
        hour: Duration,
        margin: Duration,
    ) -> Self {
        KoreBudget {
            local: RollingLog::new(per_minute, per_hour, minute + margin, hour + margin),
            fleet: None,
        }
    }

    /// Shares the budget named `name` with every replica through `fleet`.
    pub fn shared(mut self, fleet: &Fleet, name: &str) -> Self {
        let l = &self.local;
        let (pm, ph) = (l.per_minute as u32, l.per_hour as u32);
        let n = fleet.settings().expected_replicas;
        let budget = FleetBudget::new(fleet.clone(), name, vec![(pm, l.minute), (ph, l.hour)]);
        let fallback = RollingLog::new(share(pm, n), share(ph, n), l.minute, l.hour);
        self.fleet = Some((budget, fallback));
        self
    }

    /// Waits for room in both windows and takes it.
    pub async fn acquire(&self, max_wait: Duration) -> Result<()> {
        let deadline = Instant::now() + max_wait;
        loop {
            let wait = match &self.fleet {
                None => self.local.try_take().await,
                Some((budget, fallback)) => match budget.try_take().await {
                    Ok(wait) => wait,
                    Err(_) => {
                        budget.fleet().fell_back("kore_budget");
                        fallback.try_take().await
                    }
                },
            };
            let Some(wait) = wait else { return Ok(()) };
            if Instant::now() + wait > deadline {
                return Err(Error::new(
                    ErrorKind::UpstreamThrottled,
                    format!(
                        "the Kore call budget for this bot (calls_per_minute / calls_per_hour) \
                         is used up for longer than the query may wait; the next call is \
                         possible in {}s",
                        wait.as_secs_f64().ceil()
                    ),
                ));
            }
            tokio::time::sleep(wait.max(Duration::from_millis(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_instead_of_exceeding() {
        let b = KoreBudget::new(
            3,
            100,
            Duration::from_millis(100),
            Duration::from_secs(10),
            Duration::ZERO,
        );
        let t0 = Instant::now();
        for _ in 0..7 {
            b.acquire(Duration::from_secs(5)).await.unwrap();
        }
        // 7 calls at 3 per 100 ms need at least two full windows.
        assert!(
            t0.elapsed() >= Duration::from_millis(200),
            "{:?}",
            t0.elapsed()
        );
    }

    #[tokio::test]
    async fn fails_past_the_deadline() {
        let b = KoreBudget::new(
            1,
            1,
            Duration::from_secs(60),
            Duration::from_secs(3600),
            Duration::ZERO,
        );
        b.acquire(Duration::from_millis(10)).await.unwrap();
        let e = b.acquire(Duration::from_millis(10)).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::UpstreamThrottled);
    }
}
