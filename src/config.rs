//! Typed configuration: a TOML file, overridden by `BOTSCOPE__SECTION__KEY`
//! environment variables, with `${VAR}` references read from the environment.
//!
//! Loading goes file → env overrides → `${VAR}` expansion → typed structs with
//! `deny_unknown_fields` (an unknown key is an error naming it; durations and
//! sizes are typed, `"30s"`, `"256MiB"`) → validation (every problem names its
//! key and the fix). Secrets are [`SecretString`]s: their `Debug` prints
//! nothing, and serializing the config (`check-config`, `demo --print-config`)
//! writes `[redacted]`.
//!
//! This file holds the global sections and the list of vendors; each vendor's
//! `[[bots]]` entry is its own struct in `sources/<vendor>/config.rs`, reached
//! through [`VendorConfig`].

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytesize::ByteSize;
use figment::Figment;
use figment::providers::{Env, Format, Toml};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::domain::Vendor;
pub use crate::error::ConfigError;
use crate::sources::{AnalyticsSource, BotInfo, BuildContext, SimEndpoint, VendorConfig};

fn err(key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::new(key, message)
}

/// The vendors botscope speaks to: the `vendor = "…"` tag of a `[[bots]]`
/// entry, and the entry's type. Adding a vendor is one line here.
macro_rules! vendors {
    ($($variant:ident => $tag:literal, $ty:ty;)*) => {
        /// A `[[bots]]` entry's vendor part, tagged by `vendor`.
        #[derive(Debug, Clone, Serialize)]
        #[serde(tag = "vendor")]
        pub enum VendorBot {
            $(#[serde(rename = $tag)] $variant($ty),)*
        }

        impl VendorBot {
            /// Every accepted `vendor` tag.
            pub const TAGS: &'static [&'static str] = &[$($tag),*];

            fn parse(tag: &str, entry: serde_json::Value, prefix: &str) -> Result<Self, ConfigError> {
                match tag {
                    $($tag => Ok(VendorBot::$variant(parse_entry(entry, prefix)?)),)*
                    other => Err(err(
                        format!("{prefix}.vendor"),
                        format!("unknown vendor {other:?}; one of {}", Self::TAGS.join(", ")),
                    )),
                }
            }

            pub fn vendor(&self) -> Vendor {
                match self { $(VendorBot::$variant(_) => <$ty as VendorConfig>::VENDOR,)* }
            }

            pub fn vendor_bot_id(&self) -> &str {
                match self { $(VendorBot::$variant(c) => c.vendor_bot_id(),)* }
            }

            fn validate(&self, key: &dyn Fn(&str) -> String) -> Result<(), ConfigError> {
                match self { $(VendorBot::$variant(c) => c.validate(key),)* }
            }

            async fn build(
                &self,
                info: BotInfo,
                ctx: &BuildContext<'_>,
            ) -> Result<std::sync::Arc<dyn AnalyticsSource>, ConfigError> {
                match self { $(VendorBot::$variant(c) => c.build(info, ctx).await,)* }
            }

            /// The entry of a demo bot of `vendor` served by its simulator at `sim`.
            pub fn for_simulator(vendor: Vendor, vendor_bot_id: &str, sim: &SimEndpoint) -> Self {
                $(if vendor == <$ty as VendorConfig>::VENDOR {
                    return VendorBot::$variant(<$ty>::for_simulator(vendor_bot_id, sim));
                })*
                unreachable!("every Vendor is listed in vendors!")
            }
        }
    };
}

vendors! {
    LexV2 => "lex_v2", crate::sources::lex::LexConfig;
    Kore => "kore", crate::sources::kore::KoreConfig;
}

/// Deserializes one vendor entry, naming the key at fault under `prefix`.
fn parse_entry<T: serde::de::DeserializeOwned>(
    entry: serde_json::Value,
    prefix: &str,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(entry).map_err(|e| keyed(prefix, e))
}

