//! Kore over HTTP on port 0: `KoreSource` against the Kore simulator (never a
//! mock of our trait). Windows, boundaries, paging, credentials, the call
//! budget and the 7-day rule, checked from the simulator's own counters.
use crate::{conformance, kore};

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::Duration;
use serde_json::{Value, json};

use botscope::domain::BotData;
use botscope::domain::{
    IntentStageFilter, IntentStageGroupField, IntentStageMetricName, IntentStageMetricSpec,
    IntentStageMetricsQuery, PageSize, Session, SessionFilter, SessionOrder, SessionQuery,
    Statistic, TimeRange,
};
use botscope::error::ErrorKind;
use botscope::sources::AnalyticsSource;
use botscope::sources::MetricsOf;
use botscope::sources::kore::KoreWindowPlan;

/// Every session of `range`, first 1000, in the default order.
fn query(range: TimeRange) -> SessionQuery {
    SessionQuery {
        range,
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(1000, 1000).unwrap(),
    }
}

fn ids<S: std::borrow::Borrow<Session>>(v: &[S]) -> Vec<String> {
    v.iter().map(|s| s.borrow().session_id.clone()).collect()
}

/// The sessions of `range` a default query returns: developer (test)
/// sessions are left out unless asked for.
fn customer_sessions(data: &BotData, range: &TimeRange) -> Vec<Session> {
    data.sessions_in(range)
        .filter(|s| s.is_developer != Some(true))
        .cloned()
        .collect()
}

/// Every session of `range` through the source, in pages of 1000.
async fn every_session(source: &dyn AnalyticsSource, range: TimeRange) -> Vec<Session> {
    conformance::all_sessions(
        source,
        range,
        &SessionFilter::default(),
        SessionOrder::default(),
        1000,
    )
    .await
}

fn assert_each_once<S: std::borrow::Borrow<Session>>(got: &[S], want: &[Session]) {
    let got_ids = ids(got);
    let unique: HashSet<&String> = got_ids.iter().collect();
    assert_eq!(unique.len(), got_ids.len(), "a session came back twice");
    let mut g = got_ids.clone();
    let mut w = ids(want);
    g.sort();
    w.sort();
    assert_eq!(g, w, "sessions lost or invented");
}

#[tokio::test]
async fn thirty_days_become_windows_times_containment_types_each_session_once() {
    let t0 = kore::t0();
    let data = kore::data(40, t0, t0 + Duration::days(31));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let source = sim.source(sim.adapter_config());
    let range = TimeRange::parse(
        t0 + Duration::hours(5),
        t0 + Duration::days(30) + Duration::hours(5),
        92,
    )
    .unwrap();
    let windows = KoreWindowPlan::new(&range, 6).windows.len() as u64;
    assert!(windows >= 5, "{windows} windows");
    let got = every_session(&source, range).await;
    let want: Vec<Session> = customer_sessions(&data, &range);
    assert!(want.len() > 500);
    assert_each_once(&got, &want);
    let totals = sim.totals().await;
    // One call per window and containment type (one page each here).
    assert_eq!(totals.calls, windows * 3);
    assert_eq!(totals.rejected_seven_days, 0, "the 7-day rule was violated");
}

#[tokio::test]
async fn a_session_crossing_a_window_boundary_is_neither_lost_nor_doubled() {
    let t0 = kore::t0();
    let base = kore::data(30, t0 - Duration::days(2), t0 + Duration::days(2));
    let mut sessions = base.sessions.clone();
    // Starts a minute before the boundary at t0, ends ten minutes after it.
    let crossing_id = {
        let s = &mut sessions[0];
        s.start_time = t0 - Duration::minutes(1);
        s.end_time = t0 + Duration::minutes(10);
        s.duration_seconds = 660;
        s.session_id.clone()
    };
    let data = Arc::new(BotData::new(sessions, Vec::new()));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let source = sim.source(sim.adapter_config());
    let range = TimeRange::parse(t0 - Duration::days(1), t0 + Duration::days(1), 92).unwrap();
    assert_eq!(KoreWindowPlan::new(&range, 6).windows.len(), 2);
    let got = conformance::all_sessions(
        &source,
        range,
        &SessionFilter::default(),
        SessionOrder::default(),
        100,
    )
    .await;
    let hits = got.iter().filter(|s| s.session_id == crossing_id).count();
    assert_eq!(hits, 1, "the crossing session must come back exactly once");
    let want: Vec<Session> = customer_sessions(&data, &range);
    assert_each_once(&got, &want);
}

#[tokio::test]
async fn a_server_page_cap_below_the_limit_still_returns_everything() {
    let t0 = kore::t0();
    let data = kore::data(200, t0, t0 + Duration::days(1));
    let mut config = kore::sim_config();
    config.max_page_size = 7;
    let sim = kore::Sim::start(config, data.clone()).await;
    let source = sim.source(sim.adapter_config()); // asks for 1000 a page
    let range = TimeRange::parse(t0, t0 + Duration::days(1), 92).unwrap();
    let page = source
        .sessions(&SessionQuery {
            range,
            filter: SessionFilter::default(),
            order: SessionOrder::default(),
            after: None,
            limit: PageSize::parse(1000, 1000).unwrap(),
        })
        .await
        .unwrap();
    let want: Vec<Session> = customer_sessions(&data, &range);
    assert!(want.len() > 100);
    assert_each_once(&page.sessions, &want);
    assert_eq!(page.total_count, Some(want.len() as u64));
    assert!(
        sim.totals().await.calls as usize >= want.len() / 7,
        "it paged"
    );
}

