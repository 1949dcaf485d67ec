//! The source cache and the response cache, observed from outside.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use chrono::{TimeZone, Utc};
use serde_json::json;

use botscope::domain::{PageSize, SessionFilter, SessionOrder, SessionQuery, TimeRange};
use botscope::layers::{CacheLayer, CachePolicy, SourceCache};
use botscope::server::auth::mint_hs256;
use botscope::sources::AnalyticsSource;
use botscope::sources::memory::MemorySource;

use crate::common::{self, Probe};

fn memory_sources() -> Vec<Arc<dyn AnalyticsSource>> {
    common::demo_memory_sources(50, 5, 2)
}

/// Counts the calls that reach the source under the cache; answers after 20 ms
/// so that concurrent callers overlap; can be made to fail.
fn counting(inner: Arc<dyn AnalyticsSource>) -> Arc<Probe> {
    Arc::new(Probe::new(inner).delayed(Duration::from_millis(20)))
}

fn policy(recent: Duration) -> CachePolicy {
    CachePolicy {
        settled_ttl: Duration::from_secs(3600),
        recent_ttl: recent,
        settle_lag: Duration::from_secs(7200),
    }
}

fn query(days: i64) -> SessionQuery {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    SessionQuery {
        range: TimeRange::parse(t0, t0 + chrono::Duration::days(days), 92).unwrap(),
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(100, 1000).unwrap(),
    }
}

#[tokio::test]
async fn concurrent_identical_cold_queries_share_one_call_and_repeats_cost_none() {
    let inner = counting(memory_sources().remove(0));
    let layer = Arc::new(CacheLayer::new(
        inner.clone(),
        SourceCache::new(64 << 20, policy(Duration::from_secs(60))),
    ));
    let q = query(1);
    let answers = futures::future::join_all((0..50).map(|_| {
        let (layer, q) = (layer.clone(), q.clone());
        async move { layer.sessions(&q).await.unwrap() }
    }))
    .await;
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        1,
        "50 concurrent identical queries, one call"
    );
    assert!(answers.iter().all(|a| a.sessions == answers[0].sessions));
    layer.sessions(&q).await.unwrap();
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        1,
        "a repeat costs nothing"
    );
    // The same question spelled differently (filter values in another order) is the same entry.
    let mut a = q.clone();
    a.filter.locales = Some(vec!["en".into(), "en_US".into()]);
    let mut b = q.clone();
    b.filter.locales = Some(vec!["en_US".into(), "en".into(), "en".into()]);
    layer
        .sessions(&SessionQuery {
            filter: a.filter.canonical(),
            ..q.clone()
        })
        .await
        .unwrap();
    layer
        .sessions(&SessionQuery {
            filter: b.filter.canonical(),
            ..q.clone()
        })
        .await
        .unwrap();
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let inner = counting(memory_sources().remove(0));
    let layer = CacheLayer::new(
        inner.clone(),
        SourceCache::new(64 << 20, policy(Duration::from_secs(60))),
    );
    inner.fail.store(true, Ordering::SeqCst);
    assert!(layer.sessions(&query(1)).await.is_err());
    inner.fail.store(false, Ordering::SeqCst);
    assert!(
        layer.sessions(&query(1)).await.is_ok(),
        "the failure was not remembered"
    );
    assert_eq!(inner.calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn settled_ranges_outlive_recent_ttl() {
    let inner = counting(memory_sources().remove(0));
    let layer = CacheLayer::new(
        inner.clone(),
        SourceCache::new(64 << 20, policy(Duration::from_millis(50))),
    );
    // March 2026 ended long before now - settle_lag: settled.
    layer.sessions(&query(1)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    layer.sessions(&query(1)).await.unwrap();
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        1,
        "settled answer still cached"
    );
    // A range touching now is recent and expires with recent_ttl.
    let now = Utc::now();
    let recent = SessionQuery {
        range: TimeRange::parse(now - chrono::Duration::hours(1), now, 92).unwrap(),
        ..query(1)
    };
    layer.sessions(&recent).await.unwrap();
    tokio::time::sleep(Duration::from_millis(150)).await;
    layer.sessions(&recent).await.unwrap();
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        3,
        "recent answer expired"
    );
}

#[tokio::test]
async fn byte_cap_holds_under_a_flood_of_distinct_queries() {
    let cap = 256 * 1024;
    let cache = SourceCache::new(cap, policy(Duration::from_secs(60)));
    let layer = CacheLayer::new(memory_sources().remove(0), cache.clone());
    for i in 0..300 {
        // Distinct questions: every duration bound is another key.
        let mut q = query(2);
        q.filter.duration_seconds = Some(botscope::domain::DurationFilter {
            gt: Some(i),
            ..Default::default()
        });
        layer.sessions(&q).await.unwrap();
    }
    let (entries, bytes) = cache.usage().await;
    assert!(bytes <= cap, "weighed {bytes} bytes > cap {cap}");
    assert!(
        entries > 0 && entries < 300,
        "some entries evicted, some kept: {entries}"
    );
}