/// A serde error keyed by where it happened; a missing field is keyed by
/// the field itself, so that the key names what to add.
fn keyed(prefix: &str, e: serde_path_to_error::Error<serde_json::Error>) -> ConfigError {
    let path = e.path().to_string();
    let message = e.into_inner().to_string();
    let mut parts: Vec<&str> = [prefix, path.as_str()]
        .into_iter()
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    let missing = message
        .strip_prefix("missing field `")
        .and_then(|m| m.split('`').next())
        .map(str::to_owned);
    if let Some(field) = &missing {
        parts.push(field);
    }
    let key = if parts.is_empty() {
        "(top level)".to_owned()
    } else {
        parts.join(".")
    };
    err(key, message)
}

/// One `[[bots]]` entry: the gateway's id and display name, and the vendor part.
#[derive(Debug, Clone, Serialize)]
pub struct BotConfig {
    /// The gateway's bot id (what queries name): letters, digits, `-`, `_`.
    pub id: String,
    pub name: String,
    #[serde(flatten)]
    pub vendor: VendorBot,
}

impl BotConfig {
    /// `id`, `name` and `vendor` are read here; the rest goes to the vendor's struct.
    fn parse(index: usize, entry: serde_json::Value) -> Result<BotConfig, ConfigError> {
        let prefix = format!("bots[{index}]");
        let serde_json::Value::Object(mut map) = entry else {
            return Err(err(prefix, "a [[bots]] entry is a table"));
        };
        let mut take = |field: &str| match map.remove(field) {
            Some(serde_json::Value::String(s)) => Ok(s),
            Some(_) => Err(err(format!("{prefix}.{field}"), "must be a string")),
            None => Err(err(
                format!("{prefix}.{field}"),
                format!("missing field `{field}`"),
            )),
        };
        let (id, name, tag) = (take("id")?, take("name")?, take("vendor")?);
        let vendor = VendorBot::parse(&tag, serde_json::Value::Object(map), &prefix)?;
        Ok(BotConfig { id, name, vendor })
    }

    pub fn info(&self) -> BotInfo {
        BotInfo {
            id: self.id.clone(),
            name: self.name.clone(),
            vendor: self.vendor.vendor(),
            vendor_bot_id: self.vendor.vendor_bot_id().to_owned(),
        }
    }

    /// The source for this entry; `index` names it in errors.
    pub async fn build(
        &self,
        index: usize,
        fleet: Option<&crate::fleet::Fleet>,
        cache_policy: Option<&crate::layers::CachePolicy>,
    ) -> Result<std::sync::Arc<dyn AnalyticsSource>, ConfigError> {
        let ctx = BuildContext {
            key: format!("bots[{index}]"),
            fleet,
            cache_policy,
        };
        self.vendor.build(self.info(), &ctx).await
    }
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// HMAC key for cursors; replicas must share it.
    #[serde(serialize_with = "crate::error::redacted")]
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
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redis: Option<RedisConfig>,
    /// Parsed entry by entry (`BotConfig::parse`), so that an error names
    /// the key inside the entry.
    #[serde(skip_deserializing)]
    pub bots: Vec<BotConfig>,
}

/// `[redis]`: replicas share the L2 source cache, the response cache, the
/// vendor budgets and one upstream call per cold key through Redis/Valkey
/// (`crate::fleet`). Parsed into [`crate::fleet::FleetSettings`].
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct RedisConfig {
    /// `redis://[user:password@]host[:port][/db]` or `rediss://…` (TLS).
    /// A secret: it may carry the password.
    #[serde(serialize_with = "redact_url")]
    pub url: SecretString,
    #[serde(default = "default_key_prefix")]
    pub key_prefix: String,
    /// Multiplexed connections per replica, used in turn.
    #[serde(default = "default_pool_size")]
    pub pool_size: usize,
    /// Longest wait for a connection to Redis.
    #[serde(default = "default_connect_timeout", with = "humantime_serde")]
    pub connect_timeout: Duration,
    /// Longest wait for one Redis command; past it the replica falls back.
    #[serde(default = "default_command_timeout", with = "humantime_serde")]
    pub command_timeout: Duration,
    /// Lifetime of a cold key's lock; the owner renews it while it fetches,
    /// so a crashed owner blocks the others at most this long.
    #[serde(default = "default_lock_timeout", with = "humantime_serde")]
    pub lock_timeout: Duration,
    /// Replicas sharing the vendor budgets: while Redis is unreachable each
    /// replica takes `budget / expected_replicas` of every budget.
    #[serde(default = "default_expected_replicas")]
    pub expected_replicas: u32,
    /// How often an unreachable Redis is tried again.
    #[serde(default = "default_health_interval", with = "humantime_serde")]
    pub health_interval: Duration,
}

