//! Spawns the whole application on port 0 and talks to it over HTTP.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::Duration;
use serde_json::{Value, json};

use botscope::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, SessionPage, SessionQuery,
    UtterancePage, UtteranceQuery,
};
use botscope::error::{Error, ErrorKind, Result};
use botscope::sources::{AnalyticsSource, BotInfo, Capabilities};

pub use crate::support::{codes, t0};

pub fn range_json(days: i64) -> Value {
    json!({ "start": t0().to_rfc3339(), "end": (t0() + Duration::days(days)).to_rfc3339() })
}

pub struct TestApp {
    pub url: String,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("json body")
    }
}

/// The demo bots over memory sources: three days of traffic from `t0()`.
pub fn demo_sources(sessions_per_day: u32) -> Vec<Arc<dyn AnalyticsSource>> {
    crate::common::demo_memory_sources(sessions_per_day, 7, 3)
}

pub async fn spawn_with(sources: Vec<Arc<dyn AnalyticsSource>>) -> TestApp {
    let addr = crate::support::spawn_app(&crate::support::config(""), sources).await;
    TestApp {
        url: format!("http://{addr}/graphql"),
        client: reqwest::Client::new(),
    }
}

/// Four demo bots (2 Lex-labelled, 2 Kore-labelled) over memory sources.
pub async fn spawn_app() -> TestApp {
    spawn_with(demo_sources(60)).await
}

/// A source whose vendor is down: every call fails.
pub struct DownSource {
    pub bot: BotInfo,
    pub caps: Capabilities,
}

impl DownSource {
    pub fn new(bot: BotInfo, like: &dyn AnalyticsSource) -> Self {
        DownSource {
            bot,
            caps: like.capabilities().clone(),
        }
    }

    fn err(&self) -> Error {
        Error::new(ErrorKind::UpstreamUnavailable, "vendor is down")
            .with_bot(self.bot.id.clone(), self.bot.vendor)
    }
}

#[async_trait]
impl AnalyticsSource for DownSource {
    async fn sessions(&self, _: &SessionQuery) -> Result<SessionPage> {
        Err(self.err())
    }
    async fn metrics(&self, _: &FamilyQuery) -> Result<FamilyBins> {
        Err(self.err())
    }
    async fn utterances(&self, _: &UtteranceQuery) -> Result<UtterancePage> {
        Err(self.err())
    }
    async fn intent_paths(&self, _: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        Err(self.err())
    }

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        (&self.bot, &self.caps)
    }
}
