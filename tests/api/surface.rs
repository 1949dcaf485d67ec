//! The intent and utterance families and the utterance records, over memory
//! sources: sums, rollups, ranking, text merging, paging, and bad input.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use crate::helpers::{TestApp, codes, range_json, spawn_app, t0};

const INTENTS: &str = r#"
query($range: TimeRange!, $metrics: [IntentMetricInput!]!, $groupBy: [IntentGroupField!], $rollup: Boolean, $filter: IntentFilter, $binBy: BinInterval) {
  intentMetrics(range: $range, metrics: $metrics, groupBy: $groupBy, rollup: $rollup, filter: $filter, binBy: $binBy) {
    bot { id } binStart groups { field value } values { metric statistic value }
  }
}"#;

const UTTERANCE_METRICS: &str = r#"
query($range: TimeRange!, $metrics: [UtteranceMetricInput!]!, $groupBy: [UtteranceGroupField!], $rollup: Boolean, $first: Int, $filter: UtteranceFilter, $botIds: [ID!]) {
  utteranceMetrics(range: $range, metrics: $metrics, groupBy: $groupBy, rollup: $rollup, first: $first, filter: $filter, botIds: $botIds) {
    bot { id } groups { field value } values { metric statistic value }
  }
}"#;

const UTTERANCES: &str = r#"
query($range: TimeRange!, $first: Int, $after: String, $filter: UtteranceFilter, $botIds: [ID!]) {
  utterances(range: $range, first: $first, after: $after, filter: $filter, botIds: $botIds) {
    edges { cursor node { id bot { id } sessionId timestamp text state intentName channel } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}"#;

fn metric(name: &str, statistic: &str) -> Value {
    json!({ "name": name, "statistic": statistic })
}

async fn data(app: &TestApp, query: &str, field: &str, vars: Value) -> Vec<Value> {
    let resp = app.query(query, vars).await;
    assert!(resp["errors"].is_null(), "{resp}");
    resp["data"][field].as_array().unwrap().clone()
}

fn value(bin: &Value, i: usize) -> f64 {
    bin["values"][i]["value"].as_f64().unwrap()
}

fn text_key(s: &str) -> String {
    s.split_whitespace()
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[tokio::test]
async fn intent_end_states_add_up_and_rollup_is_the_sum_of_bots() {
    let app = spawn_app().await;
    let metrics = json!([
        metric("COUNT", "SUM"),
        metric("SUCCESS", "SUM"),
        metric("FAILURE", "SUM"),
        metric("SWITCHED", "SUM"),
        metric("DROPPED", "SUM"),
        metric("SUCCESS", "AVG"),
    ]);
    let per_bot = data(
        &app,
        INTENTS,
        "intentMetrics",
        json!({ "range": range_json(3), "metrics": metrics }),
    )
    .await;
    assert_eq!(per_bot.len(), 4, "one bin per bot");
    let mut total = 0.0;
    for b in &per_bot {
        let count = value(b, 0);
        assert!(count > 100.0, "{b}");
        let states: f64 = (1..5).map(|i| value(b, i)).sum();
        assert_eq!(states, count, "every intent ends one way: {b}");
        assert!((value(b, 5) - value(b, 1) / count).abs() < 1e-9);
        total += count;
    }
    let by_name = data(
        &app,
        INTENTS,
        "intentMetrics",
        json!({ "range": range_json(3), "metrics": [metric("COUNT", "SUM")], "groupBy": ["INTENT_NAME"] }),
    )
    .await;
    let grouped: f64 = by_name.iter().map(|b| value(b, 0)).sum();
    assert_eq!(grouped, total, "grouped values sum to ungrouped ones");
    let rolled = data(
        &app,
        INTENTS,
        "intentMetrics",
        json!({ "range": range_json(3), "metrics": metrics, "rollup": true }),
    )
    .await;
    assert_eq!(rolled.len(), 1);
    assert!(rolled[0]["bot"].is_null());
    assert_eq!(value(&rolled[0], 0), total);
    let success: f64 = per_bot.iter().map(|b| value(b, 1)).sum();
    assert!(
        (value(&rolled[0], 5) - success / total).abs() < 1e-9,
        "AVG weighted by COUNT"
    );
    // The leaderboard's long tail: the most popular intent far ahead of the least.
    let mut counts: Vec<f64> = by_name.iter().map(|b| value(b, 0)).collect();
    counts.sort_by(|a, b| b.total_cmp(a));
    assert!(counts[0] > 5.0 * counts[counts.len() - 1], "{counts:?}");
}

#[tokio::test]
async fn top_missed_utterances_are_ranked_merged_by_text_and_match_the_records() {
    let app = spawn_app().await;
    let top = data(
        &app,
        UTTERANCE_METRICS,
        "utteranceMetrics",
        json!({
            "range": range_json(3),
            "metrics": [metric("MISSED", "SUM"), metric("COUNT", "SUM")],
            "groupBy": ["UTTERANCE_TEXT"],
            "rollup": true,
            "first": 20,
        }),
    )
    .await;
    assert_eq!(top.len(), 20, "first bounds the rows");
    let missed: Vec<f64> = top.iter().map(|b| value(b, 0)).collect();
    assert!(
        missed.windows(2).all(|w| w[0] >= w[1]),
        "ranked by the first metric: {missed:?}"
    );
    let keys: HashSet<String> = top
        .iter()
        .map(|b| text_key(b["groups"][0]["value"].as_str().unwrap()))
        .collect();
    assert_eq!(
        keys.len(),
        20,
        "one row per text, whatever its case or spacing"
    );
    // The top text, counted from the records across bots, in every spelling.
    let text = top[0]["groups"][0]["value"].as_str().unwrap();
    let mut seen = 0;
    let mut spellings: HashMap<String, u32> = HashMap::new();
    let mut after: Option<String> = None;
    loop {
        let resp = app
            .query(
                UTTERANCES,
                json!({ "range": range_json(3), "first": 1000, "after": after,
                        "filter": { "states": ["MISSED"], "textContains": [text] } }),
            )
            .await;
        assert!(resp["errors"].is_null(), "{resp}");
        let conn = &resp["data"]["utterances"];
        for e in conn["edges"].as_array().unwrap() {
            let t = e["node"]["text"].as_str().unwrap();
            if text_key(t) == text_key(text) {
                seen += 1;
                *spellings.entry(t.to_owned()).or_default() += 1;
            }
        }
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    assert_eq!(
        f64::from(seen),
        missed[0],
        "the metric counts the records of every spelling"
    );
    let most = spellings
        .iter()
        .max_by_key(|(s, n)| (**n, std::cmp::Reverse((*s).clone())))
        .unwrap();
    assert_eq!(
        most.0, text,
        "the most frequent spelling is shown: {spellings:?}"
    );
    // Per bot, without rollup, the same texts are merged within each bot too.
    let per_bot = data(
        &app,
        UTTERANCE_METRICS,
        "utteranceMetrics",
        json!({ "range": range_json(3), "metrics": [metric("MISSED", "SUM")],
                "groupBy": ["BOT", "UTTERANCE_TEXT"], "first": 1000 }),
    )
    .await;
    let mut rows: HashSet<(String, String)> = HashSet::new();
    for b in &per_bot {
        let key = (
            b["groups"][0]["value"].as_str().unwrap().to_owned(),
            text_key(b["groups"][1]["value"].as_str().unwrap()),
        );
        assert!(rows.insert(key), "a text appears once per bot: {b}");
    }
}

#[tokio::test]
async fn utterance_states_add_up() {
    let app = spawn_app().await;
    let bins = data(
        &app,
        UTTERANCE_METRICS,
        "utteranceMetrics",
        json!({ "range": range_json(3),
                "metrics": [metric("COUNT", "SUM"), metric("DETECTED", "SUM"), metric("MISSED", "SUM"), metric("MISSED", "AVG")] }),
    )
    .await;
    assert_eq!(bins.len(), 4);
    for b in &bins {
        assert_eq!(value(b, 1) + value(b, 2), value(b, 0), "{b}");
        let share = value(b, 3);
        assert!(
            (0.05..0.35).contains(&share),
            "a realistic missed share: {share}"
        );
    }
}

async fn all_utterances(app: &TestApp, range: &Value, first: i64) -> (Vec<Value>, Option<u64>) {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    let mut total = None;
    loop {
        let resp = app
            .query(
                UTTERANCES,
                json!({ "range": range, "first": first, "after": after }),
            )
            .await;
        assert!(resp["errors"].is_null(), "{resp}");
        let conn = &resp["data"]["utterances"];
        total = conn["totalCount"].as_u64().or(total);
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() as i64 <= first);
        out.extend(edges.iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            return (out, total);
        }
        assert_eq!(edges.len() as i64, first, "only the last page is short");
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
}

#[tokio::test]
async fn paging_utterances_gives_every_one_once_newest_first() {
    let app = spawn_app().await;
    let range = json!({ "start": (t0() + Duration::hours(9)).to_rfc3339(), "end": (t0() + Duration::hours(11)).to_rfc3339() });
    let (reference, total) = all_utterances(&app, &range, 1000).await;
    assert!(reference.len() > 60, "{}", reference.len());
    assert_eq!(total, Some(reference.len() as u64));
    let ids: Vec<&str> = reference
        .iter()
        .map(|u| u["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<HashSet<_>>().len(),
        ids.len(),
        "ids are unique"
    );
    let times: Vec<DateTime<Utc>> = reference
        .iter()
        .map(|u| u["timestamp"].as_str().unwrap().parse().unwrap())
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "newest first");
    let bots: HashSet<&str> = reference
        .iter()
        .map(|u| u["bot"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(bots.len(), 4, "merged across bots");
    for size in [1, 7, 50] {
        let (paged, _) = all_utterances(&app, &range, size).await;
        let got: Vec<&str> = paged.iter().map(|u| u["id"].as_str().unwrap()).collect();
        assert_eq!(got, ids, "page size {size}");
    }
}

#[tokio::test]
async fn a_session_lists_its_own_utterances() {
    let app = spawn_app().await;
    let resp = app
        .query(
            r#"query($range: TimeRange!) { sessions(range: $range, first: 5) { nodes {
                 sessionId startTime endTime utterances(first: 50) { sessionId timestamp text state } } } }"#,
            json!({ "range": range_json(1) }),
        )
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    let sessions = resp["data"]["sessions"]["nodes"].as_array().unwrap();
    let mut said = 0;
    for s in sessions {
        let start: DateTime<Utc> = s["startTime"].as_str().unwrap().parse().unwrap();
        let end: DateTime<Utc> = s["endTime"].as_str().unwrap().parse().unwrap();
        for u in s["utterances"].as_array().unwrap() {
            assert_eq!(u["sessionId"], s["sessionId"]);
            let at: DateTime<Utc> = u["timestamp"].as_str().unwrap().parse().unwrap();
            assert!(at >= start && at <= end, "{u} within {s}");
            said += 1;
        }
    }
    assert!(
        said >= sessions.len(),
        "conversations have utterances: {said}"
    );
}

async fn expect_bad(app: &TestApp, query: &str, vars: Value, argument: &str) {
    let resp = app.query(query, vars.clone()).await;
    assert_eq!(codes(&resp), ["BAD_USER_INPUT"], "{vars}: {resp}");
    let err = &resp["errors"][0];
    let message = err["message"].as_str().unwrap();
    assert!(
        err["extensions"]["argument"] == argument || message.contains(argument),
        "error should name {argument}: {err}"
    );
}

#[tokio::test]
async fn bad_arguments_of_the_new_families_are_named() {
    let app = spawn_app().await;
    let r = range_json(1);
    let missed = json!([metric("MISSED", "SUM")]);
    expect_bad(
        &app,
        UTTERANCE_METRICS,
        json!({ "range": r, "metrics": [] }),
        "metrics",
    )
    .await;
    expect_bad(
        &app,
        INTENTS,
        json!({ "range": r, "metrics": [] }),
        "metrics",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCE_METRICS,
        json!({ "range": r, "metrics": missed, "first": 0 }),
        "first",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCE_METRICS,
        json!({ "range": r, "metrics": missed, "first": 100000 }),
        "first",
    )
    .await;
    expect_bad(
        &app,
        INTENTS,
        json!({ "range": r, "metrics": [metric("COUNT", "SUM")], "groupBy": ["INTENT_NAME", "INTENT_LEVEL", "INTENT_END_STATE", "BOT"] }),
        "groupBy",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCE_METRICS,
        json!({ "range": r, "metrics": missed, "groupBy": ["UTTERANCE_TEXT", "UTTERANCE_TEXT"] }),
        "groupBy",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCE_METRICS,
        json!({ "range": r, "metrics": missed, "groupBy": ["BOT"], "rollup": true }),
        "groupBy",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCES,
        json!({ "range": r, "filter": { "textContains": [] } }),
        "filter.textContains",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCES,
        json!({ "range": r, "filter": { "textContains": ["  "] } }),
        "filter.textContains",
    )
    .await;
    expect_bad(
        &app,
        UTTERANCES,
        json!({ "range": r, "filter": { "states": [] } }),
        "filter.states",
    )
    .await;
    expect_bad(
        &app,
        INTENTS,
        json!({ "range": r, "metrics": [metric("COUNT", "SUM")], "filter": { "intentNames": [] } }),
        "filter.intentNames",
    )
    .await;
    expect_bad(&app, UTTERANCES, json!({ "range": r, "first": 0 }), "first").await;
    // A cursor of another query (a sessions cursor, or one of another range).
    let sessions = app
        .query(
            "query($range: TimeRange!) { sessions(range: $range, first: 1) { pageInfo { endCursor } } }",
            json!({ "range": r }),
        )
        .await;
    let foreign = sessions["data"]["sessions"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    expect_bad(
        &app,
        UTTERANCES,
        json!({ "range": r, "after": foreign }),
        "after",
    )
    .await;
    let page = app
        .query(UTTERANCES, json!({ "range": r, "first": 1 }))
        .await;
    let own = page["data"]["utterances"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap();
    expect_bad(
        &app,
        UTTERANCES,
        json!({ "range": range_json(2), "after": own }),
        "after",
    )
    .await;
}

/// Metric bins are written in one pass from the selection (`graphql/bins.rs`);
/// a selection that pass does not cover (here: an inline fragment) goes the
/// general way. Both give the same answer, aliases and `__typename` included.
#[tokio::test]
async fn metric_bins_answer_the_same_whichever_way_they_are_resolved() {
    let app = spawn_app().await;
    // Two `bot` selections under aliases: each bot's object is written once
    // per selection, and must not stand in for the other.
    let fields = "__typename b: bot { __typename id name vendor vendorBotId } binStart binInterval \
                  c: bot { name } groups { __typename field v: value } \
                  values { metric statistic value __typename }";
    for (root, args) in [
        (
            "sessionMetrics",
            r#"metrics: [{name: COUNT, statistic: SUM}, {name: DURATION, statistic: AVG}], binBy: ONE_HOUR, groupBy: [END_STATE, BOT]"#,
        ),
        (
            "intentMetrics",
            r#"metrics: [{name: SUCCESS, statistic: AVG}], groupBy: [INTENT_NAME], rollup: true"#,
        ),
        (
            "utteranceMetrics",
            r#"metrics: [{name: MISSED, statistic: SUM}], groupBy: [UTTERANCE_TEXT], first: 30"#,
        ),
    ] {
        let range = r#"range: {start: "2026-03-02T00:00:00Z", end: "2026-03-04T00:00:00Z"}"#;
        let direct = app
            .query(
                &format!("{{ m: {root}({range}, {args}) {{ {fields} }} }}"),
                json!({}),
            )
            .await;
        let general = app
            .query(
                &format!(
                    "{{ m: {root}({range}, {args}) {{ ... on {} {{ {fields} }} }} }}",
                    match root {
                        "sessionMetrics" => "MetricBin",
                        "intentMetrics" => "IntentMetricBin",
                        _ => "UtteranceMetricBin",
                    }
                ),
                json!({}),
            )
            .await;
        assert!(direct["errors"].is_null(), "{direct}");
        assert!(
            !direct["data"]["m"].as_array().unwrap().is_empty(),
            "{root}"
        );
        assert_eq!(direct, general, "{root}");
    }
}

/// Session nodes are written in one pass too (`graphql/bins.rs`
/// `SessionNodes`); an inline fragment sends the same selection the general
/// way. Every field the pass covers, aliases and `__typename` included, must
/// answer the same, for Lex- and Kore-like bots (whose nulls differ).
#[tokio::test]
async fn session_nodes_answer_the_same_whichever_way_they_are_resolved() {
    let app = spawn_app().await;
    let fields = "__typename id b: bot { __typename id name vendor vendorBotId } sessionId \
                  originatingRequestId userId channel locale modality startTime endTime \
                  durationSeconds endState vendorEndState turns intents botAliasId botVersion \
                  interactive tasksExecuted isDeveloper tags { __typename scope n: name value }";
    let range = r#"range: {start: "2026-03-02T00:00:00Z", end: "2026-03-04T00:00:00Z"}"#;
    let direct = app
        .query(
            &format!("{{ sessions({range}, first: 200) {{ nodes {{ {fields} }} }} }}"),
            json!({}),
        )
        .await;
    let general = app
        .query(
            &format!(
                "{{ sessions({range}, first: 200) {{ nodes {{ ... on Session {{ {fields} }} }} }} }}"
            ),
            json!({}),
        )
        .await;
    assert!(direct["errors"].is_null(), "{direct}");
    let nodes = direct["data"]["sessions"]["nodes"].as_array().unwrap();
    assert_eq!(nodes.len(), 200);
    let vendors: std::collections::BTreeSet<&str> = nodes
        .iter()
        .map(|n| n["b"]["vendor"].as_str().unwrap())
        .collect();
    assert_eq!(vendors.len(), 2, "both vendors' shapes: {vendors:?}");
    assert!(
        nodes.iter().any(|n| n["tags"].is_array()) && nodes.iter().any(|n| n["tags"].is_null()),
        "tags present and absent"
    );
    assert_eq!(direct, general);
}
