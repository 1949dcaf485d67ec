//! What every test binary shares (`#[path = "../support/mod.rs"] mod support;`):
//! the dataset epoch, the codes of a GraphQL answer, and the one way a test
//! starts a gateway — a [`Config`] made like a user's, turned into settings by
//! `Settings::from_config`, over the test's own sources or the config's bots.
#![allow(dead_code)] // each binary uses its part

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, TimeZone, Utc};
use serde_json::Value;

use botscope::app::{Application, Settings};
use botscope::config::Config;
use botscope::sources::AnalyticsSource;

/// The fixed datasets start on this Monday.
pub fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap()
}

/// A Monday in the recent past, for data a vendor only serves when recent
/// (Lex keeps 365 days): inside its window whatever today is.
pub fn recent_t0() -> DateTime<Utc> {
    botscope::simulators::dataset::fixture_epoch(Utc::now())
}

/// The `extensions.code` of each error of a GraphQL answer (`(none)` when absent).
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

/// The config a test gateway starts from: every default a user gets, on a
/// free loopback port, without the per-client rate limit (a test sends
/// everything from one address; tests of the limit set it).
pub fn config(toml: &str) -> Config {
    let text = format!(
        "listen = \"127.0.0.1:0\"\ncursor_secret = \"test-cursor-secret-0123456789\"\n{toml}"
    );
    let mut config = Config::from_toml_str(&text, &|_| None).expect("test config");
    if !toml.contains("requests_per_minute_per_client") {
        config.limits.requests_per_minute_per_client = 0;
    }
    config
}

/// The settings of `config`, as `serve` makes them.
pub async fn settings(config: &Config) -> Settings {
    Settings::from_config(config).await.expect("settings")
}

/// A gateway over `sources` with `settings`, serving in the background.
pub async fn spawn_with_settings(
    settings: Settings,
    sources: Vec<Arc<dyn AnalyticsSource>>,
) -> SocketAddr {
    Application::build(sources, settings)
        .await
        .expect("build app")
        .spawn()
}

/// A gateway over `sources` with `config`'s settings.
pub async fn spawn_app(config: &Config, sources: Vec<Arc<dyn AnalyticsSource>>) -> SocketAddr {
    spawn_with_settings(settings(config).await, sources).await
}

/// A gateway over `config`'s own `[[bots]]`, built as `serve` builds it.
pub async fn spawn_config(config: &Config) -> SocketAddr {
    Application::from_config(config)
        .await
        .expect("build app from config")
        .spawn()
}
