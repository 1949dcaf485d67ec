//! Typed configuration: a TOML file, overridden by `BOTSCOPE__SECTION__KEY`
//! environment variables, with `${VAR}` references read from the environment.
//!
//! Loading goes file → env overrides → `${VAR}` expansion → typed structs with
//! `deny_unknown_fields` (an unknown key is an error naming it) → validation
//! (every problem names its key and the fix). Secrets are [`SecretString`]s:
//! their `Debug` prints nothing and `check-config` redacts them.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::{ConversationEndState, Vendor};

/// A configuration problem: the key at fault and what to do.
#[derive(Debug, thiserror::Error)]
#[error("config error at `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError {
        key: key.into(),
        message: message.into(),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: String,
    /// HMAC key for cursors; replicas must share it.
    pub cursor_secret: SecretString,
    #[serde(default)]
    pub auth: AuthConfig,
    #[serde(default)]
    pub cache: CacheConfig,
    #[serde(default)]
    pub limits: LimitsConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub resilience: ResilienceConfig,
    /// `[redis]`: absent = one process, everything in memory (DESIGN §11).
    pub redis: Option<RedisConfig>,
    #[serde(default)]
    pub bots: Vec<BotConfig>,
}

/// `[redis]`: replicas share the L2 source cache, the response cache, the
/// vendor budgets and one upstream call per cold key through Redis/Valkey
/// (`crate::fleet`). Parsed into [`crate::fleet::FleetSettings`].
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS).
    /// A secret: it may carry the password.
    pub url: SecretString,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Multiplexed connections per replica, used in turn.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Longest wait for a connection to Redis.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    /// Longest wait for one Redis command; past it the replica falls back.
    #[serde(default = "default_command_timeout")]
    pub command_timeout: String,
    /// Lifetime of a cold key's lock; the owner renews it while it fetches,
    /// so a crashed owner blocks the others at most this long.
    #[serde(default = "default_lock_timeout")]
    pub lock_timeout: String,
    /// Replicas sharing the vendor budgets: while Redis is unreachable each
    /// replica takes `budget / expected_replicas` of every budget.
    #[serde(default = "default_expected_replicas")]
    pub expected_replicas: u32,
    /// How often an unreachable Redis is tried again.
    #[serde(default = "default_health_interval")]
    pub health_interval: String,
}

fn default_key_prefix() -> String {
    "botscope:".into()
}
fn default_pool_size() -> usize {
    2
}
fn default_connect_timeout() -> String {
    "1s".into()
}
fn default_command_timeout() -> String {
    "250ms".into()
}
fn default_lock_timeout() -> String {
    "10s".into()
}
fn default_expected_replicas() -> u32 {
    1
}
fn default_health_interval() -> String {
    "1s".into()
}

/// `[resilience]`: the per-bot circuit breaker (`layers::breaker`).
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ResilienceConfig {
    /// Consecutive retryable upstream failures that open a bot's breaker;
    /// 0 turns the breaker off.
    pub breaker_failures: u32,
    /// How long an open breaker fails fast before it probes (`"30s"`).
    pub breaker_cool_down: String,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        ResilienceConfig {
            breaker_failures: 5,
            breaker_cool_down: "30s".into(),
        }
    }
}

fn default_listen() -> String {
    "0.0.0.0:8080".into()
}

#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    None,
    Jwt,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub mode: AuthMode,
    pub hs256_secret: Option<SecretString>,
    pub jwks_file: Option<String>,
    pub jwks_url: Option<String>,
    pub issuer: Option<String>,
    pub audience: Option<String>,
    /// How often a `jwks_url` is fetched again (default "5m").
    pub jwks_refresh: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    pub max_bytes: String,
    pub settled_ttl: String,
    pub recent_ttl: String,
    pub settle_lag: String,
    /// Serve whole GraphQL responses from memory (see `server::response_cache`).
    pub response_cache: bool,
    pub response_max_bytes: String,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: "256MiB".into(),
            settled_ttl: "24h".into(),
            recent_ttl: "60s".into(),
            settle_lag: "2h".into(),
            response_cache: true,
            response_max_bytes: "64MiB".into(),
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_page_size: usize,
    pub max_range_days: u32,
    pub max_bots_per_query: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Fields (aliases included) at the top of one operation.
    pub max_root_fields: usize,
    /// Deadline of one GraphQL request.
    pub request_timeout: String,
    /// Per-client rate limit (client = JWT `sub`, or IP when auth is off); 0 = off.
    pub requests_per_minute_per_client: u32,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            max_page_size: 1000,
            max_range_days: 92,
            max_bots_per_query: 100,
            max_depth: 12,
            max_complexity: 5000,
            max_root_fields: 20,
            request_timeout: "30s".into(),
            requests_per_minute_per_client: 600,
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Origins allowed by CORS; `["*"]` allows any; empty disables CORS headers.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body.
    pub max_body_bytes: String,
    /// Serve the GraphiQL playground on `GET /graphql` for browsers.
    pub graphiql: bool,
    /// Answer introspection queries (`__schema`, `__type`).
    pub introspection: bool,
    /// Log lines as human-readable `text` or one JSON object per line (`json`).
    pub log_format: LogFormat,
}

