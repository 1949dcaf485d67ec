//! Fault tests: both real adapters against both simulators over loopback HTTP,
//! with the simulators' fault knobs. Injected throttling and 5xx are absorbed
//! by retries (answers equal the fault-free ones); a vendor that is fully down
//! gives the other vendor's data plus per-bot `UPSTREAM_UNAVAILABLE`, its
//! breaker opens (the simulator stops seeing calls) and recovers after the
//! vendor does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use botscope::demo::demo_specs;
use botscope::layers::BreakerPolicy;
use botscope::simulators::SimFaults;
use botscope::simulators::dataset::Dataset;
use botscope::simulators::kore::{KoreSimBot, KoreSimConfig};
use botscope::simulators::lex::{LexSimConfig, LexSimulator};
use botscope::sources::AnalyticsSource;
use botscope::sources::kore::{KoreConfig, KoreSource};
use botscope::sources::lex::{LexConfig, LexSource};

use crate::support::recent_t0 as t0;

fn range() -> Value {
    json!({ "start": t0().to_rfc3339(), "end": (t0() + chrono::Duration::days(3)).to_rfc3339() })
}

struct Rig {
    url: String,
    client: reqwest::Client,
    lex_sim: String,
    kore_sim: String,
}

/// Both simulators with `faults`, every demo bot through its real adapter,
/// no caches (every question reaches a vendor), the breaker as given.
async fn rig(faults: SimFaults, attempts: u32, breaker: Option<BreakerPolicy>) -> Rig {
    let (bots, specs) = demo_specs(40);
    let dataset = Dataset::generate(11, &specs, t0(), t0() + chrono::Duration::days(3));
    let mut lex = Vec::new();
    let mut kore = Vec::new();
    let mut infos = Vec::new();
    for (info, (_, data)) in bots.into_iter().zip(dataset.bots) {
        let data = Arc::new(data);
        match info.vendor {
            botscope::domain::Vendor::LexV2 => lex.push((info.vendor_bot_id.clone(), data)),
            _ => kore.push(KoreSimBot {
                bot_id: info.vendor_bot_id.clone(),
                data,
            }),
        }
        infos.push(info);
    }
    let lex_sim = LexSimulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        LexSimConfig {
            throttle_rate: faults.throttle_rate,
            error_rate: faults.error_rate,
            retry_after_ms: 10,
            seed: 3,
            ..LexSimConfig::default()
        },
        lex,
    )
    .await
    .unwrap();
    let kore_config = KoreSimConfig {
        throttle_rate: faults.throttle_rate,
        error_rate: faults.error_rate,
        calls_per_minute: 1_000_000,
        calls_per_hour: 1_000_000,
        seed: 5,
        ..KoreSimConfig::new("cs-faults", "faults-secret")
    };
    let kore_url = botscope::simulators::kore::KoreSimulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        kore_config,
        kore,
    )
    .await
    .unwrap()
    .url();
    let mut sources: Vec<Arc<dyn AnalyticsSource>> = Vec::new();
    for info in infos {
        if info.vendor == botscope::domain::Vendor::LexV2 {
            let mut c = LexConfig::for_endpoint(&info.vendor_bot_id, lex_sim.url());
            c.max_attempts = attempts;
            c.initial_backoff = Duration::from_millis(5);
            c.requests_per_second = 1000;
            sources.push(Arc::new(LexSource::new(info, &c).await));
        } else {
            let mut c = KoreConfig::new(
                kore_url.clone(),
                info.vendor_bot_id.clone(),
                "cs-faults",
                secrecy::SecretString::from("faults-secret".to_owned()),
            );
            c.max_retries = attempts - 1;
            c.retry_base_delay = Duration::from_millis(5);
            c.retry_max_delay = Duration::from_millis(50);
            c.calls_per_minute = 1_000_000;
            c.calls_per_hour = 1_000_000;
            c.window_cache_sessions = 0;
            c.page_size = 50;
            sources.push(Arc::new(KoreSource::new(info, c).unwrap()));
        }
    }
    let mut settings = crate::support::settings(&crate::support::config("")).await;
    settings.cache = None;
    settings.breaker = breaker;
    let addr = crate::support::spawn_with_settings(settings, sources).await;
    Rig {
        url: format!("http://{addr}/graphql"),
        client: reqwest::Client::new(),
        lex_sim: lex_sim.url(),
        kore_sim: kore_url,
    }
}

impl Rig {
    async fn query(&self, query: &str, variables: Value) -> Value {
        self.client
            .post(&self.url)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    async fn set_faults(&self, sim: &str, faults: SimFaults) {
        let resp = self
            .client
            .put(format!("{sim}/_sim/faults"))
            .json(&faults)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
    }

    /// Calls the Kore simulator has seen, faulted or not.
    async fn kore_calls(&self) -> u64 {
        let v: Value = reqwest::get(format!("{}/_sim/stats", self.kore_sim))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let t = &v["totals"];
        ["calls", "faults_throttle", "faults_error"]
            .iter()
            .map(|k| t[k].as_u64().unwrap_or(0))
            .sum()
    }
}

const SESSIONS: &str = r#"query($r: TimeRange!, $after: String) {
  sessions(range: $r, first: 40, after: $after) {
    nodes { id bot { id } startTime endTime endState turns }
    pageInfo { hasNextPage endCursor } } }"#;

const METRICS: &str = r#"query($r: TimeRange!) {
  sessionMetrics(range: $r, binBy: ONE_DAY, groupBy: [BOT],
    metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: SUM}, {name: DURATION, statistic: AVG}]) {
    binStart bot { id } values { metric statistic value } } }"#;

