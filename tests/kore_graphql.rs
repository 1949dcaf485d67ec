//! Through GraphQL (`botscope::app::Application`) for a Kore bot served by
//! `KoreSource` → HTTP → the Kore simulator: `sessionMetrics` equals the
//! aggregation of the sessions `sessions` returns for the same range and filter.

mod kore;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde_json::{Value, json};

use botscope::app::{Application, Settings};
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
    let app = Application::build(
        vec![source],
        Settings::local(
            "127.0.0.1:0".parse().unwrap(),
            b"kore-graphql-test-cursor-secret",
        ),
    )
    .await
    .unwrap();
    let url = format!("http://{}/graphql", app.spawn());
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
