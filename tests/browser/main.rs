//! The browser tests (issue 13): the real Chromium, driven over CDP, against
//! the demo's wiring (both simulators in-process, the real adapters) on port 0.
//!
//! - GraphiQL renders its editor offline and runs a query;
//! - the dashboard's first load (data on screen, bytes), every view with no
//!   console error and no request to another origin, the KPI numbers, the
//!   intent leaderboard's and the top missed utterances' first rows equal to
//!   the API's for the same range, a missed text's records and their session,
//!   the state in the URL;
//! - a failing vendor's bots show their error code on their own tiles while
//!   the other bots render;
//! - with auth on, a bad token is refused and a scoped token sees its bots only.
//!
//! Chromium missing is a failure, not a skip. Screenshots go to
//! `target/browser-screenshots/`. `BOTSCOPE_README_SCREENSHOT=1` also writes
//! README's `docs/dashboard.png`.

#[path = "../support/mod.rs"]
mod support;

mod cdp;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Value, json};

use botscope::demo::{DemoOptions, demo_dataset, serve_dataset};
use botscope::domain::Vendor;
use botscope::server::auth::mint_hs256;

use cdp::{Browser, Page};

/// One browser test at a time: the first-load figures must not share the two
/// cores with another test's browser.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

const WAIT: Duration = Duration::from_secs(60);
const SECRET: &[u8] = b"browser-test-secret-0123456789abcdef";

struct Demo {
    base: String,
    lex_sim: String,
    client: reqwest::Client,
}

impl Demo {
    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .client
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        req.send().await.unwrap().json().await.unwrap()
    }
}

/// `botscope demo`'s wiring on port 0: the demo bots through the real
/// adapters to both simulators in-process.
/// `auth`: the HS256 secret tokens must be signed with, or none.
async fn spawn_demo(opts: DemoOptions, auth: Option<&[u8]>) -> Demo {
    let (infos, mut dataset) = demo_dataset(&opts);
    // The demo's data is live: conversations still open close while the test
    // runs, so the page and the API, asked a moment apart, could count one
    // more. Without them every number is fixed for the whole test.
    let now = chrono::Utc::now();
    for (_, data) in &mut dataset.bots {
        data.sessions.retain(|s| s.end_time <= now);
    }
    let toml = match auth {
        Some(secret) => format!(
            "[auth]\nmode = \"jwt\"\nhs256_secret = \"{}\"",
            std::str::from_utf8(secret).unwrap()
        ),
        None => String::new(),
    };
    let demo = serve_dataset(infos, dataset, &opts, support::config(&toml))
        .await
        .unwrap();
    let lex_sim = demo
        .simulator(Vendor::LexV2)
        .expect("the demo names the Lex simulator")
        .to_owned();
    let addr = support::spawn_config(&demo.config).await;
    Demo {
        base: format!("http://{addr}"),
        lex_sim,
        client: reqwest::Client::new(),
    }
}

/// A smaller demo for the tests that do not measure.
fn small() -> DemoOptions {
    DemoOptions {
        days: 8,
        sessions_per_day: 200,
        ..DemoOptions::default()
    }
}

