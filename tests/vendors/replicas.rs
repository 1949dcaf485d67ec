//! Several replicas sharing one real `redis-server` (`[redis]`, DESIGN §11):
//! three in-process gateways, each with its own `Fleet` connections, its own
//! `KoreSource` and `LexSource`, against one Kore simulator and one Lex
//! simulator. Upstream calls are counted by the simulators, never by us.
//!
//! `redis-server` must be on PATH (`.ci/run` installs Debian's); without it
//! these tests fail, they do not skip.
use crate::{kore, lex_common};

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

use botscope::domain::BotData;
use botscope::fleet::{Fleet, FleetSettings};
use botscope::simulators::kore::KoreSimConfig;
use botscope::simulators::lex::{LexSimConfig, LexSimulator};
use botscope::sources::AnalyticsSource;
use botscope::sources::kore::{KoreConfig, KoreWindowPlan};
use botscope::sources::lex::{LexConfig, LexSource};
use botscope::sources::memory::MemorySource;

/// A `redis-server` of our own on a free loopback port, no persistence,
/// killed when dropped.
struct Redis {
    port: u16,
    child: Option<Child>,
}

impl Redis {
    async fn start() -> Redis {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut r = Redis { port, child: None };
        r.restart().await;
        r
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Starts (again) on the same port and waits until it answers PING.
    async fn restart(&mut self) {
        let child = Command::new("redis-server")
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot start redis-server ({e}): these tests need a real Redis; \
                     install it (`apt-get install redis-server`, as .ci/run does)"
                )
            });
        self.child = Some(child);
        let client = redis::Client::open(self.url()).unwrap();
        let t0 = Instant::now();
        loop {
            if let Ok(mut c) = client.get_multiplexed_async_connection().await
                && redis::cmd("PING")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok()
            {
                return;
            }
            assert!(
                t0.elapsed() < StdDuration::from_secs(10),
                "redis-server did not answer on port {}",
                self.port
            );
            tokio::time::sleep(StdDuration::from_millis(20)).await;
        }
    }

    /// SIGSTOP / SIGCONT: a Redis that holds connections open but answers nothing.
    fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let ok = Command::new("kill")
            .args([sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill {sig} {pid}");
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // Never panic here (a panic while unwinding aborts): a failed SIGCONT is ignored.
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .args(["-CONT", &c.id().to_string()])
                .status();
        }
        self.kill();
    }
}

struct Replica {
    base: String,
    http: reqwest::Client,
}

impl Replica {
    async fn post(&self, query: &str, variables: &Value) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().await.expect("a JSON body"))
    }

    /// The data of a 200 answer without errors.
    async fn data(&self, query: &str, variables: &Value) -> Value {
        let (status, body) = self.post(query, variables).await;
        assert_eq!(status, 200, "{body:#}");
        assert!(body.get("errors").is_none(), "{body:#}");
        body["data"].clone()
    }

    async fn readyz(&self) -> (u16, String) {
        let r = reqwest::get(format!("{}/readyz", self.base)).await.unwrap();
        (r.status().as_u16(), r.text().await.unwrap())
    }
}

struct Sims {
    kore: kore::Sim,
    lex: LexSimulator,
    kore_data: Arc<BotData>,
    lex_data: Arc<BotData>,
}

impl Sims {
    async fn start(kore_config: KoreSimConfig, kore_data: Arc<BotData>) -> Sims {
        let lex_data = lex_common::data(120);
        let lex = LexSimulator::spawn(
            "127.0.0.1:0".parse().unwrap(),
            LexSimConfig::default(),
            vec![(lex_common::LEX_BOT_ID.into(), lex_data.clone())],
        )
        .await
        .unwrap();
        Sims {
            kore: kore::Sim::start(kore_config, kore_data.clone()).await,
            lex,
            kore_data,
            lex_data,
        }
    }

    /// Upstream calls served so far: (Kore, Lex).
    async fn calls(&self) -> (u64, u64) {
        let kore = self.kore.totals().await;
        let lex = self.lex.stats().iter().map(|s| s.counters.calls).sum();
        (kore.calls + kore.rejected_budget, lex)
    }
}

/// The bots' knobs a test sets.
#[derive(Clone)]
struct Tuning {
    kore_per_minute: u32,
    kore_minute: StdDuration,
    lex_rps: u32,
}

impl Default for Tuning {
    fn default() -> Self {
        Tuning {
            kore_per_minute: 1_000_000,
            kore_minute: StdDuration::from_secs(60),
            lex_rps: 1000,
        }
    }
}