/// `total` is unreliable (kore.md §1.4): understated (the docs' sample says
/// 1) or overstated, paging still ends with every session once, by
/// `moreAvailable`; an overstated one costs at most one round of pages
/// past the end.
#[tokio::test]
async fn a_wrong_total_still_pages_to_the_end() {
    let t0 = kore::t0();
    let data = kore::data(200, t0, t0 + Duration::days(1));
    let range = TimeRange::parse(t0, t0 + Duration::days(1), 92).unwrap();
    let want: Vec<Session> = customer_sessions(&data, &range);
    assert!(want.len() > 100);
    let mut calls = Vec::new();
    for total in [None, Some(1), Some(100_000)] {
        let mut config = kore::sim_config();
        config.max_page_size = 7;
        config.reported_total = total;
        let sim = kore::Sim::start(config, data.clone()).await;
        let source = sim.source(sim.adapter_config());
        let got = every_session(&source, range).await;
        assert_each_once(&got, &want);
        calls.push(sim.totals().await.calls);
    }
    let (exact, understated, overstated) = (calls[0], calls[1], calls[2]);
    // One page after another costs the same calls as pages asked at once.
    assert_eq!(understated, exact, "{calls:?}");
    assert!(
        overstated > exact,
        "pages past the end were asked: {calls:?}"
    );
    assert!(overstated <= exact + 3 * 16, "{calls:?}");
}