fn screenshots() -> PathBuf {
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

/// No console error, no exception, and every request to the page's own origin.
fn assert_clean(page: &Page<'_>, base: &str, allowed_errors: &[&str]) {
    let log = page.log();
    let errors: Vec<&String> = log
        .errors
        .iter()
        .filter(|e| !allowed_errors.iter().any(|a| e.contains(a)))
        .collect();
    assert!(errors.is_empty(), "console errors: {errors:#?}");
    let foreign: Vec<String> = log
        .requests
        .iter()
        // `data:` URLs (GraphiQL's embedded fonts and icons) are not requests
        // to anyone.
        .filter(|u| {
            !u.starts_with(&format!("{base}/")) && *u != "about:blank" && !u.starts_with("data:")
        })
        .map(|u| u.chars().take(120).collect::<String>())
        .collect();
    assert!(
        foreign.is_empty(),
        "requests to another origin: {foreign:#?}"
    );
    assert!(!log.requests.is_empty(), "the page made requests");
}

async fn wait_ready(page: &Page<'_>) {
    page.wait_for(
        "document.getElementById('view').dataset.state === 'ready'",
        WAIT,
    )
    .await;
}

async fn click(page: &Page<'_>, selector: &str) {
    let found = page
        .eval(&format!(
            "(() => {{ const e = document.querySelector({}); if (e) e.click(); return !!e; }})()",
            json!(selector)
        ))
        .await;
    assert_eq!(found, json!(true), "nothing to click at {selector}");
}

async fn open_view(page: &Page<'_>, view: &str) {
    click(page, &format!("#nav [data-view={view}]")).await;
    page.wait_for(
        &format!("document.querySelector('#nav [data-view={view}].active')"),
        WAIT,
    )
    .await;
    wait_ready(page).await;
}

async fn count(page: &Page<'_>, selector: &str) -> u64 {
    page.eval(&format!(
        "document.querySelectorAll({}).length",
        json!(selector)
    ))
    .await
    .as_u64()
    .unwrap()
}

async fn attr_list(page: &Page<'_>, selector: &str, attr: &str) -> Vec<String> {
    let v = page
        .eval(&format!(
            "[...document.querySelectorAll({})].map(e => e.getAttribute({}))",
            json!(selector),
            json!(attr)
        ))
        .await;
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap_or("").to_owned())
        .collect()
}

/// `12345` → `12,345`, as the page's `Intl.NumberFormat('en')` writes it.
fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const KPI_QUERY: &str = r#"query($r: TimeRange!) {
  sessionMetrics(range: $r, rollup: true, metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: AVG},
    {name: DROPPED, statistic: AVG}, {name: FAILURE, statistic: AVG}, {name: DURATION, statistic: AVG},
    {name: TURNS_PER_CONVERSATION, statistic: AVG}]) { values { metric statistic value } }
  perBot: sessionMetrics(range: $r, metrics: [{name: COUNT, statistic: SUM}], groupBy: [BOT]) {
    groups { value } values { value } }
}"#;

/// The dashboard's leaderboard query (`DashboardIntentLeaderboard`).
const LEADERBOARD_QUERY: &str = r#"query($r: TimeRange!, $b: [ID!]) {
  intentMetrics(botIds: $b, range: $r, groupBy: [BOT, INTENT_NAME],
                metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM}]) {
    bot { id } groups { field value } values { metric statistic value }
  }
}"#;

