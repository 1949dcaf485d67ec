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

pub mod kore;
pub mod lex;
pub mod memory;

use async_trait::async_trait;
use serde::Serialize;

use crate::domain::{
    IntentPathNode, IntentPathQuery, IntentStageBin, IntentStageMetricName,
    IntentStageMetricsQuery, MetricBin, SessionMetricName, SessionMetricsQuery, SessionPage,
    SessionQuery, Vendor,
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
    /// Session fields the vendor has (others are always `null`).
    pub session_fields: Vec<&'static str>,
    /// Whether the source can answer intent paths.
    pub intent_paths: bool,
}

/// Analytics for one bot. Implementations must be cheap to call concurrently.
#[async_trait]
pub trait AnalyticsSource: Send + Sync {
    fn bot(&self) -> &BotInfo;

    fn capabilities(&self) -> &Capabilities;

    /// Sessions in the range that match the filter, in the requested order,
    /// strictly after `query.after`, at most `query.limit`.
    async fn sessions(&self, query: &SessionQuery) -> Result<SessionPage>;

    /// Session metrics per bin and group; `bot_id` is set on every bin.
    async fn session_metrics(&self, query: &SessionMetricsQuery) -> Result<Vec<MetricBin>>;

    /// Intent-stage metrics per bin and group; `bot_id` is set on every bin.
    async fn intent_stage_metrics(
        &self,
        query: &IntentStageMetricsQuery,
    ) -> Result<Vec<IntentStageBin>>;

    /// The intents that follow `query.path` in the range's conversations, one
    /// level; `bot_id` is set on every node.
    async fn intent_paths(&self, query: &IntentPathQuery) -> Result<Vec<IntentPathNode>>;
}

/// Builds one source per configured bot (`botscope serve`): a
/// [`lex::LexSource`] for each Lex bot, a [`kore::KoreSource`] for each Kore bot.
/// With a `fleet` (`[redis]`), their budgets and Kore's window cache are shared
/// by every replica.
pub async fn build_from_config(
    config: &crate::config::Config,
    fleet: Option<&crate::fleet::Fleet>,
) -> std::result::Result<Vec<std::sync::Arc<dyn AnalyticsSource>>, crate::config::ConfigError> {
    use crate::config::BotConfig;
    let mut sources: Vec<std::sync::Arc<dyn AnalyticsSource>> = Vec::new();
    for (i, bot) in config.bots.iter().enumerate() {
        let info = BotInfo {
            id: bot.id().to_owned(),
            name: bot.name().to_owned(),
            vendor: bot.vendor(),
            vendor_bot_id: bot.vendor_bot_id().to_owned(),
        };
        match bot {
            BotConfig::LexV2(lex_bot) => {
                let mut lex_config = lex::LexSourceConfig::from_bot_config(lex_bot);
                lex_config.fleet = fleet.cloned();
                sources.push(std::sync::Arc::new(
                    lex::LexSource::new(info, &lex_config).await,
                ));
            }
            BotConfig::Kore(kore_bot) => sources.push(kore::build_from_config(i, kore_bot, fleet)?),
        }
    }
    Ok(sources)
}
