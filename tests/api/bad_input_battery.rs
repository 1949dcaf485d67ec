//! The bad-input battery: arguments, cursors, config files and vendor
//! responses. Each case must give a clear error with a stable code (or, for
//! config, the key at fault), never a panic, and the server keeps serving.

use std::sync::{Arc, Mutex};

use axum::http::StatusCode;
use serde_json::{Value, json};

use crate::support::{self, codes, t0};

use botscope::config::Config;
use botscope::domain::Vendor;
use botscope::sources::kore::{KoreConfig, KoreSource};
use botscope::sources::lex::{LexConfig, LexSource};
use botscope::sources::{AnalyticsSource, BotInfo};

fn range() -> Value {
    json!({ "start": t0().to_rfc3339(), "end": (t0() + chrono::Duration::days(2)).to_rfc3339() })
}

fn memory_sources() -> Vec<Arc<dyn AnalyticsSource>> {
    crate::common::demo_memory_sources(30, 9, 2)
}

struct App {
    url: String,
    client: reqwest::Client,
}

async fn spawn(sources: Vec<Arc<dyn AnalyticsSource>>) -> App {
    let mut settings = support::settings(&support::config("")).await;
    settings.cache = None;
    let addr = support::spawn_with_settings(settings, sources).await;
    App {
        url: format!("http://{addr}/graphql"),
        client: reqwest::Client::new(),
    }
}

impl App {
    async fn raw(&self, body: Value) -> (StatusCode, Value) {
        let resp = self
            .client
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap_or(Value::Null))
    }

    async fn query(&self, query: &str, variables: Value) -> Value {
        self.raw(json!({ "query": query, "variables": variables }))
            .await
            .1
    }

    /// A good query still answers with data from `bot`.
    async fn still_serves(&self, bot: &str) {
        let resp = self
            .query(
                "query($r: TimeRange!, $b: [ID!]) { sessions(range: $r, botIds: $b, first: 1) { nodes { bot { id } } } }",
                json!({ "r": range(), "b": [bot] }),
            )
            .await;
        assert!(resp.get("errors").is_none(), "good query after bad: {resp}");
        assert_eq!(resp["data"]["sessions"]["nodes"][0]["bot"]["id"], bot);
    }
}

const SESSIONS: &str = r#"query($r: TimeRange!, $first: Int, $after: String, $b: [ID!]) {
  sessions(range: $r, first: $first, after: $after, botIds: $b) { nodes { id } pageInfo { endCursor } } }"#;