#[tokio::test]
async fn response_cache_never_crosses_scopes_and_sets_headers() {
    let secret = b"0123456789abcdef0123456789abcdef";
    let config = crate::support::config(
        "[auth]\nmode = \"jwt\"\nhs256_secret = \"0123456789abcdef0123456789abcdef\"",
    );
    let addr = crate::support::spawn_app(&config, memory_sources()).await;
    let url = format!("http://{addr}/graphql");
    let c = reqwest::Client::new();
    let body = json!({ "query": "{ sessions(range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-03T00:00:00Z\"}, first: 3) { nodes { bot { id } } } }" });
    let token = |bots: &[&str]| {
        let bots: Vec<String> = bots.iter().map(|b| b.to_string()).collect();
        mint_hs256(secret, "t", &bots, Duration::from_secs(60))
    };
    let lex = token(&["support-lex"]);
    let kore = token(&["sales-kore"]);
    let ask = |t: String| {
        let (c, url, body) = (c.clone(), url.clone(), body.clone());
        async move { c.post(url).bearer_auth(t).json(&body).send().await.unwrap() }
    };
    let first = ask(lex.clone()).await;
    assert!(
        first.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("private, max-age=")
    );
    let first: serde_json::Value = first.json().await.unwrap();
    let again = ask(lex.clone()).await;
    assert!(
        again.headers().contains_key("age"),
        "served from the response cache"
    );
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(first, again);
    let other: serde_json::Value = ask(kore).await.json().await.unwrap();
    let bots = |v: &serde_json::Value| -> Vec<String> {
        v["data"]["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["bot"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(bots(&first).iter().all(|b| b == "support-lex"));
    assert!(
        bots(&other).iter().all(|b| b == "sales-kore"),
        "same document, other scope: its own answer"
    );
    // Errors are not stored.
    let bad = json!({ "query": "{ sessions(range: {start: \"2026-03-03T00:00:00Z\", end: \"2026-03-02T00:00:00Z\"}) { totalCount } }" });
    let r = c
        .post(&url)
        .bearer_auth(&lex)
        .json(&bad)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["cache-control"], "no-store");
}

/// Pins the layer order of `layers::stack`: metrics outside the cache (it sees
/// every question, hits included), the cache outside the breaker (hits keep
/// answering while the breaker is open), the breaker outside the vendor (an
/// open breaker fails fast without a call).
#[tokio::test]
async fn layer_order_is_metrics_then_cache_then_vendor() {
    botscope::metrics::handle();
    let mut source = memory_sources().remove(0);
    let mut info = source.bot().clone();
    info.id = "layer-order-bot".into();
    source = Arc::new(MemorySource::new(
        info,
        Arc::new(botscope::domain::BotData::default()),
    ));
    let inner = counting(source);
    let cache = SourceCache::new(64 << 20, policy(Duration::from_secs(60)));
    let stacked = botscope::layers::stack(
        inner.clone(),
        Some(&cache),
        Some(botscope::layers::BreakerPolicy::default()),
    );
    for _ in 0..3 {
        stacked.sessions(&query(1)).await.unwrap();
    }
    assert_eq!(
        inner.calls.load(Ordering::SeqCst),
        1,
        "cache sits outside the vendor"
    );
    let text = botscope::metrics::render();
    let seen: f64 = text
        .lines()
        .filter(|l| {
            l.starts_with("botscope_source_calls_total") && l.contains("bot=\"layer-order-bot\"")
        })
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum();
    assert_eq!(
        seen, 3.0,
        "metrics sits outside the cache and counts hits too:\n{text}"
    );

    // The vendor goes down: five failing questions (not cached) open the breaker.
    inner.fail.store(true, Ordering::SeqCst);
    for days in 2..=6 {
        let e = stacked.sessions(&query(days)).await.unwrap_err();
        assert_eq!(e.kind, botscope::error::ErrorKind::UpstreamUnavailable);
    }
    let calls = inner.calls();
    assert_eq!(calls, 6, "each failing question reached the vendor once");
    // Open: a new question fails fast, without a call (breaker outside the vendor)…
    let e = stacked.sessions(&query(7)).await.unwrap_err();
    assert_eq!(e.kind, botscope::error::ErrorKind::UpstreamUnavailable);
    assert!(
        e.message.contains("breaker") || e.message.contains("circuit"),
        "{e:?}"
    );
    assert_eq!(inner.calls(), calls, "an open breaker makes no call");
    // …while what the cache holds still answers (cache outside the breaker).
    stacked
        .sessions(&query(1))
        .await
        .expect("a cached answer survives an open breaker");
    assert_eq!(inner.calls(), calls);
}