#[tokio::test]
async fn a_wrong_secret_gives_the_clear_error() {
    let t0 = kore::t0();
    let sim = kore::Sim::start(
        kore::sim_config(),
        kore::data(20, t0, t0 + Duration::days(1)),
    )
    .await;
    let mut config = sim.adapter_config();
    config.client_secret = secrecy::SecretString::from("not-the-secret-xyz");
    let source = sim.source(config);
    let err = source
        .sessions(&SessionQuery {
            range: TimeRange::parse(t0, t0 + Duration::days(1), 92).unwrap(),
            filter: SessionFilter::default(),
            order: SessionOrder::default(),
            after: None,
            limit: PageSize::parse(10, 1000).unwrap(),
        })
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamUnavailable);
    assert!(!err.retryable);
    assert!(
        err.message.contains("invalid Kore credentials"),
        "{}",
        err.message
    );
    assert!(!err.message.contains("not-the-secret-xyz"));
    assert!(!format!("{err:?}").contains("not-the-secret-xyz"));
    assert_eq!(err.bot.as_deref(), Some("kore-a"));
    assert!(sim.totals().await.rejected_auth >= 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_queries_never_exceed_the_budget() {
    let t0 = kore::t0();
    let data = kore::data(50, t0, t0 + Duration::days(2));
    // Kore's budget shape, shrunk: 10 calls per 300 ms "minute", 45 per 3 s "hour".
    let mut config = kore::sim_config();
    config.calls_per_minute = 10;
    config.calls_per_hour = 45;
    config.minute = StdDuration::from_millis(300);
    config.hour = StdDuration::from_secs(3);
    let sim = kore::Sim::start(config, data).await;
    let mut adapter = sim.adapter_config();
    adapter.calls_per_minute = 10;
    adapter.calls_per_hour = 45;
    adapter.budget_minute = StdDuration::from_millis(300);
    adapter.budget_hour = StdDuration::from_secs(3);
    // Calls are logged when sent and counted by the simulator when received;
    // the margin covers the skew on a busy machine, as in production.
    adapter.budget_margin = StdDuration::from_millis(100);
    let source = Arc::new(sim.source(adapter));
    let range = TimeRange::parse(t0, t0 + Duration::days(1), 92).unwrap();
    let started = Instant::now();
    let queries = (0..20).map(|i| {
        let source = source.clone();
        tokio::spawn(async move {
            source
                .sessions(&SessionQuery {
                    range,
                    filter: SessionFilter::default(),
                    order: SessionOrder::default(),
                    after: None,
                    limit: PageSize::parse(1 + i, 1000).unwrap(),
                })
                .await
        })
    });
    for q in futures::future::join_all(queries).await {
        q.unwrap()
            .expect("queries wait for the budget, they do not fail");
    }
    let totals = sim.totals().await;
    assert_eq!(totals.calls, 60, "20 queries × 3 containment types");
    assert_eq!(totals.rejected_budget, 0, "botscope exceeded the budget");
    // 60 calls at 45 per 3 s cannot finish before the first "hour" ends.
    assert!(
        started.elapsed() >= StdDuration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn intent_stages_come_from_task_records_and_the_rest_is_unsupported() {
    let t0 = kore::t0();
    let data = kore::data(100, t0, t0 + Duration::days(2));
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let source = sim.source(sim.adapter_config());
    let range = TimeRange::parse(t0, t0 + Duration::days(2), 92).unwrap();
    let spec = |name| IntentStageMetricSpec {
        name,
        statistic: Statistic::Sum,
    };
    use IntentStageMetricName as M;
    let q = IntentStageMetricsQuery {
        range,
        metrics: vec![spec(M::Count), spec(M::Success), spec(M::Failed)],
        bin_by: None,
        group_by: vec![IntentStageGroupField::IntentStageName],
        filter: IntentStageFilter::default(),
    };
    let bins = source.metrics_of(&q).await.unwrap();
    assert!(bins.len() >= 3, "one group per task: {bins:#?}");
    let (mut all_ok, mut all_failed) = (0.0, 0.0);
    for b in &bins {
        let count = b.value(M::Count, Statistic::Sum).unwrap();
        let ok = b.value(M::Success, Statistic::Sum).unwrap();
        let failed = b.value(M::Failed, Statistic::Sum).unwrap();
        assert!(count > 0.0, "{b:?}");
        assert_eq!(count, ok + failed);
        all_ok += ok;
        all_failed += failed;
    }
    // Rare tasks of the long tail may have only successes; the whole may not.
    assert!(all_ok > 0.0 && all_failed > 0.0, "{all_ok} {all_failed}");
    // Every accepted channel is sent: getAnalytics defaults to rtm only.
    let rtm_only = IntentStageMetricsQuery {
        filter: IntentStageFilter {
            channels: Some(vec!["rtm".into()]),
            ..Default::default()
        },
        ..q.clone()
    };
    let all: f64 = bins
        .iter()
        .map(|b| b.value(M::Count, Statistic::Sum).unwrap())
        .sum();
    let rtm: f64 = source
        .metrics_of(&rtm_only)
        .await
        .unwrap()
        .iter()
        .map(|b| b.value(M::Count, Statistic::Sum).unwrap())
        .sum();
    assert!(rtm > 0.0 && rtm < all, "rtm {rtm} of {all}");
    // `korevg` (getSessions' voice gateway) is no channel getAnalytics accepts.
    let voice_gateway = IntentStageMetricsQuery {
        filter: IntentStageFilter {
            channels: Some(vec!["korevg".into()]),
            ..Default::default()
        },
        ..q.clone()
    };
    let e = source.metrics_of(&voice_gateway).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains("korevg"), "{}", e.message);
    assert_eq!(
        sim.totals().await.rejected_other,
        0,
        "only accepted ids were sent"
    );
    // Kore has no intent-path API.
    let paths = botscope::domain::IntentPathQuery {
        range,
        path: botscope::domain::IntentPath::parse("/").unwrap(),
        filter: Default::default(),
    };
    let e = source.intent_paths(&paths).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    for unsupported in [
        IntentStageMetricsQuery {
            metrics: vec![spec(M::Retry)],
            ..q.clone()
        },
        IntentStageMetricsQuery {
            group_by: vec![IntentStageGroupField::SwitchedToIntent],
            ..q.clone()
        },
    ] {
        let e = source.metrics_of(&unsupported).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported);
    }
}

/// The simulator speaks kore.md: the envelope, the 7-day rule, dates in both
/// formats, `auth` required, latest first, the page cap applied silently.
#[tokio::test]
async fn the_simulator_speaks_kore() {
    let t0 = kore::t0();
    let mut config = kore::sim_config();
    config.max_page_size = 5;
    let sim = kore::Sim::start(config, kore::data(100, t0, t0 + Duration::days(3))).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/public/bot/{}/getSessions", sim.url, kore::KORE_BOT);
    let no_auth = http.post(&url).json(&json!({})).send().await.unwrap();
    assert_eq!(no_auth.status(), 401);
    let body: Value = no_auth.json().await.unwrap();
    assert_eq!(body["errors"][0]["code"], 4002);

    let token = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({ "sub": "1", "appId": kore::CLIENT_ID }),
        &jsonwebtoken::EncodingKey::from_secret(kore::SECRET.as_bytes()),
    )
    .unwrap();
    let post = |body: Value, ctype: &str| {
        http.post(format!("{url}?containmentType={ctype}"))
            .header("auth", &token)
            .json(&body)
            .send()
    };
    let sign = |claims: Value| {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &claims,
            &jsonwebtoken::EncodingKey::from_secret(kore::SECRET.as_bytes()),
        )
        .unwrap()
    };
    let now = chrono::Utc::now().timestamp();
    for (bad, why) in [
        (
            json!({ "sub": "1", "appId": "cs-other" }),
            "another app's id",
        ),
        (
            json!({ "sub": "1", "appid": kore::CLIENT_ID }),
            "appId spelled otherwise",
        ),
        (
            json!({ "appId": kore::CLIENT_ID, "exp": now - 600 }),
            "expired",
        ),
        (
            json!({ "appId": kore::CLIENT_ID, "jti": "j1", "iat": now, "exp": now + 7200 }),
            "jti with exp over an hour",
        ),
    ] {
        let resp = http
            .post(&url)
            .header("auth", sign(bad))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 401, "{why}");
        let body: Value = resp.json().await.unwrap();
        assert!(body["errors"][0]["msg"].is_string(), "{why}");
    }
    let too_long = post(
        json!({ "dateFrom": "2026-03-01", "dateTo": "2026-03-09" }),
        "agent",
    )
    .await
    .unwrap();
    assert_eq!(too_long.status(), 400);
    let body: Value = too_long.json().await.unwrap();
    assert!(
        body["errors"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("7 days")
    );
    assert_eq!(sim.totals().await.rejected_seven_days, 1);

    let ok: Value = post(
        json!({ "dateFrom": "2026-03-02", "dateTo": "2026-03-03T00:00:00.000Z", "limit": 100 }),
        "SelfService",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let sessions = ok["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 5, "limit capped silently");
    assert_eq!(ok["moreAvailable"], true);
    assert!(ok["total"].as_u64().unwrap() > 5);
    let starts: Vec<&str> = sessions
        .iter()
        .map(|s| s["start_time"].as_str().unwrap())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] >= w[1]), "latest first");
    assert!(
        sessions
            .iter()
            .all(|s| s["containmentType"] == "selfService")
    );
    assert!(
        sessions[0]["session_lang"].is_array() && sessions[0]["noOfMessagesExchanged"].is_number()
    );

    let real = sessions[0]["sessionId"].as_str().unwrap();
    let by_id: Value = post(
        json!({ "sessionId": [real, "no-such-session"] }),
        "selfService",
    )
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(by_id["invalidSessions"], json!(["no-such-session"]));
    assert_eq!(by_id["sessions"][0]["sessionId"], real);
    assert_eq!(by_id["total"], 1);
    assert_eq!(by_id["moreAvailable"], false);

    let bots: Value = reqwest::get(format!("{}/_sim/bots", sim.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bots["clientId"], kore::CLIENT_ID);
    assert_eq!(bots["bots"][0], kore::KORE_BOT);
}

