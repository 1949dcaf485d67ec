//! Shared by the test binaries that observe the gateway from outside: the demo
//! bots over memory sources, and a probe source wrapper.
#![allow(dead_code)] // each binary uses its own part

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use botscope::demo::demo_specs;
use botscope::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, SessionPage, SessionQuery,
    UtterancePage, UtteranceQuery,
};
use botscope::error::{Error, ErrorKind, Result};
use botscope::simulators::dataset::Dataset;
use botscope::sources::memory::MemorySource;
use botscope::sources::{AnalyticsSource, BotInfo, Capabilities};

/// The four demo bots over memory sources: `per_day` sessions a day for `days`
/// days from 2026-03-02, generated with `seed`.
pub fn demo_memory_sources(per_day: u32, seed: u64, days: i64) -> Vec<Arc<dyn AnalyticsSource>> {
    let t0 = crate::support::t0();
    let (infos, specs) = demo_specs(per_day);
    let data = Dataset::generate(seed, &specs, t0, t0 + chrono::Duration::days(days));
    infos
        .into_iter()
        .zip(data.bots)
        .map(|(info, (_, d))| {
            Arc::new(MemorySource::new(info, Arc::new(d))) as Arc<dyn AnalyticsSource>
        })
        .collect()
}

/// A source around another that counts the calls reaching it (below every
/// cache), and can be made to answer late or to fail with `UPSTREAM_UNAVAILABLE`.
pub struct Probe {
    inner: Arc<dyn AnalyticsSource>,
    /// Calls that reached this source; may be shared by several probes.
    pub calls: Arc<AtomicUsize>,
    delay: Duration,
    pub fail: AtomicBool,
}

impl Probe {
    pub fn new(inner: Arc<dyn AnalyticsSource>) -> Self {
        Probe {
            inner,
            calls: Arc::default(),
            delay: Duration::ZERO,
            fail: AtomicBool::new(false),
        }
    }

    /// Every answer takes at least `delay`.
    pub fn delayed(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }

    /// Counts into `calls` (shared with other probes).
    pub fn counting_into(mut self, calls: Arc<AtomicUsize>) -> Self {
        self.calls = calls;
        self
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    async fn enter(&self) -> Result<()> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        if self.fail.load(Ordering::SeqCst) {
            return Err(Error::new(ErrorKind::UpstreamUnavailable, "down"));
        }
        Ok(())
    }
}

#[async_trait]
impl AnalyticsSource for Probe {
    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        self.enter().await?;
        self.inner.sessions(q).await
    }
    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        self.enter().await?;
        self.inner.metrics(q).await
    }
    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        self.enter().await?;
        self.inner.utterances(q).await
    }
    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        self.enter().await?;
        self.inner.intent_paths(q).await
    }

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        self.inner.describe()
    }
}
