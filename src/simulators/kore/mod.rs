//! The Kore.ai simulator: `getSessions` and `getAnalytics` as
//! `../shared/vendors/kore.md` describes them, written from Kore's side.
//!
//! It never imports `crate::sources::kore`: an adapter tested against a
//! simulator sharing its mapping would prove nothing (DESIGN §8).
//!
//! What it does, and where it guesses (kore.md marks the facts it lacks):
//! - `auth: <JWT>` header, HS256 with the client secret, claim `appId` = the
//!   client id (kore.md §4.3). Missing, bad or expired → 401
//!   `{"errors":[{"msg":"Invalid SDK credentials","code":4002}]}` (§4.4). With `jti`,
//!   `exp` must be ≤ 1 h after `iat`, and a `jti` used before is refused with
//!   401 "error verifying the jwt: possibly a replay" (§8: the sdk-security
//!   page states both rules for any token carrying `jti`, without tying them
//!   to the "Enforce JTI" app option, so the simulator always applies them).
//! - `dateFrom`/`dateTo`: both documented formats and defaults (§1.3).
//!   **Guess** (NOT DOCUMENTED): they filter on `start_time`,
//!   `dateFrom <= start_time < dateTo`; a date-only value is midnight GMT.
//! - The 7-day rule (§1.3): a range over 7 days is rejected with HTTP 400 and
//!   the error envelope; exactly 7 days is accepted unless `strict_seven_days`
//!   (kore.md's SIM suggestion). The message text is invented.
//! - `limit` is silently capped at `max_page_size` (the real maximum is NOT
//!   DOCUMENTED, §1.3); `limit` defaults to 100 (a guess from the samples).
//! - `containmentType` omitted → all types (NOT DOCUMENTED, guess); matched
//!   case-insensitively; an unknown value → 400 (invented message).
//! - Per-bot budget (§5.2): `calls_per_minute` / `calls_per_hour` in rolling
//!   windows shared by both operations; past it → 429 with the per-minute or
//!   hourly message of [S14]. Rejected calls do not use the budget (a guess).
//!   `/_sim/stats` reports, per bot, the most calls that arrived in one rolling
//!   minute (`budgets[].peakMinute`), admitted or not. No `Retry-After`
//!   header by default (whether Kore sends one is NOT DOCUMENTED); the
//!   `retry_after_secs` knob adds one to every 429, for the client's test.
//! - Sessions still open at the moment of the call (their end lies after
//!   "now") come with `sessionStatus: "active"` and no end: `end_time: null`
//!   or no `end_time` key at all (kore.md §8: which one is NOT DOCUMENTED, so
//!   both appear), no `containmentType`, and in the answer to every
//!   `containmentType` asked (**guess**, the least forgiving reading).
//!   Sessions that start after "now" do not exist yet.
//! - `isDeveloper` is the dataset's mark (about 3 % of sessions); getAnalytics
//!   records carry it as `NLAnalysis.isDeveloper` and honour
//!   `filters.isDeveloper` (absent → developer traffic included, **guess**).
//! - getAnalytics' `filters.channel` takes only the 24 ids of the current
//!   page (kore.md §8); any other id → 400 `Invalid channel: …` (invented text).
//! - `getAnalytics` records of every type are derived from the dataset's
//!   intents and utterances (no per-type samples exist, §2.4; the pairing of
//!   types and meanings is invented, see `analytics::derive_tasks`), with the
//!   same session ids, times, channels, languages and developer marks as the
//!   sessions getSessions serves. `filters.channel` defaults to `rtm` as
//!   documented (§2.2).

mod analytics;
pub mod demo;
pub use analytics::ACCEPTED_CHANNELS as ANALYTICS_CHANNELS;
mod budget;
mod sessions;

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::net::TcpListener;

use crate::domain::BotData;

