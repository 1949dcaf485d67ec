//! `KoreConfig`: everything one `KoreSource` needs, built from a `[[bots]]`
//! entry with `vendor = "kore"` (DESIGN §2) plus tuning knobs with defaults.

use std::time::Duration;

use secrecy::SecretString;

use crate::config::{ConfigError, KoreBotConfig};
use crate::domain::ConversationEndState;

#[derive(Debug, Clone)]
pub struct KoreConfig {
    /// `https://platform.kore.ai`, `https://bots.kore.ai`, or a simulator.
    pub host: String,
    /// Kore's bot id (`st-…`).
    pub bot_id: String,
    /// The JWT app's client id (`cs-…`).
    pub client_id: String,
    pub client_secret: SecretString,
    /// What Kore's `agent` containment (handed to a human) maps to.
    pub agent_end_state: ConversationEndState,
    /// Kore's per-bot budget (kore.md §5.2): 60 calls a minute, 1800 an hour.
    pub calls_per_minute: u32,
    pub calls_per_hour: u32,
    /// The budget's windows: 60 s and 1 h at Kore; tests shrink them.
    pub budget_minute: Duration,
    pub budget_hour: Duration,
    /// Added to both windows so network jitter between our clock and Kore's
    /// cannot push two calls into one server-side window.
    pub budget_margin: Duration,
    /// How long one call may wait for the budget before the query fails
    /// with `UPSTREAM_THROTTLED` (the query deadline).
    pub max_budget_wait: Duration,
    /// Window length in days; must be under 7 (the 7-day rule, kore.md §1.3).
    pub window_days: u32,
    /// `limit` sent per page; the server may cap it silently.
    pub page_size: u32,
    pub request_timeout: Duration,
    /// Retries of a throttled (429) or failed (5xx, transport) call.
    pub max_retries: u32,
    /// First backoff of a retry, doubled each time with full jitter (a
    /// `Retry-After` wins), at most `retry_max_delay`.
    pub retry_base_delay: Duration,
    pub retry_max_delay: Duration,
    /// Longest one call may take, budget waits, retries and backoffs
    /// included; past it the call fails with a retryable `UPSTREAM_UNAVAILABLE`.
    pub call_timeout: Duration,
    /// Sessions kept in the window cache (0 turns it off).
    pub window_cache_sessions: u64,
    /// Kore's analytics show up about 15 minutes after a session ends
    /// (kore.md §6): a window that ended `settle_lag` ago or earlier is
    /// settled and kept `settled_ttl`; a younger one (today's open window)
    /// is kept only `recent_ttl`, so it refreshes.
    pub settle_lag: Duration,
    pub settled_ttl: Duration,
    pub recent_ttl: Duration,
    /// With `[redis]`: the budget and the window cache are shared by every
    /// replica (`crate::fleet`); `None` keeps both in this process.
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
            agent_end_state: ConversationEndState::Failure,
            calls_per_minute: 60,
            calls_per_hour: 1800,
            budget_minute: Duration::from_secs(60),
            budget_hour: Duration::from_secs(3600),
            budget_margin: Duration::from_secs(1),
            max_budget_wait: Duration::from_secs(120),
            window_days: 6,
            page_size: 1000,
            request_timeout: Duration::from_secs(30),
            max_retries: 3,
            retry_base_delay: Duration::from_millis(200),
            retry_max_delay: Duration::from_secs(30),
            call_timeout: Duration::from_secs(180),
            window_cache_sessions: 200_000,
            settle_lag: Duration::from_secs(2 * 3600),
            settled_ttl: Duration::from_secs(24 * 3600),
            recent_ttl: Duration::from_secs(60),
            fleet: None,
        }
    }

    /// From a validated `[[bots]]` entry; `index` names the entry in errors.
    pub fn from_bot_config(index: usize, bot: &KoreBotConfig) -> Result<Self, ConfigError> {
        let agent = parse_end_state(&bot.agent_end_state).ok_or_else(|| ConfigError {
            key: format!("bots[{index}].agent_end_state"),
            message: format!(
                "`{}` is not an end state; use SUCCESS, FAILURE or DROPPED",
                bot.agent_end_state
            ),
        })?;
        if bot.calls_per_minute == 0 || bot.calls_per_hour == 0 {
            return Err(ConfigError {
                key: format!("bots[{index}].calls_per_minute"),
                message: "the call budget must be at least 1 per minute and per hour".into(),
            });
        }
        let mut c = KoreConfig::new(
            &bot.host,
            &bot.bot_id,
            &bot.client_id,
            bot.client_secret.clone(),
        );
        c.agent_end_state = agent;
        c.calls_per_minute = bot.calls_per_minute;
        c.calls_per_hour = bot.calls_per_hour;
        Ok(c)
    }
}

/// `SUCCESS`, `FAILURE` or `DROPPED`, case-insensitively.
pub fn parse_end_state(s: &str) -> Option<ConversationEndState> {
    ConversationEndState::ALL
        .into_iter()
        .find(|e| e.as_str().eq_ignore_ascii_case(s.trim()))
}