/// A Redis URL may carry a password: only where it points is written.
fn redact_url<S: serde::Serializer>(url: &SecretString, s: S) -> Result<S::Ok, S::Error> {
    let at = url::Url::parse(url.expose_secret())
        .map(|u| {
            format!(
                "{}://[redacted]@{}:{}",
                u.scheme(),
                u.host_str().unwrap_or("?"),
                u.port().unwrap_or(6379)
            )
        })
        .unwrap_or_else(|_| "[redacted]".into());
    s.serialize_str(&at)
}

fn default_key_prefix() -> String {
    "botscope:".into()
}
fn default_pool_size() -> usize {
    2
}
fn default_connect_timeout() -> Duration {
    Duration::from_secs(1)
}
fn default_command_timeout() -> Duration {
    Duration::from_millis(250)
}
fn default_lock_timeout() -> Duration {
    Duration::from_secs(10)
}
fn default_expected_replicas() -> u32 {
    1
}
fn default_health_interval() -> Duration {
    Duration::from_secs(1)
}

/// `[resilience]`: the per-bot circuit breaker (`layers::breaker`).
#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ResilienceConfig {
    /// Consecutive retryable upstream failures that open a bot's breaker;
    /// 0 turns the breaker off.
    pub breaker_failures: u32,
    /// How long an open breaker fails fast before it probes (`"30s"`).
    #[serde(with = "humantime_serde")]
    pub breaker_cool_down: Duration,
}

impl Default for ResilienceConfig {
    fn default() -> Self {
        ResilienceConfig {
            breaker_failures: 5,
            breaker_cool_down: Duration::from_secs(30),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum AuthMode {
    #[default]
    None,
    Jwt,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    #[serde(default)]
    pub mode: AuthMode,
    #[serde(
        default,
        serialize_with = "crate::error::redacted",
        skip_serializing_if = "Option::is_none"
    )]
    pub hs256_secret: Option<SecretString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwks_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
    /// How often a `jwks_url` is fetched again (at least 10 s).
    #[serde(default = "default_jwks_refresh", with = "humantime_serde")]
    pub jwks_refresh: Duration,
}

fn default_jwks_refresh() -> Duration {
    Duration::from_secs(300)
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            mode: AuthMode::None,
            hs256_secret: None,
            jwks_file: None,
            jwks_url: None,
            issuer: None,
            audience: None,
            jwks_refresh: default_jwks_refresh(),
        }
    }
}

