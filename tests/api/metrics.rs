use std::collections::HashMap;

use serde_json::{Value, json};

use crate::helpers::{codes, range_json, spawn_app};

const METRICS: &str = r#"
query($range: TimeRange!, $metrics: [SessionMetricInput!]!, $binBy: BinInterval, $groupBy: [SessionGroupField!], $rollup: Boolean, $filter: SessionFilter) {
  sessionMetrics(range: $range, metrics: $metrics, binBy: $binBy, groupBy: $groupBy, rollup: $rollup, filter: $filter) {
    bot { id } binStart binInterval groups { field value } values { metric statistic value }
  }
}"#;

fn metric(name: &str, statistic: &str) -> Value {
    json!({ "name": name, "statistic": statistic })
}

async fn bins(app: &crate::helpers::TestApp, vars: Value) -> Vec<Value> {
    let resp = app.query(METRICS, vars).await;
    assert!(resp["errors"].is_null(), "{resp}");
    resp["data"]["sessionMetrics"].as_array().unwrap().clone()
}

fn value(bin: &Value, i: usize) -> f64 {
    bin["values"][i]["value"].as_f64().unwrap()
}

fn sum_by_bot(bins: &[Value], i: usize) -> HashMap<String, f64> {
    let mut out = HashMap::new();
    for b in bins {
        *out.entry(b["bot"]["id"].as_str().unwrap().to_owned())
            .or_default() += value(b, i);
    }
    out
}

#[tokio::test]
async fn count_matches_sessions_and_end_states_add_up() {
    let app = spawn_app().await;
    let per_bot = bins(
        &app,
        json!({ "range": range_json(2), "metrics": [
            metric("COUNT", "SUM"), metric("SUCCESS", "SUM"), metric("FAILURE", "SUM"), metric("DROPPED", "SUM")
        ]}),
    )
    .await;
    assert_eq!(per_bot.len(), 4, "one bin per bot without binBy/groupBy");
    for b in &per_bot {
        assert_eq!(value(b, 0), value(b, 1) + value(b, 2) + value(b, 3), "{b}");
        assert!(b["binInterval"].is_null());
        // COUNT equals the sessions that `sessions` returns for the bot and range.
        let resp = app
            .query(
                "query($r: TimeRange!, $b: [ID!]) { sessions(range: $r, botIds: $b, first: 1) { totalCount } }",
                json!({ "r": range_json(2), "b": [b["bot"]["id"]] }),
            )
            .await;
        assert_eq!(
            resp["data"]["sessions"]["totalCount"].as_f64().unwrap(),
            value(b, 0)
        );
    }
}

#[tokio::test]
async fn grouped_and_binned_values_sum_to_ungrouped() {
    let app = spawn_app().await;
    let ms = json!([metric("COUNT", "SUM"), metric("DURATION", "SUM")]);
    let plain = sum_by_bot(
        &bins(&app, json!({ "range": range_json(3), "metrics": ms })).await,
        1,
    );
    for (bin_by, group_by) in [
        (Value::Null, json!(["END_STATE"])),
        (Value::Null, json!(["LOCALE", "END_STATE"])),
        (json!("ONE_HOUR"), Value::Null),
        (json!("ONE_DAY"), json!(["END_STATE", "BOT"])),
    ] {
        let grouped = bins(
            &app,
            json!({ "range": range_json(3), "metrics": ms, "binBy": bin_by, "groupBy": group_by }),
        )
        .await;
        let sums = sum_by_bot(&grouped, 1);
        assert_eq!(sums, plain, "binBy {bin_by} groupBy {group_by}");
        if bin_by == json!("ONE_HOUR") {
            assert!(
                grouped
                    .iter()
                    .all(|b| b["binStart"].as_str().unwrap().ends_with(":00:00Z"))
            );
            assert!(grouped.len() > 4 * 24, "hourly bins: {}", grouped.len());
        }
    }
}

#[tokio::test]
async fn rollup_equals_sum_of_bots_and_weights_averages() {
    let app = spawn_app().await;
    let ms = json!([
        metric("COUNT", "SUM"),
        metric("DURATION", "MAX"),
        metric("SUCCESS", "AVG")
    ]);
    let vars = |rollup: bool| json!({ "range": range_json(3), "metrics": ms, "binBy": "ONE_DAY", "groupBy": ["LOCALE"], "rollup": rollup });
    let per_bot = bins(&app, vars(false)).await;
    let rolled = bins(&app, vars(true)).await;
    assert!(!rolled.is_empty());
    for r in &rolled {
        assert!(r["bot"].is_null(), "a rollup has no bot");
        let same: Vec<&Value> = per_bot
            .iter()
            .filter(|b| b["binStart"] == r["binStart"] && b["groups"] == r["groups"])
            .collect();
        let count: f64 = same.iter().map(|b| value(b, 0)).sum();
        let max = same.iter().map(|b| value(b, 1)).fold(f64::MIN, f64::max);
        let weighted: f64 = same.iter().map(|b| value(b, 2) * value(b, 0)).sum::<f64>() / count;
        assert_eq!(value(r, 0), count);
        assert_eq!(value(r, 1), max);
        assert!((value(r, 2) - weighted).abs() < 1e-9);
    }
}

#[tokio::test]
async fn concurrency_rollup_across_bots_is_refused() {
    let app = spawn_app().await;
    let resp = app
        .query(METRICS, json!({ "range": range_json(1), "metrics": [metric("CONCURRENCY", "MAX")], "rollup": true }))
        .await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"]);
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("CONCURRENCY")
    );
    // Per bot it is answered, and the peak never exceeds the sessions of the bin.
    let per_bot = bins(
        &app,
        json!({ "range": range_json(1), "metrics": [metric("CONCURRENCY", "MAX"), metric("COUNT", "SUM")], "binBy": "ONE_HOUR" }),
    )
    .await;
    assert!(per_bot.iter().all(|b| value(b, 0) >= 1.0));
    assert!(
        per_bot.iter().any(|b| value(b, 0) >= 2.0),
        "some overlap in busy hours"
    );
}