#[tokio::test]
async fn settled_windows_are_fetched_once_and_shared_by_neighbouring_queries() {
    let t0 = kore::t0();
    let data = kore::data(40, t0 - Duration::days(6), t0 + Duration::days(12));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let mut config = sim.adapter_config();
    config.window_cache_sessions = 100_000;
    let source = sim.source(config);
    // Aligned windows [t0-6d, t0), [t0, t0+6d), [t0+6d, t0+12d).
    let a = TimeRange::parse(t0 - Duration::days(6), t0 + Duration::days(6), 92).unwrap();
    source.sessions(&query(a)).await.unwrap();
    assert_eq!(sim.totals().await.calls, 6);
    source.sessions(&query(a)).await.unwrap();
    assert_eq!(
        sim.totals().await.calls,
        6,
        "the same windows again: no calls"
    );
    let b = TimeRange::parse(t0, t0 + Duration::days(12), 92).unwrap();
    let page = source.sessions(&query(b)).await.unwrap();
    assert_eq!(
        sim.totals().await.calls,
        9,
        "only the new window is fetched"
    );
    let want: Vec<Session> = customer_sessions(&data, &b);
    assert_each_once(&page.sessions, &want);
}

#[tokio::test]
async fn injected_throttles_and_server_errors_are_retried() {
    let t0 = kore::t0();
    let data = kore::data(200, t0, t0 + Duration::days(3));
    let mut config = kore::sim_config();
    config.throttle_rate = 0.25;
    config.error_rate = 0.25;
    config.max_page_size = 20;
    config.seed = 5;
    let sim = kore::Sim::start(config, data.clone()).await;
    let mut adapter = sim.adapter_config();
    adapter.max_retries = 8;
    adapter.retry_base_delay = StdDuration::from_millis(2);
    let source = sim.source(adapter);
    let range = TimeRange::parse(t0, t0 + Duration::days(3), 92).unwrap();
    let got = every_session(&source, range).await;
    let want: Vec<Session> = customer_sessions(&data, &range);
    assert_each_once(&got, &want);
    let totals = sim.totals().await;
    assert!(
        totals.faults_throttle > 0 && totals.faults_error > 0,
        "{totals:?}"
    );
}

/// Kore's own budget refuses the second half of a query's calls. A client
/// that retries on its short backoff exhausts its retries inside Kore's
/// window; told `Retry-After` (NOT DOCUMENTED whether Kore sends one,
/// kore.md §5.2), it waits that long instead and the query is answered.
#[tokio::test]
async fn a_retry_after_from_kore_replaces_the_backoff() {
    let t0 = kore::t0();
    let data = kore::data(30, t0 - Duration::days(1), t0 + Duration::days(1));
    // Two aligned windows × three containment types: six calls, three admitted.
    let range = TimeRange::parse(t0 - Duration::days(1), t0 + Duration::days(1), 92).unwrap();
    let ask = |retry_after: Option<u64>| {
        let data = data.clone();
        async move {
            let mut config = kore::sim_config();
            config.calls_per_minute = 3;
            config.minute = StdDuration::from_millis(1500);
            config.retry_after_secs = retry_after;
            let sim = kore::Sim::start(config, data).await;
            let mut adapter = sim.adapter_config();
            adapter.max_retries = 3;
            adapter.retry_base_delay = StdDuration::from_millis(5);
            adapter.retry_max_delay = StdDuration::from_secs(5);
            let source = sim.source(adapter);
            let started = Instant::now();
            let got = source.sessions(&query(range)).await;
            (got.map(|p| p.sessions.len()), started.elapsed())
        }
    };
    let (without, _) = ask(None).await;
    let err = without.expect_err("retries inside Kore's window all fail");
    assert_eq!(err.kind, ErrorKind::UpstreamThrottled, "{err:?}");
    let (with, waited) = ask(Some(1)).await;
    assert_eq!(
        with.expect("answered after waiting"),
        customer_sessions(&data, &range).len()
    );
    assert!(waited >= StdDuration::from_millis(900), "{waited:?}");
}

