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
    // Ready: the sources are built and auth is off (`/readyz` answers 503
    // otherwise: see `security::readyz_is_503_until_the_jwks_is_loaded`).
    let ready = c.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let ready: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(
        ready,
        json!({ "status": "ready", "sources": "built", "auth": "off" })
    );
    let root = c.get(format!("{base}/")).send().await.unwrap();
    assert_eq!(root.status(), 200, "GET / serves the dashboard");
    assert!(
        root.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("script-src 'self'")
    );
    assert!(root.text().await.unwrap().contains("dashboard/app.js"));
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
    use botscope::server::auth::mint_hs256;
    let secret = b"0123456789abcdef0123456789abcdef";
    let config = crate::support::config(
        "[auth]\nmode = \"jwt\"\nhs256_secret = \"0123456789abcdef0123456789abcdef\"",
    );
    let addr = crate::support::spawn_app(&config, demo_sources(20)).await;
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

/// The pages and their files: every file under `assets/` is embedded (and
/// nothing else), every file a page or module names exists, the pages carry a
/// CSP that allows no other origin, the files are long-cached and compressed.
#[tokio::test]
async fn pages_and_assets_are_embedded_cached_compressed_and_locked_down() {
    use botscope::server::assets;
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets");
    let mut on_disk = Vec::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let rel = p.strip_prefix(&root).unwrap().to_str().unwrap().to_owned();
                if !rel.ends_with("index.html") {
                    on_disk.push(rel);
                }
            }
        }
    }
    on_disk.sort();
    let mut embedded: Vec<String> = assets::paths().map(str::to_owned).collect();
    embedded.sort();
    assert_eq!(
        embedded, on_disk,
        "src/server/assets.rs FILES and assets/ disagree"
    );

    let app = spawn_app().await;
    let base = app.url.trim_end_matches("/graphql").to_owned();
    let v = assets::version();
    for (page, accept) in [("/", "*/*"), ("/graphql", "text/html")] {
        let resp = app
            .client
            .get(format!("{base}{page}"))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let csp = resp.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(csp.starts_with("default-src 'none'"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("http"), "{csp}");
        let html = resp.text().await.unwrap();
        assert!(!html.contains("<script>"), "no inline script in {page}");
        assert!(
            !html.contains("http://") && !html.contains("https://"),
            "{page} names another origin"
        );
        let prefix = format!("/assets/{v}/");
        let named: Vec<&str> = html
            .split(&prefix)
            .skip(1)
            .map(|rest| &rest[..rest.find('"').unwrap()])
            .collect();
        assert!(!named.is_empty(), "{page} loads its files from {prefix}");
        for file in named {
            assert!(
                embedded.iter().any(|e| e == file),
                "{page} names {file}, not embedded"
            );
        }
    }
    // Relative imports between the dashboard's modules stay inside the embedded set.
    for path in embedded
        .iter()
        .filter(|p| p.starts_with("dashboard/") && p.ends_with(".js"))
    {
        let text = std::fs::read_to_string(root.join(path)).unwrap();
        for line in text.lines().filter(|l| l.starts_with("import ")) {
            let target = line.rsplit("from '").next().unwrap().trim_end_matches("';");
            let file = format!("dashboard/{}", target.trim_start_matches("./"));
            assert!(embedded.contains(&file), "{path} imports {target}");
        }
    }

    let js = app
        .client
        .get(format!(
            "{base}/assets/{v}/vendor/graphiql-3.9.0/graphiql.min.js"
        ))
        .header("accept-encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(js.status(), 200);
    assert_eq!(
        js.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    assert_eq!(js.headers()["content-encoding"], "gzip");
    assert!(
        js.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/javascript")
    );
    let stale = app
        .client
        .get(format!("{base}/assets/000000000000/dashboard/app.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        stale.status(),
        200,
        "a page from an older build still gets today's file"
    );
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    let missing = app
        .client
        .get(format!("{base}/assets/{v}/nope.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
}
