//! `FleetCache`: the L2 under a replica's moka L1, with one upstream call per
//! cold key across the fleet.
//!
//! [`FleetCache::get_or_fetch`] is what an L1 miss runs (moka already makes
//! concurrent misses of one key in one replica share it):
//!
//! 1. `GET` the key (with `PTTL`): a hit is decoded and served with the TTL it
//!    has left, so an entry never outlives the lifetime its writer gave it.
//! 2. On a miss, `SET lock NX PX lock_timeout` with a random owner token.
//!    - The **owner** fetches from the vendor, renewing its lock every third of
//!      `lock_timeout` (a long Kore query waiting for budget keeps it), writes
//!      the entry with its TTL (`SET PX`), then deletes the lock if it still
//!      holds it (a compare-and-delete script). Errors are never written.
//!    - The **others** poll for the entry (2 ms doubling to 50 ms). When the
//!      lock disappears without an entry (the owner failed, or crashed and its
//!      lock expired after at most `lock_timeout`), they race for it again.
//! 3. Any Redis failure on the way: fetch from the vendor as a single process
//!    would (counted in `botscope_redis_fallbacks_total`). Redis never fails a
//!    query and never waits past `command_timeout` per command.
//!
//! Keys: `{prefix}{FORMAT}:{cache}:{name}`, the name chosen by the caller
//! (bot, operation and a SHA-256 of the canonical request), so keys stay short
//! whatever the request. Every entry has a TTL, so Redis memory stays bounded
//! by the working set of one TTL; operators also set `maxmemory` with an
//! eviction policy (README "Several replicas").

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use redis::AsyncCommands;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::codec::{self, FORMAT};
use super::{Fleet, FleetError};
use crate::error::Result;

const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0";

const RENEW: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0";

static RELEASE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE));
static RENEW_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RENEW));

/// One named cache in Redis (`source`, `kore_window`, `response`).
#[derive(Clone, Debug)]
pub struct FleetCache {
    fleet: Fleet,
    cache: &'static str,
}

/// What Redis says of a key before anyone fetches it.
enum Shared<T> {
    /// The entry, with the TTL it has left.
    Found(T, Duration),
    /// No entry: this replica holds the key's lock and fetches.
    Owner { lock: String, token: String },
}

enum Waited<T> {
    Filled(T, Duration),
    LockGone,
}