/// Our side of Kore's budget is used up for the next minute, and the bot's
/// answer is due in 3 s: the calls that cannot fit fail at once, naming the
/// budget, instead of waiting out the deadline (and then spending the bot's
/// calls on an answer nobody would receive).
#[tokio::test]
async fn a_budget_used_up_past_the_bots_deadline_fails_at_once() {
    use botscope::engine::{BotScope, CursorKey, Engine, Limits, SessionsRequest};
    let t0 = kore::t0();
    let data = kore::data(30, t0 - Duration::days(1), t0 + Duration::days(1));
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let mut adapter = sim.adapter_config();
    adapter.calls_per_minute = 3;
    let source: Arc<dyn AnalyticsSource> = Arc::new(sim.source(adapter));
    let limits = Limits {
        bot_deadline: Some(StdDuration::from_secs(3)),
        ..Limits::default()
    };
    let engine = Engine::new(vec![source], limits, CursorKey::new(&[7; 32]));
    // Two aligned windows × three containment types: six calls, three in budget.
    let range = TimeRange::parse(t0 - Duration::days(1), t0 + Duration::days(1), 92).unwrap();
    let started = Instant::now();
    let answer = engine
        .sessions(
            &BotScope::All,
            SessionsRequest {
                bot_ids: None,
                range,
                filter: SessionFilter::default(),
                order: SessionOrder::default(),
                first: 100,
                after: None,
            },
        )
        .await
        .unwrap();
    let took = started.elapsed();
    let [e] = answer.errors.as_slice() else {
        panic!("one bot, one error: {:?}", answer.errors);
    };
    assert_eq!(e.kind, ErrorKind::UpstreamThrottled, "{e:?}");
    assert!(e.message.contains("next call is possible in"), "{e:?}");
    assert!(
        took < StdDuration::from_secs(3),
        "before the deadline: {took:?}"
    );
    assert_eq!(sim.totals().await.calls, 3, "no call past the budget");
}

#[tokio::test]
async fn session_id_and_user_filters_are_pushed_down_and_still_exact() {
    let t0 = kore::t0();
    let data = kore::data(80, t0 - Duration::days(3), t0 + Duration::days(3));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let source = sim.source(sim.adapter_config());
    let reference = kore::reference(data.clone());
    let range = TimeRange::parse(t0 - Duration::days(1), t0 + Duration::days(1), 92).unwrap();
    let inside = customer_sessions(&data, &range);
    let outside = data.sessions.first().unwrap();
    assert!(outside.start_time < range.start());
    // Session ids: one call by id (dates ignored by Kore), trimmed to the range.
    let by_id = SessionFilter {
        session_ids: Some(vec![
            inside[0].session_id.clone(),
            inside[5].session_id.clone(),
            outside.session_id.clone(),
            "ffffffffffffffffffffffff".into(),
        ]),
        ..Default::default()
    };
    let got = conformance::all_sessions(&source, range, &by_id, SessionOrder::default(), 10).await;
    let want =
        conformance::all_sessions(&reference, range, &by_id, SessionOrder::default(), 10).await;
    assert_eq!(ids(&got), ids(&want));
    assert_eq!(got.len(), 2);
    assert_eq!(sim.totals().await.calls, 1);
    // One user id: sent as `userId`; several are filtered by botscope.
    let one_user = SessionFilter {
        user_ids: Some(vec![inside[3].user_id.clone().unwrap()]),
        ..Default::default()
    };
    let got =
        conformance::all_sessions(&source, range, &one_user, SessionOrder::default(), 10).await;
    let want =
        conformance::all_sessions(&reference, range, &one_user, SessionOrder::default(), 10).await;
    assert_eq!(ids(&got), ids(&want));
    assert!(!got.is_empty());
    let lex_only = SessionFilter {
        bot_alias_ids: Some(vec!["PRODALIAS1".into()]),
        ..Default::default()
    };
    let got =
        conformance::all_sessions(&source, range, &lex_only, SessionOrder::default(), 10).await;
    assert!(
        got.is_empty(),
        "Kore sessions have no alias: the filter matches none"
    );
}

