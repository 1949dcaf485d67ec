//! The one seam between the engine and the bot platforms.
//!
//! [`AnalyticsSource`] answers analytics questions for **one bot**. Each vendor
//! implements it in its own folder; `memory` is a real in-memory implementation
//! over a dataset (tests, benches, the conformance suite). Cross-cutting concerns
//! (cache, rate limits, retries, metrics) wrap a source in `crate::layers`.
//!
//! A source answers what its vendor can; what it cannot is
//! `ErrorKind::Unsupported`, never empty data, and [`Capabilities`] says so up
//! front so callers need not guess.

pub mod deadline;
pub mod kore;
pub mod lex;
pub mod memory;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{
    Bin, Family, FamilyBins, FamilyQuery, IntentMetricName, IntentPathNode, IntentPathQuery,
    IntentStageMetricName, MetricsQuery, SessionMetricName, SessionPage, SessionQuery,
    UtteranceMetricName, UtterancePage, UtteranceQuery, Vendor,
};
use crate::error::Result;

/// The gateway's view of one configured bot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BotInfo {
    /// The gateway's id (config `bots[].id`, GraphQL `Bot.id`).
    pub id: String,
    pub name: String,
    pub vendor: Vendor,
    /// The vendor's id for the bot (Lex: 10 alphanumerics; Kore: `st-…`).
    pub vendor_bot_id: String,
}

/// What a source can answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capabilities {
    /// Session metrics the source can answer.
    pub session_metrics: Vec<SessionMetricName>,
    /// Whether the vendor computes session metrics itself (Lex) or botscope
    /// computes them from sessions (Kore, memory).
    pub native_session_metrics: bool,
    /// Intent-stage metrics the source can answer; empty when it has none.
    pub intent_stage_metrics: Vec<IntentStageMetricName>,
    /// Intent metrics the source can answer; empty when it has none.
    pub intent_metrics: Vec<IntentMetricName>,
    /// Utterance metrics the source can answer; empty when it has none.
    pub utterance_metrics: Vec<UtteranceMetricName>,
    /// Whether the source can list utterance records.
    pub utterances: bool,
    /// Session fields the vendor has (others are always `null`).
    pub session_fields: Vec<&'static str>,
    /// Whether the source can answer intent paths.
    pub intent_paths: bool,
}

impl Capabilities {
    /// The first metric of `q` this source cannot answer, named for a message.
    pub fn unsupported_metric(&self, q: &FamilyQuery) -> Option<String> {
        fn first<M: PartialEq + std::fmt::Debug>(
            asked: impl IntoIterator<Item = M>,
            have: &[M],
        ) -> Option<String> {
            asked
                .into_iter()
                .find(|m| !have.contains(m))
                .map(|m| format!("{m:?}"))
        }
        match q {
            FamilyQuery::Session(q) => {
                first(q.metrics.iter().map(|m| m.name), &self.session_metrics)
            }
            FamilyQuery::IntentStage(q) => {
                first(q.metrics.iter().map(|m| m.name), &self.intent_stage_metrics)
            }
            FamilyQuery::Intent(q) => first(q.metrics.iter().map(|m| m.name), &self.intent_metrics),
            FamilyQuery::Utterance(q) => {
                first(q.metrics.iter().map(|m| m.name), &self.utterance_metrics)
            }
        }
    }
}

/// Analytics for one bot. Implementations must be cheap to call concurrently.
#[async_trait]
pub trait AnalyticsSource: Send + Sync {
    /// The bot this source answers for, and what its vendor can answer.
    fn describe(&self) -> (&BotInfo, &Capabilities);

    fn bot(&self) -> &BotInfo {
        self.describe().0
    }

    fn capabilities(&self) -> &Capabilities {
        self.describe().1
    }

    /// Sessions in the range that match the filter, in the requested order,
    /// strictly after `query.after`, at most `query.limit`.
    async fn sessions(&self, query: &SessionQuery) -> Result<SessionPage>;

    /// Metrics of one family per bin and group, in the family of the query;
    /// `bot_id` is set on every bin.
    async fn metrics(&self, query: &FamilyQuery) -> Result<FamilyBins>;

    /// Utterances in the range that match the filter, newest first, strictly
    /// after `query.after`, at most `query.limit`.
    async fn utterances(&self, query: &UtteranceQuery) -> Result<UtterancePage>;

    /// The intents that follow `query.path` in the range's conversations, one
    /// level; `bot_id` is set on every node.
    async fn intent_paths(&self, query: &IntentPathQuery) -> Result<Vec<IntentPathNode>>;
}

/// One vendor's `[[bots]]` entry (`sources/<vendor>/config.rs`): its serde
/// struct, the rules serde cannot express, and how it becomes a source.
/// `src/config.rs` lists the vendors (one line each) and calls them through
/// this trait; nothing here knows the global config.
#[async_trait]
pub trait VendorConfig: Sized + Send + Sync {
    const VENDOR: crate::domain::Vendor;

    /// The vendor's own id of the bot.
    fn vendor_bot_id(&self) -> &str;

    /// Checks what the types cannot; `key("field")` names a field of this
    /// entry in an error (`bots[2].field`).
    fn validate(
        &self,
        key: &dyn Fn(&str) -> String,
    ) -> std::result::Result<(), crate::error::ConfigError>;

    /// The entry of a demo bot served by this vendor's simulator at `sim`.
    fn for_simulator(vendor_bot_id: &str, sim: &SimEndpoint) -> Self;

    /// The source for this entry.
    async fn build(
        &self,
        info: BotInfo,
        ctx: &BuildContext<'_>,
    ) -> std::result::Result<std::sync::Arc<dyn AnalyticsSource>, crate::error::ConfigError>;
}

/// What every source is built with besides its own entry.
pub struct BuildContext<'a> {
    /// The entry's key in errors (`bots[2]`).
    pub key: String,
    /// `[redis]`: budgets and caches shared by the replicas.
    pub fleet: Option<&'a crate::fleet::Fleet>,
    /// `[cache]`'s lifetimes, for a vendor that caches on its own.
    pub cache_policy: Option<&'a crate::layers::CachePolicy>,
}

pub use crate::simulators::SimEndpoint;

/// Typed access to [`AnalyticsSource::metrics`]: asks with a family's own
/// query and gets that family's bins back.
pub trait MetricsOf: AnalyticsSource {
    fn metrics_of<F: Family>(
        &self,
        q: &MetricsQuery<F>,
    ) -> impl std::future::Future<Output = Result<Vec<Bin<F::Group, F::Metric>>>> + Send {
        async move {
            let answer = self.metrics(&F::query(q.clone())).await?;
            F::bins(answer).map(|b| b.to_bins()).ok_or_else(|| {
                crate::error::Error::internal(format!(
                    "a source answered a {} metrics query with bins of another family",
                    F::NAME
                ))
            })
        }
    }
}

impl<T: AnalyticsSource + ?Sized> MetricsOf for T {}
