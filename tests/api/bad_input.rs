//! Each bad argument answers with BAD_USER_INPUT naming it; the server keeps serving.

use chrono::Duration;
use serde_json::{Value, json};

use crate::helpers::{TestApp, codes, range_json, spawn_app, t0};

const SESSIONS: &str = r#"
query($range: TimeRange!, $first: Int, $after: String, $botIds: [ID!], $filter: SessionFilter) {
  sessions(range: $range, first: $first, after: $after, botIds: $botIds, filter: $filter) {
    edges { cursor } pageInfo { endCursor }
  }
}"#;

/// Asserts one BAD_USER_INPUT error naming `argument`, and that the server still answers.
async fn expect_bad(app: &TestApp, query: &str, vars: Value, argument: &str) {
    let resp = app.query(query, vars.clone()).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{vars}: {resp}");
    let err = &resp["errors"][0];
    let message = err["message"].as_str().unwrap();
    assert!(
        err["extensions"]["argument"] == argument || message.contains(argument),
        "error should name {argument}: {err}"
    );
    let ok = app.query("{ bots { id } }", json!({})).await;
    assert_eq!(ok["data"]["bots"].as_array().unwrap().len(), 4);
}

fn range(start_h: i64, end_h: i64) -> Value {
    json!({ "start": (t0() + Duration::hours(start_h)).to_rfc3339(), "end": (t0() + Duration::hours(end_h)).to_rfc3339() })
}

#[tokio::test]
async fn end_not_after_start() {
    let app = spawn_app().await;
    expect_bad(&app, SESSIONS, json!({ "range": range(5, 5) }), "range").await;
    expect_bad(&app, SESSIONS, json!({ "range": range(5, 2) }), "range").await;
}

#[tokio::test]
async fn range_too_long() {
    let app = spawn_app().await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range(0, 24 * 93) }),
        "range",
    )
    .await;
}

#[tokio::test]
async fn malformed_date_time() {
    let app = spawn_app().await;
    let vars = json!({ "range": { "start": "yesterday", "end": "2026-03-03T00:00:00Z" } });
    let resp = app.query(SESSIONS, vars).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{resp}");
    assert!(
        resp["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("RFC 3339")
    );
}

#[tokio::test]
async fn unknown_bot_id() {
    let app = spawn_app().await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "botIds": ["no-such-bot"] }),
        "botIds",
    )
    .await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "botIds": [] }),
        "botIds",
    )
    .await;
}

#[tokio::test]
async fn first_out_of_bounds() {
    let app = spawn_app().await;
    for first in [0, -3, 1001] {
        expect_bad(
            &app,
            SESSIONS,
            json!({ "range": range_json(1), "first": first }),
            "first",
        )
        .await;
    }
}

async fn a_cursor(app: &TestApp) -> String {
    let resp = app
        .query(SESSIONS, json!({ "range": range_json(1), "first": 2 }))
        .await;
    resp["data"]["sessions"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn malformed_cursor() {
    let app = spawn_app().await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": "not a cursor!" }),
        "after",
    )
    .await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": "" }),
        "after",
    )
    .await;
    let cursor = a_cursor(&app).await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": &cursor[..cursor.len() / 2] }),
        "after",
    )
    .await;
}

#[tokio::test]
async fn tampered_cursor() {
    let app = spawn_app().await;
    let cursor = a_cursor(&app).await;
    let mut bytes = cursor.into_bytes();
    bytes[5] = if bytes[5] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(bytes).unwrap();
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": tampered }),
        "after",
    )
    .await;
}

#[tokio::test]
async fn foreign_cursor() {
    let app = spawn_app().await;
    let cursor = a_cursor(&app).await;
    // Same cursor, different query: another range, another filter, other bots.
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(2), "after": cursor }),
        "after",
    )
    .await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": cursor, "filter": { "locales": ["en"] } }),
        "after",
    )
    .await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "after": cursor, "botIds": ["sales-kore"] }),
        "after",
    )
    .await;
}

#[tokio::test]
async fn empty_metrics_list() {
    let app = spawn_app().await;
    let q = "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: []) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "metrics").await;
}

#[tokio::test]
async fn more_than_two_group_by_fields() {
    let app = spawn_app().await;
    let q = "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [END_STATE, LOCALE, BOT]) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "groupBy").await;
    let q = "query($r: TimeRange!) { intentStageMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [INTENT_STAGE_NAME, SWITCHED_TO_INTENT, BOT]) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "groupBy").await;
    // Intents take three (ListIntentMetrics' limit), not four, and no field twice.
    let q = "query($r: TimeRange!) { intentMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [INTENT_NAME, INTENT_END_STATE, INTENT_LEVEL]) { groups { field value } values { value } } }";
    let three = app.query(q, json!({ "r": range_json(1) })).await;
    assert!(three["errors"].is_null(), "{three}");
    let bins = three["data"]["intentMetrics"].as_array().unwrap();
    assert!(!bins.is_empty());
    assert!(
        bins.iter()
            .all(|b| b["groups"].as_array().unwrap().len() == 3),
        "{three}"
    );
    let q = "query($r: TimeRange!) { intentMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [INTENT_NAME, INTENT_END_STATE, INTENT_LEVEL, BOT]) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "groupBy").await;
    let q = "query($r: TimeRange!) { intentMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [INTENT_NAME, INTENT_LEVEL, INTENT_NAME]) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "groupBy").await;
}

#[tokio::test]
async fn bot_grouping_with_rollup() {
    let app = spawn_app().await;
    let q = "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [BOT], rollup: true) { binStart } }";
    expect_bad(&app, q, json!({ "r": range_json(1) }), "groupBy").await;
}

#[tokio::test]
async fn empty_filter_list() {
    let app = spawn_app().await;
    expect_bad(
        &app,
        SESSIONS,
        json!({ "range": range_json(1), "filter": { "locales": [] } }),
        "filter.locales",
    )
    .await;
}

#[tokio::test]
async fn unknown_enum_and_field_get_a_code() {
    let app = spawn_app().await;
    let resp = app
        .query("{ bots(vendor: DIALOGFLOW) { id } }", json!({}))
        .await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{resp}");
    let resp = app.query("{ bots { nope } }", json!({})).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{resp}");
}

#[tokio::test]
async fn intent_path_arguments() {
    let app = spawn_app().await;
    let q = r#"query($range: TimeRange!, $path: String!, $filter: IntentPathFilter) {
      intentPaths(range: $range, path: $path, filter: $filter) { path } }"#;
    for bad in ["BookCar", "/a//b", "/a/", ""] {
        expect_bad(
            &app,
            q,
            json!({ "range": range(0, 24), "path": bad }),
            "path",
        )
        .await;
    }
    expect_bad(
        &app,
        q,
        json!({ "range": range(0, 24), "path": "/", "filter": { "channels": [] } }),
        "filter.channels",
    )
    .await;
}