#[tokio::test]
async fn filters_apply_to_metrics_like_sessions() {
    let app = spawn_app().await;
    let filter = json!({ "endStates": ["SUCCESS"], "channels": ["Connect", "rtm"] });
    let b = bins(&app, json!({ "range": range_json(2), "metrics": [metric("COUNT", "SUM")], "filter": filter, "rollup": true })).await;
    let resp = app
        .query(
            "query($r: TimeRange!, $f: SessionFilter) { sessions(range: $r, filter: $f, first: 1) { totalCount } }",
            json!({ "r": range_json(2), "f": filter }),
        )
        .await;
    assert_eq!(
        resp["data"]["sessions"]["totalCount"].as_f64().unwrap(),
        value(&b[0], 0)
    );
    // userIds exists only for Kore: Lex sessions never match it (SQL NULL).
    let resp = app
        .query(
            "query($r: TimeRange!) { sessions(range: $r, filter: {userIds: [\"nobody\"]}, first: 5) { totalCount } }",
            json!({ "r": range_json(2) }),
        )
        .await;
    assert_eq!(resp["data"]["sessions"]["totalCount"], 0);
}

const STAGES: &str = r#"
query($range: TimeRange!, $groupBy: [IntentStageGroupField!], $rollup: Boolean) {
  intentStageMetrics(range: $range, metrics: [{name: COUNT, statistic: SUM}, {name: RETRY, statistic: SUM}], groupBy: $groupBy, rollup: $rollup) {
    bot { id } intentStageName switchedToIntent groups { field value } values { metric statistic value }
  }
}"#;

#[tokio::test]
async fn intent_stages_group_by_stage_and_switched_intent() {
    let app = spawn_app().await;
    let total = |resp: &Value| -> f64 {
        resp["data"]["intentStageMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| value(b, 0))
            .sum()
    };
    let plain = app
        .query(STAGES, json!({ "range": range_json(2), "rollup": true }))
        .await;
    let by_stage = app
        .query(
            STAGES,
            json!({ "range": range_json(2), "groupBy": ["INTENT_STAGE_NAME"], "rollup": true }),
        )
        .await;
    let by_switch = app
        .query(
            STAGES,
            json!({ "range": range_json(2), "groupBy": ["SWITCHED_TO_INTENT"] }),
        )
        .await;
    for r in [&plain, &by_stage, &by_switch] {
        assert!(r["errors"].is_null(), "{r}");
    }
    assert!(total(&plain) > 0.0);
    assert_eq!(total(&plain), total(&by_stage));
    assert_eq!(total(&plain), total(&by_switch));
    let stages = by_stage["data"]["intentStageMetrics"].as_array().unwrap();
    assert!(stages.iter().all(|s| s["intentStageName"].is_string()));
    let switched = by_switch["data"]["intentStageMetrics"].as_array().unwrap();
    assert!(switched.iter().any(|s| s["switchedToIntent"] != "(none)"));
}

const PATHS: &str = r#"
query($range: TimeRange!, $botIds: [ID!], $path: String!, $filter: IntentPathFilter) {
  intentPaths(range: $range, botIds: $botIds, path: $path, filter: $filter) {
    bot { id } intentName path count level nodeType
  }
}"#;

async fn paths(app: &crate::helpers::TestApp, bots: &[&str], path: &str) -> Vec<Value> {
    let resp = app
        .query(
            PATHS,
            json!({ "range": range_json(3), "botIds": bots, "path": path }),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    resp["data"]["intentPaths"].as_array().unwrap().clone()
}

/// The path tree merged across bots: counts add per path and `bot` is null;
/// one bot's nodes name it; a deeper level continues the path and holds at
/// most the conversations that reached its parent.
#[tokio::test]
async fn intent_paths_merge_across_bots_and_walk_deeper() {
    let app = spawn_app().await;
    let one = paths(&app, &["support-lex"], "/").await;
    let other = paths(&app, &["billing-lex"], "/").await;
    assert!(one.len() >= 5 && one.iter().all(|n| n["bot"]["id"] == "support-lex"));
    let both = paths(&app, &["support-lex", "billing-lex"], "/").await;
    let mut want: HashMap<String, u64> = HashMap::new();
    for n in one.iter().chain(&other) {
        *want
            .entry(n["path"].as_str().unwrap().to_owned())
            .or_default() += n["count"].as_u64().unwrap();
    }
    assert_eq!(both.len(), want.len());
    for n in &both {
        assert!(n["bot"].is_null(), "{n}");
        assert_eq!(n["level"], 1);
        assert_eq!(n["count"].as_u64(), Some(want[n["path"].as_str().unwrap()]));
    }
    let counts: Vec<u64> = both.iter().map(|n| n["count"].as_u64().unwrap()).collect();
    assert!(
        counts.windows(2).all(|w| w[0] >= w[1]),
        "most frequent first"
    );
    let top = &one[0];
    assert_eq!(top["nodeType"], "INNER");
    let top_path = top["path"].as_str().unwrap();
    let below = paths(&app, &["support-lex"], top_path).await;
    assert!(!below.is_empty());
    let went_on: u64 = below.iter().map(|n| n["count"].as_u64().unwrap()).sum();
    assert!(went_on < top["count"].as_u64().unwrap());
    for n in &below {
        assert_eq!(n["level"], 2);
        assert!(
            n["path"]
                .as_str()
                .unwrap()
                .starts_with(&format!("{top_path}/"))
        );
    }
}