const STAGES: &str = r#"query($r: TimeRange!) {
  intentStageMetrics(range: $r, botIds: ["support-lex", "billing-lex"], groupBy: [INTENT_STAGE_NAME, BOT],
    metrics: [{name: COUNT, statistic: SUM}]) {
    binStart bot { id } values { metric statistic value } } }"#;

/// Every sessions page, metrics and intent-stage metrics; panics on any error
/// or an answer slower than `deadline`.
async fn answers(rig: &Rig, deadline: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after = Value::Null;
    loop {
        let t = Instant::now();
        let resp = rig
            .query(SESSIONS, json!({ "r": range(), "after": after }))
            .await;
        assert!(
            t.elapsed() < deadline,
            "sessions page took {:?}",
            t.elapsed()
        );
        assert!(resp.get("errors").is_none(), "{resp}");
        let page = &resp["data"]["sessions"];
        out.push(page["nodes"].clone());
        if page["pageInfo"]["hasNextPage"] != true {
            break;
        }
        after = page["pageInfo"]["endCursor"].clone();
    }
    for q in [METRICS, STAGES] {
        let t = Instant::now();
        let resp = rig.query(q, json!({ "r": range() })).await;
        assert!(t.elapsed() < deadline, "metrics took {:?}", t.elapsed());
        assert!(resp.get("errors").is_none(), "{resp}");
        out.push(resp["data"].clone());
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_and_5xx_on_both_vendors_still_answer_correctly() {
    let clean = rig(SimFaults::default(), 6, Some(BreakerPolicy::default())).await;
    let faults = SimFaults {
        throttle_rate: 0.2,
        error_rate: 0.05,
    };
    let faulty = rig(faults, 8, Some(BreakerPolicy::default())).await;
    let want = answers(&clean, Duration::from_secs(10)).await;
    assert!(want.len() > 3, "several session pages");
    let got = answers(&faulty, Duration::from_secs(10)).await;
    assert_eq!(got, want, "faults must not change any answer");
    // The faults did happen.
    let stats: Value = reqwest::get(format!("{}/_sim/stats", faulty.lex_sim))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let lex_faulted: u64 = stats["stats"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["faulted"].as_u64().unwrap())
        .sum();
    assert!(
        lex_faulted > 0,
        "the Lex simulator injected faults: {stats}"
    );
    let kore: Value = reqwest::get(format!("{}/_sim/stats", faulty.kore_sim))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(
        kore["totals"]["faults_throttle"].as_u64().unwrap() > 0,
        "the Kore simulator injected 429s: {kore}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vendor_down_gives_partial_data_opens_the_breaker_and_recovers() {
    let cool_down = Duration::from_millis(700);
    let rig = rig(
        SimFaults::default(),
        2,
        Some(BreakerPolicy {
            failure_threshold: 2,
            cool_down,
        }),
    )
    .await;
    let healthy = rig.query(METRICS, json!({ "r": range() })).await;
    assert!(healthy.get("errors").is_none(), "{healthy}");

    rig.set_faults(
        &rig.kore_sim,
        SimFaults {
            throttle_rate: 0.0,
            error_rate: 1.0,
        },
    )
    .await;
    let bots_of = |resp: &Value| -> std::collections::BTreeSet<String> {
        resp["data"]["sessionMetrics"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["bot"]["id"].as_str().unwrap().to_owned())
            .collect()
    };
    // Two failing questions per Kore bot open their breakers.
    for _ in 0..2 {
        let resp = rig.query(METRICS, json!({ "r": range() })).await;
        let errors = resp["errors"].as_array().expect("per-bot errors");
        let mut failed: Vec<&str> = errors
            .iter()
            .map(|e| {
                assert_eq!(e["extensions"]["code"], "UPSTREAM_UNAVAILABLE", "{e}");
                assert_eq!(e["extensions"]["retryable"], true, "{e}");
                assert_eq!(
                    e["path"],
                    json!(["sessionMetrics"]),
                    "the field it concerns: {e}"
                );
                e["extensions"]["botId"].as_str().unwrap()
            })
            .collect();
        failed.sort();
        assert_eq!(failed, ["returns-kore", "sales-kore"]);
        assert_eq!(
            bots_of(&resp),
            ["billing-lex", "support-lex"].map(String::from).into(),
            "the Lex bots still answer"
        );
    }
    // Open: fails fast, nothing reaches the Kore simulator.
    let before = rig.kore_calls().await;
    for _ in 0..3 {
        let t = Instant::now();
        let resp = rig.query(METRICS, json!({ "r": range() })).await;
        assert!(t.elapsed() < Duration::from_millis(500));
        let errors = resp["errors"].as_array().unwrap();
        assert_eq!(errors.len(), 2, "{resp}");
        for e in errors {
            assert_eq!(e["extensions"]["code"], "UPSTREAM_UNAVAILABLE");
            assert!(
                e["message"].as_str().unwrap().contains("circuit open"),
                "{e}"
            );
        }
        assert_eq!(bots_of(&resp).len(), 2);
    }
    assert_eq!(
        rig.kore_calls().await,
        before,
        "an open breaker calls nobody"
    );

    // The vendor recovers; after the cool-down one probe closes each breaker.
    rig.set_faults(&rig.kore_sim, SimFaults::default()).await;
    tokio::time::sleep(cool_down + Duration::from_millis(100)).await;
    let resp = rig.query(METRICS, json!({ "r": range() })).await;
    assert!(resp.get("errors").is_none(), "{resp}");
    assert_eq!(resp, healthy, "recovered answers equal the healthy ones");
    assert!(rig.kore_calls().await > before);
}
