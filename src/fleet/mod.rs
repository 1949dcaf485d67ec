//! `Fleet`: what the replicas of one deployment share through Redis/Valkey
//! (`[redis]`, DESIGN §11). Without `[redis]` nothing here runs and each
//! process keeps everything in memory, as before.
//!
//! What goes through Redis, and where it is used:
//! - **L2 caches** ([`cache`]): under each replica's moka L1, the source cache
//!   (`layers::cache`), Kore's window cache (`sources::kore`) and the response
//!   cache (`server::response_cache`) read and write the same keys with the
//!   same TTL rules, so an answer one replica fetched is a hit for every other.
//! - **One upstream call per cold key** ([`cache::FleetCache::get_or_fetch`]):
//!   a short lock per key (`SET NX PX` with an owner token, renewed while the
//!   owner fetches); the replicas that lose the race wait for the owner's entry.
//! - **Vendor budgets** ([`budget::FleetBudget`]): Kore's two rolling windows
//!   per bot and Lex's per-bot rate, checked and taken in one Lua script.
//!
//! **Redis down or slow never fails a query.** Every command is bounded by
//! `command_timeout`; a connection error or a timeout marks Redis down (logged
//! once, `botscope_redis_up` = 0), and until a health check every
//! `health_interval` succeeds, the replica skips Redis entirely: it answers
//! from its L1 and the vendors, with `budget / expected_replicas` of each
//! vendor budget, and `/readyz` says "degraded" (still 200). The connection
//! manager of the `redis` crate reconnects by itself; nothing here speaks the
//! protocol by hand.

pub mod budget;
pub mod cache;
pub mod codec;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use secrecy::{ExposeSecret, SecretString};

pub use budget::FleetBudget;
pub use cache::FleetCache;

/// `[redis]`, parsed (`Config::fleet_settings`).
#[derive(Debug, Clone)]
pub struct FleetSettings {
    pub url: SecretString,
    pub key_prefix: String,
    pub pool_size: usize,
    pub connect_timeout: Duration,
    pub command_timeout: Duration,
    pub lock_timeout: Duration,
    pub expected_replicas: u32,
    pub health_interval: Duration,
}

impl FleetSettings {
    /// Defaults for everything but the URL (tests, benchmarks).
    pub fn new(url: impl Into<String>) -> Self {
        FleetSettings {
            url: SecretString::from(url.into()),
            key_prefix: "botscope:".into(),
            pool_size: 2,
            connect_timeout: Duration::from_secs(1),
            command_timeout: Duration::from_millis(250),
            lock_timeout: Duration::from_secs(10),
            expected_replicas: 1,
            health_interval: Duration::from_secs(1),
        }
    }
}

/// Why a Redis command gave no answer; every caller falls back on any of them.
#[derive(Debug)]
pub enum FleetError {
    /// Redis was marked down; the command was not sent.
    Down,
    Timeout,
    Redis(redis::RedisError),
}

/// The shared handle of one replica: connections, health, key names.
#[derive(Clone)]
pub struct Fleet(Arc<Inner>);

struct Inner {
    conns: Vec<ConnectionManager>,
    next: AtomicUsize,
    settings: FleetSettings,
    up: AtomicBool,
}

impl std::fmt::Debug for Fleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fleet")
            .field("key_prefix", &self.0.settings.key_prefix)
            .field("up", &self.is_up())
            .finish_non_exhaustive()
    }
}

