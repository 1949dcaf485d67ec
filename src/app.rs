//! Putting the parts together: sources → engine → schema → router → listener.
//! `Application::build` binds first, so tests can use port 0 and ask `addr()`.

use std::net::SocketAddr;
use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;

use crate::config::{AuthMode, Config, ConfigError};
use crate::engine::{CursorKey, Engine, Limits};
use crate::fleet::Fleet;
use crate::graphql::{SchemaLimits, build_schema};
use crate::layers::{BreakerPolicy, CachePolicy, SourceCache};
use crate::server::auth::{Authenticator, JwksStart};
use crate::server::response_cache::ResponseCache;
use crate::server::{AppState, HttpSettings, Readiness, router, serve};
use crate::sources::AnalyticsSource;

/// The two caches' sizes and the lifetimes of what they hold.
#[derive(Debug, Clone)]
pub struct CacheSettings {
    pub max_bytes: u64,
    /// `None` when the response cache is off.
    pub response_max_bytes: Option<u64>,
    pub policy: CachePolicy,
}

/// Everything the application needs besides its sources, made from a
/// [`Config`] by [`Settings::from_config`] and nowhere else.
#[derive(Clone)]
pub struct Settings {
    pub listen: SocketAddr,
    pub limits: Limits,
    pub schema_limits: SchemaLimits,
    pub http: HttpSettings,
    pub cursor_secret: Vec<u8>,
    pub auth: Option<Authenticator>,
    pub graphiql: bool,
    /// Source and response caches; `None` turns both off.
    pub cache: Option<CacheSettings>,
    /// The per-bot circuit breaker; `None` turns it off.
    pub breaker: Option<BreakerPolicy>,
    /// `[redis]`: what the replicas share (L2 caches, budgets, cold-key
    /// locks); `None` = one process, everything in memory.
    pub fleet: Option<Fleet>,
}

impl Settings {
    /// Settings from a validated config. Async because a `jwks_url` is
    /// fetched and Redis is connected now: a gateway that cannot verify
    /// tokens does not start.
    pub async fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let a = &config.auth;
        let (iss, aud) = (a.issuer.as_deref(), a.audience.as_deref());
        let auth = match a.mode {
            AuthMode::None => None,
            AuthMode::Jwt => Some(match (&a.hs256_secret, &a.jwks_file, &a.jwks_url) {
                (Some(secret), _, _) => Ok(Authenticator::hs256(
                    secret.expose_secret().as_bytes(),
                    iss,
                    aud,
                )),
                (None, Some(file), _) => std::fs::read_to_string(file)
                    .map_err(|e| format!("cannot read {file}: {e}"))
                    .and_then(|json| Authenticator::jwks(&json, iss, aud))
                    .map_err(|message| ConfigError::new("auth.jwks_file", message)),
                (None, None, Some(url)) => {
                    Authenticator::jwks_url(url, a.jwks_refresh, iss, aud, JwksStart::Fetched)
                        .await
                        .map_err(|message| ConfigError::new("auth.jwks_url", message))
                }
                (None, None, None) => Err(ConfigError::new(
                    "auth",
                    "mode = \"jwt\" needs one of hs256_secret, jwks_file, jwks_url",
                )),
            }?),
        };
        let l = &config.limits;
        let c = &config.cache;
        Ok(Settings {
            listen: config.listen,
            limits: Limits {
                max_page_size: l.max_page_size,
                max_range_days: l.max_range_days,
                max_bots_per_query: l.max_bots_per_query,
                ..Limits::default()
            },
            schema_limits: SchemaLimits {
                max_depth: l.max_depth,
                max_complexity: l.max_complexity,
                max_root_fields: l.max_root_fields,
                introspection: config.server.introspection,
            },
            http: HttpSettings {
                max_body_bytes: usize::try_from(config.server.max_body_bytes.as_u64())
                    .unwrap_or(usize::MAX),
                cors_origins: config.server.cors_origins.clone(),
                request_timeout: l.request_timeout,
                requests_per_minute_per_client: l.requests_per_minute_per_client,
            },
            cursor_secret: config.cursor_secret.expose_secret().as_bytes().to_vec(),
            auth,
            graphiql: config.server.graphiql,
            cache: Some(CacheSettings {
                max_bytes: c.max_bytes.as_u64(),
                response_max_bytes: c.response_cache.then(|| c.response_max_bytes.as_u64()),
                policy: c.policy(),
            }),
            breaker: config.breaker_policy()?,
            fleet: match config.fleet_settings()? {
                Some(s) => Some(
                    Fleet::connect(s)
                        .await
                        .map_err(|message| ConfigError::new("redis", message))?,
                ),
                None => None,
            },
        })
    }
}