/// The dashboard's top missed texts (`DashboardMissedUtterances`).
const MISSED_QUERY: &str = r#"query($r: TimeRange!, $b: [ID!]) {
  utteranceMetrics(botIds: $b, range: $r, groupBy: [UTTERANCE_TEXT], rollup: true, first: 50,
                   metrics: [{name: MISSED, statistic: SUM}]) {
    groups { value } values { value }
  }
}"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_renders_offline_and_runs_a_readme_query() {
    let _serial = SERIAL.lock().await;
    let demo = spawn_demo(small(), None).await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;
    page.goto(&format!("{}/graphql", demo.base)).await;
    let editor = "document.querySelector('.graphiql-query-editor .CodeMirror')";
    page.wait_for(editor, WAIT).await;
    assert_eq!(
        count(&page, ".graphiql-tab").await,
        3,
        "the README's three examples are the default tabs"
    );
    let query = page.eval(&format!("{editor}.CodeMirror.getValue()")).await;
    assert!(
        query
            .as_str()
            .unwrap()
            .contains("sessions(range: $range, first: 20)"),
        "{query}"
    );
    click(&page, ".graphiql-execute-button").await;
    let result = "document.querySelector('.result-window .CodeMirror')";
    page.wait_for(
        &format!("{result} && {result}.CodeMirror.getValue().includes('endCursor')"),
        WAIT,
    )
    .await;
    let answer: Value = serde_json::from_str(
        page.eval(&format!("{result}.CodeMirror.getValue()"))
            .await
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(answer.get("errors").is_none(), "{answer}");
    assert_eq!(
        answer["data"]["sessions"]["nodes"]
            .as_array()
            .unwrap()
            .len(),
        20
    );
    page.screenshot(&screenshots().join("graphiql.png"), false)
        .await;
    assert_clean(&page, &demo.base, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_first_load_every_view_and_kpis_equal_to_the_api() {
    let _serial = SERIAL.lock().await;
    // The figures are for `botscope demo` as it starts: its default dataset.
    let demo = spawn_demo(DemoOptions::default(), None).await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;

    // First load, cold: a fresh profile, a fresh server (no cache of any kind).
    page.goto(&format!("{}/", demo.base)).await;
    wait_ready(&page).await;
    let on_screen = page
        .eval("performance.getEntriesByName('botscope:data')[0].startTime")
        .await
        .as_f64()
        .unwrap();
    let log = page.log();
    let transfer = page
        .eval(
            "performance.getEntriesByType('navigation')[0].transferSize + \
             performance.getEntriesByType('resource').reduce((a, r) => a + r.transferSize, 0)",
        )
        .await
        .as_f64()
        .unwrap();
    let figures = format!(
        "first load of / over the default demo: data on screen {on_screen:.0} ms after navigation start; \
         {} bytes on the wire (CDP encodedDataLength; Resource Timing transferSize {transfer:.0}) in {} requests",
        log.encoded_bytes,
        log.requests.len()
    );
    let per_request = page
        .eval(
            "[performance.getEntriesByType('navigation')[0], ...performance.getEntriesByType('resource')]\
             .map(r => `${r.transferSize}\t${r.decodedBodySize}\t${Math.round(r.responseEnd)}\t${r.name.replace(location.origin, '')}`).join('\\n')",
        )
        .await;
    let figures = format!(
        "{figures}\nbytes on the wire, bytes decoded, ms to response end, request:\n{}",
        per_request.as_str().unwrap_or("")
    );
    println!("{figures}");
    std::fs::create_dir_all(screenshots()).unwrap();
    std::fs::write(screenshots().join("first-load.txt"), format!("{figures}\n")).unwrap();
    assert!(
        log.encoded_bytes <= 300 * 1024,
        "first load transferred {} bytes, over the 300 KB budget",
        log.encoded_bytes
    );
    assert!(
        on_screen <= 3000.0,
        "data on screen after {on_screen:.0} ms (target 1.5 s; this test fails past twice that)"
    );
    page.screenshot(&screenshots().join("overview.png"), true)
        .await;
    if std::env::var_os("BOTSCOPE_README_SCREENSHOT").is_some() {
        page.screenshot(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs/dashboard.png"),
            true,
        )
        .await;
    }

    // The KPI tiles hold exactly what the API answers for the page's range.
    let start = page
        .eval("document.getElementById('range-label').dataset.start")
        .await;
    let end = page
        .eval("document.getElementById('range-label').dataset.end")
        .await;
    let api = demo
        .graphql(
            None,
            KPI_QUERY,
            json!({ "r": { "start": start, "end": end } }),
        )
        .await;
    assert!(api.get("errors").is_none(), "{api}");
    let values = api["data"]["sessionMetrics"][0]["values"]
        .as_array()
        .unwrap();
    for (tile, v) in [
        "conversations",
        "containment",
        "dropoff",
        "failure",
        "duration",
        "turns",
    ]
    .iter()
    .zip(values)
    {
        let on_page = page
            .eval(&format!(
                "document.querySelector('[data-kpi={tile}]').dataset.value"
            ))
            .await;
        let on_page: f64 = on_page.as_str().unwrap().parse().unwrap();
        // Equal up to the last bits: a rollup's AVG adds the bots' shares in
        // the order they answered, so two asks can differ in the 16th digit.
        let api = v["value"].as_f64().unwrap();
        assert!(
            (on_page - api).abs() <= api.abs() * 1e-12,
            "KPI {tile}: page {on_page}, API {api}"
        );
    }
    let conversations = values[0]["value"].as_f64().unwrap() as u64;
    assert!(conversations > 1000, "the demo has a week of traffic");
    let shown = page
        .eval("document.querySelector('[data-kpi=conversations] .kpi-value').textContent")
        .await;
    assert_eq!(shown, json!(thousands(conversations)));
    let containment = values[1]["value"].as_f64().unwrap() * 100.0;
    let shown = page
        .eval("document.querySelector('[data-kpi=containment] .kpi-value').textContent")
        .await;
    let shown: f64 = shown
        .as_str()
        .unwrap()
        .trim_end_matches(" %")
        .parse()
        .unwrap();
    assert!(
        (shown - containment).abs() <= 0.05,
        "{shown} vs {containment}"
    );
    // One row per bot, each with the bot's own volume.
    for bin in api["data"]["perBot"].as_array().unwrap() {
        let bot = bin["groups"][0]["value"].as_str().unwrap();
        let on_page = page
            .eval(&format!(
                "document.querySelector('.bot-row[data-bot={bot}]').dataset.count"
            ))
            .await;
        assert_eq!(
            on_page.as_str().unwrap().parse::<f64>().unwrap(),
            bin["values"][0]["value"].as_f64().unwrap(),
            "volume of {bot}"
        );
    }
    assert_eq!(count(&page, ".bot-row[data-state=ok] .spark").await, 4);
    assert!(count(&page, ".chart .bar rect").await > 100, "volume bars");

    // Intents: the leaderboard, one row per intent across the bots, equal to
    // the API's answer to the same query; then the funnel per bot.
    open_view(&page, "intents").await;
    // A bot that cannot answer in time (its share of the request deadline) is
    // named with its code on the card, and the rows are the other bots': the
    // API is asked about the bots that answered on the page.
    let bot_ids: Vec<String> =
        demo.graphql(None, "{ bots { id } }", json!({})).await["data"]["bots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["id"].as_str().unwrap().to_owned())
            .collect();
    let answered = |failed: &BTreeSet<String>| -> Vec<String> {
        bot_ids
            .iter()
            .filter(|b| !failed.contains(*b))
            .cloned()
            .collect()
    };
    let failed: BTreeSet<String> = attr_list(&page, ".leaderboard .bot-banner", "data-bot")
        .await
        .into_iter()
        .collect();
    if !failed.is_empty() {
        eprintln!("intent leaderboard: bots with an error on the page: {failed:?}");
    }
    let api = demo
        .graphql(
            None,
            LEADERBOARD_QUERY,
            json!({ "r": { "start": start, "end": end }, "b": answered(&failed) }),
        )
        .await;
    assert!(api.get("errors").is_none(), "{api}");
    let mut volume: BTreeMap<String, (f64, f64)> = BTreeMap::new();
    for bin in api["data"]["intentMetrics"]
        .as_array()
        .expect("intentMetrics")
    {
        let name = bin["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["field"] == "INTENT_NAME")
            .and_then(|g| g["value"].as_str())
            .unwrap_or("")
            .to_owned();
        let value = |metric: &str| {
            bin["values"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["metric"] == metric)
                .and_then(|v| v["value"].as_f64())
        };
        let entry = volume.entry(name).or_default();
        entry.0 += value("COUNT").unwrap_or(0.0);
        entry.1 += value("SUCCESS").unwrap_or(0.0);
    }
    volume.retain(|_, (n, _)| *n > 0.0);
    assert!(!volume.is_empty(), "the demo has intents: {api}");
    assert_eq!(count(&page, ".intent-row").await, volume.len() as u64);
    let top = page
        .eval(
            "(() => { const r = document.querySelector('.intent-row'); \
             return [r.dataset.intent, Number(r.dataset.count), Number(r.dataset.rate), \
             r.children[2].textContent]; })()",
        )
        .await;
    let top_intent = top[0].as_str().unwrap().to_owned();
    let top_count = top[1].as_f64().unwrap();
    let most = volume.values().map(|(n, _)| *n).fold(0.0, f64::max);
    assert_eq!(top_count, most, "the first row is the largest volume");
    let (n, success) = volume[&top_intent];
    assert_eq!(top_count, n, "volume of {top_intent}");
    assert!(
        (top[2].as_f64().unwrap() - success / n).abs() < 1e-12,
        "success rate of {top_intent}: page {}, API {}",
        top[2],
        success / n
    );
    assert_eq!(top[3], json!(thousands(n as u64)));
    assert_eq!(count(&page, ".bot-card[data-state=ok]").await, 4);
    assert_eq!(
        count(&page, ".bot-card[data-bot=support-lex] .funnel").await,
        1
    );
    assert_eq!(
        count(
            &page,
            ".bot-card[data-bot=sales-kore] .bot-error[data-code=UNSUPPORTED_BY_VENDOR]"
        )
        .await,
        1,
        "Kore has no DROPPED/RETRY per stage, and says so on its own card"
    );
    page.screenshot(&screenshots().join("intents.png"), true)
        .await;
    // A leaderboard row chooses the funnel's intent.
    click(&page, ".intent-row").await;
    wait_ready(&page).await;
    assert_eq!(
        page.eval("document.getElementById('intent-input').value")
            .await,
        json!(top_intent)
    );
    assert_eq!(
        attr_list(&page, ".intent-row.selected", "data-intent").await,
        [top_intent]
    );
    assert!(
        page.eval("location.search")
            .await
            .as_str()
            .unwrap()
            .contains("intent="),
        "the chosen intent is in the URL"
    );

    // Missed utterances: the top texts across bots and vendors, equal to the
    // API's; a text opens the utterances behind it.
    open_view(&page, "utterances").await;
    let failed: BTreeSet<String> = attr_list(&page, ".missed .excluded .bot-ref", "data-bot")
        .await
        .into_iter()
        .collect();
    if !failed.is_empty() {
        eprintln!("missed utterances: bots left out on the page: {failed:?}");
    }
    let api = demo
        .graphql(
            None,
            MISSED_QUERY,
            json!({ "r": { "start": start, "end": end }, "b": answered(&failed) }),
        )
        .await;
    assert!(api.get("errors").is_none(), "{api}");
    let api_rows: Vec<(String, f64)> = api["data"]["utteranceMetrics"]
        .as_array()
        .expect("utteranceMetrics")
        .iter()
        .map(|b| {
            (
                b["groups"][0]["value"].as_str().unwrap_or("").to_owned(),
                b["values"][0]["value"].as_f64().unwrap_or(0.0),
            )
        })
        .filter(|(text, n)| !text.is_empty() && *n > 0.0)
        .collect();
    assert!(
        !api_rows.is_empty(),
        "the demo has missed utterances: {api}"
    );
    assert_eq!(count(&page, ".missed-row").await, api_rows.len() as u64);
    let top_text = attr_list(&page, ".missed-row", "data-text").await[0].clone();
    let top_count: f64 = attr_list(&page, ".missed-row", "data-count").await[0]
        .parse()
        .unwrap();
    assert_eq!(top_count, api_rows[0].1, "the top row's count");
    assert!(
        api_rows
            .iter()
            .any(|(text, n)| *text == top_text && *n == top_count),
        "the top row {top_text:?} is one of the API's rows with that count"
    );
    click(&page, ".missed-row").await;
    page.wait_for(
        "document.querySelector('.utterance-records[data-state=ready]')",
        WAIT,
    )
    .await;
    let texts = page
        .eval("[...document.querySelectorAll('.utterance-row .utterance-text')].map(e => e.textContent)")
        .await;
    let texts: Vec<String> = serde_json::from_value(texts).unwrap();
    assert!(!texts.is_empty(), "the top text has utterance records");
    let squash = |s: &str| {
        s.split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    };
    for text in &texts {
        assert!(
            squash(text).contains(&squash(&top_text)),
            "{text:?} does not contain {top_text:?}"
        );
    }
    page.screenshot(&screenshots().join("utterances.png"), true)
        .await;
    // An utterance's session opens in Sessions, filtered to that session.
    let link = page
        .eval(
            "(() => { const a = document.querySelector('.utterance-row .session-link'); \
             return [a.dataset.bot, a.dataset.session]; })()",
        )
        .await;
    click(&page, ".utterance-row .session-link").await;
    page.wait_for(
        "document.querySelector('#nav [data-view=sessions].active')",
        WAIT,
    )
    .await;
    wait_ready(&page).await;
    assert_eq!(
        page.eval("document.getElementById('f-sid').value").await,
        link[1]
    );
    // The session is listed alone when it is in the page's range (started
    // and ended inside it, per the API); a session still open, or begun
    // before the range, is named as not in it.
    let listed = demo
        .graphql(
            None,
            "query($r: TimeRange!, $b: [ID!], $s: [String!]) { sessions(range: $r, botIds: $b, \
             filter: {sessionIds: $s}) { nodes { sessionId } } }",
            json!({ "r": { "start": start, "end": end }, "b": [link[0]], "s": [link[1]] }),
        )
        .await;
    let in_range = !listed["data"]["sessions"]["nodes"]
        .as_array()
        .expect("sessions answer")
        .is_empty();
    if in_range {
        page.wait_for(
            &format!(
                "(() => {{ const rows = [...document.querySelectorAll('.session-row')]; \
                 return rows.length > 0 && rows.every((r) => r.dataset.bot === {}); }})()",
                link[0]
            ),
            WAIT,
        )
        .await;
        let bots: BTreeSet<String> = attr_list(&page, ".session-row", "data-bot")
            .await
            .into_iter()
            .collect();
        assert_eq!(
            bots,
            BTreeSet::from([link[0].as_str().unwrap().to_owned()]),
            "the session {link} is listed, and only it"
        );
    } else {
        page.wait_for(
            &format!(
                "document.body.innerText.includes('No session ' + {} + ' in this range')",
                link[1]
            ),
            WAIT,
        )
        .await;
    }
    // Clearing the session filter lists every session again.
    page.eval(
        "document.getElementById('f-sid').value = ''; document.getElementById('f-sb').value = ''; \
         document.querySelector('form.filters').requestSubmit(); true",
    )
    .await;
    wait_ready(&page).await;

    // Sessions: the list, a session's detail, a filter.
    open_view(&page, "sessions").await;
    assert_eq!(count(&page, ".session-row").await, 50);
    click(&page, ".session-row").await;
    page.wait_for("document.querySelector('.detail[data-session]')", WAIT)
        .await;
    let first = page
        .eval("document.querySelector('.session-row').dataset.session")
        .await;
    assert_eq!(
        page.eval("document.querySelector('.detail').dataset.session")
            .await,
        first
    );
    page.eval(
        "document.getElementById('f-es').value = 'DROPPED'; \
         document.querySelector('form.filters').requestSubmit(); true",
    )
    .await;
    wait_ready(&page).await;
    let states = page
        .eval("[...document.querySelectorAll('.session-row .state')].map(e => e.textContent)")
        .await;
    let states: BTreeSet<String> = serde_json::from_value(states).unwrap();
    assert_eq!(states, BTreeSet::from(["Dropped".to_owned()]));
    page.screenshot(&screenshots().join("sessions.png"), true)
        .await;

    // Heatmap: the cells add up to the KPI's conversations, in any zone.
    open_view(&page, "heatmap").await;
    assert_eq!(count(&page, ".heat-cell").await, 7 * 24);
    let sum = "[...document.querySelectorAll('.heat-cell')].reduce((a, e) => a + Number(e.dataset.count), 0)";
    assert_eq!(page.eval(sum).await.as_u64().unwrap(), conversations);
    assert_eq!(
        page.eval("document.querySelector('.note[data-exact]').dataset.exact")
            .await,
        json!("true")
    );
    for (zone, exact) in [("Asia/Kolkata", "false"), ("America/New_York", "true")] {
        page.eval(&format!(
            "(() => {{ const s = document.getElementById('tz'); s.value = '{zone}'; \
             s.dispatchEvent(new Event('change')); return s.value; }})()"
        ))
        .await;
        page.wait_for(
            &format!(
                "location.search.includes('tz={}')",
                zone.replace('/', "%2F")
            ),
            WAIT,
        )
        .await;
        wait_ready(&page).await;
        assert_eq!(
            page.eval(sum).await.as_u64().unwrap(),
            conversations,
            "{zone}"
        );
        assert_eq!(
            page.eval("document.querySelector('.note[data-exact]').dataset.exact")
                .await,
            json!(exact),
            "{zone}"
        );
    }
    page.screenshot(&screenshots().join("heatmap.png"), true)
        .await;

    // The state is in the URL: a shared link opens the same view.
    page.goto(&format!(
        "{}/?view=sessions&range=24h&es=FAILURE",
        demo.base
    ))
    .await;
    wait_ready(&page).await;
    assert_eq!(
        page.eval("document.getElementById('range').value").await,
        json!("24h")
    );
    assert_eq!(
        page.eval("document.querySelector('#nav .active').dataset.view")
            .await,
        json!("sessions")
    );
    let states = page
        .eval("[...document.querySelectorAll('.session-row .state')].map(e => e.textContent)")
        .await;
    let states: BTreeSet<String> = serde_json::from_value(states).unwrap();
    assert_eq!(states, BTreeSet::from(["Failed / transferred".to_owned()]));

    // A custom range of whole UTC days and one vendor, from the URL.
    let today = chrono::Utc::now().date_naive();
    let (from, to) = (today - chrono::Days::new(3), today - chrono::Days::new(1));
    page.goto(&format!(
        "{}/?range=custom&from={from}&to={to}&vendor=KORE",
        demo.base
    ))
    .await;
    wait_ready(&page).await;
    assert_eq!(
        page.eval("document.getElementById('range-label').dataset.start")
            .await,
        json!(format!("{from}T00:00:00Z"))
    );
    assert_eq!(
        page.eval("document.getElementById('range-label').dataset.end")
            .await,
        json!(format!("{today}T00:00:00Z"))
    );
    let rows: BTreeSet<String> = attr_list(&page, ".bot-row", "data-bot")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        rows,
        BTreeSet::from(["returns-kore".to_owned(), "sales-kore".to_owned()])
    );

    assert_clean(&page, &demo.base, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_vendor_shows_its_code_on_its_own_bots_while_the_others_render() {
    let _serial = SERIAL.lock().await;
    let demo = spawn_demo(small(), None).await;
    // Every Lex call answers 500 InternalServerException (after the SDK's
    // retries: UPSTREAM_UNAVAILABLE). Kore keeps answering.
    let put = demo
        .client
        .put(format!("{}/_sim/faults", demo.lex_sim))
        .json(&json!({ "throttleRate": 0.0, "errorRate": 1.0 }))
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success());
    let browser = Browser::launch().await;
    let page = browser.new_page().await;
    page.goto(&format!("{}/", demo.base)).await;
    wait_ready(&page).await;
    let (failing, healthy) = (
        ["billing-lex", "support-lex"],
        ["returns-kore", "sales-kore"],
    );
    for bot in failing {
        let codes = attr_list(
            &page,
            &format!(".bot-row[data-bot={bot}] .bot-error"),
            "data-code",
        )
        .await;
        assert_eq!(codes, ["UPSTREAM_UNAVAILABLE"], "{bot}");
    }
    for bot in healthy {
        let state = attr_list(&page, &format!(".bot-row[data-bot={bot}]"), "data-state").await;
        assert_eq!(state, ["ok"], "{bot}");
        let n: f64 = attr_list(&page, &format!(".bot-row[data-bot={bot}]"), "data-count").await[0]
            .parse()
            .unwrap();
        assert!(n > 0.0, "{bot} renders its volume");
    }
    // The rolled-up tiles say which bots they leave out.
    let excluded = attr_list(&page, ".kpis + .excluded .bot-ref", "data-bot").await;
    assert_eq!(
        excluded.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from(failing.map(String::from))
    );
    let conversations = attr_list(&page, "[data-kpi=conversations]", "data-value").await;
    assert!(conversations[0].parse::<f64>().unwrap() > 0.0);
    page.screenshot(&screenshots().join("failing-vendor.png"), true)
        .await;

    open_view(&page, "sessions").await;
    let banners = attr_list(&page, ".bot-banner", "data-bot").await;
    assert_eq!(
        banners.into_iter().collect::<BTreeSet<_>>(),
        BTreeSet::from(failing.map(String::from))
    );
    let bots: BTreeSet<String> = attr_list(&page, ".session-row", "data-bot")
        .await
        .into_iter()
        .collect();
    assert_eq!(bots, BTreeSet::from(healthy.map(String::from)));
    assert_clean(&page, &demo.base, &[]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_auth_a_bad_token_is_refused_and_a_scoped_token_sees_only_its_bots() {
    let _serial = SERIAL.lock().await;
    let demo = spawn_demo(small(), Some(SECRET)).await;
    let browser = Browser::launch().await;
    let page = browser.new_page().await;
    page.goto(&format!("{}/", demo.base)).await;
    page.wait_for(
        "document.getElementById('token-dialog').open && document.body.dataset.auth === 'needed'",
        WAIT,
    )
    .await;
    assert_eq!(
        count(&page, ".bot-row").await,
        0,
        "nothing shown without a token"
    );

    let submit = |token: &str| {
        format!(
            "document.getElementById('token-input').value = {}; \
             document.getElementById('token-form').requestSubmit(); true",
            json!(token)
        )
    };
    let forged = mint_hs256(
        b"another-secret-0123456789abcdef-xyz",
        "mallory",
        &["*".into()],
        Duration::from_secs(600),
    );
    page.eval(&submit(&forged)).await;
    page.wait_for(
        "document.getElementById('token-dialog').open && document.body.dataset.auth === 'refused'",
        WAIT,
    )
    .await;
    let reason = page
        .eval("document.getElementById('token-reason').textContent")
        .await;
    assert!(reason.as_str().unwrap().contains("refused"), "{reason}");
    assert_eq!(
        count(&page, ".bot-row").await,
        0,
        "nothing shown with a bad token"
    );

    let scoped = mint_hs256(
        SECRET,
        "viewer",
        &["billing-lex".into(), "sales-kore".into()],
        Duration::from_secs(600),
    );
    page.eval(&submit(&scoped)).await;
    wait_ready(&page).await;
    let rows: BTreeSet<String> = attr_list(&page, ".bot-row", "data-bot")
        .await
        .into_iter()
        .collect();
    let mine = BTreeSet::from(["billing-lex".to_owned(), "sales-kore".to_owned()]);
    assert_eq!(rows, mine);
    // The page's numbers are the token's: the API with the same token agrees.
    let start = page
        .eval("document.getElementById('range-label').dataset.start")
        .await;
    let end = page
        .eval("document.getElementById('range-label').dataset.end")
        .await;
    let api = demo
        .graphql(
            Some(&scoped),
            KPI_QUERY,
            json!({ "r": { "start": start, "end": end } }),
        )
        .await;
    let want = api["data"]["sessionMetrics"][0]["values"][0]["value"]
        .as_f64()
        .unwrap();
    let got = attr_list(&page, "[data-kpi=conversations]", "data-value").await;
    assert_eq!(got[0].parse::<f64>().unwrap(), want);

    open_view(&page, "sessions").await;
    let bots: BTreeSet<String> = attr_list(&page, ".session-row", "data-bot")
        .await
        .into_iter()
        .collect();
    assert_eq!(bots, mine);
    page.screenshot(&screenshots().join("scoped-token.png"), true)
        .await;

    // GraphiQL in the same tab takes the dashboard's token along.
    page.goto(&format!("{}/graphql", demo.base)).await;
    let editor = "document.querySelector('.graphiql-query-editor .CodeMirror')";
    page.wait_for(editor, WAIT).await;
    click(&page, ".graphiql-execute-button").await;
    let result = "document.querySelector('.result-window .CodeMirror')";
    page.wait_for(
        &format!("{result} && {result}.CodeMirror.getValue().includes('endCursor')"),
        WAIT,
    )
    .await;
    let answer: Value = serde_json::from_str(
        page.eval(&format!("{result}.CodeMirror.getValue()"))
            .await
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let bots: BTreeSet<String> = answer["data"]["sessions"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["bot"]["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(!bots.is_empty() && bots.is_subset(&mine), "{bots:?}");
    // The refusals are the only errors: the browser logs each 401 it got.
    assert_clean(&page, &demo.base, &["status of 401"]);
}