impl Fleet {
    /// Opens the connections (lazily: a Redis that is down at startup does not
    /// stop the replica, it starts degraded) and starts the health check.
    /// Fails only on a URL the client refuses (config validation checks it).
    pub async fn connect(settings: FleetSettings) -> Result<Fleet, String> {
        let url = settings.url.expose_secret();
        if url.starts_with("rediss:") && rustls::crypto::CryptoProvider::get_default().is_none() {
            // The tree enables two rustls providers, so rustls cannot pick one
            // itself; any replica-wide default is fine for the Redis client.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client =
            redis::Client::open(url).map_err(|e| format!("redis.url: {}", e.category()))?;
        // Few, quick reconnection attempts: a request during an outage should
        // fail fast and fall back; the health check retries every interval.
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.connect_timeout))
            .set_response_timeout(Some(settings.command_timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(200));
        let conns = (0..settings.pool_size.max(1))
            .map(|_| ConnectionManager::new_lazy_with_config(client.clone(), config.clone()))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("redis: {}", e.category()))?;
        let fleet = Fleet(Arc::new(Inner {
            conns,
            next: AtomicUsize::new(0),
            settings,
            up: AtomicBool::new(false),
        }));
        metrics::gauge!("botscope_redis_up").set(0.0);
        if fleet.ping(fleet.0.settings.connect_timeout).await {
            fleet.mark_up();
        } else {
            tracing::warn!(
                "Redis is unreachable at startup: serving from local caches with 1/{} of each \
                 vendor budget until it answers",
                fleet.0.settings.expected_replicas
            );
        }
        fleet.spawn_health_check();
        Ok(fleet)
    }

    pub fn is_up(&self) -> bool {
        self.0.up.load(Ordering::Relaxed)
    }

    pub fn settings(&self) -> &FleetSettings {
        &self.0.settings
    }

    /// A key under `key_prefix`: `{prefix}{part}:{part}…`.
    pub fn key(&self, parts: &[&str]) -> String {
        let mut k = self.0.settings.key_prefix.clone();
        k.push_str(&parts.join(":"));
        k
    }

    /// `/readyz`'s words for the shared state.
    pub fn readiness(&self) -> String {
        if self.is_up() {
            "ready (redis: up)".into()
        } else {
            format!(
                "ready (degraded: redis unreachable; answering from local caches with 1/{} of \
                 each vendor budget)",
                self.0.settings.expected_replicas
            )
        }
    }

    /// Counts one fallback to local state because Redis gave no answer.
    pub fn fell_back(&self, what: &'static str) {
        metrics::counter!("botscope_redis_fallbacks_total", "what" => what).increment(1);
    }

    /// Runs one command (or pipeline, or script) on the next connection,
    /// bounded by `command_timeout`; skipped while Redis is marked down.
    pub async fn run<T, F, Fut>(&self, op: F) -> Result<T, FleetError>
    where
        F: FnOnce(ConnectionManager) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        if !self.is_up() {
            return Err(FleetError::Down);
        }
        let i = self.0.next.fetch_add(1, Ordering::Relaxed) % self.0.conns.len();
        let conn = self.0.conns[i].clone();
        match tokio::time::timeout(self.0.settings.command_timeout, op(conn)).await {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => {
                metrics::counter!("botscope_redis_errors_total").increment(1);
                if e.is_io_error()
                    || e.is_timeout()
                    || e.is_connection_dropped()
                    || e.is_connection_refusal()
                {
                    self.mark_down(e.category());
                } else {
                    tracing::debug!(error = %e, "Redis command failed");
                }
                Err(FleetError::Redis(e))
            }
            Err(_) => {
                metrics::counter!("botscope_redis_errors_total").increment(1);
                self.mark_down("command timeout");
                Err(FleetError::Timeout)
            }
        }
    }

    fn mark_down(&self, why: &str) {
        if self.0.up.swap(false, Ordering::Relaxed) {
            metrics::gauge!("botscope_redis_up").set(0.0);
            tracing::warn!(
                reason = why,
                "Redis unreachable: answering from local caches with 1/{} of each vendor budget \
                 until it is back",
                self.0.settings.expected_replicas
            );
        }
    }

    fn mark_up(&self) {
        if !self.0.up.swap(true, Ordering::Relaxed) {
            metrics::gauge!("botscope_redis_up").set(1.0);
            tracing::info!("Redis reachable: sharing caches and budgets with the other replicas");
        }
    }

    /// PING on every connection, each within `timeout`.
    async fn ping(&self, timeout: Duration) -> bool {
        for conn in &self.0.conns {
            let mut c = conn.clone();
            let pong =
                tokio::time::timeout(timeout, redis::cmd("PING").query_async::<String>(&mut c))
                    .await;
            if !matches!(pong, Ok(Ok(_))) {
                return false;
            }
        }
        true
    }

    /// While Redis is marked down, tries it every `health_interval`; stops
    /// when the last handle is dropped.
    fn spawn_health_check(&self) {
        let weak = Arc::downgrade(&self.0);
        let every = self.0.settings.health_interval;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let fleet = Fleet(inner);
                if !fleet.is_up() && fleet.ping(fleet.0.settings.connect_timeout).await {
                    fleet.mark_up();
                }
            }
        });
    }
}
