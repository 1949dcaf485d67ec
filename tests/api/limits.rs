//! Limits and observability from outside: root fields, the request deadline,
//! the per-client rate limit, introspection off, a GraphQL-shaped 413, request
//! ids and the HTTP/GraphQL metrics.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use botscope::app::Settings;
use botscope::server::auth::mint_hs256;
use botscope::sources::AnalyticsSource;

use crate::common::{self, Probe};
use crate::support::{self, codes};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

/// The four demo bots over memory sources, each taking `delay` to answer anything.
fn sources(delay: Duration) -> Vec<Arc<dyn AnalyticsSource>> {
    common::demo_memory_sources(30, 3, 1)
        .into_iter()
        .map(|s| Arc::new(Probe::new(s).delayed(delay)) as Arc<dyn AnalyticsSource>)
        .collect()
}

/// A gateway from `toml` (the test's config keys), without caches.
async fn spawn(toml: &str, delay: Duration) -> String {
    spawn_edited(toml, |_| {}, delay).await
}

/// [`spawn`], with settings no config key reaches edited.
async fn spawn_edited(toml: &str, edit: impl FnOnce(&mut Settings), delay: Duration) -> String {
    let mut settings = support::settings(&support::config(toml)).await;
    settings.cache = None;
    edit(&mut settings);
    let addr = support::spawn_with_settings(settings, sources(delay)).await;
    format!("http://{addr}")
}

async fn post(base: &str, body: &Value) -> (u16, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{base}/graphql"))
        .json(body)
        .send()
        .await
        .unwrap();
    (resp.status().as_u16(), resp.json().await.unwrap())
}

#[tokio::test]
async fn root_fields_are_bounded_aliases_and_fragments_included() {
    let base = spawn("[limits]\nmax_root_fields = 3", Duration::ZERO).await;
    let (_, ok) = post(
        &base,
        &json!({ "query": "{ a: bots { id } b: bots { id } c: bots { id } }" }),
    )
    .await;
    assert!(codes(&ok).is_empty(), "{ok}");
    let (_, aliased) = post(
        &base,
        &json!({ "query": "{ a: bots { id } b: bots { id } c: bots { id } d: bots { id } }" }),
    )
    .await;
    assert_eq!(codes(&aliased), ["QUERY_TOO_COMPLEX"], "{aliased}");
    assert!(aliased["data"].is_null());
    let (_, fragment) = post(
        &base,
        &json!({ "query": "query { ...F ... on Query { c: bots { id } d: bots { id } } } fragment F on Query { a: bots { id } b: bots { id } }" }),
    )
    .await;
    assert_eq!(codes(&fragment), ["QUERY_TOO_COMPLEX"], "{fragment}");
    // A fragment cycle is refused by validation, not looped on.
    let (_, cycle) = post(
        &base,
        &json!({ "query": "query { ...F } fragment F on Query { bots { id } ...F }" }),
    )
    .await;
    assert!(!codes(&cycle).is_empty(), "{cycle}");
}

#[tokio::test]
async fn a_slow_request_ends_at_its_deadline_with_a_clear_error() {
    let base = spawn_edited(
        "[limits]\nrequest_timeout = \"300ms\"",
        // Past the request's own deadline: that deadline is what is tested.
        |s| s.limits.bot_deadline = Some(Duration::from_secs(10)),
        Duration::from_secs(5),
    )
    .await;
    let started = Instant::now();
    let (status, body) = post(
        &base,
        &json!({ "query": "{ sessions(range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-03T00:00:00Z\"}) { totalCount } }" }),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3),
        "answered at the deadline, took {took:?}"
    );
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["UPSTREAM_UNAVAILABLE"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("limits.request_timeout")
    );
    // The server keeps serving.
    let (_, bots) = post(&base, &json!({ "query": "{ bots { id } }" })).await;
    assert_eq!(bots["data"]["bots"].as_array().unwrap().len(), 4);
}

/// One slow bot costs its own answer, not everyone's: past its share of the
/// request deadline it gets `UPSTREAM_UNAVAILABLE` (naming it) and the other
/// bots' data comes back, well before the request deadline.
#[tokio::test]
async fn a_slow_bot_is_cut_at_its_deadline_and_the_others_answer() {
    let mut settings =
        support::settings(&support::config("[limits]\nrequest_timeout = \"2s\"")).await;
    settings.cache = None;
    let mut all = common::demo_memory_sources(30, 3, 1);
    let slow = all.remove(0);
    let slow_id = slow.bot().id.clone();
    all.push(Arc::new(Probe::new(slow).delayed(Duration::from_secs(30))));
    let addr = support::spawn_with_settings(settings, all).await;
    let started = Instant::now();
    let (status, body) = post(
        &format!("http://{addr}"),
        &json!({ "query": "{ sessionMetrics(range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-03T00:00:00Z\"}, metrics: [{name: COUNT, statistic: SUM}], groupBy: [BOT]) { groups { value } values { value } } }" }),
    )
    .await;
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "cut at 80 % of the deadline: {took:?}"
    );
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["UPSTREAM_UNAVAILABLE"], "{body}");
    assert_eq!(body["errors"][0]["extensions"]["botId"], slow_id.as_str());
    assert_eq!(
        body["errors"][0]["path"],
        json!(["sessionMetrics"]),
        "{body}"
    );
    let bots: Vec<&str> = body["data"]["sessionMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["groups"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(bots.len(), 3, "{body}");
    assert!(!bots.contains(&slow_id.as_str()));
}

