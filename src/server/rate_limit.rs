//! Per-client rate limit (governor): a token bucket per client key — the JWT
//! `sub`, or the client's IP when auth is off — refilled at
//! `limits.requests_per_minute_per_client`, with a burst of the same size
//! spread over the minute. A client over its budget gets HTTP 429 with
//! `Retry-After`; other clients are unaffected.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Forget idle clients every this many checks, so the key table stays small.
const RETAIN_EVERY: u64 = 4096;

#[derive(Clone)]
pub struct ClientRateLimiter {
    limiter: Arc<DefaultKeyedRateLimiter<String>>,
    checks: Arc<AtomicU64>,
}

impl ClientRateLimiter {
    /// `None` when `per_minute` is 0 (rate limiting off).
    pub fn per_minute(per_minute: u32) -> Option<Self> {
        let n = NonZeroU32::new(per_minute)?;
        Some(ClientRateLimiter {
            limiter: Arc::new(RateLimiter::keyed(Quota::per_minute(n))),
            checks: Arc::new(AtomicU64::new(0)),
        })
    }

    /// `Ok` when `client` may proceed, else how long until it may.
    pub fn check(&self, client: &str) -> Result<(), Duration> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            self.limiter.retain_recent();
            self.limiter.shrink_to_fit();
        }
        self.limiter
            .check_key(&client.to_owned())
            .map_err(|not_until| not_until.wait_time_from(self.limiter.clock().now()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clients_have_separate_budgets() {
        let l = ClientRateLimiter::per_minute(2).unwrap();
        assert!(l.check("a").is_ok());
        assert!(l.check("a").is_ok());
        let wait = l.check("a").unwrap_err();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(30),
            "{wait:?}"
        );
        assert!(l.check("b").is_ok());
        assert!(ClientRateLimiter::per_minute(0).is_none());
    }
}