#[tokio::test]
async fn a_sub_range_of_a_cached_range_costs_no_call_and_the_open_window_refreshes() {
    let t0 = kore::t0();
    let data = kore::data(40, t0, t0 + Duration::days(30));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let mut config = sim.adapter_config();
    config.window_cache_sessions = 100_000;
    let source = sim.source(config);
    let days_1_30 = TimeRange::parse(t0, t0 + Duration::days(30), 92).unwrap();
    source.sessions(&query(days_1_30)).await.unwrap();
    let after_first = sim.totals().await.calls;
    let days_3_20 = TimeRange::parse(t0 + Duration::days(2), t0 + Duration::days(20), 92).unwrap();
    let page = source.sessions(&query(days_3_20)).await.unwrap();
    assert_eq!(
        sim.totals().await.calls,
        after_first,
        "days 3-20 after days 1-30: zero upstream calls"
    );
    let want: Vec<Session> = customer_sessions(&data, &days_3_20);
    assert_each_once(&page.sessions, &want);

    // Today's open window is cached only for recent_ttl.
    let now = chrono::Utc::now();
    let recent = kore::data(40, now - Duration::days(2), now);
    let sim = kore::Sim::start(kore::sim_config(), recent).await;
    let mut config = sim.adapter_config();
    config.window_cache_sessions = 100_000;
    config.recent_ttl = StdDuration::from_millis(100);
    let source = sim.source(config);
    let last_hour = TimeRange::parse(now - Duration::hours(1), now, 92).unwrap();
    source.sessions(&query(last_hour)).await.unwrap();
    let calls = sim.totals().await.calls;
    source.sessions(&query(last_hour)).await.unwrap();
    assert_eq!(sim.totals().await.calls, calls, "within recent_ttl: cached");
    tokio::time::sleep(StdDuration::from_millis(250)).await;
    source.sessions(&query(last_hour)).await.unwrap();
    assert!(
        sim.totals().await.calls > calls,
        "after recent_ttl the open window is fetched again"
    );
}

/// The source cache in front of the real adapter: 50 identical cold queries at
/// once cost what one costs (one call per window × containment type × page,
/// counted by the simulator), and a repeat costs none.
#[tokio::test]
async fn fifty_concurrent_identical_cold_queries_cost_what_one_costs_upstream() {
    use botscope::layers::{CachePolicy, SourceCache, stack};
    let t0 = kore::t0();
    let mut config = kore::sim_config();
    config.max_page_size = 50;
    let sim = kore::Sim::start(
        config,
        kore::data(120, t0 - Duration::days(6), t0 + Duration::days(6)),
    )
    .await;
    let cached = || {
        let policy = CachePolicy {
            settled_ttl: StdDuration::from_secs(3600),
            recent_ttl: StdDuration::from_secs(60),
            settle_lag: StdDuration::from_secs(7200),
        };
        stack(
            Arc::new(sim.source(sim.adapter_config())),
            Some(&SourceCache::new(64 << 20, policy)),
            None,
        )
    };
    let q = query(TimeRange::parse(t0 - Duration::days(6), t0 + Duration::days(6), 92).unwrap());

    let before = sim.totals().await.calls;
    let one = cached().sessions(&q).await.unwrap();
    let per_query = sim.totals().await.calls - before;
    assert!(
        per_query > 6,
        "2 windows × 3 containment types, several pages each: {per_query} calls"
    );

    let layer = cached();
    let before = sim.totals().await.calls;
    let answers = futures::future::join_all((0..50).map(|_| layer.sessions(&q))).await;
    assert_eq!(
        sim.totals().await.calls - before,
        per_query,
        "50 concurrent identical cold queries share one upstream fetch"
    );
    for a in answers {
        assert_eq!(a.unwrap().sessions, one.sessions);
    }
    layer.sessions(&q).await.unwrap();
    assert_eq!(
        sim.totals().await.calls - before,
        per_query,
        "a repeat costs no call"
    );
}