/// Asserts every error has `code` and a non-empty message.
fn expect(case: &str, resp: &Value, code: &str) {
    let errors = resp["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("{case}: no errors: {resp}"));
    assert!(!errors.is_empty(), "{case}");
    for e in errors {
        assert_eq!(e["extensions"]["code"], code, "{case}: {resp}");
        assert!(
            e["message"].as_str().is_some_and(|m| m.len() > 5),
            "{case}: a clear message: {e}"
        );
    }
}

#[tokio::test]
async fn graphql_arguments() {
    let app = spawn(memory_sources()).await;
    let r = |s: &str, e: &str| json!({ "start": s, "end": e });
    let ok_end = "2026-03-03T00:00:00Z";
    let cases: Vec<(&str, &str, Value)> = vec![
        (
            "end before start",
            SESSIONS,
            json!({ "r": r(ok_end, "2026-03-02T00:00:00Z") }),
        ),
        ("empty range", SESSIONS, json!({ "r": r(ok_end, ok_end) })),
        (
            "range over the limit",
            SESSIONS,
            json!({ "r": r("2026-01-01T00:00:00Z", "2026-12-01T00:00:00Z") }),
        ),
        (
            "words for a date",
            SESSIONS,
            json!({ "r": r("yesterday", ok_end) }),
        ),
        ("NaN date", SESSIONS, json!({ "r": r("NaN", ok_end) })),
        (
            "date without zone",
            SESSIONS,
            json!({ "r": r("2026-03-02T00:00:00", ok_end) }),
        ),
        (
            "date out of range",
            SESSIONS,
            json!({ "r": r("+275760-09-13T00:00:00Z", ok_end) }),
        ),
        (
            "number for a date",
            SESSIONS,
            json!({ "r": { "start": 1_772_409_600, "end": ok_end } }),
        ),
        ("missing end", SESSIONS, json!({ "r": { "start": ok_end } })),
        (
            "negative first",
            SESSIONS,
            json!({ "r": range(), "first": -1 }),
        ),
        ("zero first", SESSIONS, json!({ "r": range(), "first": 0 })),
        (
            "huge first",
            SESSIONS,
            json!({ "r": range(), "first": 1_000_000 }),
        ),
        (
            "string first",
            SESSIONS,
            json!({ "r": range(), "first": "ten" }),
        ),
        (
            "unknown bot",
            SESSIONS,
            json!({ "r": range(), "b": ["no-such-bot"] }),
        ),
        (
            "empty metrics",
            "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: []) { binStart } }",
            json!({ "r": range() }),
        ),
        (
            "unknown metric",
            "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: BOGUS, statistic: SUM}]) { binStart } }",
            json!({ "r": range() }),
        ),
        (
            "too many group fields",
            "query($r: TimeRange!) { sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [END_STATE, LOCALE, BOT]) { binStart } }",
            json!({ "r": range() }),
        ),
        ("syntax error", "{ sessions(", json!({})),
        ("unknown field", "{ nonsense }", json!({})),
    ];
    let mut seen = Vec::new();
    for (case, q, vars) in &cases {
        let resp = app.query(q, vars.clone()).await;
        let c = codes(&resp);
        assert!(!c.is_empty(), "{case}: must fail: {resp}");
        for code in &c {
            assert!(
                [
                    "BAD_USER_INPUT",
                    "NOT_FOUND",
                    "FORBIDDEN",
                    "QUERY_TOO_COMPLEX",
                    "GRAPHQL_VALIDATION_FAILED",
                    "GRAPHQL_PARSE_FAILED"
                ]
                .contains(&code.as_str()),
                "{case}: unexpected code {code}: {resp}"
            );
        }
        seen.push((case.to_string(), c));
        app.still_serves("support-lex").await;
    }
    // Argument errors the gateway itself checks name BAD_USER_INPUT exactly.
    for (case, c) in &seen[..7] {
        assert_eq!(c, &["BAD_USER_INPUT"], "{case}");
    }
    assert_eq!(cases.len(), 19);
}

#[tokio::test]
async fn cursors() {
    let app = spawn(memory_sources()).await;
    let first = app
        .query(SESSIONS, json!({ "r": range(), "first": 2 }))
        .await;
    let good = first["data"]["sessions"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut flipped = good.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let other_range = json!({ "start": "2026-03-02T01:00:00Z", "end": "2026-03-03T00:00:00Z" });
    let cases: Vec<(&str, Value)> = vec![
        ("garbage", json!({ "r": range(), "after": "not a cursor" })),
        ("empty", json!({ "r": range(), "after": "" })),
        (
            "base64 noise",
            json!({ "r": range(), "after": "AAAAAAAAAAAAAAAAAAAAAAAAAAAA" }),
        ),
        (
            "tampered",
            json!({ "r": range(), "after": String::from_utf8(flipped).unwrap() }),
        ),
        (
            "truncated",
            json!({ "r": range(), "after": &good[..good.len() / 2] }),
        ),
        (
            "100 KB",
            json!({ "r": range(), "after": "x".repeat(100_000) }),
        ),
        ("non-ASCII", json!({ "r": range(), "after": "ç☃\u{0}" })),
        (
            "another query's cursor",
            json!({ "r": other_range, "after": good }),
        ),
    ];
    for (case, vars) in &cases {
        let resp = app.query(SESSIONS, vars.clone()).await;
        expect(case, &resp, "BAD_USER_INPUT");
        app.still_serves("billing-lex").await;
    }
    assert_eq!(cases.len(), 8);
}

const GOOD_CONFIG: &str = r#"
cursor_secret = "0123456789abcdef0123456789abcdef"
[[bots]]
vendor = "lex_v2"
id = "support"
name = "Support"
bot_id = "K7XQ2M9PLA"
region = "us-east-1"
"#;

/// Each bad file, loaded as `serve` and `check-config` load it, is refused
/// with the exact key at fault and a message.
#[test]
fn config_files() {
    let load = |toml: &str| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("botscope.toml");
        std::fs::write(&path, toml).unwrap();
        Config::load(&path)
    };
    assert!(load(GOOD_CONFIG).is_ok(), "the control loads");
    let lex_bot = |extra: &str| format!("{GOOD_CONFIG}{extra}\n");
    let kore_bot = |extra: &str| {
        format!(
            "{GOOD_CONFIG}[[bots]]\nvendor = \"kore\"\nid = \"k\"\nname = \"K\"\nbot_id = \"st-1\"\nhost = \"https://bots.kore.ai\"\nclient_id = \"cs-1\"\nclient_secret = \"s\"\n{extra}\n"
        )
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("empty file", String::new(), "cursor_secret"),
        (
            "short secret",
            GOOD_CONFIG.replace("0123456789abcdef0123456789abcdef", "short"),
            "cursor_secret",
        ),
        (
            "bad listen",
            format!("listen = \"nowhere\"\n{GOOD_CONFIG}"),
            "listen",
        ),
        (
            "no bots",
            "cursor_secret = \"0123456789abcdef0123456789abcdef\"".into(),
            "bots",
        ),
        (
            "lex id length",
            GOOD_CONFIG.replace("K7XQ2M9PLA", "K7X"),
            "bots[0].bot_id",
        ),
        (
            "unknown field",
            lex_bot("colour = \"red\""),
            "bots[0].colour",
        ),
        (
            "wrong type",
            lex_bot("requests_per_second = \"fast\""),
            "bots[0].requests_per_second",
        ),
        (
            "zero rps",
            lex_bot("requests_per_second = 0"),
            "bots[0].requests_per_second",
        ),
        (
            "zero attempts",
            lex_bot("max_attempts = 0"),
            "bots[0].max_attempts",
        ),
        (
            "too many attempts",
            lex_bot("max_attempts = 99"),
            "bots[0].max_attempts",
        ),
        (
            "bad timeout",
            lex_bot("timeout = \"soon\""),
            "bots[0].timeout",
        ),
        (
            "zero attempt timeout",
            lex_bot("attempt_timeout = \"0s\""),
            "bots[0].attempt_timeout",
        ),
        (
            "bad cool-down",
            format!("{GOOD_CONFIG}[resilience]\nbreaker_cool_down = \"later\"\n"),
            "resilience.breaker_cool_down",
        ),
        (
            "truncated TOML",
            "cursor_secret = \"0123456789abcdef01234\n[[bots]".into(),
            "(file)",
        ),
        (
            "negative budget",
            kore_bot("calls_per_minute = -1"),
            "bots[1].calls_per_minute",
        ),
        (
            "zero page size",
            kore_bot("page_size = 0"),
            "bots[1].page_size",
        ),
        (
            "unknown end state",
            kore_bot("agent_end_state = \"LOST\""),
            "bots[1].agent_end_state",
        ),
        (
            "bad cache size",
            format!("{GOOD_CONFIG}[cache]\nmax_bytes = \"lots\"\n"),
            "cache.max_bytes",
        ),
        (
            "unknown vendor",
            GOOD_CONFIG.replace("lex_v2", "dialogflow"),
            "bots[0].vendor",
        ),
        (
            "duplicate id",
            format!(
                "{GOOD_CONFIG}[[bots]]\nvendor = \"lex_v2\"\nid = \"support\"\nname = \"Again\"\nbot_id = \"K7XQ2M9PLB\"\nregion = \"us-east-1\"\n"
            ),
            "bots[1].id",
        ),
    ];
    for (case, toml, key) in &cases {
        let e = load(toml).expect_err(case);
        assert_eq!(&e.key, key, "{case}: {e:?}");
        assert!(!e.message.is_empty(), "{case}");
    }
}

/// A server answering every POST with the current (status, body).
async fn bad_vendor() -> (String, Arc<Mutex<(u16, String)>>) {
    let answer = Arc::new(Mutex::new((200u16, String::new())));
    let a = answer.clone();
    let app = axum::Router::new().fallback(move || {
        let a = a.clone();
        async move {
            let (status, body) = a.lock().unwrap().clone();
            (
                StatusCode::from_u16(status).unwrap(),
                [("content-type", "application/json")],
                body,
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), answer)
}

fn kore_session(start: Value, end: Value, extra: Value) -> Value {
    let mut s = json!({ "sessionId": "s-1", "start_time": start, "end_time": end });
    if let (Some(s), Some(e)) = (s.as_object_mut(), extra.as_object()) {
        s.extend(e.clone());
    }
    s
}

#[tokio::test]
async fn vendor_responses() {
    let (kore_url, kore_answer) = bad_vendor().await;
    let (lex_url, lex_answer) = bad_vendor().await;
    let info = |id: &str, vendor, vendor_id: &str| BotInfo {
        id: id.into(),
        name: id.into(),
        vendor,
        vendor_bot_id: vendor_id.into(),
    };
    let mut kc = KoreConfig::new(
        kore_url,
        "st-bad",
        "cs-bad",
        secrecy::SecretString::from("bad-vendor-secret".to_owned()),
    );
    kc.max_retries = 0;
    kc.window_cache_sessions = 0;
    let kore: Arc<dyn AnalyticsSource> =
        Arc::new(KoreSource::new(info("bad-kore", Vendor::Kore, "st-bad"), kc).unwrap());
    let mut lc = LexConfig::for_endpoint("BADLEX0001", lex_url);
    lc.max_attempts = 1;
    let lex: Arc<dyn AnalyticsSource> =
        Arc::new(LexSource::new(info("bad-lex", Vendor::LexV2, "BADLEX0001"), &lc).await);
    let mut sources = memory_sources();
    sources.push(kore);
    sources.push(lex);
    let app = spawn(sources).await;

    let start = "2026-03-02T01:00:00Z";
    let end = "2026-03-02T01:05:00Z";
    let ok_session = kore_session(json!(start), json!(end), json!({}));
    // Control: a well-formed answer works through the same wiring.
    *kore_answer.lock().unwrap() = (
        200,
        json!({ "moreAvailable": false, "sessions": [ok_session] }).to_string(),
    );
    let resp = app
        .query(SESSIONS, json!({ "r": range(), "b": ["bad-kore"] }))
        .await;
    assert!(resp.get("errors").is_none(), "control: {resp}");
    assert!(
        !resp["data"]["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .is_empty()
    );

    let many: Vec<Value> = (0..20_000)
        .map(|i| {
            kore_session(
                json!(start),
                json!(end),
                json!({ "sessionId": format!("s-{i}") }),
            )
        })
        .collect();
    let kore_cases: Vec<(&str, u16, String, &str)> = vec![
        ("truncated JSON", 200, r#"{"moreAvailable": false, "sessions": [{"sessionId": "#.into(), "UPSTREAM_BAD_RESPONSE"),
        ("HTML body", 200, "<html>oops</html>".into(), "UPSTREAM_BAD_RESPONSE"),
        ("empty body", 200, String::new(), "UPSTREAM_BAD_RESPONSE"),
        ("sessions not a list", 200, json!({ "sessions": "many" }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("moreAvailable wrong type", 200, json!({ "moreAvailable": "yes", "sessions": [] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("missing sessionId", 200, json!({ "sessions": [{ "start_time": start, "end_time": end }] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("NaN timestamp", 200, json!({ "sessions": [kore_session(json!("NaN"), json!(end), json!({}))] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("numeric timestamp", 200, json!({ "sessions": [kore_session(json!(1.5e300), json!(end), json!({}))] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("messages wrong type", 200, json!({ "sessions": [kore_session(json!(start), json!(end), json!({ "noOfMessagesExchanged": "lots" }))] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("ends before it starts", 200, json!({ "sessions": [kore_session(json!(end), json!(start), json!({}))] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("total wrong type", 200, json!({ "moreAvailable": false, "total": "many", "sessions": [] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("sessions twice", 200, r#"{"moreAvailable": false, "sessions": [], "sessions": []}"#.into(), "UPSTREAM_BAD_RESPONSE"),
        ("trailing bytes", 200, format!("{} x", json!({ "moreAvailable": false, "sessions": [] })), "UPSTREAM_BAD_RESPONSE"),
        ("unknown keys", 200, json!({ "moreAvailable": false, "requestId": { "a": [1, 2] }, "sessions": [ok_session], "total": 1 }).to_string(), "OK"),
        ("endless paging", 200, json!({ "moreAvailable": true, "sessions": [] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("huge page", 200, json!({ "moreAvailable": false, "sessions": many }).to_string(), "OK"),
        ("500 with no envelope", 500, "boom".into(), "UPSTREAM_UNAVAILABLE"),
        ("429", 429, json!({ "errors": [{ "msg": "Rate limit", "code": 429 }] }).to_string(), "UPSTREAM_THROTTLED"),
    ];
    for (case, status, body, code) in &kore_cases {
        *kore_answer.lock().unwrap() = (*status, body.clone());
        let resp = app
            .query(
                SESSIONS,
                json!({ "r": range(), "b": ["bad-kore"], "first": 5 }),
            )
            .await;
        if *code == "OK" {
            assert!(resp.get("errors").is_none(), "{case}: {resp}");
        } else {
            expect(case, &resp, code);
        }
        app.still_serves("sales-kore").await;
    }

    let lex_cases: Vec<(&str, u16, String, &str)> = vec![
        ("truncated JSON", 200, r#"{"botId":"BADLEX0001","sessions":[{"#.into(), "UPSTREAM_BAD_RESPONSE"),
        ("sessions wrong type", 200, json!({ "botId": "BADLEX0001", "sessions": 7 }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("string timestamp", 200, json!({ "botId": "BADLEX0001", "sessions": [{ "sessionId": "a", "conversationStartTime": "NaN" }] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("negative duration", 200, json!({ "botId": "BADLEX0001", "sessions": [{ "sessionId": "a", "conversationStartTime": 1772413200, "conversationEndTime": 1772413500, "conversationDurationSeconds": -300 }] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        ("missing session fields", 200, json!({ "botId": "BADLEX0001", "sessions": [{}] }).to_string(), "UPSTREAM_BAD_RESPONSE"),
        // No `x-amzn-ErrorType`, no `__type`: still a server fault.
        ("500 without error type", 500, json!({ "message": "boom" }).to_string(), "UPSTREAM_UNAVAILABLE"),
    ];
    for (case, status, body, code) in &lex_cases {
        *lex_answer.lock().unwrap() = (*status, body.clone());
        let resp = app
            .query(
                SESSIONS,
                json!({ "r": range(), "b": ["bad-lex"], "first": 5 }),
            )
            .await;
        expect(case, &resp, code);
        app.still_serves("support-lex").await;
    }
    assert_eq!(kore_cases.len() + lex_cases.len(), 24);
}