pub use analytics::KoreSimTask;
use budget::SlidingBudget;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct KoreSimConfig {
    pub client_id: String,
    pub client_secret: String,
    /// Added to every answer.
    pub latency: Duration,
    /// Share of calls answered with an injected 429.
    pub throttle_rate: f64,
    /// Share of calls answered with an injected 500.
    pub error_rate: f64,
    /// The page-size cap applied silently to `limit`.
    pub max_page_size: usize,
    /// Reject exactly 7 days too (kore.md: "less than 7 days").
    pub strict_seven_days: bool,
    /// The `total` every getSessions page reports instead of the real count:
    /// the docs call it unreliable, their sample shows `total: 1` with
    /// `moreAvailable: true` (kore.md §1.4). Off by default: then `total`
    /// is exact.
    pub reported_total: Option<u64>,
    /// A `Retry-After` (seconds) on every 429. Whether Kore sends one is NOT
    /// DOCUMENTED (kore.md §5.2): off by default, the least a client can
    /// count on.
    pub retry_after_secs: Option<u64>,
    pub calls_per_minute: u32,
    pub calls_per_hour: u32,
    /// The budget's windows; 60 s and 1 h at Kore, shrunk in tests.
    pub minute: Duration,
    pub hour: Duration,
    /// Seed of the fault dice.
    pub seed: u64,
}

impl KoreSimConfig {
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        KoreSimConfig {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            latency: Duration::ZERO,
            throttle_rate: 0.0,
            error_rate: 0.0,
            max_page_size: 500,
            strict_seven_days: false,
            reported_total: None,
            retry_after_secs: None,
            calls_per_minute: 60,
            calls_per_hour: 1800,
            minute: Duration::from_secs(60),
            hour: Duration::from_secs(3600),
            seed: 0,
        }
    }
}

/// One bot the simulator serves, keyed by its Kore bot id (`st-…`).
#[derive(Debug, Clone)]
pub struct KoreSimBot {
    pub bot_id: String,
    pub data: Arc<BotData>,
}

/// Counters of one operation for one bot (`GET /_sim/stats`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KoreSimCounters {
    pub calls: u64,
    pub rejected_seven_days: u64,
    pub rejected_budget: u64,
    pub rejected_auth: u64,
    /// Of `rejected_auth`: a `jti` used a second time.
    pub rejected_replay: u64,
    pub rejected_other: u64,
    pub faults_throttle: u64,
    pub faults_error: u64,
}

impl KoreSimCounters {
    fn add(&mut self, o: &KoreSimCounters) {
        self.calls += o.calls;
        self.rejected_seven_days += o.rejected_seven_days;
        self.rejected_budget += o.rejected_budget;
        self.rejected_auth += o.rejected_auth;
        self.rejected_replay += o.rejected_replay;
        self.rejected_other += o.rejected_other;
        self.faults_throttle += o.faults_throttle;
        self.faults_error += o.faults_error;
    }
}

struct BotState {
    data: Arc<BotData>,
    /// Each session's getSessions JSON, in `data.sessions` order.
    rendered: Vec<Box<str>>,
    /// Each session's end and containment type in lower case, in
    /// `data.sessions` order: what every getSessions call filters on, kept
    /// apart from the sessions so that a call scans two small arrays.
    ends: Vec<(chrono::DateTime<chrono::Utc>, Option<Box<str>>)>,
    /// Indexes into `data.sessions` in getSessions' order (latest first):
    /// a call takes a run of it instead of sorting what it matched.
    latest_first: Vec<usize>,
    tasks: Vec<KoreSimTask>,
    budget: SlidingBudget,
}

struct Sim {
    config: KoreSimConfig,
    bots: HashMap<String, BotState>,
    /// (operation, bot id) → counters.
    stats: Mutex<BTreeMap<(String, String), KoreSimCounters>>,
    /// `jti`s already used, with their `exp`: a replay is refused; entries
    /// are dropped once expired (an expired token fails on `exp` anyway).
    seen_jtis: Mutex<HashMap<String, i64>>,
    dice: Mutex<ChaCha8Rng>,
    faults: crate::simulators::faults::FaultKnob,
}

