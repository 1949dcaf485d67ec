//! The response cache: a whole GraphQL response served from memory, without
//! parsing or executing, when the same request body (document, variables and
//! operation name, byte for byte) comes from a caller with the same bot scope.
//!
//! The key is SHA-256 over (scope, method, body), so callers with different
//! scopes never share an entry. An entry lives as long as the shortest TTL of
//! the data its answer read ([`TtlHint`], fed by the resolvers through the
//! source cache's [`CachePolicy`]); responses with errors are never stored.
//!
//! With `[redis]` the fleet's Redis is its L2 (`{prefix}v1:response:{hex key}`,
//! the same key and TTL): a response one replica stored is a hit on every
//! other, with its true `Age`. Redis gives no answer → the L1 alone, as before.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::domain::TimeRange;
use crate::engine::BotScope;
use crate::layers::CachePolicy;

/// The shortest lifetime of the data one request read, in milliseconds.
#[derive(Clone)]
pub struct TtlHint(Arc<AtomicU64>);

impl TtlHint {
    pub fn new(initial: Duration) -> Self {
        TtlHint(Arc::new(AtomicU64::new(initial.as_millis() as u64)))
    }

    pub fn observe(&self, ttl: Duration) {
        self.0.fetch_min(ttl.as_millis() as u64, Ordering::Relaxed);
    }

    pub fn get(&self) -> Duration {
        Duration::from_millis(self.0.load(Ordering::Relaxed))
    }
}

/// Notes that a resolver read data about `range` (no-op outside the HTTP server).
pub fn observe_range(ctx: &async_graphql::Context<'_>, range: &TimeRange) {
    if let (Some(hint), Some(policy)) = (ctx.data_opt::<TtlHint>(), ctx.data_opt::<CachePolicy>()) {
        hint.observe(policy.ttl_for(range, chrono::Utc::now()));
    }
}

pub struct CachedResponse {
    pub body: Bytes,
    pub stored: Instant,
    pub ttl: Duration,
}

impl CachedResponse {
    /// Seconds since stored, and seconds left.
    pub fn age_and_remaining(&self) -> (u64, u64) {
        let age = self.stored.elapsed();
        (age.as_secs(), self.ttl.saturating_sub(age).as_secs())
    }
}

struct ByTtl;

impl Expiry<[u8; 32], Arc<CachedResponse>> for ByTtl {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        v: &Arc<CachedResponse>,
        _: Instant,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

#[derive(Clone)]
pub struct ResponseCache {
    cache: Cache<[u8; 32], Arc<CachedResponse>>,
    l2: Option<crate::fleet::FleetCache>,
}

fn hex(key: &[u8; 32]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn unix_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

impl ResponseCache {
    pub fn new(max_bytes: u64) -> Self {
        ResponseCache {
            cache: Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, v: &Arc<CachedResponse>| {
                    (v.body.len() + 128).min(u32::MAX as usize) as u32
                })
                .expire_after(ByTtl)
                .build(),
            l2: None,
        }
    }

    /// Puts the fleet's Redis under this cache as its L2.
    pub fn with_l2(mut self, fleet: Option<crate::fleet::Fleet>) -> Self {
        self.l2 = fleet.map(|f| crate::fleet::FleetCache::new(f, "response"));
        self
    }

    /// An entry another replica stored: `[stored unix ms][ttl ms][body]`.
    async fn get_l2(&self, key: &[u8; 32]) -> Option<Arc<CachedResponse>> {
        let l2 = self.l2.as_ref()?;
        let raw = match l2.get_raw(&hex(key)).await {
            Ok(Some((raw, _))) => raw,
            Ok(None) => {
                l2.count("miss");
                return None;
            }
            Err(_) => {
                l2.count("error");
                l2.fleet().fell_back("response");
                return None;
            }
        };
        l2.count("hit");
        let stored_ms = u64::from_be_bytes(raw.get(..8)?.try_into().ok()?);
        let ttl = Duration::from_millis(u64::from_be_bytes(raw.get(8..16)?.try_into().ok()?));
        let age = Duration::from_millis(unix_ms().saturating_sub(stored_ms));
        if age >= ttl {
            return None;
        }
        let entry = Arc::new(CachedResponse {
            body: Bytes::copy_from_slice(&raw[16..]),
            stored: Instant::now().checked_sub(age).unwrap_or_else(Instant::now),
            ttl,
        });
        self.cache.insert(*key, entry.clone()).await;
        Some(entry)
    }

    pub fn key(scope: &BotScope, method: &str, request: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        match scope {
            BotScope::All => h.update(b"*\0"),
            BotScope::Only(ids) => {
                for id in ids {
                    h.update(id.as_bytes());
                    h.update(b"\0");
                }
                h.update(b"\x01");
            }
        }
        h.update(method.as_bytes());
        h.update(b"\0");
        h.update(request);
        h.finalize().into()
    }

    pub async fn get(&self, key: &[u8; 32]) -> Option<Arc<CachedResponse>> {
        match self.cache.get(key).await {
            Some(hit) => Some(hit),
            None => self.get_l2(key).await,
        }
    }

    pub async fn put(&self, key: [u8; 32], body: Bytes, ttl: Duration) {
        if ttl.is_zero() {
            return;
        }
        if let Some(l2) = &self.l2 {
            let mut raw = Vec::with_capacity(body.len() + 16);
            raw.extend_from_slice(&unix_ms().to_be_bytes());
            raw.extend_from_slice(&(ttl.as_millis() as u64).to_be_bytes());
            raw.extend_from_slice(&body);
            if l2.put_raw(&hex(&key), raw, ttl).await.is_err() {
                l2.fleet().fell_back("response");
            }
        }
        let entry = CachedResponse {
            body,
            stored: Instant::now(),
            ttl,
        };
        self.cache.insert(key, Arc::new(entry)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_never_share_keys() {
        let a = BotScope::Only(["a".to_owned()].into());
        let b = BotScope::Only(["b".to_owned()].into());
        let ab = BotScope::Only(["a".to_owned(), "b".to_owned()].into());
        let body = b"{\"query\":\"{ bots { id } }\"}";
        let keys = [
            ResponseCache::key(&a, "POST", body),
            ResponseCache::key(&b, "POST", body),
            ResponseCache::key(&ab, "POST", body),
            ResponseCache::key(&BotScope::All, "POST", body),
            ResponseCache::key(&BotScope::Only(Default::default()), "POST", body),
        ];
        for i in 0..keys.len() {
            for j in i + 1..keys.len() {
                assert_ne!(keys[i], keys[j], "{i} vs {j}");
            }
        }
        assert_eq!(keys[0], ResponseCache::key(&a, "POST", body));
    }
}
