//! The demo's wiring: a GraphQL query over a Lex bot goes through `LexSource`,
//! the real SDK and loopback HTTP to the in-process simulator, whose
//! `/_sim/stats` counts rise.

use chrono::{Duration, Utc};
use serde_json::{Value, json};

use botscope::demo::{DemoOptions, demo_specs, serve_dataset};
use botscope::domain::Vendor;
use botscope::simulators::dataset::Dataset;

use crate::support;

async fn lex_calls(sim_url: &str) -> u64 {
    let stats: Value = reqwest::get(format!("{sim_url}/_sim/stats"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    stats["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["calls"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphql_over_a_lex_demo_bot_reaches_the_simulator() {
    // Inside Lex's 365 days whatever the date.
    let t0 = botscope::simulators::dataset::fixture_epoch(Utc::now());
    let (infos, specs) = demo_specs(40);
    let dataset = Dataset::generate(7, &specs, t0, t0 + Duration::days(2));
    let demo = serve_dataset(infos, dataset, &DemoOptions::default(), support::config(""))
        .await
        .unwrap();
    let sim_url = demo
        .simulator(Vendor::LexV2)
        .expect("the demo names the Lex simulator's URL")
        .to_owned();
    assert_eq!(lex_calls(&sim_url).await, 0);
    let addr = support::spawn_config(&demo.config).await;
    let query = r#"query($r: TimeRange!) {
        sessions(botIds: ["support-lex"], range: $r, first: 5) { nodes { sessionId bot { id } } }
        sessionMetrics(botIds: ["billing-lex"], range: $r, metrics: [{name: COUNT, statistic: SUM}]) { values { value } }
    }"#;
    let body: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({ "query": query, "variables": { "r": {
            "start": t0.to_rfc3339(), "end": (t0 + Duration::days(2)).to_rfc3339() } } }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(
        body["data"]["sessions"]["nodes"].as_array().unwrap().len(),
        5
    );
    assert!(
        body["data"]["sessionMetrics"][0]["values"][0]["value"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert!(
        lex_calls(&sim_url).await >= 2,
        "both queries went to the simulator"
    );
}

/// Through GraphQL: a range starting more than 365 days back is the Lex bots'
/// clear BAD_USER_INPUT (rule, date, bot), before any call; the Kore bots,
/// which keep years of data, still answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_start_400_days_back_is_the_lex_bots_clear_error_and_kore_still_answers() {
    let now = Utc::now();
    let (infos, specs) = demo_specs(10);
    let start = now - Duration::days(400);
    let dataset = Dataset::generate(7, &specs, start, start + Duration::days(2));
    let demo = serve_dataset(infos, dataset, &DemoOptions::default(), support::config(""))
        .await
        .unwrap();
    let sim_url = demo.simulator(Vendor::LexV2).unwrap().to_owned();
    let addr = support::spawn_config(&demo.config).await;
    let body: Value = reqwest::Client::new()
        .post(format!("http://{addr}/graphql"))
        .json(&json!({
            "query": "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [BOT]) { groups { value } values { value } } }",
            "variables": { "r": { "start": start.to_rfc3339(), "end": (start + Duration::days(2)).to_rfc3339() } }
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let errors = body["errors"].as_array().expect("the Lex bots' errors");
    assert_eq!(errors.len(), 2, "{body}");
    let day = start.format("%Y-%m-%d").to_string();
    for e in errors {
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
        assert_eq!(e["extensions"]["vendor"], "LEX_V2", "{e}");
        let msg = e["message"].as_str().unwrap();
        assert!(msg.contains("365 days") && msg.contains(&day), "{msg}");
    }
    let kore: Vec<&str> = body["data"]["sessionMetrics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["groups"][0]["value"].as_str().unwrap())
        .collect();
    assert_eq!(kore, ["returns-kore", "sales-kore"], "{body}");
    assert_eq!(lex_calls(&sim_url).await, 0, "no call reached Lex");
}
