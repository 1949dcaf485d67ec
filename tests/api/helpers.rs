//! Spawns the whole application on port 0 and talks to it over HTTP.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde_json::{Value, json};

use botscope::app::{Application, Settings};
use botscope::demo::demo_bots;
use botscope::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, SessionPage, SessionQuery,
    UtterancePage, UtteranceQuery,
};
use botscope::error::{Error, ErrorKind, Result};
use botscope::simulators::dataset::Dataset;
use botscope::sources::memory::MemorySource;
use botscope::sources::{AnalyticsSource, BotInfo, Capabilities};

/// The dataset starts on a Monday; three days of traffic.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

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

pub fn demo_sources(sessions_per_day: u32) -> Vec<Arc<dyn AnalyticsSource>> {
    let bots = demo_bots(sessions_per_day);
    let specs: Vec<_> = bots.iter().map(|(_, d)| d.clone()).collect();
    let dataset = Dataset::generate(7, &specs, t0(), t0() + Duration::days(3));
    bots.into_iter()
        .zip(dataset.bots)
        .map(|((info, _), (_, data))| {
            Arc::new(MemorySource::new(info, Arc::new(data))) as Arc<dyn AnalyticsSource>
        })
        .collect()
}

pub async fn spawn_with(sources: Vec<Arc<dyn AnalyticsSource>>) -> TestApp {
    let settings = Settings::local(
        "127.0.0.1:0".parse().unwrap(),
        b"test-cursor-secret-0123456789",
    );
    let app = Application::build(sources, settings)
        .await
        .expect("build app");
    let addr = app.spawn();
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
    fn bot(&self) -> &BotInfo {
        &self.bot
    }
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
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
}

/// The codes of a response's errors.
pub fn codes(resp: &Value) -> Vec<String> {
    resp["errors"]
        .as_array()
        .map(|errs| {
            errs.iter()
                .map(|e| {
                    e["extensions"]["code"]
                        .as_str()
                        .unwrap_or("(none)")
                        .to_owned()
                })
                .collect()
        })
        .unwrap_or_default()
}
