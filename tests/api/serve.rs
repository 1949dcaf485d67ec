//! `botscope serve --config FILE` as an operator runs it: three processes
//! (the Lex simulator, the Kore simulator, the gateway) talking over
//! loopback, the gateway built from a TOML file through the production
//! wiring, answering every family for both vendors.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::{DurationRound, Utc};
use serde_json::{Value, json};

/// Kills the processes when the test ends, however it ends.
struct Processes(Vec<Child>);

impl Drop for Processes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

fn spawn(args: &[&str]) -> Child {
    Command::new(env!("CARGO_BIN_EXE_botscope"))
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start botscope")
}

async fn wait_until_up(client: &reqwest::Client, url: &str) {
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if let Ok(r) = client.get(url).send().await
            && r.status().is_success()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not come up within 60 s");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_from_a_toml_config_answers_every_family_for_both_vendors() {
    let (lex_port, kore_port, port) = (free_port(), free_port(), free_port());
    let secret = "serve-test-kore-secret-0123456789";
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("botscope.toml");
    std::fs::write(
        &config,
        format!(
            r#"listen = "127.0.0.1:{port}"
cursor_secret = "serve-test-cursor-secret-0123456789"
[cache]
response_cache = false
[[bots]]
id = "support-lex"
name = "Customer Support (Lex)"
vendor = "lex_v2"
bot_id = "K7XQ2M9PLA"
region = "us-east-1"
endpoint_url = "http://127.0.0.1:{lex_port}"
[[bots]]
id = "sales-kore"
name = "Sales (Kore)"
vendor = "kore"
bot_id = "st-0c6b7d1e-5f3a-4c2b-9d8e-1a2b3c4d5e6f"
host = "http://127.0.0.1:{kore_port}"
client_id = "cs-botscope-sim"
client_secret = "{secret}"
"#
        ),
    )
    .unwrap();
    let lex_listen = format!("127.0.0.1:{lex_port}");
    let kore_listen = format!("127.0.0.1:{kore_port}");
    let mut procs = Processes(vec![
        spawn(&["simulate", "lex", "--listen", &lex_listen, "--days", "3"]),
        spawn(&[
            "simulate",
            "kore",
            "--listen",
            &kore_listen,
            "--days",
            "3",
            "--client-secret",
            secret,
        ]),
    ]);
    let client = reqwest::Client::new();
    wait_until_up(&client, &format!("http://{lex_listen}/_sim/stats")).await;
    wait_until_up(&client, &format!("http://{kore_listen}/_sim/stats")).await;
    procs
        .0
        .push(spawn(&["serve", "--config", config.to_str().unwrap()]));
    wait_until_up(&client, &format!("http://127.0.0.1:{port}/readyz")).await;

    let end = Utc::now()
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap();
    let range =
        json!({ "start": (end - chrono::Duration::days(2)).to_rfc3339(), "end": end.to_rfc3339() });
    let ask = |query: &'static str| {
        let client = client.clone();
        let range = range.clone();
        async move {
            let resp: Value = client
                .post(format!("http://127.0.0.1:{port}/graphql"))
                .json(&json!({ "query": query, "variables": { "r": range } }))
                .send()
                .await
                .expect("request")
                .json()
                .await
                .expect("json");
            assert!(resp["errors"].is_null(), "{query}: {resp}");
            resp["data"].clone()
        }
    };
    let bots = ask("{ bots { id vendor } }").await;
    assert_eq!(bots["bots"].as_array().unwrap().len(), 2, "{bots}");
    let per_bot = |data: &Value, field: &str| -> Vec<String> {
        let mut ids: Vec<String> = data[field]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["groups"][0]["value"].as_str().unwrap().to_owned())
            .collect();
        ids.sort();
        ids
    };
    let both = vec!["sales-kore".to_owned(), "support-lex".to_owned()];
    let sessions = ask(
        "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], \
         groupBy: [BOT]) { groups { value } values { value } } }",
    )
    .await;
    assert_eq!(per_bot(&sessions, "sessionMetrics"), both);
    let intents = ask(
        "query($r: TimeRange!) { intentMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}, \
         {name: SUCCESS, statistic: AVG}], groupBy: [BOT]) { groups { value } values { value } } }",
    )
    .await;
    assert_eq!(per_bot(&intents, "intentMetrics"), both);
    let missed = ask(
        "query($r: TimeRange!) { utteranceMetrics(range: $r, metrics: [{name: MISSED, statistic: SUM}], \
         groupBy: [BOT], first: 10) { groups { value } values { value } } }",
    )
    .await;
    assert_eq!(per_bot(&missed, "utteranceMetrics"), both);
    let page = ask(
        "query($r: TimeRange!) { sessions(range: $r, first: 5) { nodes { bot { id } sessionId \
         utterances(first: 3) { text } } } utterances(range: $r, first: 5) { nodes { bot { id } text } } }",
    )
    .await;
    assert_eq!(page["sessions"]["nodes"].as_array().unwrap().len(), 5);
    assert_eq!(page["utterances"]["nodes"].as_array().unwrap().len(), 5);
    // The answers came from the vendors, through the real adapters.
    let lex: Value = client
        .get(format!("http://{lex_listen}/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let operations: Vec<&str> = lex["stats"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["calls"].as_u64() > Some(0))
        .filter_map(|s| s["operation"].as_str())
        .collect();
    for op in [
        "ListSessionMetrics",
        "ListIntentMetrics",
        "ListUtteranceMetrics",
        "ListSessionAnalyticsData",
        "ListUtteranceAnalyticsData",
    ] {
        assert!(operations.contains(&op), "{op} not called: {lex}");
    }
    let kore: Value = client
        .get(format!("http://{kore_listen}/_sim/stats"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let totals = &kore["totals"];
    assert!(totals["calls"].as_u64() > Some(0), "{kore}");
    for refused in [
        "rejected_auth",
        "rejected_budget",
        "rejected_replay",
        "rejected_other",
    ] {
        assert_eq!(totals[refused], 0, "{refused}: {kore}");
    }
    drop(procs);
}
