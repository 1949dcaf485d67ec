//! Through GraphQL (`botscope::app::Application`) for a Kore bot served by
//! `KoreSource` → HTTP → the Kore simulator: `sessionMetrics` equals the
//! aggregation of the sessions `sessions` returns for the same range and filter.
use crate::kore;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use botscope::sources::AnalyticsSource;

async fn gql(client: &reqwest::Client, url: &str, query: &str, variables: Value) -> Value {
    let v: Value = client
        .post(url)
        .json(&json!({ "query": query, "variables": variables }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(v.get("errors").is_none(), "{v:#}");
    v
}

#[derive(Default, Debug, PartialEq)]
struct Day {
    count: f64,
    success: f64,
    duration_sum: f64,
    duration_max: f64,
    turns_sum: f64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn session_metrics_equal_the_aggregation_of_the_sessions_returned() {
    let t0 = kore::t0();
    let data = kore::data(120, t0 - Duration::days(1), t0 + Duration::days(3));
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let source: Arc<dyn AnalyticsSource> = Arc::new(sim.source(sim.adapter_config()));
    let addr = crate::support::spawn_app(&crate::support::config(""), vec![source]).await;
    let url = format!("http://{addr}/graphql");
    let client = reqwest::Client::new();
    let vars = json!({
        "range": {
            "start": (t0 - Duration::hours(7)).to_rfc3339(),
            "end": (t0 + Duration::days(2) + Duration::hours(5)).to_rfc3339(),
        },
        "filter": { "endStates": ["SUCCESS", "DROPPED"], "modalities": ["TEXT"] },
    });

    let mut want: BTreeMap<NaiveDate, Day> = BTreeMap::new();
    let mut after: Option<String> = None;
    loop {
        let mut v = vars.clone();
        v["after"] = json!(after);
        let page = gql(
            &client,
            &url,
            "query($range: TimeRange!, $filter: SessionFilter, $after: String) {
               sessions(botIds: [\"kore-a\"], range: $range, filter: $filter, first: 150, after: $after) {
                 nodes { startTime durationSeconds endState turns modality }
                 pageInfo { hasNextPage endCursor } } }",
            v,
        )
        .await;
        let conn = &page["data"]["sessions"];
        for s in conn["nodes"].as_array().unwrap() {
            assert_eq!(s["modality"], "TEXT");
            let start: DateTime<Utc> = s["startTime"].as_str().unwrap().parse().unwrap();
            let d = want.entry(start.date_naive()).or_default();
            let duration = s["durationSeconds"].as_f64().unwrap();
            d.count += 1.0;
            d.success += f64::from(u8::from(s["endState"] == "SUCCESS"));
            d.duration_sum += duration;
            d.duration_max = d.duration_max.max(duration);
            d.turns_sum += s["turns"].as_f64().unwrap();
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert!(want.values().map(|d| d.count).sum::<f64>() > 100.0);

    let metrics = gql(
        &client,
        &url,
        "query($range: TimeRange!, $filter: SessionFilter) {
           sessionMetrics(botIds: [\"kore-a\"], range: $range, filter: $filter, binBy: ONE_DAY,
             metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM},
                       {name: DURATION, statistic: SUM}, {name: DURATION, statistic: MAX},
                       {name: TURNS_PER_CONVERSATION, statistic: AVG}]) {
             binStart values { metric statistic value } } }",
        vars,
    )
    .await;
    let bins = metrics["data"]["sessionMetrics"].as_array().unwrap();
    assert_eq!(bins.len(), want.len());
    for bin in bins {
        let start: DateTime<Utc> = bin["binStart"].as_str().unwrap().parse().unwrap();
        let day = start.date_naive();
        let value = |metric: &str, statistic: &str| {
            bin["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["metric"] == metric && v["statistic"] == statistic)
                .and_then(|v| v["value"].as_f64())
                .unwrap()
        };
        let got = Day {
            count: value("COUNT", "SUM"),
            success: value("SUCCESS", "SUM"),
            duration_sum: value("DURATION", "SUM"),
            duration_max: value("DURATION", "MAX"),
            turns_sum: value("TURNS_PER_CONVERSATION", "AVG") * value("COUNT", "SUM"),
        };
        let w = &want[&day];
        assert_eq!(
            (got.count, got.success, got.duration_sum, got.duration_max),
            (w.count, w.success, w.duration_sum, w.duration_max),
            "{day}"
        );
        assert!((got.turns_sum - w.turns_sum).abs() < 1e-6, "{day}");
    }
    assert_eq!(sim.totals().await.rejected_seven_days, 0);
}

/// The gateway over one Kore bot served by `data`, with the strict simulator
/// (replay checks on, as the docs state them) and the real adapter.
async fn gateway(data: Arc<botscope::domain::BotData>) -> (kore::Sim, String) {
    let sim = kore::Sim::start(kore::sim_config(), data).await;
    let source: Arc<dyn AnalyticsSource> = Arc::new(sim.source(sim.adapter_config()));
    let addr = crate::support::spawn_app(&crate::support::config(""), vec![source]).await;
    let url = format!("http://{addr}/graphql");
    (sim, url)
}

fn range_json(start: DateTime<Utc>, end: DateTime<Utc>) -> Value {
    json!({ "start": start.to_rfc3339(), "end": end.to_rfc3339() })
}

/// Kore refuses a second use of a JWT id (kore.md §8): 20 cold queries at
/// once — each several getSessions calls, pages fetched in parallel — must
/// never send one token twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_cold_queries_never_replay_a_jwt() {
    let t0 = kore::t0();
    let data = kore::data(300, t0 - Duration::days(7), t0 + Duration::days(7));
    let (sim, url) = gateway(data).await;
    let client = reqwest::Client::new();
    let queries = (0..20).map(|i| {
        // Different ranges: every query is cold, none is coalesced with another.
        let start = t0 - Duration::days(6) + Duration::hours(i);
        let vars = json!({ "range": range_json(start, start + Duration::days(5)) });
        let (client, url) = (client.clone(), url.clone());
        async move {
            gql(
                &client,
                &url,
                "query($range: TimeRange!) { sessions(range: $range, first: 5) {
                   totalCount nodes { id } } }",
                vars,
            )
            .await
        }
    });
    let answers = futures::future::join_all(queries).await;
    for a in &answers {
        assert!(a["data"]["sessions"]["totalCount"].as_u64().unwrap() > 500);
    }
    let totals = sim.totals().await;
    assert!(totals.calls >= 20 * 3, "{totals:?}");
    assert_eq!(totals.rejected_replay, 0, "{totals:?}");
    assert_eq!(totals.rejected_auth, 0, "{totals:?}");
}

/// A conversation still open at the moment of the call, as the simulator
/// serves it (`sessionStatus: "active"`, no end).
fn open_session(now: DateTime<Utc>, i: u32) -> botscope::domain::Session {
    let start = now - Duration::minutes(20 + i64::from(i));
    botscope::domain::Session {
        bot_id: "kore-a".into(),
        vendor: botscope::domain::Vendor::Kore,
        // Even and odd first digits: `end_time: null` and no `end_time`.
        session_id: format!("{i:x}0000000000000000000000{i:x}"),
        originating_request_id: None,
        user_id: Some(format!("u-open-{i}")),
        channel: Some("rtm".into()),
        locale: Some("en".into()),
        modality: Some(botscope::domain::Modality::Text),
        start_time: start,
        end_time: now + Duration::hours(1),
        duration_seconds: 4200,
        end_state: Some(botscope::domain::ConversationEndState::Success),
        vendor_end_state: Some("selfService".into()),
        turns: Some(4),
        intents: Some(Vec::new()),
        bot_alias_id: None,
        bot_version: None,
        interactive: Some(true),
        tasks_executed: Some(1),
        tags: Some(Vec::new()),
        is_developer: Some(false),
    }
}

/// "The last 24 hours up to now", the question dashboards ask all day: the
/// simulator sends the conversations still open in Kore's open form, and the
/// answer holds exactly the closed ones of the range — no error, no page lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_24_hours_up_to_now_hold_exactly_the_closed_sessions() {
    let now = Utc::now();
    let bot = botscope::simulators::dataset::DatasetBot::kore("kore-a", 3000, [0.6, 0.25, 0.15]);
    let live = botscope::simulators::dataset::Dataset::generate_live(
        11,
        &[bot],
        now - Duration::days(2),
        now,
    );
    let generated = live.bots.into_iter().next().unwrap().1;
    let mut sessions = generated.sessions;
    sessions.extend((0..4).map(|i| open_session(now, i)));
    let data = Arc::new(botscope::domain::BotData::new(sessions, generated.stages));
    let (range_start, range_end) = (now - Duration::hours(24), now);
    let open = data
        .sessions
        .iter()
        .filter(|s| s.start_time >= range_start && s.start_time < now && s.end_time > now)
        .count();
    assert!(
        open >= 4,
        "the simulator has open sessions to send ({open})"
    );
    let mut want: Vec<String> = data
        .sessions
        .iter()
        .filter(|s| s.start_time >= range_start && s.end_time < range_end)
        .filter(|s| s.is_developer != Some(true))
        .map(|s| format!("kore-a/{}", s.session_id))
        .collect();
    want.sort();

    let (sim, url) = gateway(data).await;
    let client = reqwest::Client::new();
    let mut got: Vec<String> = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let page = gql(
            &client,
            &url,
            "query($range: TimeRange!, $after: String) {
               sessions(range: $range, first: 500, after: $after) {
                 nodes { id endTime } pageInfo { hasNextPage endCursor } } }",
            json!({ "range": range_json(range_start, range_end), "after": after }),
        )
        .await;
        let conn = &page["data"]["sessions"];
        for s in conn["nodes"].as_array().unwrap() {
            assert!(s["endTime"].is_string(), "{s}");
            got.push(s["id"].as_str().unwrap().to_owned());
        }
        if conn["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    got.sort();
    assert!(want.len() > 1000, "{}", want.len());
    assert_eq!(got, want);
    let metrics = gql(
        &client,
        &url,
        "query($range: TimeRange!) { sessionMetrics(range: $range,
           metrics: [{name: COUNT, statistic: SUM}]) { values { value } } }",
        json!({ "range": range_json(range_start, range_end) }),
    )
    .await;
    assert_eq!(
        metrics["data"]["sessionMetrics"][0]["values"][0]["value"].as_f64(),
        Some(want.len() as f64)
    );
    let totals = sim.totals().await;
    assert_eq!(
        totals.rejected_other + totals.rejected_auth,
        0,
        "{totals:?}"
    );
}

