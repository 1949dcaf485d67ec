//! Secrets never appear in logs: with every crate logging at `debug` into a
//! buffer, requests with bad and good bearer tokens and a Kore bot whose client
//! secret the vendor refuses leave no trace of the token, the HS256 secret or
//! the Kore client secret — while the log does show the requests happened.

#[path = "../support/mod.rs"]
mod support;

#[path = "../vendors/kore.rs"]
mod kore;
#[path = "../vendors/lex_common.rs"]
mod lex_common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Duration as Days;
use secrecy::SecretString;
use serde_json::json;

use botscope::server::auth::mint_hs256;
use botscope::sources::AnalyticsSource;
use botscope::sources::kore::KoreConfig;

#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

const HS_SECRET: &str = "hs256-secret-SENTINEL-0123456789abcdef";
const KORE_SECRET: &str = "kore-client-secret-SENTINEL-42";

#[tokio::test]
async fn secrets_and_tokens_never_reach_the_logs() {
    let buffer = Buffer::default();
    let writer = buffer.clone();
    tracing_subscriber::fmt()
        .with_env_filter("debug")
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .json()
        .with_current_span(true)
        .with_span_list(true)
        .init();

    // A Kore bot configured with a secret the vendor does not accept.
    let t0 = kore::t0();
    let sim = kore::Sim::start(kore::sim_config(), kore::data(20, t0, t0 + Days::days(2))).await;
    let mut config: KoreConfig = sim.adapter_config();
    config.client_secret = SecretString::from(KORE_SECRET);
    let source: Arc<dyn AnalyticsSource> = Arc::new(sim.source(config));
    // And a Lex bot that answers, through the real SDK.
    let lex = lex_common::fixture(20).await;
    let lex_source: Arc<dyn AnalyticsSource> = Arc::new(lex.lex);

    let config = support::config(&format!(
        "[auth]\nmode = \"jwt\"\nhs256_secret = \"{HS_SECRET}\""
    ));
    let addr = support::spawn_app(&config, vec![source, lex_source]).await;
    let url = format!("http://{addr}/graphql");
    let client = reqwest::Client::new();

    let good = mint_hs256(
        HS_SECRET.as_bytes(),
        "logger",
        &["*".into()],
        Duration::from_secs(600),
    );
    let forged = mint_hs256(
        b"forged-secret-forged-secret-forged!!",
        "mallory",
        &["*".into()],
        Duration::from_secs(600),
    );
    let expired = {
        let now = chrono::Utc::now().timestamp();
        jsonwebtoken::encode(
            &jsonwebtoken::Header::default(),
            &json!({ "sub": "old", "exp": now - 3600, "bots": ["*"] }),
            &jsonwebtoken::EncodingKey::from_secret(HS_SECRET.as_bytes()),
        )
        .unwrap()
    };
    let garbage = "garbage-token-SENTINEL";
    // The Lex bot's data starts at its own t0 (recent, inside Lex's 365 days).
    let day = lex_common::t0();
    let query = json!({
        "query": "query($r: TimeRange!) { sessions(range: $r) { totalCount nodes { id } } }",
        "variables": { "r": { "start": day.to_rfc3339(), "end": (day + Days::days(1)).to_rfc3339() } }
    });
    for token in [good.as_str(), forged.as_str(), expired.as_str(), garbage] {
        let resp = client
            .post(&url)
            .bearer_auth(token)
            .header("x-request-id", "req-logs-test")
            .json(&query)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.headers()["x-request-id"], "req-logs-test");
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.unwrap();
        if token == good {
            assert_eq!(status, 200);
            // The vendor refused botscope's credentials: an upstream error.
            assert!(
                body["errors"].as_array().is_some_and(|e| !e.is_empty()),
                "{body}"
            );
        } else {
            assert_eq!(status, 401, "{body}");
        }
    }
    tokio::time::sleep(Duration::from_millis(100)).await;

    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    assert!(
        logs.contains("req-logs-test"),
        "requests are logged with their id:\n{logs}"
    );
    assert!(logs.contains("unauthenticated"), "refusals are logged");
    // The refused Kore call is logged inside its `upstream` span, itself inside
    // the request's span.
    let upstream = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| l["fields"]["message"] == "Kore call failed")
        .unwrap_or_else(|| panic!("a failed Kore call is logged:\n{logs}"));
    let span = &upstream["span"];
    assert_eq!(span["name"], "upstream", "{upstream}");
    assert_eq!(span["vendor"], "KORE", "{upstream}");
    assert_eq!(span["operation"], "getSessions", "{upstream}");
    assert_eq!(span["bot"], kore::info().id.as_str(), "{upstream}");
    assert_eq!(span["attempt"], 0, "{upstream}");
    let names: Vec<&str> = upstream["spans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(names.last(), Some(&"upstream"), "{upstream}");
    assert!(names.len() >= 2, "nested in the request span: {upstream}");
    // The Lex SDK's own events during ListSessionAnalyticsData happen inside
    // the Lex upstream span (under the SDK's own spans), inside the request's.
    let lex_span = |l: &serde_json::Value| {
        l["spans"].as_array().and_then(|spans| {
            spans
                .iter()
                .find(|s| s["name"] == "upstream" && s["vendor"] == "LEX_V2")
                .cloned()
        })
    };
    let lex_event = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|l| lex_span(l).is_some())
        .unwrap_or_else(|| panic!("an event inside a Lex upstream span:\n{logs}"));
    let span = lex_span(&lex_event).unwrap();
    assert_eq!(span["operation"], "ListSessionAnalyticsData", "{lex_event}");
    assert_eq!(span["bot"], lex_common::info().id.as_str(), "{lex_event}");
    assert_eq!(
        lex_event["spans"][0]["name"], "request",
        "nested in the request span: {lex_event}"
    );
    for (what, secret) in [
        ("HS256 secret", HS_SECRET),
        ("Kore client secret", KORE_SECRET),
        ("good bearer token", good.as_str()),
        ("forged bearer token", forged.as_str()),
        ("expired bearer token", expired.as_str()),
        ("garbage bearer token", garbage),
    ] {
        assert!(!logs.contains(secret), "the {what} appears in the logs");
        // Nor its signature part alone (the most secret-like piece of a JWT).
        if let Some(sig) = secret.rsplit('.').next().filter(|s| s.len() > 20) {
            assert!(
                !logs.contains(sig),
                "the {what}'s signature appears in the logs"
            );
        }
    }
    assert!(!logs.contains("SENTINEL"), "no sentinel anywhere");
}