#[tokio::test]
async fn each_client_has_its_own_rate_limit() {
    let base = spawn(
        &format!(
            "[auth]\nmode = \"jwt\"\nhs256_secret = \"{}\"\n[limits]\nrequests_per_minute_per_client = 3",
            std::str::from_utf8(SECRET).unwrap()
        ),
        Duration::ZERO,
    )
    .await;
    let token = |sub: &str| mint_hs256(SECRET, sub, &["*".into()], Duration::from_secs(600));
    let (a, b) = (token("client-a"), token("client-b"));
    let c = reqwest::Client::new();
    let ask = |t: &str| {
        c.post(format!("{base}/graphql"))
            .bearer_auth(t)
            .json(&json!({ "query": "{ bots { id } }" }))
            .send()
    };
    for _ in 0..3 {
        assert_eq!(ask(&a).await.unwrap().status(), 200);
    }
    let limited = ask(&a).await.unwrap();
    assert_eq!(limited.status(), 429);
    let retry: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "Retry-After {retry}");
    let body: Value = limited.json().await.unwrap();
    assert_eq!(codes(&body), ["RATE_LIMITED"]);
    // Another `sub` is not affected, even with the same IP.
    assert_eq!(ask(&b).await.unwrap().status(), 200);
    // A new token for the same `sub` does not reset the budget.
    assert_eq!(ask(&token("client-a")).await.unwrap().status(), 429);
    // Unauthenticated requests are refused as such (401), not counted as `client-a`.
    let anon = c
        .post(format!("{base}/graphql"))
        .json(&json!({ "query": "{ bots { id } }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(anon.status(), 401);
}

/// Pins the order of `server::stack`: auth → rate limit → response cache →
/// GraphQL. Each step below fails if two neighbouring stages swap:
/// - rate limit above auth: refused strangers would spend the IP's budget,
///   and the valid caller behind them would get a 429;
/// - response cache above auth: a stranger would get the stored answer;
/// - response cache above the rate limit: a client past its budget would
///   still be served from memory;
/// - a cache keyed without the caller's scope: another scope would get this
///   scope's stored answer (its `Age` header gives it away).
#[tokio::test]
async fn pipeline_order_is_auth_then_rate_limit_then_response_cache() {
    // With the caches of a default config (the other tests here turn them off).
    let config = support::config(&format!(
        "[auth]\nmode = \"jwt\"\nhs256_secret = \"{}\"\n[limits]\nrequests_per_minute_per_client = 3",
        std::str::from_utf8(SECRET).unwrap()
    ));
    let base = format!(
        "http://{}",
        support::spawn_app(&config, sources(Duration::ZERO)).await
    );
    let c = reqwest::Client::new();
    // An operation name of this test's own: `/metrics` counts its executions.
    let body = json!({
        "query": "query PipelineOrder { sessions(range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-03T00:00:00Z\"}, first: 2) { nodes { bot { id } } } }",
        "operationName": "PipelineOrder",
    });
    let executed = || async {
        let text = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| {
                l.starts_with(
                    "botscope_graphql_requests_total{operation=\"PipelineOrder\",outcome=\"ok\"}",
                )
            })
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let ask = |token: Option<String>| {
        let mut req = c.post(format!("{base}/graphql")).json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    let lex = mint_hs256(
        SECRET,
        "lex-dash",
        &["support-lex".into()],
        Duration::from_secs(600),
    );
    let kore = mint_hs256(
        SECRET,
        "kore-dash",
        &["sales-kore".into()],
        Duration::from_secs(600),
    );

    // More strangers than the budget: each is refused as a stranger (401),
    // none as over budget, and they spend nobody's budget.
    for _ in 0..5 {
        let r = ask(None).await.unwrap();
        assert_eq!(r.status(), 401, "auth before the rate limit");
    }
    // The first answer is stored; the second is a hit.
    assert_eq!(executed().await, 0.0);
    let first = ask(Some(lex.clone())).await.unwrap();
    assert_eq!(first.status(), 200);
    let first: Value = first.json().await.unwrap();
    assert_eq!(executed().await, 1.0);
    let hit = ask(Some(lex.clone())).await.unwrap();
    assert_eq!(hit.status(), 200);
    assert_eq!(hit.json::<Value>().await.unwrap(), first);
    assert_eq!(executed().await, 1.0, "served from the response cache");
    // A stranger asking the stored question gets no answer from the cache.
    let stranger = ask(None).await.unwrap();
    assert_eq!(stranger.status(), 401, "auth before the response cache");
    assert!(!stranger.text().await.unwrap().contains("support-lex"));
    // Another scope asking the same document: its own answer, executed.
    let other = ask(Some(kore.clone())).await.unwrap();
    assert_eq!(other.status(), 200);
    let other: Value = other.json().await.unwrap();
    assert_eq!(executed().await, 2.0, "executed for its own scope");
    assert!(
        other["data"]["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .all(|n| n["bot"]["id"] == "sales-kore"),
        "{other}"
    );
    // The third request spends lex-dash's budget (hits count too) ...
    assert_eq!(ask(Some(lex.clone())).await.unwrap().status(), 200);
    // ... so the fourth is refused though its answer sits in the cache.
    let limited = ask(Some(lex)).await.unwrap();
    assert_eq!(
        limited.status(),
        429,
        "rate limit before the response cache"
    );
    assert!(!limited.headers().contains_key("age"));
    assert_eq!(codes(&limited.json().await.unwrap()), ["RATE_LIMITED"]);
    // The other scope's budget is its own.
    assert_eq!(ask(Some(kore)).await.unwrap().status(), 200);
    assert_eq!(executed().await, 2.0);
}

#[tokio::test]
async fn rate_limit_by_ip_when_auth_is_off() {
    let base = spawn(
        "[limits]\nrequests_per_minute_per_client = 2",
        Duration::ZERO,
    )
    .await;
    let q = json!({ "query": "{ bots { id } }" });
    assert_eq!(post(&base, &q).await.0, 200);
    assert_eq!(post(&base, &q).await.0, 200);
    let (status, body) = post(&base, &q).await;
    assert_eq!(status, 429, "{body}");
}

#[tokio::test]
async fn introspection_can_be_turned_off() {
    let q = json!({ "query": "{ __schema { queryType { name } } }" });
    let on = spawn("", Duration::ZERO).await;
    let (_, body) = post(&on, &q).await;
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query");
    let off = spawn("[server]\nintrospection = false", Duration::ZERO).await;
    let (_, body) = post(&off, &q).await;
    assert!(
        body["data"]["__schema"].is_null() || !codes(&body).is_empty(),
        "{body}"
    );
    assert!(!body.to_string().contains("\"Query\""), "{body}");
    let (_, body) = post(
        &off,
        &json!({ "query": "{ __type(name: \"Session\") { fields { name } } }" }),
    )
    .await;
    assert!(!body.to_string().contains("sessionId"), "{body}");
    // Ordinary queries still work.
    let (_, body) = post(&off, &json!({ "query": "{ bots { id } }" })).await;
    assert_eq!(body["data"]["bots"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn oversized_body_gets_a_graphql_shaped_413() {
    let base = spawn("[server]\nmax_body_bytes = \"1KiB\"", Duration::ZERO).await;
    let big = "x".repeat(4096);
    let (status, body) = post(
        &base,
        &json!({ "query": format!("{{ bots {{ id }} }} # {big}") }),
    )
    .await;
    assert_eq!(status, 413);
    assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{body}");
}

#[tokio::test]
async fn request_ids_are_echoed_or_made_and_metrics_count_requests() {
    let base = spawn("", Duration::ZERO).await;
    let c = reqwest::Client::new();
    let q =
        json!({ "query": "query DashboardBots { bots { id } }", "operationName": "DashboardBots" });
    let resp = c
        .post(format!("{base}/graphql"))
        .header("x-request-id", "abc-123")
        .json(&q)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], "abc-123");
    let resp = c
        .post(format!("{base}/graphql"))
        .json(&q)
        .send()
        .await
        .unwrap();
    let made = resp.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&made).is_ok(), "{made}");
    // A request id that could inject into logs is replaced.
    let resp = c
        .get(format!("{base}/healthz"))
        .header("x-request-id", "evil\"id with spaces")
        .send()
        .await
        .unwrap();
    assert_ne!(resp.headers()["x-request-id"], "evil\"id with spaces");
    let _ = c.get(format!("{base}/no-such-route")).send().await.unwrap();

    let metrics = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "botscope_http_requests_total{route=\"/graphql\",status=\"200\"}",
        "botscope_http_requests_total{route=\"/healthz\",status=\"200\"}",
        "botscope_http_requests_total{route=\"other\",status=\"404\"}",
        "botscope_graphql_requests_total{operation=\"DashboardBots\",outcome=\"ok\"}",
        "botscope_graphql_request_seconds_bucket{operation=\"DashboardBots\"",
        "botscope_http_request_seconds_bucket{route=\"/graphql\"",
    ] {
        assert!(
            metrics.contains(needle),
            "{needle} missing from:\n{metrics}"
        );
    }
}
