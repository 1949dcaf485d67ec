//! `LexSourceConfig`: how `LexSource` builds its SDK client.

use std::fmt;
use std::time::Duration;

use crate::config::LexBotConfig;

/// Where the SDK client gets credentials.
#[derive(Clone)]
pub enum LexCredentials {
    /// The AWS default chain (env, profile, SSO, web identity, ECS/IMDS).
    DefaultChain,
    /// Fixed keys: for a simulator or a test endpoint that still wants SigV4.
    Static {
        access_key_id: String,
        secret_access_key: String,
    },
}

impl fmt::Debug for LexCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LexCredentials::DefaultChain => f.write_str("DefaultChain"),
            // The secret never reaches a log.
            LexCredentials::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .finish_non_exhaustive(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LexSourceConfig {
    /// Lex's bot id (10 alphanumerics).
    pub bot_id: String,
    pub region: String,
    /// Overrides the regional endpoint (a simulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    pub credentials: LexCredentials,
    /// Attempts per call, first one included (SDK standard retry mode).
    pub max_attempts: u32,
    /// Base of the SDK's exponential backoff; a throttling answer's
    /// `x-amz-retry-after` overrides it (lex.md §6.3).
    pub initial_backoff: Duration,
    pub connect_timeout: Duration,
    /// Longest wait for response bytes on an open connection.
    pub read_timeout: Duration,
    /// Longest one attempt may take (SDK `operation_attempt_timeout`).
    pub attempt_timeout: Duration,
    /// Longest one call may take, every retry and backoff included (SDK
    /// `operation_timeout`).
    pub operation_timeout: Duration,
    /// The bot's upstream budget: calls wait (never fail) for a slot.
    pub requests_per_second: u32,
    /// With `[redis]`: `requests_per_second` is shared by every replica
    /// (`crate::fleet`); `None` keeps it in this process.
    pub fleet: Option<crate::fleet::Fleet>,
}

impl LexSourceConfig {
    /// Production defaults for one bot: standard retries (3 attempts), the SDK's
    /// 3.1 s connect timeout, a 20 s read and attempt timeout, 60 s per call
    /// with retries, 5 requests a second.
    pub fn new(bot_id: impl Into<String>, region: impl Into<String>) -> Self {
        LexSourceConfig {
            bot_id: bot_id.into(),
            region: region.into(),
            endpoint_url: None,
            credentials: LexCredentials::DefaultChain,
            max_attempts: 3,
            initial_backoff: Duration::from_secs(1),
            connect_timeout: Duration::from_millis(3100),
            read_timeout: Duration::from_secs(20),
            attempt_timeout: Duration::from_secs(20),
            operation_timeout: Duration::from_secs(60),
            requests_per_second: 5,
            fleet: None,
        }
    }

    /// A client of a simulator (or any endpoint speaking Lex) at `url`, with
    /// static placeholder credentials and `us-east-1` for SigV4.
    pub fn for_endpoint(bot_id: impl Into<String>, url: impl Into<String>) -> Self {
        LexSourceConfig {
            endpoint_url: Some(url.into()),
            credentials: LexCredentials::Static {
                access_key_id: "AKIDBOTSCOPESIM".into(),
                secret_access_key: "botscope-simulator-secret".into(),
            },
            initial_backoff: Duration::from_millis(50),
            ..LexSourceConfig::new(bot_id, "us-east-1")
        }
    }

    /// From a `[[bots]]` entry: the default credential chain, unless the entry
    /// names an `endpoint_url` (a simulator), which gets static credentials.
    /// `max_attempts`, `attempt_timeout`, `timeout` and `requests_per_second`
    /// come from the entry when set (validated by `Config::validate`).
    pub fn from_bot_config(bot: &LexBotConfig) -> Self {
        let mut c = match &bot.endpoint_url {
            Some(url) => LexSourceConfig {
                region: bot.region.clone(),
                ..LexSourceConfig::for_endpoint(&bot.bot_id, url)
            },
            None => LexSourceConfig::new(&bot.bot_id, &bot.region),
        };
        let dur = |v: &Option<String>| v.as_deref().and_then(|v| humantime::parse_duration(v).ok());
        if let Some(n) = bot.max_attempts {
            c.max_attempts = n.max(1);
        }
        if let Some(d) = dur(&bot.attempt_timeout) {
            c.attempt_timeout = d;
            c.read_timeout = c.read_timeout.min(d);
        }
        if let Some(d) = dur(&bot.timeout) {
            c.operation_timeout = d;
        }
        c.requests_per_second = bot.requests_per_second.max(1);
        c
    }
}