/// getAnalytics takes only the channel ids Kore lists (kore.md §8), and
/// `filters.isDeveloper: false` leaves developer records out.
#[tokio::test]
async fn get_analytics_refuses_unlisted_channels_and_honours_is_developer() {
    let t0 = kore::t0();
    let data = kore::data(400, t0, t0 + Duration::days(2));
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let http = reqwest::Client::new();
    let url = format!("{}/api/public/bot/{}/getAnalytics", sim.url, kore::KORE_BOT);
    let call = |filters: Value| {
        // A fresh jti per call: the simulator refuses a replay.
        let token = jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({ "sub": "1", "appId": kore::CLIENT_ID, "jti": uuid::Uuid::new_v4().to_string(),
                     "iat": chrono::Utc::now().timestamp(), "exp": chrono::Utc::now().timestamp() + 60 }),
            &jsonwebtoken::EncodingKey::from_secret(kore::SECRET.as_bytes()),
        )
        .unwrap();
        let mut f = json!({ "from": t0.to_rfc3339(), "to": (t0 + Duration::days(2)).to_rfc3339() });
        if let (Some(f), Some(extra)) = (f.as_object_mut(), filters.as_object()) {
            f.extend(extra.clone());
        }
        http.post(&url)
            .header("auth", token)
            .json(&json!({ "type": "successtask", "filters": f, "limit": 500, "skip": 0 }))
            .send()
    };
    let refused = call(json!({ "channel": ["rtm", "korevg"] })).await.unwrap();
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.unwrap();
    assert!(
        body["errors"][0]["msg"]
            .as_str()
            .unwrap()
            .contains("korevg"),
        "{body}"
    );
    let total = |v: Value| v["totalCount"].as_u64().unwrap();
    let with: Value = call(json!({ "channel": ["rtm"], "isDeveloper": true }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let without: Value = call(json!({ "channel": ["rtm"], "isDeveloper": false }))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let developer = with["result"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["NLAnalysis"]["isDeveloper"] == true)
        .count() as u64;
    assert!(developer > 0, "the simulator marks developer records");
    assert_eq!(total(without.clone()), total(with) - developer);
    assert!(
        without["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["NLAnalysis"]["isDeveloper"] == false)
    );
    // More than 7 days in one call is refused (the simulator's guess of the
    // undocumented limit), so the adapter's 6-day windows are needed.
    let eight_days = call(json!({ "to": (t0 + Duration::days(8)).to_rfc3339() }))
        .await
        .unwrap();
    assert_eq!(eight_days.status(), 400);
    assert_eq!(sim.totals().await.rejected_replay, 0);
}

/// Intents and utterances from getAnalytics records, against the dataset the
/// simulator serves. The differences are Kore's, and documented: a task is
/// counted when its record is written (its end), `failtask` covers every
/// task that did not succeed, and an utterance record exists for the first
/// understood utterance of a task (`successintent`), for each one not
/// understood inside a task (`failintent` / `unhandledutterance`) and for
/// those before a conversation's first task.
#[tokio::test]
async fn intents_and_utterances_come_from_analytics_records() {
    use botscope::domain::{
        IntentEndState, IntentFilter, IntentGroupField as IG, IntentMetricName as IM,
        IntentMetricsQuery, MetricSpec, UtteranceFilter, UtteranceGroupField as UG,
        UtteranceMetricName as UM, UtteranceMetricsQuery, UtteranceState,
    };
    use std::collections::HashMap;
    let t0 = kore::t0();
    let data = kore::data(100, t0, t0 + Duration::days(2));
    let sim = kore::Sim::start(kore::sim_config(), data.clone()).await;
    let source = sim.source(sim.adapter_config());
    let range = TimeRange::parse(t0, t0 + Duration::days(2), 92).unwrap();
    fn sum<M>(name: M) -> MetricSpec<M> {
        MetricSpec {
            name,
            statistic: Statistic::Sum,
        }
    }

    // Records of channels getAnalytics does not take (korevg, api) cannot be asked for.
    let listed = |c: Option<&str>| {
        c.is_some_and(|c| botscope::simulators::kore::ANALYTICS_CHANNELS.contains(&c))
    };

    // Intent metrics per task.
    let q = IntentMetricsQuery {
        range,
        metrics: vec![sum(IM::Count), sum(IM::Success), sum(IM::Failure)],
        bin_by: None,
        group_by: vec![IG::IntentName],
        filter: IntentFilter::default(),
    };
    let bins = source.metrics_of(&q).await.unwrap();
    let mut want: HashMap<&str, (f64, f64)> = HashMap::new();
    for r in data.intents.iter().filter(|r| {
        range.contains_instant(r.end_time)
            && r.is_developer != Some(true)
            && listed(r.channel.as_deref())
    }) {
        let e = want.entry(r.intent_name.as_str()).or_default();
        e.0 += 1.0;
        if r.end_state == IntentEndState::Success {
            e.1 += 1.0;
        }
    }
    assert_eq!(bins.len(), want.len(), "one row per task");
    for b in &bins {
        let (count, ok) = want[b.groups[0].value.as_str()];
        assert_eq!(b.value(IM::Count, Statistic::Sum), Some(count), "{b:?}");
        assert_eq!(b.value(IM::Success, Statistic::Sum), Some(ok), "{b:?}");
        assert_eq!(
            b.value(IM::Failure, Statistic::Sum),
            Some(count - ok),
            "{b:?}"
        );
    }
    for unsupported in [
        IntentMetricsQuery {
            metrics: vec![sum(IM::Switched)],
            ..q.clone()
        },
        IntentMetricsQuery {
            group_by: vec![IG::IntentLevel],
            ..q.clone()
        },
    ] {
        let e = source.metrics_of(&unsupported).await.unwrap_err();
        assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    }

    // Utterance records: the dataset's own, with the state Kore's type gives.
    let got = conformance::all_utterances(&source, range, UtteranceFilter::default(), 1000).await;
    let said: HashMap<(&str, i64, &str), UtteranceState> = data
        .utterances
        .iter()
        .map(|u| {
            (
                (
                    u.session_id.as_str(),
                    u.timestamp.timestamp_millis(),
                    u.text.as_str(),
                ),
                u.state,
            )
        })
        .collect();
    assert!(got.len() > 300, "{}", got.len());
    for u in &got {
        let key = (
            u.session_id.as_str(),
            u.timestamp.timestamp_millis(),
            u.text.as_str(),
        );
        assert_eq!(
            said.get(&key),
            Some(&u.state),
            "{u:?} is said in the dataset with that state"
        );
        assert!(u.channel.is_some() && u.is_developer != Some(true));
    }
    let missed_inside_tasks = data
        .utterances
        .iter()
        .filter(|u| {
            u.state == UtteranceState::Missed
                && u.is_developer != Some(true)
                && listed(u.channel.as_deref())
                && range.contains_instant(u.timestamp)
                && data.intents.iter().any(|r| {
                    r.session_id == u.session_id
                        && r.start_time <= u.timestamp
                        && u.timestamp <= r.end_time
                })
        })
        .count();
    let missed = got
        .iter()
        .filter(|u| u.state == UtteranceState::Missed)
        .count();
    assert!(
        missed >= missed_inside_tasks,
        "{missed} < {missed_inside_tasks}"
    );
    let hour = TimeRange::parse(t0 + Duration::hours(10), t0 + Duration::hours(11), 92).unwrap();
    let in_hour: Vec<_> = got
        .iter()
        .filter(|u| hour.contains_instant(u.timestamp))
        .cloned()
        .collect();
    assert!(in_hour.len() >= 3, "{}", in_hour.len());
    assert_eq!(
        conformance::all_utterances(&source, hour, UtteranceFilter::default(), 1).await,
        in_hour,
        "page size 1"
    );
    for size in [7, 50] {
        let paged =
            conformance::all_utterances(&source, range, UtteranceFilter::default(), size).await;
        assert_eq!(paged, got, "page size {size}");
    }
    // Utterance metrics are those records counted.
    let m = UtteranceMetricsQuery {
        range,
        metrics: vec![sum(UM::Missed), sum(UM::Count), sum(UM::Detected)],
        bin_by: None,
        group_by: vec![UG::UtteranceText],
        filter: UtteranceFilter::default(),
    };
    let bins = source.metrics_of(&m).await.unwrap();
    let mut by_text: HashMap<&str, (f64, f64)> = HashMap::new();
    for u in &got {
        let e = by_text.entry(u.text.as_str()).or_default();
        e.0 += 1.0;
        if u.state == UtteranceState::Missed {
            e.1 += 1.0;
        }
    }
    assert_eq!(bins.len(), by_text.len());
    for b in &bins {
        let (count, missed) = by_text[b.groups[0].value.as_str()];
        assert_eq!(b.value(UM::Count, Statistic::Sum), Some(count));
        assert_eq!(b.value(UM::Missed, Statistic::Sum), Some(missed));
        assert_eq!(b.value(UM::Detected, Statistic::Sum), Some(count - missed));
    }
    // Only the missed types are asked when only MISSED records are wanted.
    let before = sim.totals().await.calls;
    let only_missed = UtteranceFilter {
        states: Some(vec![UtteranceState::Missed]),
        ..Default::default()
    };
    let missed_only = conformance::all_utterances(&source, range, only_missed, 1000).await;
    assert_eq!(missed_only.len(), missed);
    let windows = KoreWindowPlan::new(&range, sim.adapter_config().window_days)
        .windows
        .len() as u64;
    let calls = sim.totals().await.calls - before;
    assert!(
        (2 * windows..3 * windows).contains(&calls),
        "failintent and unhandledutterance per window, not successintent: {calls} calls for {windows} windows"
    );
}

/// With the window cache on, the families that read the same getAnalytics
/// types share their calls: intent metrics after intent stages, utterance
/// records after utterance metrics, cost none.
#[tokio::test]
async fn families_reading_the_same_record_types_share_their_calls() {
    use botscope::domain::{
        IntentMetricName, IntentMetricsQuery, MetricSpec, UtteranceFilter, UtteranceMetricName,
        UtteranceMetricsQuery, UtteranceQuery, UtteranceState,
    };
    let t0 = kore::t0();
    let data = kore::data(100, t0, t0 + Duration::days(2));
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let mut config = sim.adapter_config();
    config.window_cache_sessions = 100_000;
    let source = sim.source(config);
    let range = TimeRange::parse(t0, t0 + Duration::days(2), 92).unwrap();
    let stages = IntentStageMetricsQuery {
        range,
        metrics: vec![IntentStageMetricSpec {
            name: IntentStageMetricName::Count,
            statistic: Statistic::Sum,
        }],
        bin_by: None,
        group_by: vec![],
        filter: IntentStageFilter::default(),
    };
    source.metrics_of(&stages).await.unwrap();
    let after_stages = sim.totals().await.calls;
    assert!(after_stages > 0);
    let intents = IntentMetricsQuery {
        range,
        metrics: vec![MetricSpec {
            name: IntentMetricName::Success,
            statistic: Statistic::Avg,
        }],
        bin_by: None,
        group_by: vec![],
        filter: Default::default(),
    };
    source.metrics_of(&intents).await.unwrap();
    assert_eq!(
        sim.totals().await.calls,
        after_stages,
        "task records are shared"
    );
    let missed = UtteranceFilter {
        states: Some(vec![UtteranceState::Missed]),
        ..Default::default()
    };
    let metrics = UtteranceMetricsQuery {
        range,
        metrics: vec![MetricSpec {
            name: UtteranceMetricName::Missed,
            statistic: Statistic::Sum,
        }],
        bin_by: None,
        group_by: vec![],
        filter: missed.clone(),
    };
    source.metrics_of(&metrics).await.unwrap();
    let after_metrics = sim.totals().await.calls;
    assert!(after_metrics > after_stages);
    let page = source
        .utterances(&UtteranceQuery {
            range,
            filter: missed,
            after: None,
            limit: botscope::domain::PageSize::parse(50, 1000).unwrap(),
        })
        .await
        .unwrap();
    assert_eq!(page.utterances.len(), 50);
    assert_eq!(
        sim.totals().await.calls,
        after_metrics,
        "utterance records are shared"
    );
}
