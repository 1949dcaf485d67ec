//! `MetricsLayer`: counts and times every call into a source (see `crate::metrics`).

use std::sync::Arc;
use std::time::Instant;

use futures::future::BoxFuture;

use super::AroundEachCall;
use crate::error::Result;
use crate::sources::AnalyticsSource;

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

impl AroundEachCall for MetricsLayer {
    fn inner(&self) -> &dyn AnalyticsSource {
        self.inner.as_ref()
    }

    async fn around<T: Send>(
        &self,
        operation: &'static str,
        call: BoxFuture<'_, Result<T>>,
    ) -> Result<T> {
        let t = Instant::now();
        let r = call.await;
        self.record(operation, t, &r);
        r
    }
}
