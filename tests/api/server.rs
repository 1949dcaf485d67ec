use serde_json::json;

use crate::helpers::{DownSource, codes, demo_sources, range_json, spawn_app, spawn_with};

#[tokio::test]
async fn schema_file_matches_the_code() {
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql"))
        .expect("schema.graphql at the repository root");
    let generated = botscope::graphql::sdl();
    let first_difference = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b);
    assert!(
        committed == generated,
        "schema.graphql is stale (first difference at line {first_difference:?}): run `cargo run -- schema > schema.graphql`"
    );
}

#[tokio::test]
async fn routes_health_graphiql_and_get_queries() {
    let app = spawn_app().await;
    let base = app.url.trim_end_matches("/graphql").to_owned();
    let c = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let root = c.get(format!("{base}/")).send().await.unwrap();
    assert!(root.status().is_redirection());
    assert_eq!(root.headers()["location"], "/graphql");
    let html = c
        .get(&app.url)
        .header("accept", "text/html")
        .send()
        .await
        .unwrap();
    assert_eq!(html.status(), 200);
    assert!(
        html.text()
            .await
            .unwrap()
            .to_lowercase()
            .contains("graphiql")
    );
    let get = c
        .get(format!("{}?query=%7Bbots%7Bid%7D%7D", app.url))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = get.json().await.unwrap();
    assert_eq!(body["data"]["bots"].as_array().unwrap().len(), 4);
}

#[tokio::test]
async fn oversized_body_is_refused() {
    let app = spawn_app().await;
    let big = "x".repeat(512 * 1024);
    let resp = app
        .client
        .post(&app.url)
        .json(&json!({ "query": format!("{{ bots {{ id }} }} # {big}") }))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 413);
    let ok = app.query("{ bots { id } }", json!({})).await;
    assert!(ok["errors"].is_null());
}

#[tokio::test]
async fn one_bot_down_gives_partial_data_and_its_error() {
    let mut sources = demo_sources(60);
    let down = DownSource::new(sources[2].bot().clone(), sources[2].as_ref());
    sources[2] = std::sync::Arc::new(down);
    let app = spawn_with(sources).await;
    let resp = app
        .query(
            "query($r: TimeRange!) { sessions(range: $r, first: 1000) { nodes { bot { id } } }
               sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}]) { bot { id } } }",
            json!({ "r": range_json(1) }),
        )
        .await;
    assert_eq!(
        codes(&resp),
        ["UPSTREAM_UNAVAILABLE", "UPSTREAM_UNAVAILABLE"],
        "{resp}"
    );
    for e in resp["errors"].as_array().unwrap() {
        assert_eq!(e["extensions"]["botId"], "sales-kore");
        assert_eq!(e["extensions"]["vendor"], "KORE");
        assert_eq!(e["extensions"]["retryable"], true);
    }
    let bots: std::collections::BTreeSet<_> = resp["data"]["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["bot"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(bots.len(), 3, "the other three bots still answer: {bots:?}");
    assert!(!bots.contains("sales-kore"));
    assert_eq!(resp["data"]["sessionMetrics"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn bots_and_bot_lookup() {
    let app = spawn_app().await;
    let resp = app
        .query("{ bots(vendor: KORE) { id vendor vendorBotId } bot(id: \"support-lex\") { name vendor } missing: bot(id: \"nope\") { id } }", json!({}))
        .await;
    assert!(resp["errors"].is_null(), "{resp}");
    assert_eq!(resp["data"]["bots"].as_array().unwrap().len(), 2);
    assert_eq!(resp["data"]["bot"]["vendor"], "LEX_V2");
    assert!(resp["data"]["missing"].is_null());
}

#[tokio::test]
async fn auth_refuses_strangers_and_scopes_bots() {
    use botscope::app::{Application, Settings};
    use botscope::server::auth::{Authenticator, mint_hs256};
    let secret = b"0123456789abcdef0123456789abcdef";
    let mut settings = Settings::local("127.0.0.1:0".parse().unwrap(), b"cursor-secret-0123456789");
    settings.auth = Some(Authenticator::hs256(secret, None, None));
    let addr = Application::build(demo_sources(20), settings)
        .await
        .unwrap()
        .spawn();
    let url = format!("http://{addr}/graphql");
    let c = reqwest::Client::new();
    let body = json!({ "query": "{ bots { id } }" });
    let anon = c.post(&url).json(&body).send().await.unwrap();
    assert_eq!(anon.status(), 401);
    let anon: serde_json::Value = anon.json().await.unwrap();
    assert_eq!(codes(&anon), ["UNAUTHENTICATED"]);
    let wrong = mint_hs256(
        b"another-secret-another-secret-xx",
        "x",
        &["*".into()],
        std::time::Duration::from_secs(60),
    );
    let resp = c
        .post(&url)
        .bearer_auth(wrong)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401);
    let token = mint_hs256(
        secret,
        "dash",
        &["support-lex".into()],
        std::time::Duration::from_secs(60),
    );
    let resp: serde_json::Value = c
        .post(&url)
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(resp["data"]["bots"], json!([{ "id": "support-lex" }]));
    let other = json!({
        "query": "query($r: TimeRange!) { sessions(range: $r, botIds: [\"sales-kore\"]) { totalCount } }",
        "variables": { "r": range_json(1) }
    });
    let resp: serde_json::Value = c
        .post(&url)
        .bearer_auth(&token)
        .json(&other)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(codes(&resp), ["FORBIDDEN"]);
    let all = json!({
        "query": "query($r: TimeRange!) { sessions(range: $r, first: 1000) { nodes { bot { id } } } }",
        "variables": { "r": range_json(1) }
    });
    let resp: serde_json::Value = c
        .post(&url)
        .bearer_auth(&token)
        .json(&all)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let nodes = resp["data"]["sessions"]["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(
        nodes.iter().all(|n| n["bot"]["id"] == "support-lex"),
        "omitted botIds = only the caller's bots"
    );
}