/// Kore's `isDeveloper` test sessions are no customer traffic: left out of
/// `sessions` and of every metric unless `includeDeveloperSessions: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn developer_sessions_are_left_out_unless_asked_for() {
    let t0 = kore::t0();
    let data = kore::data(400, t0 - Duration::days(1), t0 + Duration::days(3));
    let range = (t0, t0 + Duration::days(2));
    let in_range: Vec<_> = data
        .sessions
        .iter()
        .filter(|s| s.start_time >= range.0 && s.end_time < range.1)
        .collect();
    let developer = in_range
        .iter()
        .filter(|s| s.is_developer == Some(true))
        .count();
    assert!(
        developer > 5,
        "the dataset marks developer sessions ({developer})"
    );
    let (_sim, url) = gateway(data.clone()).await;
    let client = reqwest::Client::new();
    for (include, want) in [(false, in_range.len() - developer), (true, in_range.len())] {
        let v = gql(
            &client,
            &url,
            "query($range: TimeRange!, $filter: SessionFilter) {
               sessions(range: $range, filter: $filter, first: 1000) {
                 totalCount nodes { isDeveloper } }
               sessionMetrics(range: $range, filter: $filter,
                 metrics: [{name: COUNT, statistic: SUM}]) { values { value } } }",
            json!({
                "range": range_json(range.0, range.1),
                "filter": { "includeDeveloperSessions": include },
            }),
        )
        .await;
        assert_eq!(
            v["data"]["sessions"]["totalCount"].as_u64(),
            Some(want as u64)
        );
        let marked = v["data"]["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|s| s["isDeveloper"] == true)
            .count();
        assert_eq!(marked > 0, include, "include={include}");
        assert_eq!(
            v["data"]["sessionMetrics"][0]["values"][0]["value"].as_f64(),
            Some(want as f64),
            "include={include}"
        );
    }
}
