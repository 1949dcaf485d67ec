//! `CacheLayer`: a source cache around any [`AnalyticsSource`], on moka.
//!
//! - **Key**: bot + operation + canonical request (the query serialized after
//!   filters were sorted and deduplicated, times in UTC), so equal questions
//!   share an entry however they were spelled.
//! - **Weight**: entries are weighed by an estimate of their bytes and the
//!   cache holds at most `cache.max_bytes` (shared by every bot).
//! - **Lifetime**: answers about ranges that ended before `now - settle_lag`
//!   are settled and live `settled_ttl`; the others (which may still change)
//!   live `recent_ttl`.
//! - **Coalescing**: concurrent identical requests share one upstream call
//!   (`Entry::or_try_insert_with`); errors are never cached.
//! - **L2** (with `[redis]`): an L1 miss asks the fleet's Redis before the
//!   vendor, under the same key (hashed) and TTL, and only one replica calls
//!   the vendor for a cold key ([`crate::fleet::FleetCache`]). An entry read
//!   from L2 lives in L1 only for the TTL it has left.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use moka::Expiry;
use moka::future::Cache;
use serde::{Deserialize, Serialize};

use crate::domain::{
    FamilyBins, FamilyQuery, IntentPathNode, IntentPathQuery, Session, SessionPage, SessionQuery,
    TimeRange, UtterancePage, UtteranceQuery, UtteranceRecord,
};
use crate::error::{Error, Result};
use crate::sources::{AnalyticsSource, BotInfo, Capabilities};

/// How long an answer about a range may be served from memory.
#[derive(Debug, Clone)]
pub struct CachePolicy {
    pub settled_ttl: Duration,
    pub recent_ttl: Duration,
    pub settle_lag: Duration,
}

impl CachePolicy {
    /// `settled_ttl` when the range ended before `now - settle_lag`, else `recent_ttl`.
    pub fn ttl_for(&self, range: &TimeRange, now: DateTime<Utc>) -> Duration {
        let lag = chrono::Duration::from_std(self.settle_lag).unwrap_or(chrono::Duration::hours(2));
        if range.end() < now - lag {
            self.settled_ttl
        } else {
            self.recent_ttl
        }
    }
}

/// How long one answer may be served again: the shortest lifetime
/// ([`CachePolicy::ttl_for`]) of the ranges it read, `settled_ttl` when it read
/// none (e.g. `bots`).
///
/// The schema gives each request a fresh one; resolvers note every range they
/// read ([`CacheLifetime::observe`]); the schema hands the result back with the
/// response, and the HTTP server's response cache keeps the answer that long.
/// So the lifetime travels up with the result and nothing below the server
/// needs to know a response cache exists.
#[derive(Clone)]
pub struct CacheLifetime(Arc<LifetimeInner>);

struct LifetimeInner {
    policy: CachePolicy,
    min_ms: std::sync::atomic::AtomicU64,
}

impl CacheLifetime {
    pub fn new(policy: CachePolicy) -> Self {
        let initial = policy.settled_ttl.as_millis() as u64;
        CacheLifetime(Arc::new(LifetimeInner {
            policy,
            min_ms: std::sync::atomic::AtomicU64::new(initial),
        }))
    }

