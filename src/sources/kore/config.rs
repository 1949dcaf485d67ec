//! `KoreConfig`: one `[[bots]]` entry with `vendor = "kore"` (DESIGN §2) and
//! everything one `KoreSource` needs. Ids and credentials are required; every
//! tuning field has its default here and nowhere else. The window cache's
//! lifetimes are not per bot: they come from `[cache]` when the source is built.

use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::{ConversationEndState, Vendor};
use crate::error::ConfigError;
use crate::sources::{AnalyticsSource, BotInfo, BuildContext, SimEndpoint, VendorConfig};

mod defaults {
    use std::time::Duration;

    use crate::domain::ConversationEndState;

    pub fn agent_end_state() -> ConversationEndState {
        ConversationEndState::Failure
    }
    /// Kore's per-bot budget (kore.md §5.2).
    pub fn calls_per_minute() -> u32 {
        60
    }
    pub fn calls_per_hour() -> u32 {
        1800
    }
    pub fn page_size() -> u32 {
        1000
    }
    pub fn request_timeout() -> Duration {
        Duration::from_secs(30)
    }
    pub fn max_retries() -> u32 {
        3
    }
    pub fn call_timeout() -> Duration {
        Duration::from_secs(180)
    }
    pub fn max_budget_wait() -> Duration {
        Duration::from_secs(120)
    }
    pub fn minute() -> Duration {
        Duration::from_secs(60)
    }
    pub fn hour() -> Duration {
        Duration::from_secs(3600)
    }
    pub fn budget_margin() -> Duration {
        Duration::from_secs(1)
    }
    pub fn window_days() -> u32 {
        6
    }
    pub fn retry_base_delay() -> Duration {
        Duration::from_millis(200)
    }
    pub fn retry_max_delay() -> Duration {
        Duration::from_secs(30)
    }
    pub fn window_cache_sessions() -> u64 {
        200_000
    }
    pub fn settle_lag() -> Duration {
        Duration::from_secs(2 * 3600)
    }
    pub fn settled_ttl() -> Duration {
        Duration::from_secs(24 * 3600)
    }
    pub fn recent_ttl() -> Duration {
        Duration::from_secs(60)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct KoreConfig {
    /// Kore's bot id (`st-…`).
    pub bot_id: String,
    /// `https://platform.kore.ai`, `https://bots.kore.ai`, or a simulator.
    pub host: String,
    /// The JWT app's client id (`cs-…`).
    pub client_id: String,
    #[serde(serialize_with = "crate::error::redacted")]
    pub client_secret: SecretString,
    /// What Kore's `agent` containment (handed to a human) maps to.
    #[serde(default = "defaults::agent_end_state", with = "end_state")]
    pub agent_end_state: ConversationEndState,
    /// Kore's per-bot budget (kore.md §5.2): 60 calls a minute, 1800 an hour.
    #[serde(default = "defaults::calls_per_minute")]
    pub calls_per_minute: u32,
    #[serde(default = "defaults::calls_per_hour")]
    pub calls_per_hour: u32,
    /// `limit` sent per page; the server may cap it silently.
    #[serde(default = "defaults::page_size")]
    pub page_size: u32,
    /// Longest one HTTP request may take.
    #[serde(default = "defaults::request_timeout", with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Retries of a throttled (429) or failed (5xx, transport) call.
    #[serde(default = "defaults::max_retries")]
    pub max_retries: u32,
    /// Longest one call may take, budget waits, retries and backoffs
    /// included; past it the call fails with a retryable `UPSTREAM_UNAVAILABLE`.
    #[serde(default = "defaults::call_timeout", with = "humantime_serde")]
    pub call_timeout: Duration,
    /// How long one call may wait for the budget before the query fails
    /// with `UPSTREAM_THROTTLED`.
    #[serde(default = "defaults::max_budget_wait", with = "humantime_serde")]
    pub max_budget_wait: Duration,
    /// The budget's windows: 60 s and 1 h at Kore; tests shrink them.
    #[serde(skip, default = "defaults::minute")]
    pub budget_minute: Duration,
    #[serde(skip, default = "defaults::hour")]
    pub budget_hour: Duration,
    /// Added to both windows so network jitter between our clock and Kore's
    /// cannot push two calls into one server-side window.
    #[serde(skip, default = "defaults::budget_margin")]
    pub budget_margin: Duration,
    /// Window length in days; must be under 7 (the 7-day rule, kore.md §1.3).
    #[serde(skip, default = "defaults::window_days")]
    pub window_days: u32,
    /// First backoff of a retry, doubled each time with full jitter (a
    /// `Retry-After` wins), at most `retry_max_delay`.
    #[serde(skip, default = "defaults::retry_base_delay")]
    pub retry_base_delay: Duration,
    #[serde(skip, default = "defaults::retry_max_delay")]
    pub retry_max_delay: Duration,
    /// Sessions kept in the window cache (0 turns it off).
    #[serde(skip, default = "defaults::window_cache_sessions")]
    pub window_cache_sessions: u64,
    /// Kore's analytics show up about 15 minutes after a session ends
    /// (kore.md §6): a window that ended `settle_lag` ago or earlier is
    /// settled and kept `settled_ttl`; a younger one (today's open window)
    /// is kept only `recent_ttl`, so it refreshes. From `[cache]` at build.
    #[serde(skip, default = "defaults::settle_lag")]
    pub settle_lag: Duration,
    #[serde(skip, default = "defaults::settled_ttl")]
    pub settled_ttl: Duration,
    #[serde(skip, default = "defaults::recent_ttl")]
    pub recent_ttl: Duration,
    /// With `[redis]`: the budget and the window cache are shared by every
    /// replica (`crate::fleet`); `None` keeps both in this process. Set at build.
    #[serde(skip)]
    pub fleet: Option<crate::fleet::Fleet>,
}

impl KoreConfig {
    /// Defaults for everything but the credentials and ids.
    pub fn new(
        host: impl Into<String>,
        bot_id: impl Into<String>,
        client_id: impl Into<String>,
        client_secret: SecretString,
    ) -> Self {
        KoreConfig {
            host: host.into(),
            bot_id: bot_id.into(),
            client_id: client_id.into(),
            client_secret,
            agent_end_state: defaults::agent_end_state(),
            calls_per_minute: defaults::calls_per_minute(),
            calls_per_hour: defaults::calls_per_hour(),
            page_size: defaults::page_size(),
            request_timeout: defaults::request_timeout(),
            max_retries: defaults::max_retries(),
            call_timeout: defaults::call_timeout(),
            max_budget_wait: defaults::max_budget_wait(),
            budget_minute: defaults::minute(),
            budget_hour: defaults::hour(),
            budget_margin: defaults::budget_margin(),
            window_days: defaults::window_days(),
            retry_base_delay: defaults::retry_base_delay(),
            retry_max_delay: defaults::retry_max_delay(),
            window_cache_sessions: defaults::window_cache_sessions(),
            settle_lag: defaults::settle_lag(),
            settled_ttl: defaults::settled_ttl(),
            recent_ttl: defaults::recent_ttl(),
            fleet: None,
        }
    }
}

#[async_trait::async_trait]
impl VendorConfig for KoreConfig {
    const VENDOR: Vendor = Vendor::Kore;

    fn vendor_bot_id(&self) -> &str {
        &self.bot_id
    }

    fn validate(&self, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        if !self.bot_id.starts_with("st-") || self.bot_id.len() < 4 {
            return Err(ConfigError::new(
                key("bot_id"),
                "a Kore bot id looks like st-…",
            ));
        }
        ConfigError::check_url(&key("host"), &self.host)?;
        if self.client_id.trim().is_empty() {
            return Err(ConfigError::new(
                key("client_id"),
                "must not be empty (the JWT app's client id, cs-…)",
            ));
        }
        if self.client_secret.expose_secret().is_empty() {
            return Err(ConfigError::new(key("client_secret"), "must not be empty"));
        }
        for (field, n) in [
            ("calls_per_minute", self.calls_per_minute),
            ("calls_per_hour", self.calls_per_hour),
            ("page_size", self.page_size),
        ] {
            if n == 0 {
                return Err(ConfigError::new(key(field), "must be at least 1"));
            }
        }
        if self.max_retries > 10 {
            return Err(ConfigError::new(
                key("max_retries"),
                "must be between 0 and 10",
            ));
        }
        for (field, d) in [
            ("request_timeout", self.request_timeout),
            ("call_timeout", self.call_timeout),
            ("max_budget_wait", self.max_budget_wait),
        ] {
            ConfigError::check_positive(&key(field), d)?;
        }
        Ok(())
    }

    fn for_simulator(vendor_bot_id: &str, sim: &SimEndpoint) -> Self {
        KoreConfig::new(
            &sim.url,
            vendor_bot_id,
            sim.client_id.clone().unwrap_or_default(),
            SecretString::from(sim.client_secret.clone().unwrap_or_default()),
        )
    }

    async fn build(
        &self,
        info: BotInfo,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn AnalyticsSource>, ConfigError> {
        let mut config = self.clone();
        config.fleet = ctx.fleet.cloned();
        if let Some(p) = ctx.cache_policy {
            config.settle_lag = p.settle_lag;
            config.settled_ttl = p.settled_ttl;
            config.recent_ttl = p.recent_ttl;
        }
        let source = super::KoreSource::new(info, config)
            .map_err(|e| ConfigError::new(ctx.key.clone(), e.message))?;
        Ok(Arc::new(source))
    }
}

/// `SUCCESS`, `FAILURE` or `DROPPED`, case-insensitively, spaces trimmed.
mod end_state {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::domain::ConversationEndState;

    pub fn serialize<S: Serializer>(e: &ConversationEndState, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(e.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ConversationEndState, D::Error> {
        let s = String::deserialize(d)?;
        ConversationEndState::ALL
            .into_iter()
            .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                serde::de::Error::custom(format!(
                    "`{s}` is not an end state; use SUCCESS, FAILURE or DROPPED"
                ))
            })
    }
}