impl FleetCache {
    pub fn new(fleet: Fleet, cache: &'static str) -> Self {
        FleetCache { fleet, cache }
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    fn key(&self, name: &str) -> String {
        self.fleet.key(&[FORMAT, self.cache, name])
    }

    /// Counts one lookup (`hit`, `miss`, `error`, `undecodable`).
    pub fn count(&self, outcome: &'static str) {
        metrics::counter!("botscope_l2_cache_requests_total", "cache" => self.cache, "outcome" => outcome)
            .increment(1);
    }

    /// The raw bytes under `name` and their remaining TTL.
    pub async fn get_raw(
        &self,
        name: &str,
    ) -> std::result::Result<Option<(Vec<u8>, Duration)>, FleetError> {
        let key = self.key(name);
        self.get_key(&key).await
    }

    async fn get_key(
        &self,
        key: &str,
    ) -> std::result::Result<Option<(Vec<u8>, Duration)>, FleetError> {
        let (value, pttl): (Option<Vec<u8>>, i64) = self
            .fleet
            .run(|mut c| async move { redis::pipe().get(key).pttl(key).query_async(&mut c).await })
            .await?;
        Ok(value.map(|v| (v, Duration::from_millis(pttl.max(1) as u64))))
    }

    /// The decoded value under `name`, if Redis has it and answers.
    pub async fn get<T: DeserializeOwned>(&self, name: &str) -> Option<(T, Duration)> {
        let (bytes, left) = self.get_raw(name).await.ok()??;
        let v = codec::decode(&bytes)?;
        self.count("hit");
        Some((v, left))
    }

    /// Stores raw bytes under `name` for `ttl`.
    pub async fn put_raw(
        &self,
        name: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> std::result::Result<(), FleetError> {
        let key = self.key(name);
        self.put_key(&key, value, ttl).await
    }

    async fn put_key(
        &self,
        key: &str,
        value: Vec<u8>,
        ttl: Duration,
    ) -> std::result::Result<(), FleetError> {
        let ms = ttl.as_millis().clamp(1, u64::MAX as u128) as u64;
        self.fleet
            .run(|mut c| async move { c.pset_ex::<_, _, ()>(key, value, ms).await })
            .await
    }

    /// The value under `name`, from Redis or from `fetch` (see the module docs);
    /// with the TTL it has left (`ttl` when fetched now).
    pub async fn get_or_fetch<T, F>(
        &self,
        name: &str,
        ttl: Duration,
        fetch: F,
    ) -> Result<(T, Duration)>
    where
        T: Serialize + DeserializeOwned,
        F: Future<Output = Result<T>>,
    {
        let key = self.key(name);
        match self.find_or_lock(&key).await {
            Ok(Shared::Found(v, left)) => Ok((v, left.min(ttl))),
            Ok(Shared::Owner { lock, token }) => {
                let v = self.fetch_as_owner(&key, &lock, &token, ttl, fetch).await?;
                Ok((v, ttl))
            }
            Err(_) => {
                self.fleet.fell_back(self.cache);
                Ok((fetch.await?, ttl))
            }
        }
    }

    /// Steps 1 and 2 up to the fetch: the entry, from Redis or from the
    /// owner this replica waited for, or the key's lock to fetch it under.
    async fn find_or_lock<T: DeserializeOwned>(
        &self,
        key: &str,
    ) -> std::result::Result<Shared<T>, FleetError> {
        match self.get_key(key).await {
            Ok(Some((bytes, left))) => {
                if let Some(v) = codec::decode(&bytes) {
                    self.count("hit");
                    return Ok(Shared::Found(v, left));
                }
                self.count("undecodable");
            }
            Ok(None) => self.count("miss"),
            Err(e) => {
                self.count("error");
                return Err(e);
            }
        }
        let lock = format!("{key}:lock");
        let token = uuid::Uuid::new_v4().to_string();
        let lock_ms = self.fleet.settings().lock_timeout.as_millis().max(1) as u64;
        loop {
            let taken: Option<String> = self
                .fleet
                .run(|mut c| {
                    let (lock, token) = (&lock, &token);
                    async move {
                        redis::cmd("SET")
                            .arg(lock)
                            .arg(token)
                            .arg("NX")
                            .arg("PX")
                            .arg(lock_ms)
                            .query_async(&mut c)
                            .await
                    }
                })
                .await?;
            if taken.is_some() {
                // Another owner may have written the entry between our GET and our lock.
                if let Ok(Some((bytes, left))) = self.get_key(key).await
                    && let Some(v) = codec::decode(&bytes)
                {
                    self.release(&lock, &token).await;
                    self.count("hit");
                    return Ok(Shared::Found(v, left));
                }
                return Ok(Shared::Owner { lock, token });
            }
            match self.wait_for(key, &lock).await? {
                Waited::Filled(v, left) => return Ok(Shared::Found(v, left)),
                Waited::LockGone => continue,
            }
        }
    }

    /// Fetches while holding the key's lock (renewed meanwhile), writes the
    /// answer for `ttl` unless it is an error, then lets the lock go.
    async fn fetch_as_owner<T: Serialize>(
        &self,
        key: &str,
        lock: &str,
        token: &str,
        ttl: Duration,
        fetch: impl Future<Output = Result<T>>,
    ) -> Result<T> {
        let lock_timeout = self.fleet.settings().lock_timeout;
        let renew = async {
            loop {
                tokio::time::sleep(lock_timeout / 3).await;
                let ms = lock_timeout.as_millis() as u64;
                self.on_lock(&RENEW_SCRIPT, lock, token, Some(ms)).await;
            }
        };
        let result = tokio::select! {
            r = fetch => r,
            () = renew => unreachable!("the renewal loop never ends"),
        };
        if let Ok(v) = &result
            && let Some(bytes) = codec::encode(v)
            && self.put_key(key, bytes, ttl).await.is_err()
        {
            self.fleet.fell_back(self.cache);
        }
        self.release(lock, token).await;
        result
    }

    async fn release(&self, lock: &str, token: &str) {
        self.on_lock(&RELEASE_SCRIPT, lock, token, None).await;
    }

    /// Runs a lock script for the holder `token`. A failure is let go: a lock
    /// nobody renews or releases expires by itself.
    async fn on_lock(&self, script: &redis::Script, lock: &str, token: &str, ms: Option<u64>) {
        let _ = self
            .fleet
            .run(|mut c| async move {
                let mut call = script.key(lock);
                call.arg(token);
                if let Some(ms) = ms {
                    call.arg(ms);
                }
                call.invoke_async::<i64>(&mut c).await
            })
            .await;
    }

    /// Polls until the owner's entry appears or its lock is gone.
    async fn wait_for<T: DeserializeOwned>(
        &self,
        key: &str,
        lock: &str,
    ) -> std::result::Result<Waited<T>, FleetError> {
        let started = Instant::now();
        let mut pause = Duration::from_millis(2);
        let outcome = loop {
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(50));
            let (value, pttl, locked): (Option<Vec<u8>>, i64, bool) = self
                .fleet
                .run(|mut c| async move {
                    redis::pipe()
                        .get(key)
                        .pttl(key)
                        .exists(lock)
                        .query_async(&mut c)
                        .await
                })
                .await?;
            if let Some(v) = value.as_deref().and_then(codec::decode) {
                break Waited::Filled(v, Duration::from_millis(pttl.max(1) as u64));
            }
            if !locked {
                break Waited::LockGone;
            }
        };
        let label = match outcome {
            Waited::Filled(..) => "filled",
            Waited::LockGone => "lock_gone",
        };
        metrics::counter!("botscope_redis_lock_waits_total", "cache" => self.cache, "outcome" => label)
            .increment(1);
        metrics::histogram!("botscope_redis_lock_wait_seconds", "cache" => self.cache)
            .record(started.elapsed().as_secs_f64());
        Ok(outcome)
    }
}
