//! `LexConfig`: one `[[bots]]` entry with `vendor = "lex_v2"`, and how
//! `LexSource` builds its SDK client from it. Ids are required; every tuning
//! field has its default here and nowhere else.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::domain::Vendor;
use crate::error::ConfigError;
use crate::sources::{AnalyticsSource, BotInfo, BuildContext, SimEndpoint, VendorConfig};

/// Where the SDK client gets credentials.
#[derive(Clone, Default)]
pub enum LexCredentials {
    /// The AWS default chain (env, profile, SSO, web identity, ECS/IMDS).
    #[default]
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

mod defaults {
    use std::time::Duration;
    pub fn requests_per_second() -> u32 {
        5
    }
    /// SDK standard retry mode: 3 attempts, the first included.
    pub fn max_attempts() -> u32 {
        3
    }
    pub fn attempt_timeout() -> Duration {
        Duration::from_secs(20)
    }
    pub fn timeout() -> Duration {
        Duration::from_secs(60)
    }
    pub fn initial_backoff() -> Duration {
        Duration::from_secs(1)
    }
    /// The SDK's own default.
    pub fn connect_timeout() -> Duration {
        Duration::from_millis(3100)
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LexConfig {
    /// Lex's bot id: exactly 10 letters or digits.
    pub bot_id: String,
    pub region: String,
    /// Overrides the regional endpoint (a simulator, a VPC endpoint). With it
    /// the client signs with static placeholder credentials (see README).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// The bot's upstream budget: calls wait (never fail) for a slot.
    #[serde(default = "defaults::requests_per_second")]
    pub requests_per_second: u32,
    /// Attempts per call, first one included (SDK standard retry mode).
    #[serde(default = "defaults::max_attempts")]
    pub max_attempts: u32,
    /// Longest one attempt may take (SDK `operation_attempt_timeout`); the
    /// read timeout is the same or shorter.
    #[serde(default = "defaults::attempt_timeout", with = "humantime_serde")]
    pub attempt_timeout: Duration,
    /// Longest one call may take, every retry and backoff included (SDK
    /// `operation_timeout`).
    #[serde(default = "defaults::timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Base of the SDK's exponential backoff; a throttling answer's
    /// `x-amz-retry-after` overrides it (lex.md §6.3).
    #[serde(skip, default = "defaults::initial_backoff")]
    pub initial_backoff: Duration,
    #[serde(skip, default = "defaults::connect_timeout")]
    pub connect_timeout: Duration,
    #[serde(skip)]
    pub credentials: LexCredentials,
    /// With `[redis]`: `requests_per_second` is shared by every replica
    /// (`crate::fleet`); `None` keeps it in this process. Set at build.
    #[serde(skip)]
    pub fleet: Option<crate::fleet::Fleet>,
}

impl LexConfig {
    /// Production defaults for one bot: the default credential chain.
    pub fn new(bot_id: impl Into<String>, region: impl Into<String>) -> Self {
        LexConfig {
            bot_id: bot_id.into(),
            region: region.into(),
            endpoint_url: None,
            requests_per_second: defaults::requests_per_second(),
            max_attempts: defaults::max_attempts(),
            attempt_timeout: defaults::attempt_timeout(),
            timeout: defaults::timeout(),
            initial_backoff: defaults::initial_backoff(),
            connect_timeout: defaults::connect_timeout(),
            credentials: LexCredentials::DefaultChain,
            fleet: None,
        }
    }

    /// A client of a simulator (or any endpoint speaking Lex) at `url`, with
    /// static placeholder credentials and `us-east-1` for SigV4, and a short
    /// backoff so that tests of throttling do not wait a second per retry.
    pub fn for_endpoint(bot_id: impl Into<String>, url: impl Into<String>) -> Self {
        LexConfig {
            endpoint_url: Some(url.into()),
            initial_backoff: Duration::from_millis(50),
            ..LexConfig::new(bot_id, "us-east-1")
        }
    }

    /// The credentials the client signs with: static placeholders for an
    /// `endpoint_url` (a simulator needs no real keys), else the default chain.
    pub fn effective_credentials(&self) -> LexCredentials {
        match (&self.credentials, &self.endpoint_url) {
            (LexCredentials::DefaultChain, Some(_)) => LexCredentials::Static {
                access_key_id: "AKIDBOTSCOPESIM".into(),
                secret_access_key: "botscope-simulator-secret".into(),
            },
            (c, _) => c.clone(),
        }
    }

    /// Longest wait for response bytes on an open connection.
    pub fn read_timeout(&self) -> Duration {
        self.attempt_timeout.min(Duration::from_secs(20))
    }
}

#[async_trait::async_trait]
impl VendorConfig for LexConfig {
    const VENDOR: Vendor = Vendor::LexV2;

    fn vendor_bot_id(&self) -> &str {
        &self.bot_id
    }

    fn validate(&self, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
        if self.bot_id.len() != 10 || !self.bot_id.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(ConfigError::new(
                key("bot_id"),
                "a Lex bot id is exactly 10 letters or digits",
            ));
        }
        if self.region.trim().is_empty() {
            return Err(ConfigError::new(
                key("region"),
                "must name an AWS region, e.g. us-east-1",
            ));
        }
        if let Some(u) = &self.endpoint_url {
            ConfigError::check_url(&key("endpoint_url"), u)?;
        }
        if self.requests_per_second == 0 {
            return Err(ConfigError::new(
                key("requests_per_second"),
                "must be at least 1",
            ));
        }
        if !(1..=10).contains(&self.max_attempts) {
            return Err(ConfigError::new(
                key("max_attempts"),
                "must be between 1 and 10",
            ));
        }
        ConfigError::check_positive(&key("attempt_timeout"), self.attempt_timeout)?;
        ConfigError::check_positive(&key("timeout"), self.timeout)?;
        Ok(())
    }

    fn for_simulator(vendor_bot_id: &str, sim: &SimEndpoint) -> Self {
        LexConfig::for_endpoint(vendor_bot_id, &sim.url)
    }

    async fn build(
        &self,
        info: BotInfo,
        ctx: &BuildContext<'_>,
    ) -> Result<Arc<dyn AnalyticsSource>, ConfigError> {
        let config = LexConfig {
            fleet: ctx.fleet.cloned(),
            ..self.clone()
        };
        Ok(Arc::new(super::LexSource::new(info, &config).await))
    }
}
