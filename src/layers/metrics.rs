//! `MetricsLayer`: counts and times every call into a source (see `crate::metrics`).

use std::sync::Arc;
use std::time::Instant;

use async_trait::async_trait;

use crate::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, SessionPage, SessionQuery,
    UtterancePage, UtteranceQuery,
};
use crate::error::Result;
use crate::sources::{AnalyticsSource, BotInfo, Capabilities};

pub struct MetricsLayer {
    inner: Arc<dyn AnalyticsSource>,
}

impl MetricsLayer {
    pub fn new(inner: Arc<dyn AnalyticsSource>) -> Self {
        MetricsLayer { inner }
    }

    fn record<T>(&self, op: &'static str, started: Instant, result: &Result<T>) {
        let bot = self.inner.bot();
        let outcome = match result {
            Ok(_) => "ok",
            Err(e) => e.kind.code(),
        };
        let labels = [
            ("bot", bot.id.clone()),
            ("vendor", bot.vendor.as_str().to_owned()),
            ("operation", op.to_owned()),
        ];
        metrics::counter!("botscope_source_calls_total", &labels).increment(1);
        metrics::counter!("botscope_source_outcomes_total", "operation" => op, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("botscope_source_call_seconds", &labels)
            .record(started.elapsed().as_secs_f64());
    }
}

#[async_trait]
impl AnalyticsSource for MetricsLayer {
    fn bot(&self) -> &BotInfo {
        self.inner.bot()
    }

    fn capabilities(&self) -> &Capabilities {
        self.inner.capabilities()
    }

    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        let t = Instant::now();
        let r = self.inner.sessions(q).await;
        self.record("sessions", t, &r);
        r
    }

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        let t = Instant::now();
        let r = self.inner.metrics(q).await;
        self.record(q.operation(), t, &r);
        r
    }

    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        let t = Instant::now();
        let r = self.inner.utterances(q).await;
        self.record("utterances", t, &r);
        r
    }

    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        let t = Instant::now();
        let r = self.inner.intent_paths(q).await;
        self.record("intent_paths", t, &r);
        r
    }
}
