//! The response cache: a whole GraphQL response served from memory, without
//! parsing or executing, when the same request (method and body, or a GET's
//! query string, byte for byte: document, variables and operation name)
//! comes from a caller with the same bot scope.
//!
//! An entry is found by a keyed 64-bit hash of (scope, method, request) and
//! served only when its stored scope, method and request equal the caller's,
//! so callers with different scopes never share an entry, even through a hash
//! collision. (A hash keyed at random per process rather than SHA-256: a hit
//! is the whole request, and hashing it was the largest cost left on it.) An
//! entry lives as long as the shortest TTL of the data its answer read (the
//! [`CacheLifetime`](crate::layers::CacheLifetime) the schema reports);
//! responses with errors are never stored.
//!
//! With `[redis]` the fleet's Redis is its L2 under a name every replica
//! computes alike, `{prefix}v1:response:{hex SHA-256 of scope, method and
//! request}`, with the same TTL: a response one replica stored is a hit on
//! every other, with its true `Age`. Redis gives no answer → the L1 alone.

use std::hash::{BuildHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::http::Method;
use bytes::Bytes;
use moka::Expiry;
use moka::future::Cache;
use sha2::{Digest, Sha256};

use crate::engine::BotScope;

/// The request an entry answers; compared in full on every hit.
struct RequestKey {
    scope: BotScope,
    method: Method,
    request: Bytes,
}

pub struct CachedResponse {
    pub body: Bytes,
    pub stored: Instant,
    pub ttl: Duration,
    key: RequestKey,
}

impl CachedResponse {
    /// Seconds since stored, and seconds left.
    pub fn age_and_remaining(&self) -> (u64, u64) {
        let age = self.stored.elapsed();
        (age.as_secs(), self.ttl.saturating_sub(age).as_secs())
    }

    fn answers(&self, scope: &BotScope, method: &Method, request: &[u8]) -> bool {
        self.key.method == method && self.key.request == request && self.key.scope == *scope
    }
}

struct ByTtl;

impl Expiry<u64, Arc<CachedResponse>> for ByTtl {
    fn expire_after_create(
        &self,
        _: &u64,
        v: &Arc<CachedResponse>,
        _: Instant,
    ) -> Option<Duration> {
        Some(v.ttl)
    }
}

/// moka's hasher for keys that already are keyed hashes: passes them through.
#[derive(Clone, Default)]
struct Prehashed;

#[derive(Default)]
struct PrehashedHasher(u64);

impl Hasher for PrehashedHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl BuildHasher for Prehashed {
    type Hasher = PrehashedHasher;
    fn build_hasher(&self) -> PrehashedHasher {
        PrehashedHasher::default()
    }
}

#[derive(Clone)]
pub struct ResponseCache {
    cache: Cache<u64, Arc<CachedResponse>, Prehashed>,
    /// Seeded at random per process, so no client can aim for a collision.
    hasher: foldhash::quality::RandomState,
    l2: Option<crate::fleet::FleetCache>,
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
                    (v.body.len() + v.key.request.len() + 128).min(u32::MAX as usize) as u32
                })
                .expire_after(ByTtl)
                .build_with_hasher(Prehashed),
            hasher: foldhash::quality::RandomState::default(),
            l2: None,
        }
    }

    /// Puts the fleet's Redis under this cache as its L2.
    pub fn with_l2(mut self, fleet: Option<crate::fleet::Fleet>) -> Self {
        self.l2 = fleet.map(|f| crate::fleet::FleetCache::new(f, "response"));
        self
    }

    fn hash(&self, scope: &BotScope, method: &Method, request: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        scope.hash(&mut h);
        method.as_str().hash(&mut h);
        request.hash(&mut h);
        h.finish()
    }

    /// The entry's name in the L2, the same on every replica: SHA-256 over
    /// (scope, method, request).
    pub fn l2_name(scope: &BotScope, method: &Method, request: &[u8]) -> String {
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
        h.update(method.as_str().as_bytes());
        h.update(b"\0");
        h.update(request);
        let key: [u8; 32] = h.finalize().into();
        key.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// An entry another replica stored: `[stored unix ms][ttl ms][body]`.
    async fn get_l2(
        &self,
        hash: u64,
        scope: &BotScope,
        method: &Method,
        request: &[u8],
    ) -> Option<Arc<CachedResponse>> {
        let l2 = self.l2.as_ref()?;
        let raw = match l2.get_raw(&Self::l2_name(scope, method, request)).await {
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
            key: RequestKey {
                scope: scope.clone(),
                method: method.clone(),
                request: Bytes::copy_from_slice(request),
            },
        });
        self.cache.insert(hash, entry.clone()).await;
        Some(entry)
    }

    /// The stored answer to `request` from a caller with `scope`.
    pub async fn get(
        &self,
        scope: &BotScope,
        method: &Method,
        request: &[u8],
    ) -> Option<Arc<CachedResponse>> {
        let hash = self.hash(scope, method, request);
        match self.cache.get(&hash).await {
            Some(hit) if hit.answers(scope, method, request) => Some(hit),
            _ => self.get_l2(hash, scope, method, request).await,
        }
    }

    /// Stores `body` as the answer to `request` from a caller with `scope`.
    pub async fn put(
        &self,
        scope: &BotScope,
        method: &Method,
        request: &[u8],
        body: Bytes,
        ttl: Duration,
    ) {
        if ttl.is_zero() {
            return;
        }
        if let Some(l2) = &self.l2 {
            let mut raw = Vec::with_capacity(body.len() + 16);
            raw.extend_from_slice(&unix_ms().to_be_bytes());
            raw.extend_from_slice(&(ttl.as_millis() as u64).to_be_bytes());
            raw.extend_from_slice(&body);
            if l2
                .put_raw(&Self::l2_name(scope, method, request), raw, ttl)
                .await
                .is_err()
            {
                l2.fleet().fell_back("response");
            }
        }
        let entry = CachedResponse {
            body,
            stored: Instant::now(),
            ttl,
            // A copy: the request's own buffer may be a slice of a larger one.
            key: RequestKey {
                scope: scope.clone(),
                method: method.clone(),
                request: Bytes::copy_from_slice(request),
            },
        };
        self.cache
            .insert(self.hash(scope, method, request), Arc::new(entry))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes() -> Vec<BotScope> {
        vec![
            BotScope::Only(["a".to_owned()].into()),
            BotScope::Only(["b".to_owned()].into()),
            BotScope::Only(["a".to_owned(), "b".to_owned()].into()),
            BotScope::Only(["ab".to_owned()].into()),
            BotScope::All,
            BotScope::Only(Default::default()),
        ]
    }

    #[test]
    fn scopes_never_share_l2_names() {
        let body = b"{\"query\":\"{ bots { id } }\"}";
        let names: Vec<String> = scopes()
            .iter()
            .map(|s| ResponseCache::l2_name(s, &Method::POST, body))
            .collect();
        for i in 0..names.len() {
            for j in i + 1..names.len() {
                assert_ne!(names[i], names[j], "{i} vs {j}");
            }
        }
        let a = &scopes()[0];
        assert_eq!(names[0], ResponseCache::l2_name(a, &Method::POST, body));
        assert_ne!(names[0], ResponseCache::l2_name(a, &Method::GET, body));
    }

    #[tokio::test]
    async fn an_entry_answers_only_its_own_scope_method_and_request() {
        let rc = ResponseCache::new(1 << 20);
        let body = b"{\"query\":\"{ bots { id } }\"}";
        let ttl = Duration::from_secs(60);
        let scopes = scopes();
        for (i, s) in scopes.iter().enumerate() {
            rc.put(
                s,
                &Method::POST,
                body,
                Bytes::from(format!("answer {i}")),
                ttl,
            )
            .await;
        }
        for (i, s) in scopes.iter().enumerate() {
            let hit = rc.get(s, &Method::POST, body).await.expect("stored");
            assert_eq!(hit.body, format!("answer {i}"));
        }
        assert!(rc.get(&scopes[0], &Method::GET, body).await.is_none());
        assert!(rc.get(&scopes[0], &Method::POST, b"{}").await.is_none());
    }

    /// Even when two requests land on one slot (forced here), the entry
    /// serves only the request it was stored for.
    #[tokio::test]
    async fn a_colliding_slot_is_a_miss_not_another_scopes_answer() {
        let rc = ResponseCache::new(1 << 20);
        let (a, b) = (&scopes()[0], &scopes()[1]);
        let body = b"{}";
        rc.put(
            a,
            &Method::POST,
            body,
            Bytes::from_static(b"a's"),
            Duration::from_secs(60),
        )
        .await;
        let entry = rc
            .cache
            .get(&rc.hash(a, &Method::POST, body))
            .await
            .unwrap();
        rc.cache
            .insert(rc.hash(b, &Method::POST, body), entry)
            .await;
        assert!(rc.get(b, &Method::POST, body).await.is_none());
        assert!(rc.get(a, &Method::POST, body).await.is_some());
    }
}
