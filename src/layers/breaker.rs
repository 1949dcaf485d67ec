//! `BreakerLayer`: a circuit breaker per bot, so a vendor that is down costs
//! one fast error per question instead of a full retry schedule each.
//!
//! - **closed**: questions pass; each `UPSTREAM_UNAVAILABLE` or
//!   `UPSTREAM_THROTTLED` answer (what the vendor client returns *after* its
//!   own retries) counts one consecutive failure, any success resets the count.
//!   At [`BreakerPolicy::failure_threshold`] the breaker opens.
//! - **open**: questions fail at once with a retryable `UPSTREAM_UNAVAILABLE`
//!   ("circuit open for bot X, retrying in N s"); nothing reaches the vendor.
//! - **half-open**: after [`BreakerPolicy::cool_down`] the next question is a
//!   probe and goes through; others keep failing fast while it runs. A
//!   successful probe closes the breaker, a failed one re-opens it for
//!   another cool-down. A probe that ends otherwise (a bad argument, a
//!   cancelled request) lets the next question probe instead.
//!
//! State is exported as the gauge `botscope_breaker_state{bot}` (0 closed,
//! 1 half-open, 2 open) and fast failures count in
//! `botscope_breaker_rejections_total{bot}` (see `crate::metrics`).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::future::BoxFuture;

use super::AroundEachCall;
use crate::error::{Error, ErrorKind, Result};
use crate::sources::AnalyticsSource;

/// When a breaker opens and how long it stays open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerPolicy {
    /// Consecutive retryable upstream failures that open the breaker (≥ 1).
    pub failure_threshold: u32,
    /// How long it stays open before a probe is let through.
    pub cool_down: Duration,
}

impl Default for BreakerPolicy {
    fn default() -> Self {
        BreakerPolicy {
            failure_threshold: 5,
            cool_down: Duration::from_secs(30),
        }
    }
}

/// The breaker's state, as the gauge reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    Closed,
    HalfOpen,
    Open,
}

impl BreakerState {
    pub fn gauge_value(self) -> f64 {
        match self {
            BreakerState::Closed => 0.0,
            BreakerState::HalfOpen => 1.0,
            BreakerState::Open => 2.0,
        }
    }
}

#[derive(Debug)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

impl State {
    fn public(&self) -> BreakerState {
        match self {
            State::Closed { .. } => BreakerState::Closed,
            State::Open { .. } => BreakerState::Open,
            State::HalfOpen { .. } => BreakerState::HalfOpen,
        }
    }
}

/// Whether an error says the vendor is unreachable or refusing us for now
/// (not, say, bad credentials, which no amount of waiting fixes).
fn counts(e: &Error) -> bool {
    e.retryable
        && matches!(
            e.kind,
            ErrorKind::UpstreamUnavailable | ErrorKind::UpstreamThrottled
        )
}

pub struct BreakerLayer {
    inner: Arc<dyn AnalyticsSource>,
    policy: BreakerPolicy,
    state: Arc<Mutex<State>>,
}

/// Admission to call the vendor; a probe's permit re-arms the half-open
/// state if it is dropped without an outcome (the question was cancelled).
struct Permit {
    probe: bool,
    state: Arc<Mutex<State>>,
    settled: bool,
}

impl Drop for Permit {
    fn drop(&mut self) {
        if self.probe && !self.settled {
            let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
            if matches!(*s, State::HalfOpen { probing: true }) {
                *s = State::HalfOpen { probing: false };
            }
        }
    }
}

impl BreakerLayer {
    pub fn new(inner: Arc<dyn AnalyticsSource>, policy: BreakerPolicy) -> Self {
        let layer = BreakerLayer {
            inner,
            policy: BreakerPolicy {
                failure_threshold: policy.failure_threshold.max(1),
                ..policy
            },
            state: Arc::new(Mutex::new(State::Closed { failures: 0 })),
        };
        layer.publish(BreakerState::Closed);
        layer
    }