/// One source per `[[bots]]` entry, each built by its vendor
/// (`sources/<vendor>/config.rs`), sharing the fleet and `[cache]`'s lifetimes.
pub async fn build_sources(
    config: &Config,
    settings: &Settings,
) -> Result<Vec<Arc<dyn AnalyticsSource>>, ConfigError> {
    let policy = settings.cache.as_ref().map(|c| &c.policy);
    let mut sources = Vec::with_capacity(config.bots.len());
    for (i, bot) in config.bots.iter().enumerate() {
        sources.push(bot.build(i, settings.fleet.as_ref(), policy).await?);
    }
    Ok(sources)
}

/// A bound, ready-to-serve gateway.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    addr: SocketAddr,
    engine: Arc<Engine>,
}

impl Application {
    /// `serve` and `demo`: the one way from a config to a bound gateway.
    pub async fn from_config(config: &Config) -> Result<Self, ConfigError> {
        let settings = Settings::from_config(config).await?;
        let sources = build_sources(config, &settings).await?;
        Application::build(sources, settings).await.map_err(|e| {
            ConfigError::new("listen", format!("cannot listen on {}: {e}", config.listen))
        })
    }

    /// Binds a gateway over `sources` (tests and benchmarks bring their own,
    /// with settings from a config).
    pub async fn build(
        sources: Vec<Arc<dyn AnalyticsSource>>,
        settings: Settings,
    ) -> std::io::Result<Self> {
        let policy = settings.cache.as_ref().map(|c| c.policy.clone());
        let source_cache = settings
            .cache
            .as_ref()
            .zip(policy.clone())
            .map(|(c, p)| SourceCache::new(c.max_bytes, p).with_l2(settings.fleet.clone()));
        let sources = sources
            .into_iter()
            .map(|s| crate::layers::stack(s, source_cache.as_ref(), settings.breaker))
            .collect();
        let mut limits = settings.limits.clone();
        // Each bot gets 80 % of the request deadline; the rest is left for
        // merging and answering, so a bot past its time becomes that bot's
        // error instead of a deadline error for the whole request.
        limits.bot_deadline = limits
            .bot_deadline
            .or(Some(settings.http.request_timeout.mul_f64(0.8)));
        let engine = Arc::new(Engine::new(
            sources,
            limits,
            CursorKey::new(&settings.cursor_secret),
        ));
        let readiness = Readiness::default();
        readiness.mark_sources_built();
        let schema = build_schema(engine.clone(), &settings.schema_limits, policy);
        let state = AppState {
            schema,
            auth: settings.auth.clone(),
            graphiql: settings.graphiql,
            response_cache: settings
                .cache
                .as_ref()
                .and_then(|c| c.response_max_bytes)
                .map(|bytes| ResponseCache::new(bytes).with_l2(settings.fleet.clone())),
            fleet: settings.fleet.clone(),
            readiness: readiness.clone(),
            rate_limiter: crate::server::rate_limit::ClientRateLimiter::per_minute(
                settings.http.requests_per_minute_per_client,
            ),
            request_timeout: settings.http.request_timeout,
        };
        crate::metrics::handle();
        let router = router(state, &settings.http);
        let listener = TcpListener::bind(settings.listen).await?;
        let addr = crate::server::local_addr(&listener);
        Ok(Application {
            listener,
            router,
            addr,
            engine,
        })
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    /// Serves until SIGTERM / Ctrl-C.
    pub async fn run(self) -> std::io::Result<()> {
        serve(self.listener, self.router).await
    }

    /// Serves in a background task (tests); returns the address.
    pub fn spawn(self) -> SocketAddr {
        let addr = self.addr;
        tokio::spawn(async move {
            let service = self
                .router
                .into_make_service_with_connect_info::<SocketAddr>();
            let _ = axum::serve(self.listener, service).await;
        });
        addr
    }
}