fn kore_config(sims: &Sims, t: &Tuning) -> KoreConfig {
    let mut c = sims.kore.adapter_config();
    c.calls_per_minute = t.kore_per_minute;
    c.budget_minute = t.kore_minute;
    // Wide: a call admitted by Redis reaches the simulator a little later, and
    // a busy CI machine makes that delay vary.
    c.budget_margin = StdDuration::from_millis(250);
    c.window_cache_sessions = 100_000;
    c
}

fn lex_config(sims: &Sims, t: &Tuning) -> LexConfig {
    let mut c = LexConfig::for_endpoint(lex_common::LEX_BOT_ID, sims.lex.url());
    c.requests_per_second = t.lex_rps;
    c.max_attempts = 1;
    c
}

async fn spawn(sources: Vec<Arc<dyn AnalyticsSource>>, fleet: Option<Fleet>) -> Replica {
    let mut settings = crate::support::settings(&crate::support::config("")).await;
    settings.fleet = fleet;
    let addr = crate::support::spawn_with_settings(settings, sources).await;
    Replica {
        base: format!("http://{addr}"),
        http: reqwest::Client::new(),
    }
}

/// One replica: its own Redis connections, sources and caches.
async fn replica(redis_url: &str, sims: &Sims, t: &Tuning) -> Replica {
    let mut fs = FleetSettings::new(redis_url);
    fs.expected_replicas = 3;
    // Generous: a timeout would (rightly) make a replica fall back, and CI is busy.
    fs.command_timeout = StdDuration::from_secs(1);
    fs.connect_timeout = StdDuration::from_millis(200);
    fs.health_interval = StdDuration::from_millis(100);
    fs.lock_timeout = StdDuration::from_secs(3);
    let fleet = Fleet::connect(fs).await.unwrap();
    let mut kc = kore_config(sims, t);
    kc.fleet = Some(fleet.clone());
    let mut lc = lex_config(sims, t);
    lc.fleet = Some(fleet.clone());
    let kore: Arc<dyn AnalyticsSource> = Arc::new(sims.kore.source(kc));
    let lex: Arc<dyn AnalyticsSource> = Arc::new(LexSource::new(lex_common::info(), &lc).await);
    spawn(vec![kore, lex], Some(fleet)).await
}

async fn three(redis: &Redis, sims: &Sims, t: &Tuning) -> Vec<Replica> {
    let mut out = Vec::new();
    for _ in 0..3 {
        out.push(replica(&redis.url(), sims, t).await);
    }
    out
}

/// The reference answers: one process, no `[redis]`, the same data in
/// memory sources (the conformance suites hold the adapters to them), so the
/// reference costs the simulators no call.
async fn control(sims: &Sims) -> Replica {
    let kore: Arc<dyn AnalyticsSource> = Arc::new(kore::reference(sims.kore_data.clone()));
    let lex: Arc<dyn AnalyticsSource> =
        Arc::new(MemorySource::new(lex_common::info(), sims.lex_data.clone()));
    spawn(vec![kore, lex], None).await
}

fn range(from: DateTime<Utc>, hours: i64) -> Value {
    json!({ "start": from.to_rfc3339(), "end": (from + Duration::hours(hours)).to_rfc3339() })
}

const SESSIONS: &str = "query($bots: [ID!], $range: TimeRange!) {
  sessions(botIds: $bots, range: $range, first: 200) { nodes { id endState durationSeconds } } }";

/// The same source questions as SESSIONS, another document (so the response
/// cache cannot answer it).
const SESSIONS_IDS: &str = "query($bots: [ID!], $range: TimeRange!) {
  s: sessions(botIds: $bots, range: $range, first: 200) { nodes { id } } }";

const METRICS: &str = "query($bots: [ID!], $range: TimeRange!) {
  sessionMetrics(botIds: $bots, range: $range, binBy: ONE_DAY,
    metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: AVG}]) {
    bot { id } binStart values { metric statistic value } } }";

const METRICS_COUNT: &str = "query($bots: [ID!], $range: TimeRange!) {
  m: sessionMetrics(botIds: $bots, range: $range, binBy: ONE_DAY,
    metrics: [{name: COUNT, statistic: SUM}, {name: SUCCESS, statistic: AVG}]) {
    binStart values { value } } }";