/// How `botscope serve` writes its logs.
#[derive(Debug, Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            cors_origins: Vec::new(),
            max_body_bytes: "256KiB".into(),
            graphiql: true,
            introspection: true,
            log_format: LogFormat::Text,
        }
    }
}

/// One bot, tagged by `vendor`.
#[derive(Debug, Deserialize)]
#[serde(tag = "vendor", rename_all = "snake_case")]
pub enum BotConfig {
    LexV2(LexBotConfig),
    Kore(KoreBotConfig),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LexBotConfig {
    pub id: String,
    pub name: String,
    /// Lex's bot id: exactly 10 alphanumerics.
    pub bot_id: String,
    pub region: String,
    /// Optional endpoint override (a simulator, a VPC endpoint).
    pub endpoint_url: Option<String>,
    /// Upstream budget for this account, requests per second.
    #[serde(default = "default_lex_rps")]
    pub requests_per_second: u32,
    /// Attempts per Lex call, the first included (SDK standard retry); default 3.
    pub max_attempts: Option<u32>,
    /// Longest one attempt may take (`"10s"`); default 20 s.
    pub attempt_timeout: Option<String>,
    /// Longest one call may take, all retries included (`"30s"`); default 60 s.
    pub timeout: Option<String>,
}

fn default_lex_rps() -> u32 {
    5
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KoreBotConfig {
    pub id: String,
    pub name: String,
    /// Kore's bot id (`st-…`).
    pub bot_id: String,
    pub host: String,
    pub client_id: String,
    pub client_secret: SecretString,
    /// What Kore's `agent` (handed to a human) maps to.
    #[serde(default = "default_agent_end_state")]
    pub agent_end_state: String,
    #[serde(default = "default_calls_per_minute")]
    pub calls_per_minute: u32,
    #[serde(default = "default_calls_per_hour")]
    pub calls_per_hour: u32,
}

fn default_agent_end_state() -> String {
    "FAILURE".into()
}
fn default_calls_per_minute() -> u32 {
    60
}
fn default_calls_per_hour() -> u32 {
    1800
}

impl BotConfig {
    pub fn id(&self) -> &str {
        match self {
            BotConfig::LexV2(b) => &b.id,
            BotConfig::Kore(b) => &b.id,
        }
    }

    pub fn name(&self) -> &str {
        match self {
            BotConfig::LexV2(b) => &b.name,
            BotConfig::Kore(b) => &b.name,
        }
    }

    pub fn vendor(&self) -> Vendor {
        match self {
            BotConfig::LexV2(_) => Vendor::LexV2,
            BotConfig::Kore(_) => Vendor::Kore,
        }
    }

    pub fn vendor_bot_id(&self) -> &str {
        match self {
            BotConfig::LexV2(b) => &b.bot_id,
            BotConfig::Kore(b) => &b.bot_id,
        }
    }
}

/// Replaces every `${VAR}` in `s` with the environment variable's value.
pub fn expand_env(
    key: &str,
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<String, ConfigError> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let Some(j) = after.find('}') else {
            return Err(err(key, "unterminated `${` (write `${VAR}`)"));
        };
        let var = &after[..j];
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(err(
                key,
                format!("`${{{var}}}` is not a valid variable name"),
            ));
        }
        match env(var) {
            Some(v) => out.push_str(&v),
            None => {
                return Err(err(
                    key,
                    format!("environment variable {var} is not set (referenced as ${{{var}}})"),
                ));
            }
        }
        rest = &after[j + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn expand_tree(
    path: &str,
    v: &mut serde_json::Value,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<(), ConfigError> {
    match v {
        serde_json::Value::String(s) => *s = expand_env(path, s, env)?,
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                expand_tree(&format!("{path}[{i}]"), item, env)?;
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map.iter_mut() {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                expand_tree(&p, item, env)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Parsed durations and sizes, ready for use.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub max_bytes: u64,
    /// `None` when the response cache is off.
    pub response_max_bytes: Option<u64>,
    pub settled_ttl: Duration,
    pub recent_ttl: Duration,
    pub settle_lag: Duration,
}

impl CacheSettings {
    /// The defaults of `[cache]`.
    pub fn defaults() -> Self {
        CacheSettings {
            max_bytes: 256 << 20,
            response_max_bytes: Some(64 << 20),
            settled_ttl: Duration::from_secs(24 * 3600),
            recent_ttl: Duration::from_secs(60),
            settle_lag: Duration::from_secs(2 * 3600),
        }
    }
}

impl Config {
    /// Loads a config file with env overrides and `${VAR}` expansion, then validates it.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        if !path.exists() {
            return Err(err(
                "--config",
                format!(
                    "{} does not exist; start from botscope.example.toml, or run `botscope demo` to try botscope without one",
                    path.display()
                ),
            ));
        }
        let figment = Figment::new()
            .merge(Toml::file(path))
            .merge(Env::prefixed("BOTSCOPE__").split("__"));
        Self::from_figment(figment, &|k| std::env::var(k).ok())
    }

    /// Parses TOML text (no env overrides); for tests and `check-config` of strings.
    pub fn from_toml_str(
        toml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(toml)), env)
    }

    fn from_figment(
        figment: Figment,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut tree: serde_json::Value = figment.extract().map_err(|e| {
            let key = e.path.join(".");
            err(
                if key.is_empty() { "(file)".into() } else { key },
                e.kind.to_string(),
            )
        })?;
        expand_tree("", &mut tree, env)?;
        let config: Config = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            err(
                if key == "." {
                    "(top level)".into()
                } else {
                    key
                },
                e.into_inner().to_string(),
            )
        })?;
        config.validate()?;
        Ok(config)
    }

    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| {
            err(
                "listen",
                format!("{:?} is not an address like 0.0.0.0:8080", self.listen),
            )
        })
    }

    pub fn cache_settings(&self) -> Result<CacheSettings, ConfigError> {
        let size = |key: &str, v: &str| {
            v.parse::<bytesize::ByteSize>()
                .map(|b| b.as_u64())
                .map_err(|_| err(key, format!("{v:?} is not a size like \"256MiB\"")))
        };
        let dur = |key: &str, v: &str| {
            humantime::parse_duration(v).map_err(|_| {
                err(
                    key,
                    format!("{v:?} is not a duration like \"60s\" or \"24h\""),
                )
            })
        };
        Ok(CacheSettings {
            max_bytes: size("cache.max_bytes", &self.cache.max_bytes)?,
            response_max_bytes: if self.cache.response_cache {
                Some(size(
                    "cache.response_max_bytes",
                    &self.cache.response_max_bytes,
                )?)
            } else {
                None
            },
            settled_ttl: dur("cache.settled_ttl", &self.cache.settled_ttl)?,
            recent_ttl: dur("cache.recent_ttl", &self.cache.recent_ttl)?,
            settle_lag: dur("cache.settle_lag", &self.cache.settle_lag)?,
        })
    }

    /// `[redis]`, parsed and checked; `None` without the section.
    pub fn fleet_settings(&self) -> Result<Option<crate::fleet::FleetSettings>, ConfigError> {
        let Some(r) = &self.redis else {
            return Ok(None);
        };
        let url = r.url.expose_secret();
        match url::Url::parse(url) {
            Ok(u) if matches!(u.scheme(), "redis" | "rediss") && u.host_str().is_some() => {}
            _ => {
                return Err(err(
                    "redis.url",
                    "must be a redis:// or rediss:// URL with a host, e.g. \
                     redis://:password@redis.internal:6379/0",
                ));
            }
        }
        if let Err(e) = redis::Client::open(url) {
            return Err(err(
                "redis.url",
                format!("not a usable Redis URL: {}", e.category()),
            ));
        }
        let p = &r.key_prefix;
        if p.is_empty() || p.len() > 64 || p.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(err(
                "redis.key_prefix",
                "1-64 characters without spaces, e.g. \"botscope:\"",
            ));
        }
        if !(1..=64).contains(&r.pool_size) {
            return Err(err("redis.pool_size", "must be between 1 and 64"));
        }
        if !(1..=1000).contains(&r.expected_replicas) {
            return Err(err("redis.expected_replicas", "must be between 1 and 1000"));
        }
        Ok(Some(crate::fleet::FleetSettings {
            url: r.url.clone(),
            key_prefix: p.clone(),
            pool_size: r.pool_size,
            connect_timeout: positive_duration("redis.connect_timeout", &r.connect_timeout)?,
            command_timeout: positive_duration("redis.command_timeout", &r.command_timeout)?,
            lock_timeout: positive_duration("redis.lock_timeout", &r.lock_timeout)?,
            expected_replicas: r.expected_replicas,
            health_interval: positive_duration("redis.health_interval", &r.health_interval)?,
        }))
    }

    /// The per-bot circuit breaker from `[resilience]`; `None` when
    /// `breaker_failures = 0` turns it off.
    pub fn breaker_policy(&self) -> Result<Option<crate::layers::BreakerPolicy>, ConfigError> {
        let r = &self.resilience;
        let cool_down = positive_duration("resilience.breaker_cool_down", &r.breaker_cool_down)?;
        Ok(
            (r.breaker_failures > 0).then_some(crate::layers::BreakerPolicy {
                failure_threshold: r.breaker_failures,
                cool_down,
            }),
        )
    }

    pub fn max_body_bytes(&self) -> Result<usize, ConfigError> {
        let v = &self.server.max_body_bytes;
        v.parse::<bytesize::ByteSize>()
            .map(|b| b.as_u64() as usize)
            .map_err(|_| {
                err(
                    "server.max_body_bytes",
                    format!("{v:?} is not a size like \"256KiB\""),
                )
            })
    }

    /// `limits.request_timeout`, parsed.
    pub fn request_timeout(&self) -> Result<Duration, ConfigError> {
        let v = &self.limits.request_timeout;
        match humantime::parse_duration(v) {
            Ok(d) if d >= Duration::from_millis(100) && d <= Duration::from_secs(3600) => Ok(d),
            Ok(_) => Err(err(
                "limits.request_timeout",
                "must be between 100ms and 1h",
            )),
            Err(_) => Err(err(
                "limits.request_timeout",
                format!("{v:?} is not a duration like \"30s\""),
            )),
        }
    }

    /// `auth.jwks_refresh`, parsed (default 5 minutes).
    pub fn jwks_refresh(&self) -> Result<Duration, ConfigError> {
        let Some(v) = &self.auth.jwks_refresh else {
            return Ok(Duration::from_secs(300));
        };
        match humantime::parse_duration(v) {
            Ok(d) if d >= Duration::from_secs(10) => Ok(d),
            Ok(_) => Err(err("auth.jwks_refresh", "must be at least 10s")),
            Err(_) => Err(err(
                "auth.jwks_refresh",
                format!("{v:?} is not a duration like \"5m\""),
            )),
        }
    }

    /// Checks every rule a typed field cannot express; the first problem wins.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        if self.cursor_secret.expose_secret().len() < 16 {
            return Err(err(
                "cursor_secret",
                "must be at least 16 bytes (e.g. `openssl rand -hex 32`); replicas must share it",
            ));
        }
        match self.auth.mode {
            AuthMode::Jwt => {
                let sources = [
                    self.auth.hs256_secret.is_some(),
                    self.auth.jwks_file.is_some(),
                    self.auth.jwks_url.is_some(),
                ];
                if sources.iter().filter(|s| **s).count() != 1 {
                    return Err(err(
                        "auth",
                        "mode = \"jwt\" needs exactly one of hs256_secret, jwks_file, jwks_url",
                    ));
                }
                if let Some(s) = &self.auth.hs256_secret
                    && s.expose_secret().len() < 32
                {
                    return Err(err("auth.hs256_secret", "must be at least 32 bytes"));
                }
                if let Some(u) = &self.auth.jwks_url {
                    check_url("auth.jwks_url", u)?;
                }
                if let Some(f) = &self.auth.jwks_file
                    && f.trim().is_empty()
                {
                    return Err(err("auth.jwks_file", "must name a JWKS file"));
                }
                self.jwks_refresh()?;
            }
            AuthMode::None => {}
        }
        self.cache_settings()?;
        self.max_body_bytes()?;
        self.breaker_policy()?;
        self.fleet_settings()?;
        let l = &self.limits;
        for (key, v) in [
            ("limits.max_page_size", l.max_page_size),
            ("limits.max_range_days", l.max_range_days as usize),
            ("limits.max_bots_per_query", l.max_bots_per_query),
            ("limits.max_depth", l.max_depth),
            ("limits.max_complexity", l.max_complexity),
            ("limits.max_root_fields", l.max_root_fields),
        ] {
            if v == 0 {
                return Err(err(key, "must be at least 1"));
            }
        }
        self.request_timeout()?;
        if self.bots.is_empty() {
            return Err(err("bots", "configure at least one [[bots]] entry"));
        }
        let mut seen = HashSet::new();
        for (i, bot) in self.bots.iter().enumerate() {
            let key = |field: &str| format!("bots[{i}].{field}");
            let id = bot.id();
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
            {
                return Err(err(
                    key("id"),
                    "1-64 characters of letters, digits, '-' or '_'",
                ));
            }
            if !seen.insert(id) {
                return Err(err(key("id"), format!("{id:?} is used by another bot")));
            }
            if bot.name().trim().is_empty() {
                return Err(err(key("name"), "must not be empty"));
            }
            match bot {
                BotConfig::LexV2(b) => {
                    if b.bot_id.len() != 10 || !b.bot_id.chars().all(|c| c.is_ascii_alphanumeric())
                    {
                        return Err(err(
                            key("bot_id"),
                            "a Lex bot id is exactly 10 letters or digits",
                        ));
                    }
                    if b.region.trim().is_empty() {
                        return Err(err(
                            key("region"),
                            "must name an AWS region, e.g. us-east-1",
                        ));
                    }
                    if let Some(u) = &b.endpoint_url {
                        check_url(&key("endpoint_url"), u)?;
                    }
                    if b.requests_per_second == 0 {
                        return Err(err(key("requests_per_second"), "must be at least 1"));
                    }
                    if let Some(n) = b.max_attempts
                        && !(1..=10).contains(&n)
                    {
                        return Err(err(key("max_attempts"), "must be between 1 and 10"));
                    }
                    for (field, v) in [
                        ("attempt_timeout", &b.attempt_timeout),
                        ("timeout", &b.timeout),
                    ] {
                        if let Some(v) = v {
                            positive_duration(&key(field), v)?;
                        }
                    }
                }
                BotConfig::Kore(b) => {
                    if !b.bot_id.starts_with("st-") || b.bot_id.len() < 4 {
                        return Err(err(key("bot_id"), "a Kore bot id looks like st-…"));
                    }
                    check_url(&key("host"), &b.host)?;
                    if b.client_id.trim().is_empty() {
                        return Err(err(
                            key("client_id"),
                            "must not be empty (the JWT app's client id, cs-…)",
                        ));
                    }
                    if b.client_secret.expose_secret().is_empty() {
                        return Err(err(key("client_secret"), "must not be empty"));
                    }
                    parse_end_state(&b.agent_end_state).ok_or_else(|| {
                        err(key("agent_end_state"), "one of SUCCESS, FAILURE, DROPPED")
                    })?;
                    if b.calls_per_minute == 0 || b.calls_per_hour == 0 {
                        return Err(err(
                            key("calls_per_minute"),
                            "call budgets must be at least 1",
                        ));
                    }
                }
            }
        }
        Ok(())
    }

    /// A human-readable summary with every secret redacted (`check-config`).
    pub fn describe(&self) -> String {
        let mut out = format!(
            "listen: {}\nauth: {:?}{}\ncache: max_bytes={} settled_ttl={} recent_ttl={} settle_lag={}\nlimits: {:?}\nbots:\n",
            self.listen,
            self.auth.mode,
            if self.auth.hs256_secret.is_some() {
                " (hs256 secret: [redacted])"
            } else {
                ""
            },
            self.cache.max_bytes,
            self.cache.settled_ttl,
            self.cache.recent_ttl,
            self.cache.settle_lag,
            self.limits,
        );
        if let Some(r) = &self.redis {
            // The URL may carry a password: print only where it points.
            let at = url::Url::parse(r.url.expose_secret())
                .map(|u| {
                    format!(
                        "{}://{}:{}",
                        u.scheme(),
                        u.host_str().unwrap_or("?"),
                        u.port().unwrap_or(6379)
                    )
                })
                .unwrap_or_default();
            out.push_str(&format!(
                "redis: {at} (credentials [redacted]) key_prefix={:?} pool_size={} expected_replicas={}\n",
                r.key_prefix, r.pool_size, r.expected_replicas
            ));
        }
        for bot in &self.bots {
            match bot {
                BotConfig::LexV2(b) => out.push_str(&format!(
                    "  - {} ({}) vendor=lex_v2 bot_id={} region={} endpoint={} requests_per_second={}\n",
                    b.id,
                    b.name,
                    b.bot_id,
                    b.region,
                    b.endpoint_url.as_deref().unwrap_or("(AWS default)"),
                    b.requests_per_second
                )),
                BotConfig::Kore(b) => out.push_str(&format!(
                    "  - {} ({}) vendor=kore bot_id={} host={} client_id={} client_secret=[redacted] agent_end_state={} budget={}/min {}/h\n",
                    b.id, b.name, b.bot_id, b.host, b.client_id, b.agent_end_state, b.calls_per_minute, b.calls_per_hour
                )),
            }
        }
        out
    }
}

