use serde_json::{Value, json};

use crate::helpers::{range_json, spawn_app};

const PAGE: &str = r#"
query($range: TimeRange!, $first: Int!, $after: String, $order: SessionOrder) {
  sessions(range: $range, first: $first, after: $after, orderBy: $order) {
    edges { cursor node { id bot { id } startTime durationSeconds turns } }
    pageInfo { hasNextPage endCursor }
    totalCount
  }
}"#;

/// Pages through everything; returns the nodes in order and the first page's totalCount.
async fn page_through(
    app: &crate::helpers::TestApp,
    first: usize,
    order: Value,
) -> (Vec<Value>, u64) {
    let mut after: Option<String> = None;
    let mut nodes = Vec::new();
    let mut total = None;
    loop {
        let resp = app
            .query(
                PAGE,
                json!({ "range": range_json(2), "first": first, "after": after, "order": order }),
            )
            .await;
        assert!(resp["errors"].is_null(), "{resp}");
        let conn = &resp["data"]["sessions"];
        total.get_or_insert(
            conn["totalCount"]
                .as_u64()
                .expect("totalCount known for memory sources"),
        );
        let edges = conn["edges"].as_array().unwrap();
        assert!(edges.len() <= first);
        nodes.extend(edges.iter().map(|e| e["node"].clone()));
        if !conn["pageInfo"]["hasNextPage"].as_bool().unwrap() {
            break;
        }
        assert_eq!(
            edges.len(),
            first,
            "a page short of `first` must be the last"
        );
        after = conn["pageInfo"]["endCursor"].as_str().map(str::to_owned);
    }
    (nodes, total.unwrap())
}

fn ids(nodes: &[Value]) -> Vec<String> {
    nodes
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn every_page_size_yields_every_session_once_in_order() {
    let app = spawn_app().await;
    let default_order = Value::Null;
    let (reference, total) = page_through(&app, 1000, default_order.clone()).await;
    assert!(
        reference.len() > 200,
        "enough data to page: {}",
        reference.len()
    );
    assert_eq!(reference.len() as u64, total);
    let bots: std::collections::BTreeSet<_> = reference
        .iter()
        .map(|n| n["bot"]["id"].as_str().unwrap())
        .collect();
    assert_eq!(bots.len(), 4, "all four bots merged: {bots:?}");
    // Default order: start time descending.
    let starts: Vec<&str> = reference
        .iter()
        .map(|n| n["startTime"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "not in startTime DESC order"
    );
    let mut unique = ids(&reference);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), reference.len(), "duplicates in the reference");
    for first in [1, 7, 50] {
        let (nodes, _) = page_through(&app, first, default_order.clone()).await;
        assert_eq!(ids(&nodes), ids(&reference), "page size {first}");
    }
}

#[tokio::test]
async fn other_orders_page_consistently() {
    let app = spawn_app().await;
    for (field, key) in [("DURATION", "durationSeconds"), ("TURNS", "turns")] {
        for direction in ["ASC", "DESC"] {
            let order = json!({ "field": field, "direction": direction });
            let (reference, total) = page_through(&app, 1000, order.clone()).await;
            assert_eq!(reference.len() as u64, total);
            let values: Vec<i64> = reference.iter().map(|n| n[key].as_i64().unwrap()).collect();
            let sorted = values.windows(2).all(|w| {
                if direction == "ASC" {
                    w[0] <= w[1]
                } else {
                    w[0] >= w[1]
                }
            });
            assert!(sorted, "{field} {direction} not sorted");
            let (paged, _) = page_through(&app, 7, order).await;
            assert_eq!(ids(&paged), ids(&reference), "{field} {direction}");
        }
    }
}
