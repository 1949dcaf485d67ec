//! Cross-cutting concerns as layers: each wraps an [`AnalyticsSource`] and is one.
//!
//! [`stack`] composes them in one place, outermost first:
//!
//! ```text
//! metrics ( cache ( breaker ( vendor source ( rate limit ( retry ( HTTP ) ) ) ) ) )
//! ```
//!
//! - **metrics** outermost, so it sees every question, cached or not.
//! - **cache** next, so a hit costs no budget and no upstream call, and
//!   concurrent identical questions coalesce before they reach the vendor;
//!   cache hits keep answering while the breaker is open. With `[redis]` its
//!   L1 miss asks the fleet's L2 (and takes the cold key's lock) inside this
//!   same layer, so the order below is the same for one process or many.
//! - **breaker** (`breaker.rs`, one per bot) just above the vendor: it sees
//!   each question's outcome *after* the vendor client's retries, opens after
//!   N consecutive `UPSTREAM_UNAVAILABLE`/`UPSTREAM_THROTTLED` answers, then
//!   fails fast without touching the vendor until a cool-down passes and one
//!   probe succeeds. Below the cache so hits never count as vendor health.
//! - **rate limit** and **retry** act per *upstream call*, not per question (one
//!   question can take many calls: Kore windows × containment types × pages,
//!   Lex pages), so they live in the vendor clients under the source: the Kore
//!   client's shared per-bot budget (the fleet's, with `[redis]`), the AWS
//!   SDK's standard retry for Lex. The
//!   wrong order would be retry outside cache (retries would re-run cache
//!   misses as whole questions) or rate limit outside cache (hits would spend budget).

pub mod breaker;
pub mod cache;
pub mod metrics;

use std::future::Future;
use std::sync::Arc;

use async_trait::async_trait;
use futures::future::BoxFuture;

pub use breaker::{BreakerLayer, BreakerPolicy, BreakerState};
pub use cache::{CacheLayer, CacheLifetime, CachePolicy, SourceCache};
pub use metrics::MetricsLayer;

use crate::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, SessionPage, SessionQuery,
    UtterancePage, UtteranceQuery,
};
use crate::error::Result;
use crate::sources::{AnalyticsSource, BotInfo, Capabilities};

/// A layer that does the same work around every call into the source it
/// wraps (the breaker, the metrics). The impl below makes each such layer an
/// [`AnalyticsSource`] that forwards to `inner` through `around`, so a layer
/// states only what it adds. The cache is not one: what it does depends on
/// each question (its key, its range, its kind of answer).
pub trait AroundEachCall: Send + Sync {
    /// The source this layer wraps.
    fn inner(&self) -> &dyn AnalyticsSource;

    /// Awaits `call`, the inner source's answer for `operation` (as the
    /// metrics name it: `sessions`, `session_metrics`, …), with the layer's
    /// work before and after.
    fn around<T: Send>(
        &self,
        operation: &'static str,
        call: BoxFuture<'_, Result<T>>,
    ) -> impl Future<Output = Result<T>> + Send;
}

#[async_trait]
impl<L: AroundEachCall> AnalyticsSource for L {
    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        self.around("sessions", self.inner().sessions(q)).await
    }

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        self.around(q.operation(), self.inner().metrics(q)).await
    }

    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        self.around("utterances", self.inner().utterances(q)).await
    }

    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        self.around("intent_paths", self.inner().intent_paths(q))
            .await
    }

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        self.inner().describe()
    }
}

/// The layers every configured source gets, in the documented order.
pub fn stack(
    vendor: Arc<dyn AnalyticsSource>,
    cache: Option<&SourceCache>,
    breaker: Option<BreakerPolicy>,
) -> Arc<dyn AnalyticsSource> {
    let guarded: Arc<dyn AnalyticsSource> = match breaker {
        Some(p) => Arc::new(BreakerLayer::new(vendor, p)),
        None => vendor,
    };
    let cached: Arc<dyn AnalyticsSource> = match cache {
        Some(c) => Arc::new(CacheLayer::new(guarded, c.clone())),
        None => guarded,
    };
    Arc::new(MetricsLayer::new(cached))
}