    /// The current state (an open breaker whose cool-down has passed still
    /// reads `Open` until the next question probes).
    pub fn state(&self) -> BreakerState {
        self.lock().public()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn publish(&self, state: BreakerState) {
        metrics::gauge!("botscope_breaker_state", "bot" => self.inner.bot().id.clone())
            .set(state.gauge_value());
    }

    fn open_error(&self, retry_in: Duration) -> Error {
        let bot = self.inner.bot();
        metrics::counter!("botscope_breaker_rejections_total", "bot" => bot.id.clone())
            .increment(1);
        let secs = retry_in.as_secs_f64().ceil().max(1.0) as u64;
        Error::new(
            ErrorKind::UpstreamUnavailable,
            format!(
                "circuit open for bot {}: its vendor failed repeatedly; retrying in {secs} s",
                bot.id
            ),
        )
        .with_bot(bot.id.clone(), bot.vendor)
        .with_retryable(true)
    }

    fn admit(&self) -> Result<Permit> {
        let now = Instant::now();
        let mut s = self.lock();
        let probe = match *s {
            State::Closed { .. } => false,
            State::Open { until } if now < until => {
                drop(s);
                return Err(self.open_error(until - now));
            }
            State::Open { .. } | State::HalfOpen { probing: false } => {
                *s = State::HalfOpen { probing: true };
                drop(s);
                self.publish(BreakerState::HalfOpen);
                tracing::info!(bot = %self.inner.bot().id, "circuit half-open: probing");
                true
            }
            State::HalfOpen { probing: true } => {
                drop(s);
                return Err(self.open_error(Duration::from_secs(1)));
            }
        };
        Ok(Permit {
            probe,
            state: self.state.clone(),
            settled: false,
        })
    }

    fn settle<T>(&self, mut permit: Permit, result: &Result<T>) {
        permit.settled = true;
        let mut s = self.lock();
        let before = s.public();
        match result {
            Ok(_) => *s = State::Closed { failures: 0 },
            Err(e) if counts(e) => {
                let open = match &mut *s {
                    State::Closed { failures } => {
                        *failures += 1;
                        *failures >= self.policy.failure_threshold
                    }
                    // A failed probe re-opens; a straggler that was admitted
                    // while closed and fails late changes nothing here.
                    State::HalfOpen { .. } => permit.probe,
                    State::Open { .. } => false,
                };
                if open {
                    *s = State::Open {
                        until: Instant::now() + self.policy.cool_down,
                    };
                }
            }
            Err(_) => {
                if permit.probe {
                    *s = State::HalfOpen { probing: false };
                }
            }
        }
        let after = s.public();
        drop(s);
        if before != after {
            let bot = &self.inner.bot().id;
            match after {
                BreakerState::Open => {
                    tracing::warn!(%bot, cool_down = ?self.policy.cool_down, "circuit opened")
                }
                BreakerState::Closed => tracing::info!(%bot, "circuit closed"),
                BreakerState::HalfOpen => {}
            }
            self.publish(after);
        }
    }
}

impl AroundEachCall for BreakerLayer {
    fn inner(&self) -> &dyn AnalyticsSource {
        self.inner.as_ref()
    }

    async fn around<T: Send>(&self, _: &'static str, call: BoxFuture<'_, Result<T>>) -> Result<T> {
        let permit = self.admit()?;
        let r = call.await;
        self.settle(permit, &r);
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{BotData, FamilyBins, FamilyQuery, SessionMetricsQuery, Vendor};
    use crate::sources::BotInfo;
    use crate::sources::memory::MemorySource;
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    /// A source that fails with `kind` while `down`, counting calls: a layer
    /// over an empty memory source.
    struct Flaky {
        inner: MemorySource,
        down: AtomicBool,
        kind: ErrorKind,
        calls: AtomicU32,
    }

    impl Flaky {
        fn new(kind: ErrorKind) -> Arc<Flaky> {
            let bot = BotInfo {
                id: "b".into(),
                name: "b".into(),
                vendor: Vendor::Kore,
                vendor_bot_id: "st-b".into(),
            };
            Arc::new(Flaky {
                inner: MemorySource::new(bot, Arc::new(BotData::default())),
                down: AtomicBool::new(true),
                kind,
                calls: AtomicU32::new(0),
            })
        }
    }

    impl AroundEachCall for Flaky {
        fn inner(&self) -> &dyn AnalyticsSource {
            &self.inner
        }

        async fn around<T: Send>(
            &self,
            _: &'static str,
            call: BoxFuture<'_, Result<T>>,
        ) -> Result<T> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if self.down.load(Ordering::SeqCst) {
                Err(Error::new(self.kind, "down"))
            } else {
                call.await
            }
        }
    }