    /// Notes that the answer read data about `range`.
    pub fn observe(&self, range: &TimeRange) {
        let ttl = self.0.policy.ttl_for(range, Utc::now());
        self.0
            .min_ms
            .fetch_min(ttl.as_millis() as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// The lifetime so far.
    pub fn get(&self) -> Duration {
        Duration::from_millis(self.0.min_ms.load(std::sync::atomic::Ordering::Relaxed))
    }
}

#[derive(Clone, PartialEq, Eq, Hash)]
struct CacheKey {
    bot: Arc<str>,
    op: &'static str,
    request: String,
}

impl CacheKey {
    /// The key's name in the L2: bot, operation and a hash of the request,
    /// so Redis keys stay short whatever the filters.
    fn l2_name(&self) -> String {
        use sha2::Digest;
        let h = sha2::Sha256::digest(self.request.as_bytes());
        let hex: String = h[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{}:{}:{hex}", self.bot, self.op)
    }
}

#[derive(Clone, Serialize, Deserialize)]
enum Answer {
    Sessions(Arc<SessionPage>),
    Metrics(Arc<FamilyBins>),
    Paths(Arc<Vec<IntentPathNode>>),
    Utterances(Arc<UtterancePage>),
}

#[derive(Clone)]
struct Entry {
    answer: Answer,
    ttl: Duration,
    bytes: u32,
}

struct PerEntryTtl;

impl Expiry<CacheKey, Entry> for PerEntryTtl {
    fn expire_after_create(&self, _: &CacheKey, value: &Entry, _: Instant) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The shared store behind every bot's `CacheLayer` (one byte budget for all).
#[derive(Clone)]
pub struct SourceCache {
    cache: Cache<CacheKey, Entry>,
    policy: CachePolicy,
    l2: Option<crate::fleet::FleetCache>,
}

impl SourceCache {
    pub fn new(max_bytes: u64, policy: CachePolicy) -> Self {
        let cache = Cache::builder()
            .max_capacity(max_bytes)
            .weigher(|k: &CacheKey, v: &Entry| v.bytes.saturating_add(k.request.len() as u32 + 64))
            .expire_after(PerEntryTtl)
            .eviction_listener(|_, _, cause| {
                if cause.was_evicted() && cause != moka::notification::RemovalCause::Expired {
                    metrics::counter!("botscope_cache_evictions_total").increment(1);
                }
            })
            .build();
        SourceCache {
            cache,
            policy,
            l2: None,
        }
    }

    /// Puts the fleet's Redis under this cache as its L2.
    pub fn with_l2(mut self, fleet: Option<crate::fleet::Fleet>) -> Self {
        self.l2 = fleet.map(|f| crate::fleet::FleetCache::new(f, "source"));
        self
    }

    pub fn policy(&self) -> &CachePolicy {
        &self.policy
    }

    /// Entries and weighed bytes now held (after pending maintenance).
    pub async fn usage(&self) -> (u64, u64) {
        self.cache.run_pending_tasks().await;
        (self.cache.entry_count(), self.cache.weighted_size())
    }

    async fn get_or_fetch<F>(&self, key: CacheKey, range: &TimeRange, fetch: F) -> Result<Answer>
    where
        F: Future<Output = Result<Answer>>,
    {
        let ttl = self.policy.ttl_for(range, Utc::now());
        let op = key.op;
        let l2_name = match &self.l2 {
            Some(_) => key.l2_name(),
            None => String::new(),
        };
        let entry = self
            .cache
            .entry(key)
            .or_try_insert_with(async {
                let (answer, ttl) = match &self.l2 {
                    Some(l2) => l2.get_or_fetch(&l2_name, ttl, fetch).await?,
                    None => (fetch.await?, ttl),
                };
                let bytes = estimate(&answer).min(u32::MAX as usize) as u32;
                Ok::<_, Error>(Entry { answer, ttl, bytes })
            })
            .await
            .map_err(|e: Arc<Error>| (*e).clone())?;
        let outcome = if entry.is_fresh() { "miss" } else { "hit" };
        metrics::counter!("botscope_source_cache_requests_total", "operation" => op, "outcome" => outcome)
            .increment(1);
        Ok(entry.into_value().answer)
    }
}

fn session_bytes(s: &Session) -> usize {
    let opt = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    200 + s.bot_id.len()
        + s.session_id.len()
        + opt(&s.originating_request_id)
        + opt(&s.user_id)
        + opt(&s.channel)
        + opt(&s.locale)
        + opt(&s.vendor_end_state)
        + opt(&s.bot_alias_id)
        + opt(&s.bot_version)
        + s.intents
            .as_ref()
            .map_or(0, |v| v.iter().map(|i| i.len() + 24).sum())
        + s.tags.as_ref().map_or(0, |v| {
            v.iter().map(|t| t.name.len() + t.value.len() + 72).sum()
        })
}

fn utterance_bytes(u: &UtteranceRecord) -> usize {
    let opt = |o: &Option<String>| o.as_ref().map_or(0, String::len);
    240 + u.bot_id.len()
        + u.session_id.len()
        + u.text.len()
        + opt(&u.originating_request_id)
        + opt(&u.intent_name)
        + opt(&u.slot_name)
        + opt(&u.intent_state)
        + opt(&u.dialog_action_type)
        + opt(&u.locale)
        + opt(&u.channel)
        + opt(&u.input_type)
        + opt(&u.output_type)
        + opt(&u.bot_alias_id)
        + opt(&u.bot_version)
        + u.bot_responses.iter().map(|r| r.len() + 24).sum::<usize>()
}

/// An estimate of the heap bytes an answer holds.
fn estimate(answer: &Answer) -> usize {
    match answer {
        Answer::Sessions(p) => 64 + p.sessions.iter().map(|s| session_bytes(s)).sum::<usize>(),
        Answer::Metrics(bins) => bins.estimated_bytes(),
        Answer::Utterances(p) => {
            64 + p
                .utterances
                .iter()
                .map(|u| utterance_bytes(u))
                .sum::<usize>()
        }
        Answer::Paths(nodes) => nodes
            .iter()
            .map(|n| 96 + n.intent_name.len() + n.path.len())
            .sum(),
    }
}

fn canonical(query: &impl Serialize) -> String {
    serde_json::to_string(query).unwrap_or_default()
}

/// A source whose answers come from the shared [`SourceCache`] when it can.
pub struct CacheLayer {
    inner: Arc<dyn AnalyticsSource>,
    cache: SourceCache,
    bot: Arc<str>,
}

impl CacheLayer {
    pub fn new(inner: Arc<dyn AnalyticsSource>, cache: SourceCache) -> Self {
        let bot = Arc::from(inner.bot().id.as_str());
        CacheLayer { inner, cache, bot }
    }

    fn key(&self, op: &'static str, request: &impl Serialize) -> CacheKey {
        CacheKey {
            bot: self.bot.clone(),
            op,
            request: canonical(request),
        }
    }
}

fn unexpected() -> Error {
    Error::internal("source cache returned an answer of another operation")
}

#[async_trait]
impl AnalyticsSource for CacheLayer {
    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        let key = self.key("sessions", q);
        let fetch = async { Ok(Answer::Sessions(Arc::new(self.inner.sessions(q).await?))) };
        match self.cache.get_or_fetch(key, &q.range, fetch).await? {
            Answer::Sessions(p) => Ok((*p).clone()),
            _ => Err(unexpected()),
        }
    }

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        let key = self.key(q.operation(), q);
        let fetch = async { Ok(Answer::Metrics(Arc::new(self.inner.metrics(q).await?))) };
        match self.cache.get_or_fetch(key, q.range(), fetch).await? {
            Answer::Metrics(b) => Ok((*b).clone()),
            _ => Err(unexpected()),
        }
    }

    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        let key = self.key("utterances", q);
        let fetch = async {
            Ok(Answer::Utterances(Arc::new(
                self.inner.utterances(q).await?,
            )))
        };
        match self.cache.get_or_fetch(key, &q.range, fetch).await? {
            Answer::Utterances(p) => Ok((*p).clone()),
            _ => Err(unexpected()),
        }
    }

    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        let key = self.key("intent_paths", q);
        let fetch = async { Ok(Answer::Paths(Arc::new(self.inner.intent_paths(q).await?))) };
        match self.cache.get_or_fetch(key, &q.range, fetch).await? {
            Answer::Paths(n) => Ok((*n).clone()),
            _ => Err(unexpected()),
        }
    }

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        self.inner.describe()
    }
}