fn check_url(key: &str, u: &str) -> Result<(), ConfigError> {
    match url::Url::parse(u) {
        Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
        _ => Err(err(key, format!("{u:?} is not an http(s) URL"))),
    }
}

/// Parses SUCCESS / FAILURE / DROPPED, case-insensitively.
pub fn parse_end_state(s: &str) -> Option<ConversationEndState> {
    ConversationEndState::ALL
        .into_iter()
        .find(|e| e.as_str().eq_ignore_ascii_case(s))
}

/// A duration like `"30s"` or `"500ms"`, more than zero.
pub fn positive_duration(key: &str, v: &str) -> Result<std::time::Duration, ConfigError> {
    match humantime::parse_duration(v) {
        Ok(d) if !d.is_zero() => Ok(d),
        Ok(_) => Err(err(key, "must be more than zero")),
        Err(_) => Err(err(
            key,
            format!("{v:?} is not a duration like \"30s\" or \"500ms\""),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
cursor_secret = "${CURSOR}"
[[bots]]
id = "support-lex"
name = "Support"
vendor = "lex_v2"
bot_id = "ABCDEFGHIJ"
region = "us-east-1"
[[bots]]
id = "sales-kore"
name = "Sales"
vendor = "kore"
bot_id = "st-123"
host = "https://platform.kore.ai"
client_id = "cs-1"
client_secret = "${KORE}"
"#;

    fn env(k: &str) -> Option<String> {
        match k {
            "CURSOR" => Some("0123456789abcdef0123".into()),
            "KORE" => Some("kore-secret-value".into()),
            _ => None,
        }
    }

    #[test]
    fn loads_and_expands_and_redacts() {
        let c = Config::from_toml_str(GOOD, &env).unwrap();
        assert_eq!(c.bots.len(), 2);
        let d = c.describe();
        assert!(!d.contains("kore-secret-value"), "{d}");
        assert!(!format!("{c:?}").contains("kore-secret-value"));
        assert!(d.contains("[redacted]"));
    }

    fn error_of(toml: &str) -> ConfigError {
        Config::from_toml_str(toml, &env).unwrap_err()
    }

    #[test]
    fn errors_name_the_key() {
        assert_eq!(
            error_of(&GOOD.replace("${KORE}", "${NOPE}")).key,
            "bots[1].client_secret"
        );
        assert_eq!(error_of(&format!("bogus = 1\n{GOOD}")).key, "bogus");
        // Inside a vendor-tagged bot, serde reports the bot; the message names the key.
        let e = error_of(&GOOD.replace(
            "region = \"us-east-1\"",
            "region = \"us-east-1\"\nregoin = \"x\"",
        ));
        assert_eq!(e.key, "bots[0]");
        assert!(e.message.contains("regoin"), "{}", e.message);
        assert_eq!(
            error_of(&GOOD.replace("ABCDEFGHIJ", "short")).key,
            "bots[0].bot_id"
        );
        assert_eq!(
            error_of(&GOOD.replace("id = \"sales-kore\"", "id = \"support-lex\"")).key,
            "bots[1].id"
        );
        assert_eq!(
            error_of(&GOOD.replace("${CURSOR}", "short")).key,
            "cursor_secret"
        );
        assert_eq!(
            error_of(&format!("{GOOD}\n[cache]\nmax_bytes = \"lots\"\n")).key,
            "cache.max_bytes"
        );
        assert_eq!(
            error_of(&format!("{GOOD}\n[limits]\nmax_page_size = 0\n")).key,
            "limits.max_page_size"
        );
        assert_eq!(
            error_of(&format!("{GOOD}\n[auth]\nmode = \"jwt\"\n")).key,
            "auth"
        );
        assert_eq!(
            error_of(&GOOD.replace("lex_v2", "dialogflow")).key,
            "bots[0].vendor"
        );
    }

    #[test]
    fn redis_is_optional_and_checked_key_by_key() {
        let c = Config::from_toml_str(GOOD, &env).unwrap();
        assert!(
            c.fleet_settings().unwrap().is_none(),
            "no [redis]: one process"
        );
        let with = |extra: &str| format!("{GOOD}\n[redis]\n{extra}\n");
        let ok = Config::from_toml_str(
            &with("url = \"rediss://:pw@redis.internal:6380/2\"\nexpected_replicas = 3"),
            &env,
        )
        .unwrap();
        let f = ok.fleet_settings().unwrap().unwrap();
        assert_eq!(f.expected_replicas, 3);
        assert_eq!(f.key_prefix, "botscope:");
        assert_eq!(f.lock_timeout, Duration::from_secs(10));
        let d = ok.describe();
        assert!(d.contains("rediss://redis.internal:6380"), "{d}");
        assert!(!d.contains("pw"), "{d}");
        for (extra, key) in [
            ("url = \"http://redis:6379\"", "redis.url"),
            ("url = \"redis-host:6379\"", "redis.url"),
            ("url = \"redis://h\"\nkey_prefix = \"\"", "redis.key_prefix"),
            ("url = \"redis://h\"\npool_size = 0", "redis.pool_size"),
            (
                "url = \"redis://h\"\nexpected_replicas = 0",
                "redis.expected_replicas",
            ),
            (
                "url = \"redis://h\"\nlock_timeout = \"soon\"",
                "redis.lock_timeout",
            ),
            (
                "url = \"redis://h\"\ncommand_timeout = \"0s\"",
                "redis.command_timeout",
            ),
            ("url = \"redis://h\"\nttl = \"1h\"", "redis.ttl"),
            ("key_prefix = \"x:\"", "redis"),
        ] {
            let e = error_of(&with(extra));
            assert_eq!(e.key, key, "{extra}: {e}");
        }
        assert!(
            error_of(&with("url = \"redis://h\"\nttl = \"1h\""))
                .message
                .contains("ttl")
        );
    }

    #[test]
    fn auth_limits_and_server_keys_have_defaults_and_named_errors() {
        let c = Config::from_toml_str(GOOD, &env).unwrap();
        assert_eq!(c.limits.max_root_fields, 20);
        assert_eq!(c.request_timeout().unwrap(), Duration::from_secs(30));
        assert_eq!(c.limits.requests_per_minute_per_client, 600);
        assert!(c.server.introspection);
        assert_eq!(c.server.log_format, LogFormat::Text);
        assert_eq!(c.jwks_refresh().unwrap(), Duration::from_secs(300));
        let with = |extra: &str| format!("{GOOD}\n{extra}\n");
        let ok = Config::from_toml_str(
            &with("[server]\nlog_format = \"json\"\nintrospection = false"),
            &env,
        )
        .unwrap();
        assert_eq!(ok.server.log_format, LogFormat::Json);
        assert!(!ok.server.introspection);
        for (extra, key) in [
            ("[limits]\nmax_root_fields = 0", "limits.max_root_fields"),
            (
                "[limits]\nrequest_timeout = \"soon\"",
                "limits.request_timeout",
            ),
            (
                "[limits]\nrequest_timeout = \"1ms\"",
                "limits.request_timeout",
            ),
            ("[server]\nlog_format = \"xml\"", "server.log_format"),
            (
                "[auth]\nmode = \"jwt\"\njwks_url = \"ftp://idp\"",
                "auth.jwks_url",
            ),
            (
                "[auth]\nmode = \"jwt\"\njwks_file = \"k.json\"\njwks_refresh = \"1s\"",
                "auth.jwks_refresh",
            ),
            (
                "[auth]\nmode = \"jwt\"\njwks_file = \"k.json\"\njwks_url = \"https://idp/\"",
                "auth",
            ),
        ] {
            assert_eq!(error_of(&with(extra)).key, key, "{extra}");
        }
    }
}