fn ids(data: &Value, field: &str) -> Vec<String> {
    data[field]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_from_one_replica_costs_the_others_no_upstream_call() {
    let t0 = kore::t0();
    let redis = Redis::start().await;
    let sims = Sims::start(
        kore::sim_config(),
        kore::data(60, t0, t0 + Duration::days(3)),
    )
    .await;
    let r = three(&redis, &sims, &Tuning::default()).await;
    let vars = json!({ "bots": ["kore-a", "lex-a"], "range": range(t0 + Duration::hours(6), 30) });

    let first = r[0].data(SESSIONS, &vars).await;
    let (kore_calls, lex_calls) = sims.calls().await;
    assert!(
        kore_calls > 0 && lex_calls > 0,
        "the first answer was fetched"
    );
    assert!(ids(&first, "sessions").len() > 20);

    // Same request on B: the shared response cache.
    assert_eq!(r[1].data(SESSIONS, &vars).await, first);
    // Another document asking the same source questions on C: the shared source cache.
    let other = r[2].data(SESSIONS_IDS, &vars).await;
    assert_eq!(ids(&other, "s"), ids(&first, "sessions"));
    assert_eq!(
        sims.calls().await,
        (kore_calls, lex_calls),
        "B and C called upstream"
    );

    // Kore windows are shared too: metrics over one whole 6-day window on A,
    // then a sessions question inside it (another source question) on B.
    let days = json!({ "bots": ["kore-a"], "range": range(t0, 6 * 24) });
    let metrics = r[0].data(METRICS, &days).await;
    assert!(metrics["sessionMetrics"].as_array().unwrap().len() >= 3);
    let after_a = sims.calls().await;
    let part = json!({ "bots": ["kore-a"], "range": range(t0 + Duration::hours(3), 20) });
    let sessions = r[1].data(SESSIONS_IDS, &part).await;
    assert!(!ids(&sessions, "s").is_empty());
    assert_eq!(sims.calls().await, after_a, "B fetched a Kore window A had");
    // And the answers are the single-process ones.
    let reference = control(&sims).await;
    assert_eq!(reference.data(SESSIONS, &vars).await, first);
    assert_eq!(reference.data(SESSIONS_IDS, &part).await, sessions);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cold_thirty_day_kore_query_on_three_replicas_at_once_costs_one_querys_calls() {
    let t0 = kore::t0();
    let redis = Redis::start().await;
    let mut sim = kore::sim_config();
    // Upstream latency, so that the three questions overlap.
    sim.latency = StdDuration::from_millis(40);
    let sims = Sims::start(sim, kore::data(40, t0, t0 + Duration::days(31))).await;
    let r = three(&redis, &sims, &Tuning::default()).await;
    let from = t0 + Duration::hours(5);
    let vars = json!({ "bots": ["kore-a"], "range": range(from, 30 * 24) });

    let (a, b, c) = tokio::join!(
        r[0].data(METRICS, &vars),
        r[1].data(METRICS, &vars),
        r[2].data(METRICS, &vars)
    );
    assert_eq!(a, b);
    assert_eq!(a, c);
    assert_eq!(a["sessionMetrics"].as_array().unwrap().len(), 31);
    let plan = KoreWindowPlan::new(
        &botscope::domain::TimeRange::parse(from, from + Duration::days(30), 92).unwrap(),
        6,
    );
    // One call per window and containment type (each a single page): one query's calls.
    let one_query = plan.windows.len() as u64 * 3;
    assert_eq!(sims.calls().await.0, one_query);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_cold_queries_over_three_replicas_stay_within_one_budget() {
    let t0 = kore::t0();
    let redis = Redis::start().await;
    // Kore's budget, shrunk: 12 calls per rolling second.
    let mut sim = kore::sim_config();
    sim.calls_per_minute = 12;
    sim.minute = StdDuration::from_secs(1);
    let sims = Sims::start(sim, kore::data(20, t0, t0 + Duration::days(21))).await;
    let tuning = Tuning {
        kore_per_minute: 12,
        kore_minute: StdDuration::from_secs(1),
        lex_rps: 4,
    };
    let r = three(&redis, &sims, &tuning).await;
    let reference = control(&sims).await;

    // 20 distinct one-day Kore questions (3 calls each: one per containment
    // type), spread over the replicas, all at once: 60 calls, 5 budgets' worth.
    let questions: Vec<Value> = (0..20)
        .map(|day| json!({ "bots": ["kore-a"], "range": range(t0 + Duration::days(day), 24) }))
        .collect();
    let answers = futures::future::join_all(
        questions
            .iter()
            .enumerate()
            .map(|(i, v)| r[i % 3].post(METRICS_COUNT, v)),
    )
    .await;
    let stats: Value = reqwest::get(format!("{}/_sim/stats", sims.kore.url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let totals = sims.kore.totals().await;
    assert_eq!(totals.rejected_budget, 0, "Kore answered 429: {stats:#}");
    assert_eq!(totals.calls, 60);
    let peak = stats["budgets"][0]["peakMinute"].as_u64().unwrap();
    assert!(peak <= 12, "{peak} calls in one rolling budget window");
    for (v, (status, body)) in questions.iter().zip(answers) {
        assert_eq!(status, 200);
        assert!(body.get("errors").is_none(), "{body:#}");
        assert_eq!(body["data"], reference.data(METRICS_COUNT, v).await);
    }

    // Lex's per-bot rate is the fleet's too: 12 cold single-call questions at
    // 4 a second, whichever replica asks, take at least two seconds.
    let started = Instant::now();
    let lex: Vec<Value> = (0..12)
        .map(|h| json!({ "bots": ["lex-a"], "range": range(lex_common::t0() + Duration::hours(h), 1) }))
        .collect();
    let before = sims.calls().await.1;
    let answers = futures::future::join_all(
        lex.iter()
            .enumerate()
            .map(|(i, v)| r[i % 3].data(METRICS_COUNT, v)),
    )
    .await;
    assert_eq!(answers.len(), 12);
    assert_eq!(sims.calls().await.1 - before, 12);
    assert!(
        started.elapsed() >= StdDuration::from_millis(1900),
        "12 Lex calls at 4/s took {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_load_answers_stay_correct_then_l2_hits_resume() {
    let t0 = kore::t0();
    let mut redis = Redis::start().await;
    let sims = Sims::start(
        kore::sim_config(),
        kore::data(40, t0, t0 + Duration::days(3)),
    )
    .await;
    let r = three(&redis, &sims, &Tuning::default()).await;
    let reference = control(&sims).await;
    let questions: Vec<Value> = (0..16)
        .map(|h| json!({ "bots": ["kore-a", "lex-a"], "range": range(t0 + Duration::hours(2 * h), 20) }))
        .collect();
    let mut want = Vec::new();
    for q in &questions {
        want.push(reference.data(METRICS, q).await);
    }

    let killer = async {
        tokio::time::sleep(StdDuration::from_millis(250)).await;
        redis.kill();
    };
    let load = async {
        let (r, questions) = (&r, &questions);
        let mut seen_degraded = false;
        // 48 questions, three at a time, over 16 ranges (cold, then warm in
        // L1, L2 or neither), while Redis goes away.
        for round in 0..16 {
            let batch = (0..3).map(|k| {
                let i = (round * 3 + k) % questions.len();
                async move { (i, r[k].post(METRICS, &questions[i]).await) }
            });
            for (i, (status, body)) in futures::future::join_all(batch).await {
                assert_eq!(status, 200, "{body:#}");
                assert!(body.get("errors").is_none(), "{body:#}");
                assert_eq!(body["data"], want[i], "question {i}");
            }
            for rep in r {
                let (code, text) = rep.readyz().await;
                assert_eq!(code, 200);
                seen_degraded |= text.contains("degraded");
            }
            tokio::time::sleep(StdDuration::from_millis(60)).await;
        }
        seen_degraded
    };
    let ((), seen_degraded) = tokio::join!(killer, load);
    assert!(
        seen_degraded,
        "/readyz never said degraded while Redis was down"
    );

    redis.restart().await;
    let t = Instant::now();
    for rep in &r {
        loop {
            let (code, text) = rep.readyz().await;
            assert_eq!(code, 200);
            if text.contains("redis: up") {
                break;
            }
            assert!(t.elapsed() < StdDuration::from_secs(10), "still {text:?}");
            tokio::time::sleep(StdDuration::from_millis(50)).await;
        }
    }
    // L2 hits resume: a new question on A costs B nothing.
    let fresh =
        json!({ "bots": ["kore-a", "lex-a"], "range": range(t0 + Duration::hours(40), 20) });
    let a = r[0].data(SESSIONS, &fresh).await;
    let calls = sims.calls().await;
    let b = r[1].data(SESSIONS_IDS, &fresh).await;
    assert_eq!(ids(&b, "s"), ids(&a, "sessions"));
    assert_eq!(
        sims.calls().await,
        calls,
        "B called upstream after Redis came back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_whose_redis_is_down_at_startup_answers_and_says_degraded() {
    let t0 = kore::t0();
    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sims = Sims::start(
        kore::sim_config(),
        kore::data(40, t0, t0 + Duration::days(2)),
    )
    .await;
    let nowhere = Redis {
        port: closed,
        child: None,
    };
    let rep = replica(&nowhere.url(), &sims, &Tuning::default()).await;
    let (code, text) = rep.readyz().await;
    assert_eq!(code, 200);
    assert!(text.contains("degraded"), "{text}");
    let vars = json!({ "bots": ["kore-a", "lex-a"], "range": range(t0 + Duration::hours(2), 20) });
    let got = rep.data(METRICS, &vars).await;
    assert_eq!(got, control(&sims).await.data(METRICS, &vars).await);
    let metrics = reqwest::get(format!("{}/metrics", rep.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("botscope_redis_fallbacks_total"),
        "{metrics}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_stops_answering_costs_one_timeout_then_nothing() {
    let t0 = kore::t0();
    let redis = Redis::start().await;
    let sims = Sims::start(
        kore::sim_config(),
        kore::data(40, t0, t0 + Duration::days(2)),
    )
    .await;
    let rep = replica(&redis.url(), &sims, &Tuning::default()).await;
    let reference = control(&sims).await;
    let q = |h: i64| json!({ "bots": ["kore-a", "lex-a"], "range": range(t0 + Duration::hours(h), 20) });
    assert_eq!(
        rep.data(METRICS, &q(1)).await,
        reference.data(METRICS, &q(1)).await
    );

    redis.signal("-STOP");
    // The first cold question waits at most command_timeout (1 s here) for
    // Redis, then falls back; the next ones do not wait on Redis at all.
    let started = Instant::now();
    assert_eq!(
        rep.data(METRICS, &q(2)).await,
        reference.data(METRICS, &q(2)).await
    );
    let first = started.elapsed();
    assert!(first < StdDuration::from_secs(4), "{first:?}");
    let started = Instant::now();
    assert_eq!(
        rep.data(METRICS, &q(3)).await,
        reference.data(METRICS, &q(3)).await
    );
    assert!(
        started.elapsed() < StdDuration::from_millis(900),
        "{:?}",
        started.elapsed()
    );
    let (code, text) = rep.readyz().await;
    assert_eq!((code, text.contains("degraded")), (200, true), "{text}");

    redis.signal("-CONT");
    let t = Instant::now();
    while !rep.readyz().await.1.contains("redis: up") {
        assert!(t.elapsed() < StdDuration::from_secs(10), "never recovered");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_owner_blocks_a_cold_key_at_most_its_lock_timeout_and_a_live_one_keeps_it() {
    use botscope::fleet::FleetCache;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let redis = Redis::start().await;
    let fleet = |lock_ms: u64| {
        let mut s = FleetSettings::new(redis.url());
        s.command_timeout = StdDuration::from_secs(1);
        s.lock_timeout = StdDuration::from_millis(lock_ms);
        Fleet::connect(s)
    };
    let (a, b) = (fleet(400).await.unwrap(), fleet(400).await.unwrap());
    let ttl = StdDuration::from_secs(60);

    // A crashed owner: its lock (another token) is there, its entry never comes.
    let client = redis::Client::open(redis.url()).unwrap();
    let mut raw = client.get_multiplexed_async_connection().await.unwrap();
    redis::cmd("SET")
        .arg("botscope:v1:probe:crashed:lock")
        .arg("someone-else")
        .arg("PX")
        .arg(700)
        .query_async::<()>(&mut raw)
        .await
        .unwrap();
    let started = Instant::now();
    let (v, _) = FleetCache::new(a.clone(), "probe")
        .get_or_fetch("crashed", ttl, async { Ok(7u32) })
        .await
        .unwrap();
    assert_eq!(v, 7);
    let waited = started.elapsed();
    assert!(
        waited >= StdDuration::from_millis(600) && waited < StdDuration::from_secs(3),
        "{waited:?}"
    );

    // A live owner whose fetch takes three lock timeouts renews its lock: the
    // other replica waits for its entry instead of fetching too.
    let fetches = AtomicUsize::new(0);
    let slow = |n: u32| {
        let fetches = &fetches;
        async move {
            fetches.fetch_add(1, Ordering::SeqCst);
            tokio::time::sleep(StdDuration::from_millis(1200)).await;
            Ok(n)
        }
    };
    let (ca, cb) = (FleetCache::new(a, "probe"), FleetCache::new(b, "probe"));
    let (x, y) = tokio::join!(ca.get_or_fetch("slow", ttl, slow(1)), async {
        tokio::time::sleep(StdDuration::from_millis(50)).await;
        cb.get_or_fetch("slow", ttl, slow(2)).await
    });
    assert_eq!(
        fetches.load(Ordering::SeqCst),
        1,
        "the lock was lost mid-fetch"
    );
    assert_eq!((x.unwrap().0, y.unwrap().0), (1, 1), "B got A's value");
}