/// A size as it is written in a config: whole MiB or KiB when it is one,
/// else bytes (bytesize's own text rounds, and would not read back the same).
fn size_text<S: serde::Serializer>(b: &ByteSize, s: S) -> Result<S::Ok, S::Error> {
    let n = b.as_u64();
    let text = match n {
        0 => "0".to_owned(),
        n if n % (1 << 20) == 0 => format!("{}MiB", n >> 20),
        n if n % (1 << 10) == 0 => format!("{}KiB", n >> 10),
        n => n.to_string(),
    };
    s.serialize_str(&text)
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct CacheConfig {
    /// The source cache's size, shared by every bot.
    #[serde(serialize_with = "size_text")]
    pub max_bytes: ByteSize,
    /// Lifetime of an answer about a range that ended `settle_lag` ago or earlier.
    #[serde(with = "humantime_serde")]
    pub settled_ttl: Duration,
    /// Lifetime of an answer about a more recent range (it may still change).
    #[serde(with = "humantime_serde")]
    pub recent_ttl: Duration,
    #[serde(with = "humantime_serde")]
    pub settle_lag: Duration,
    /// Serve whole GraphQL responses from memory (see `server::response_cache`).
    pub response_cache: bool,
    #[serde(serialize_with = "size_text")]
    pub response_max_bytes: ByteSize,
}

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            max_bytes: ByteSize::mib(256),
            settled_ttl: Duration::from_secs(24 * 3600),
            recent_ttl: Duration::from_secs(60),
            settle_lag: Duration::from_secs(2 * 3600),
            response_cache: true,
            response_max_bytes: ByteSize::mib(64),
        }
    }
}

impl CacheConfig {
    /// The lifetimes of cached answers, for the source cache, the response
    /// cache and vendors that cache on their own.
    pub fn policy(&self) -> crate::layers::CachePolicy {
        crate::layers::CachePolicy {
            settled_ttl: self.settled_ttl,
            recent_ttl: self.recent_ttl,
            settle_lag: self.settle_lag,
        }
    }
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub max_page_size: usize,
    pub max_range_days: u32,
    pub max_bots_per_query: usize,
    pub max_depth: usize,
    pub max_complexity: usize,
    /// Fields (aliases included) at the top of one operation.
    pub max_root_fields: usize,
    /// Deadline of one GraphQL request (100 ms to 1 h).
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
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
            request_timeout: Duration::from_secs(30),
            requests_per_minute_per_client: 600,
        }
    }
}

#[derive(Debug, Deserialize, Serialize, Clone)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Origins allowed by CORS; `["*"]` allows any; empty disables CORS headers.
    pub cors_origins: Vec<String>,
    /// Largest accepted request body.
    #[serde(serialize_with = "size_text")]
    pub max_body_bytes: ByteSize,
    /// Serve the GraphiQL playground on `GET /graphql` for browsers.
    pub graphiql: bool,
    /// Answer introspection queries (`__schema`, `__type`).
    pub introspection: bool,
    /// Log lines as human-readable `text` or one JSON object per line (`json`).
    pub log_format: LogFormat,
}

/// How `botscope serve` writes its logs.
#[derive(Debug, Deserialize, Serialize, Default, Clone, Copy, PartialEq, Eq)]
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
            max_body_bytes: ByteSize::kib(256),
            graphiql: true,
            introspection: true,
            log_format: LogFormat::Text,
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