/// A refusal in Kore's error envelope `{"errors":[{"msg","code"}]}` (kore.md §5.1).
pub struct Rejection {
    status: StatusCode,
    code: u16,
    msg: String,
    /// `Retry-After` in seconds, on a 429 when the config asks for it.
    retry_after: Option<u64>,
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body = Json(json!({ "errors": [{ "msg": self.msg, "code": self.code }] }));
        match self.retry_after {
            Some(secs) => (
                self.status,
                [(axum::http::header::RETRY_AFTER, secs.to_string())],
                body,
            )
                .into_response(),
            None => (self.status, body).into_response(),
        }
    }
}

fn envelope(status: StatusCode, code: u16, msg: &str) -> Rejection {
    Rejection {
        status,
        code,
        msg: msg.to_owned(),
        retry_after: None,
    }
}

#[derive(Clone, Copy)]
enum Counter {
    Call,
    SevenDays,
    Budget,
    Auth,
    Replay,
    Other,
    Throttle,
    Error,
}

impl Sim {
    fn count(&self, op: &str, bot: &str, what: Counter) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        let c = stats.entry((op.to_owned(), bot.to_owned())).or_default();
        match what {
            Counter::Call => c.calls += 1,
            Counter::SevenDays => c.rejected_seven_days += 1,
            Counter::Budget => c.rejected_budget += 1,
            Counter::Auth => c.rejected_auth += 1,
            Counter::Replay => {
                c.rejected_auth += 1;
                c.rejected_replay += 1;
            }
            Counter::Other => c.rejected_other += 1,
            Counter::Throttle => c.faults_throttle += 1,
            Counter::Error => c.faults_error += 1,
        }
    }

    /// Checks the `auth` header; the counter and error answer when it is not
    /// acceptable.
    fn check_auth(&self, headers: &HeaderMap) -> Result<(), (Counter, Rejection)> {
        let invalid = || {
            (
                Counter::Auth,
                envelope(StatusCode::UNAUTHORIZED, 4002, "Invalid SDK credentials"),
            )
        };
        let token = headers
            .get("auth")
            .and_then(|v| v.to_str().ok())
            .ok_or_else(invalid)?;
        let mut validation = Validation::new(Algorithm::HS256);
        // The documented minimal payload has no `exp` (kore.md §4.3); check it
        // only when present.
        validation.required_spec_claims.clear();
        validation.validate_aud = false;
        let data = jsonwebtoken::decode::<Value>(
            token,
            &DecodingKey::from_secret(self.config.client_secret.as_bytes()),
            &validation,
        )
        .map_err(|_| invalid())?;
        let claims = data.claims;
        if claims["appId"].as_str() != Some(self.config.client_id.as_str()) {
            return Err(invalid());
        }
        if let Some(jti) = claims["jti"].as_str() {
            let now = chrono::Utc::now().timestamp();
            let iat = claims["iat"].as_i64().unwrap_or(now);
            if claims["exp"].as_i64().is_none_or(|exp| exp - iat > 3600) {
                return Err((
                    Counter::Auth,
                    envelope(
                        StatusCode::UNAUTHORIZED,
                        401,
                        "error verifying the jwt: if \"jti\" claim \"exp\" must be <= 1 hour(s)",
                    ),
                ));
            }
            let exp = claims["exp"].as_i64().unwrap_or(now);
            let mut seen = self.seen_jtis.lock().unwrap_or_else(|e| e.into_inner());
            if seen.len() >= 4096 {
                seen.retain(|_, e| *e >= now);
            }
            if seen.insert(jti.to_owned(), exp).is_some() {
                return Err((
                    Counter::Replay,
                    envelope(
                        StatusCode::UNAUTHORIZED,
                        401,
                        "error verifying the jwt: possibly a replay",
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Everything every operation does before answering: count, latency,
    /// auth, bot lookup, budget, injected faults, then the JSON body. The
    /// bot and the body, or the answer to the refused call.
    async fn admit<T: for<'de> Deserialize<'de> + Default>(
        &self,
        op: &str,
        bot_id: &str,
        headers: &HeaderMap,
        body: &[u8],
    ) -> Result<(&BotState, T), Response> {
        self.count(op, bot_id, Counter::Call);
        if !self.config.latency.is_zero() {
            tokio::time::sleep(self.config.latency).await;
        }
        let bot = self.gate(bot_id, headers).map_err(|(counter, r)| {
            self.count(op, bot_id, counter);
            r.into_response()
        })?;
        // Invented text: the validation message is not documented.
        let body = parse_body(body).map_err(|e| {
            self.bad_request(op, bot_id, false, &format!("Invalid request body: {e}"))
        })?;
        Ok((bot, body))
    }

    /// The checks of `admit` in order: auth, bot lookup, budget, injected
    /// faults; the counter and error answer of the first that refuses.
    fn gate(&self, bot_id: &str, headers: &HeaderMap) -> Result<&BotState, (Counter, Rejection)> {
        self.check_auth(headers)?;
        let Some(bot) = self.bots.get(bot_id) else {
            return Err((
                Counter::Other,
                envelope(StatusCode::BAD_REQUEST, 400, "Invalid StreamId"),
            ));
        };
        if let Err(hourly) = bot.budget.try_take() {
            let msg = if hourly {
                "You've exceeded the hourly rate limit. Please wait for sometime before retrying."
            } else {
                "You've exceeded the per-minute rate limit. Please wait for sometime before retrying."
            };
            return Err((Counter::Budget, self.too_many_requests(msg)));
        }
        let (throttle, error) = {
            let rates = self.faults.get();
            let mut dice = self.dice.lock().unwrap_or_else(|e| e.into_inner());
            (
                dice.r#gen::<f64>() < rates.throttle_rate,
                dice.r#gen::<f64>() < rates.error_rate,
            )
        };
        if throttle {
            let msg = "Rate limit for this API has been reached. Please try again after some time.";
            return Err((Counter::Throttle, self.too_many_requests(msg)));
        }
        if error {
            // Invented text: kore.md documents no 5xx body.
            let msg = "Internal Server Error (simulated fault)";
            return Err((
                Counter::Error,
                envelope(StatusCode::INTERNAL_SERVER_ERROR, 500, msg),
            ));
        }
        Ok(bot)
    }

    /// A 429 in Kore's envelope, with `Retry-After` when the config asks.
    fn too_many_requests(&self, msg: &str) -> Rejection {
        Rejection {
            retry_after: self.config.retry_after_secs,
            ..envelope(StatusCode::TOO_MANY_REQUESTS, 429, msg)
        }
    }

    fn bad_request(&self, op: &str, bot_id: &str, seven_days: bool, msg: &str) -> Response {
        self.count(
            op,
            bot_id,
            if seven_days {
                Counter::SevenDays
            } else {
                Counter::Other
            },
        );
        envelope(StatusCode::BAD_REQUEST, 400, msg).into_response()
    }
}

/// Parses a JSON body that may be empty (kore.md §1.1: the body is optional).
fn parse_body<T: for<'de> Deserialize<'de> + Default>(body: &[u8]) -> Result<T, String> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body).map_err(|e| e.to_string())
}

async fn sim_bots(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let mut bots: Vec<&String> = sim.bots.keys().collect();
    bots.sort();
    Json(json!({ "clientId": sim.config.client_id, "bots": bots }))
}

async fn sim_stats(State(sim): State<Arc<Sim>>) -> Json<Value> {
    let stats = sim.stats.lock().unwrap_or_else(|e| e.into_inner());
    let mut totals = KoreSimCounters::default();
    let mut operations = Vec::new();
    for ((op, bot), c) in stats.iter() {
        totals.add(c);
        operations.push(json!({ "operation": op, "bot": bot, "counters": c }));
    }
    let mut budgets: Vec<Value> = sim
        .bots
        .iter()
        .map(|(bot, s)| json!({ "bot": bot, "peakMinute": s.budget.peak_minute() }))
        .collect();
    budgets.sort_by(|a, b| a["bot"].as_str().cmp(&b["bot"].as_str()));
    Json(json!({ "totals": totals, "operations": operations, "budgets": budgets }))
}

/// `PUT /_sim/faults`: changes the fault rates while running.
async fn sim_faults(
    State(sim): State<Arc<Sim>>,
    Json(f): Json<crate::simulators::SimFaults>,
) -> Response {
    sim.faults.put(f)
}

/// The simulator's routes.
pub fn router(config: KoreSimConfig, bots: Vec<KoreSimBot>) -> Router {
    let bots = bots
        .into_iter()
        .map(|b| {
            let tasks = analytics::derive_tasks(&b.data);
            let budget = SlidingBudget::new(
                config.calls_per_minute,
                config.calls_per_hour,
                config.minute,
                config.hour,
            );
            let rendered = b
                .data
                .sessions
                .iter()
                .map(|s| sessions::session_json(&b.bot_id, s).to_string().into())
                .collect();
            let mut latest_first: Vec<usize> = (0..b.data.sessions.len()).collect();
            latest_first
                .sort_by(|&i, &j| sessions::latest_first(&b.data.sessions[i], &b.data.sessions[j]));
            (
                b.bot_id,
                BotState {
                    rendered,
                    latest_first,
                    ends: b
                        .data
                        .sessions
                        .iter()
                        .map(|s| {
                            let ctype = s.vendor_end_state.as_deref();
                            (s.end_time, ctype.map(|c| c.to_ascii_lowercase().into()))
                        })
                        .collect(),
                    data: b.data,
                    tasks,
                    budget,
                },
            )
        })
        .collect();
    let sim = Arc::new(Sim {
        dice: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
        faults: crate::simulators::faults::FaultKnob::new(crate::simulators::SimFaults {
            throttle_rate: config.throttle_rate,
            error_rate: config.error_rate,
        }),
        config,
        bots,
        stats: Mutex::default(),
        seen_jtis: Mutex::default(),
    });
    Router::new()
        .route(
            "/api/public/bot/{bot_id}/getSessions",
            post(sessions::get_sessions),
        )
        .route(
            "/api/public/bot/{bot_id}/getAnalytics",
            post(analytics::get_analytics),
        )
        .route("/_sim/stats", get(sim_stats))
        .route("/_sim/bots", get(sim_bots))
        .route("/_sim/faults", axum::routing::put(sim_faults))
        .with_state(sim)
}

/// A running simulator, the same shape as `lex::LexSimulator`. The server
/// task lives as long as the Tokio runtime.
#[derive(Debug, Clone, Copy)]
pub struct KoreSimulator {
    addr: SocketAddr,
}

impl KoreSimulator {
    /// Binds `listen` (port 0 for any) and serves `bots` in the background.
    pub async fn spawn(
        listen: SocketAddr,
        config: KoreSimConfig,
        bots: Vec<KoreSimBot>,
    ) -> std::io::Result<KoreSimulator> {
        let listener = TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let app = router(config, bots);
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Kore simulator stopped");
            }
        });
        Ok(KoreSimulator { addr })
    }

    /// Serves until Ctrl-C (`botscope simulate kore`); `on_ready` runs once bound.
    pub async fn run(
        listen: SocketAddr,
        config: KoreSimConfig,
        bots: Vec<KoreSimBot>,
        on_ready: impl FnOnce(&KoreSimulator),
    ) -> std::io::Result<()> {
        let listener = TcpListener::bind(listen).await?;
        on_ready(&KoreSimulator {
            addr: listener.local_addr()?,
        });
        axum::serve(listener, router(config, bots))
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, what a `[[bots]]` entry takes as `host`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