    fn breaker(source: &Arc<Flaky>, failure_threshold: u32, cool_down: Duration) -> BreakerLayer {
        let policy = BreakerPolicy {
            failure_threshold,
            cool_down,
        };
        BreakerLayer::new(source.clone(), policy)
    }

    fn sample_query() -> SessionMetricsQuery {
        let start = chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        SessionMetricsQuery {
            range: crate::domain::TimeRange::new_unbounded(
                start,
                start + chrono::Duration::hours(1),
            )
            .unwrap(),
            metrics: vec![],
            bin_by: None,
            group_by: vec![],
            filter: Default::default(),
        }
    }

    /// Asks `b` the sample question.
    async fn ask(b: &BreakerLayer) -> Result<FamilyBins> {
        b.metrics(&FamilyQuery::Session(sample_query())).await
    }

    #[tokio::test]
    async fn opens_fails_fast_probes_and_closes() {
        let flaky = Flaky::new(ErrorKind::UpstreamUnavailable);
        let b = breaker(&flaky, 3, Duration::from_millis(100));
        for _ in 0..3 {
            assert_eq!(ask(&b).await.unwrap_err().message, "down");
        }
        assert_eq!(b.state(), BreakerState::Open);
        let e = ask(&b).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::UpstreamUnavailable);
        assert!(e.retryable);
        assert!(
            e.message.contains("circuit open for bot b"),
            "{}",
            e.message
        );
        assert_eq!(
            flaky.calls.load(Ordering::SeqCst),
            3,
            "open: no vendor call"
        );

        // Cool-down passes, still down: one probe, re-opened.
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(ask(&b).await.unwrap_err().message, "down");
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 4);
        assert_eq!(b.state(), BreakerState::Open);
        assert!(ask(&b).await.unwrap_err().message.contains("circuit open"));

        // Vendor back: the next probe closes it.
        flaky.down.store(false, Ordering::SeqCst);
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert!(ask(&b).await.is_ok());
        assert_eq!(b.state(), BreakerState::Closed);
        assert!(ask(&b).await.is_ok());
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test]
    async fn non_upstream_errors_do_not_open_and_success_resets() {
        let flaky = Flaky::new(ErrorKind::UpstreamBadResponse);
        let b = breaker(&flaky, 2, Duration::from_secs(60));
        for _ in 0..5 {
            assert_eq!(
                ask(&b).await.unwrap_err().kind,
                ErrorKind::UpstreamBadResponse
            );
        }
        assert_eq!(b.state(), BreakerState::Closed);
        assert_eq!(flaky.calls.load(Ordering::SeqCst), 5);

        let throttled = Flaky::new(ErrorKind::UpstreamThrottled);
        let b = breaker(&throttled, 2, Duration::from_secs(60));
        assert!(ask(&b).await.is_err());
        throttled.down.store(false, Ordering::SeqCst);
        assert!(ask(&b).await.is_ok());
        throttled.down.store(true, Ordering::SeqCst);
        assert!(ask(&b).await.is_err());
        assert_eq!(b.state(), BreakerState::Closed, "success reset the count");
        assert!(ask(&b).await.is_err());
        assert_eq!(b.state(), BreakerState::Open);
    }
}