impl Config {
    /// Loads a config file with env overrides and `${VAR}` expansion, then
    /// validates it, at least one bot included (what `serve` and
    /// `check-config` read).
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
        let config = Self::from_figment(figment, &|k| std::env::var(k).ok())?;
        if config.bots.is_empty() {
            return Err(err("bots", "configure at least one [[bots]] entry"));
        }
        Ok(config)
    }

    /// Parses TOML text (no env overrides, bots optional); for tests and the
    /// demo, which passes its own sources or bots.
    pub fn from_toml_str(
        toml: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        Self::from_figment(Figment::new().merge(Toml::string(toml)), env)
    }

    /// The demo's config: TOML text overridden by `BOTSCOPE__…` variables,
    /// like a file given to `serve`.
    pub fn from_toml_str_with_env(toml: &str) -> Result<Config, ConfigError> {
        let figment = Figment::new()
            .merge(Toml::string(toml))
            .merge(Env::prefixed("BOTSCOPE__").split("__"));
        Self::from_figment(figment, &|k| std::env::var(k).ok())
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
        let bots = match tree.as_object_mut().and_then(|m| m.remove("bots")) {
            None => Vec::new(),
            Some(serde_json::Value::Array(entries)) => entries,
            Some(_) => return Err(err("bots", "write bots as [[bots]] tables")),
        };
        let mut config: Config =
            serde_path_to_error::deserialize(tree).map_err(|e| keyed("", e))?;
        config.bots = bots
            .into_iter()
            .enumerate()
            .map(|(i, entry)| BotConfig::parse(i, entry))
            .collect::<Result<_, _>>()?;
        config.validate()?;
        Ok(config)
    }

    /// `[redis]`, checked; `None` without the section.
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
        for (key, d) in [
            ("redis.connect_timeout", r.connect_timeout),
            ("redis.command_timeout", r.command_timeout),
            ("redis.lock_timeout", r.lock_timeout),
            ("redis.health_interval", r.health_interval),
        ] {
            ConfigError::check_positive(key, d)?;
        }
        Ok(Some(crate::fleet::FleetSettings {
            url: r.url.clone(),
            key_prefix: p.clone(),
            pool_size: r.pool_size,
            connect_timeout: r.connect_timeout,
            command_timeout: r.command_timeout,
            lock_timeout: r.lock_timeout,
            expected_replicas: r.expected_replicas,
            health_interval: r.health_interval,
        }))
    }

    /// The per-bot circuit breaker from `[resilience]`; `None` when
    /// `breaker_failures = 0` turns it off.
    pub fn breaker_policy(&self) -> Result<Option<crate::layers::BreakerPolicy>, ConfigError> {
        let r = &self.resilience;
        ConfigError::check_positive("resilience.breaker_cool_down", r.breaker_cool_down)?;
        Ok(
            (r.breaker_failures > 0).then_some(crate::layers::BreakerPolicy {
                failure_threshold: r.breaker_failures,
                cool_down: r.breaker_cool_down,
            }),
        )
    }

    /// Checks every rule a typed field cannot express; the first problem wins.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.cursor_secret.expose_secret().len() < 16 {
            return Err(err(
                "cursor_secret",
                "must be at least 16 bytes (e.g. `openssl rand -hex 32`); replicas must share it",
            ));
        }
        if self.auth.mode == AuthMode::Jwt {
            let a = &self.auth;
            let given = [
                a.hs256_secret.is_some(),
                a.jwks_file.is_some(),
                a.jwks_url.is_some(),
            ];
            if given.iter().filter(|s| **s).count() != 1 {
                return Err(err(
                    "auth",
                    "mode = \"jwt\" needs exactly one of hs256_secret, jwks_file, jwks_url",
                ));
            }
            if let Some(s) = &a.hs256_secret
                && s.expose_secret().len() < 32
            {
                return Err(err("auth.hs256_secret", "must be at least 32 bytes"));
            }
            if let Some(u) = &a.jwks_url {
                ConfigError::check_url("auth.jwks_url", u)?;
            }
            if let Some(f) = &a.jwks_file
                && f.trim().is_empty()
            {
                return Err(err("auth.jwks_file", "must name a JWKS file"));
            }
            if a.jwks_refresh < Duration::from_secs(10) {
                return Err(err("auth.jwks_refresh", "must be at least 10s"));
            }
        }
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
        if !(Duration::from_millis(100)..=Duration::from_secs(3600)).contains(&l.request_timeout) {
            return Err(err(
                "limits.request_timeout",
                "must be between 100ms and 1h",
            ));
        }
        let mut seen = HashSet::new();
        for (i, bot) in self.bots.iter().enumerate() {
            let key = |field: &str| format!("bots[{i}].{field}");
            let id = &bot.id;
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
            if bot.name.trim().is_empty() {
                return Err(err(key("name"), "must not be empty"));
            }
            bot.vendor.validate(&key)?;
        }
        Ok(())
    }

    /// The config as TOML with every default filled in and every secret
    /// redacted (`check-config`, `demo --print-config`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string(self).unwrap_or_else(|e| format!("# cannot print the config: {e}\n"))
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
        let d = c.to_redacted_toml();
        assert!(!d.contains("kore-secret-value"), "{d}");
        assert!(!d.contains("0123456789abcdef0123"), "{d}");
        assert!(!format!("{c:?}").contains("kore-secret-value"));
        assert!(d.contains("client_secret = \"[redacted]\""), "{d}");
        // The printed config loads again (secrets given back) and says the same.
        let again = Config::from_toml_str(
            &d.replace("\"[redacted]\"", "\"the-secret-comes-back-01\""),
            &env,
        )
        .unwrap();
        assert_eq!(again.to_redacted_toml(), d);
        assert_eq!(again.cache.max_bytes, ByteSize::mib(256), "{d}");
        assert_eq!(again.server.max_body_bytes, ByteSize::kib(256), "{d}");
        assert_eq!(again.auth.jwks_refresh, Duration::from_secs(300), "{d}");
        assert!(
            d.contains("requests_per_second = 5"),
            "defaults are printed: {d}"
        );
    }

    fn error_of(toml: &str) -> ConfigError {
        Config::from_toml_str(toml, &env).unwrap_err()
    }

    #[test]
    fn errors_name_the_key() {
        // A field added to the Lex bot (bots[0]) or the Kore bot (bots[1]).
        let lex_field = |extra: &str| {
            let region = "region = \"us-east-1\"";
            GOOD.replace(region, &format!("{region}\n{extra}"))
        };
        let kore_field = |extra: &str| {
            let client = "client_id = \"cs-1\"";
            GOOD.replace(client, &format!("{client}\n{extra}"))
        };
        for (toml, key) in [
            (GOOD.replace("${KORE}", "${NOPE}"), "bots[1].client_secret"),
            (format!("bogus = 1\n{GOOD}"), "bogus"),
            (lex_field("timeout = \"soon\""), "bots[0].timeout"),
            (
                kore_field("agent_end_state = \"LOST\""),
                "bots[1].agent_end_state",
            ),
            (GOOD.replace("name = \"Sales\"\n", ""), "bots[1].name"),
            (GOOD.replace("ABCDEFGHIJ", "short"), "bots[0].bot_id"),
            (
                GOOD.replace("id = \"sales-kore\"", "id = \"support-lex\""),
                "bots[1].id",
            ),
            (GOOD.replace("${CURSOR}", "short"), "cursor_secret"),
            (
                format!("{GOOD}\n[cache]\nmax_bytes = \"lots\"\n"),
                "cache.max_bytes",
            ),
            (
                format!("{GOOD}\n[limits]\nmax_page_size = 0\n"),
                "limits.max_page_size",
            ),
            (format!("{GOOD}\n[auth]\nmode = \"jwt\"\n"), "auth"),
            (GOOD.replace("lex_v2", "dialogflow"), "bots[0].vendor"),
        ] {
            assert_eq!(error_of(&toml).key, key, "{toml}");
        }
        // Inside a bot entry, the key names the field.
        let e = error_of(&lex_field("regoin = \"x\""));
        assert_eq!(e.key, "bots[0].regoin");
        assert!(e.message.contains("unknown field"), "{}", e.message);
        let lower =
            Config::from_toml_str(&kore_field("agent_end_state = \" dropped \""), &env).unwrap();
        match &lower.bots[1].vendor {
            VendorBot::Kore(k) => assert_eq!(
                k.agent_end_state,
                crate::domain::ConversationEndState::Dropped
            ),
            other => panic!("{other:?}"),
        }
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
        let d = ok.to_redacted_toml();
        assert!(d.contains("rediss://[redacted]@redis.internal:6380"), "{d}");
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
            ("key_prefix = \"x:\"", "redis.url"),
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
        assert_eq!(c.limits.request_timeout, Duration::from_secs(30));
        assert_eq!(c.limits.requests_per_minute_per_client, 600);
        assert!(c.server.introspection);
        assert_eq!(c.server.log_format, LogFormat::Text);
        assert_eq!(c.auth.jwks_refresh, Duration::from_secs(300));
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
