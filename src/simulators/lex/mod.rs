//! `LexSimulator`: an HTTP server that speaks the Amazon Lex V2 analytics API
//! (restJson1) the way the real service does, over the shared synthetic dataset.
//!
//! Implemented operations (`../shared/vendors/lex.md` §2, §4):
//! `POST /bots/{botId}/analytics/sessions` (ListSessionAnalyticsData),
//! `…/sessionmetrics` (ListSessionMetrics), `…/intentstagemetrics`
//! (ListIntentStageMetrics), `…/intentmetrics` (ListIntentMetrics),
//! `…/utterancemetrics` (ListUtteranceMetrics), `…/utterances`
//! (ListUtteranceAnalyticsData) and `…/intentpaths` (ListIntentPaths), from
//! the official model (`../shared/vendors/lex-analytics-model.json`). The wire rules it follows are lex.md §9:
//! epoch-second number timestamps, server-side validation answered with 400
//! `ValidationException`, `nextToken`/`maxResults` (1..1000) paging, errors as
//! `x-amzn-ErrorType` header plus `{"__type","message"}` body, throttling as 429
//! with an integer `Retry-After` and `x-amz-retry-after` (milliseconds).
//!
//! It is written from the vendor's side: it never imports `crate::sources::lex`
//! (DESIGN §8). Metrics are computed here from the records with the shared
//! domain aggregation, then spelled in Lex's enums.
//!
//! Guesses (UNCERTAIN in lex.md, decided here and documented in README):
//! - an unknown (well-formed) bot id answers 412 `PreconditionFailedException`
//!   "Failed to retrieve resource since it does not exist": the analytics
//!   operations model no ResourceNotFound (lex.md §0.4), and Lex V2 uses
//!   PreconditionFailed for a missing parent resource elsewhere;
//! - bin keys are the bin start in epoch **milliseconds** (DESIGN §4);
//! - a `Duration` filter value is whole seconds (`"30"`; `"30 sec"` as in the
//!   user guide is accepted too);
//! - without `sortBy`, sessions come newest first; `maxResults` defaults to 10;
//! - `startDateTime` after `endDateTime` is a `ValidationException`;
//! - the guide's range rules (lex.md §11) are enforced by default as a
//!   `ValidationException`: a start more than 365 days back, an end more than
//!   one calendar month after the start (`lenient_ranges` turns both off);
//! - a filter name used twice in one request is a `ValidationException` (its
//!   meaning is undocumented, lex.md §11);
//! - a conversation appears once it has ended: sessions and stages ending
//!   after the moment of the call are not served.
//!
//! Extra, non-Lex routes: `GET /_sim/stats` (calls served, rejected and faulted
//! per operation and bot), `GET /_sim/bots` (the bot ids served) and
//! `PUT /_sim/faults` (`{"throttleRate":…,"errorRate":…}`, changes the fault rates).

mod activity_ops;
pub mod demo;
mod ops;
mod wire;

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use crate::domain::BotData;

pub use wire::LexError;

/// Fault knobs and pacing of a [`LexSimulator`].
#[derive(Debug, Clone)]
pub struct LexSimConfig {
    /// Added before every answer.
    pub latency: Duration,
    /// Probability that a call is answered with a 429 `ThrottlingException`.
    pub throttle_rate: f64,
    /// Probability that a call is answered with a 500 `InternalServerException`.
    pub error_rate: f64,
    /// Seed of the fault dice (same seed and call order, same faults).
    pub seed: u64,
    /// The `x-amz-retry-after` hint on throttling answers, in milliseconds.
    pub retry_after_ms: u64,
    /// Turns off the guide's range rules (start within the last 365 days, end
    /// at most one month after the start), which are enforced by default.
    pub lenient_ranges: bool,
}

impl Default for LexSimConfig {
    fn default() -> Self {
        LexSimConfig {
            latency: Duration::ZERO,
            throttle_rate: 0.0,
            error_rate: 0.0,
            seed: 0,
            retry_after_ms: 1000,
            lenient_ranges: false,
        }
    }
}

/// Counters of one (operation, bot) pair.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct LexSimCounters {
    /// Calls answered with 200.
    pub calls: u64,
    /// Calls refused by validation or an unknown bot (4xx).
    pub rejected: u64,
    /// Calls answered with an injected fault (429 or 500).
    pub faulted: u64,
}

/// One row of `GET /_sim/stats`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct LexSimStat {
    pub operation: String,
    pub bot_id: String,
    #[serde(flatten)]
    pub counters: LexSimCounters,
}

pub(crate) struct SimState {
    bots: BTreeMap<String, Arc<BotData>>,
    config: LexSimConfig,
    dice: Mutex<ChaCha8Rng>,
    faults: crate::simulators::faults::FaultKnob,
    throttle_next: AtomicU32,
    stats: Mutex<BTreeMap<(String, String), LexSimCounters>>,
}

impl SimState {
    fn count(&self, operation: &str, bot: &str, f: impl FnOnce(&mut LexSimCounters)) {
        let mut stats = self.stats.lock().unwrap_or_else(|e| e.into_inner());
        f(stats
            .entry((operation.to_owned(), bot.to_owned()))
            .or_default());
    }

    /// Which fault, if any, this call gets.
    fn fault(&self) -> Option<LexError> {
        let forced = self
            .throttle_next
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok();
        if forced {
            return Some(LexError::throttling(self.config.retry_after_ms));
        }
        let rates = self.faults.get();
        if rates.throttle_rate <= 0.0 && rates.error_rate <= 0.0 {
            return None;
        }
        let roll: f64 = self.dice.lock().unwrap_or_else(|e| e.into_inner()).r#gen();
        if roll < rates.throttle_rate {
            Some(LexError::throttling(self.config.retry_after_ms))
        } else if roll < rates.throttle_rate + rates.error_rate {
            Some(LexError::internal())
        } else {
            None
        }
    }
}

/// A running simulator. The server task lives as long as the Tokio runtime.
#[derive(Clone)]
pub struct LexSimulator {
    addr: SocketAddr,
    state: Arc<SimState>,
}

impl LexSimulator {
    /// Binds `listen` (port 0 for any) and serves `bots`, keyed by Lex bot id.
    pub async fn spawn(
        listen: SocketAddr,
        config: LexSimConfig,
        bots: Vec<(String, Arc<BotData>)>,
    ) -> io::Result<LexSimulator> {
        let (listener, sim) = Self::bind(listen, config, bots).await?;
        let app = router(sim.state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::error!(error = %e, "Lex simulator stopped");
            }
        });
        Ok(sim)
    }

    /// Serves until the process ends (`botscope simulate lex`).
    pub async fn run(
        listen: SocketAddr,
        config: LexSimConfig,
        bots: Vec<(String, Arc<BotData>)>,
        on_ready: impl FnOnce(&LexSimulator),
    ) -> io::Result<()> {
        let (listener, sim) = Self::bind(listen, config, bots).await?;
        on_ready(&sim);
        axum::serve(listener, router(sim.state.clone())).await
    }

    async fn bind(
        listen: SocketAddr,
        config: LexSimConfig,
        bots: Vec<(String, Arc<BotData>)>,
    ) -> io::Result<(tokio::net::TcpListener, LexSimulator)> {
        let listener = tokio::net::TcpListener::bind(listen).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(SimState {
            bots: bots.into_iter().collect(),
            dice: Mutex::new(ChaCha8Rng::seed_from_u64(config.seed)),
            faults: crate::simulators::faults::FaultKnob::new(crate::simulators::SimFaults {
                throttle_rate: config.throttle_rate,
                error_rate: config.error_rate,
            }),
            config,
            throttle_next: AtomicU32::new(0),
            stats: Mutex::new(BTreeMap::new()),
        });
        Ok((listener, LexSimulator { addr, state }))
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, what an SDK takes as `endpoint_url`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Answers the next `n` calls (any operation, any bot) with a
    /// `ThrottlingException`, whatever the rates; for deterministic retry tests.
    pub fn throttle_next(&self, n: u32) {
        self.state.throttle_next.store(n, Ordering::SeqCst);
    }

    /// Changes the fault rates while running (also `PUT /_sim/faults`).
    pub fn set_faults(&self, faults: crate::simulators::SimFaults) {
        self.state.faults.set(faults);
    }

    /// The counters, as `GET /_sim/stats` reports them.
    pub fn stats(&self) -> Vec<LexSimStat> {
        stats_rows(&self.state)
    }
}

fn stats_rows(state: &SimState) -> Vec<LexSimStat> {
    let stats = state.stats.lock().unwrap_or_else(|e| e.into_inner());
    stats
        .iter()
        .map(|((operation, bot_id), counters)| LexSimStat {
            operation: operation.clone(),
            bot_id: bot_id.clone(),
            counters: *counters,
        })
        .collect()
}

fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/bots/{bot_id}/analytics/{operation}", post(analytics))
        .route("/_sim/stats", get(sim_stats))
        .route("/_sim/bots", get(sim_bots))
        .route("/_sim/faults", axum::routing::put(sim_faults))
        .fallback(unknown_route)
        .with_state(state)
}

async fn sim_stats(State(state): State<Arc<SimState>>) -> Response {
    axum::Json(serde_json::json!({ "stats": stats_rows(&state) })).into_response()
}

async fn sim_faults(
    State(state): State<Arc<SimState>>,
    axum::Json(f): axum::Json<crate::simulators::SimFaults>,
) -> Response {
    state.faults.put(f)
}

async fn sim_bots(State(state): State<Arc<SimState>>) -> Response {
    let bots: Vec<&String> = state.bots.keys().collect();
    axum::Json(serde_json::json!({ "botIds": bots })).into_response()
}

async fn unknown_route() -> Response {
    // lex.md §9.1: the real answer to an unknown route is UNCERTAIN; 404 with an
    // error code both SDKs can read.
    LexError::new(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "Unknown operation",
    )
    .into_response()
}

async fn analytics(
    State(state): State<Arc<SimState>>,
    Path((bot_id, operation)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(op) = ops::Operation::from_path(&operation) else {
        return unknown_route().await;
    };
    if !state.config.latency.is_zero() {
        tokio::time::sleep(state.config.latency).await;
    }
    let op_name = op.name();
    if let Some(fault) = state.fault() {
        state.count(op_name, &bot_id, |c| c.faulted += 1);
        return fault.into_response();
    }
    let clock = ops::CallClock {
        now: chrono::Utc::now(),
        range_rules: !state.config.lenient_ranges,
    };
    match ops::answer(&state.bots, op, &bot_id, &body, clock) {
        Ok(json) => {
            state.count(op_name, &bot_id, |c| c.calls += 1);
            let mut resp = axum::Json(json).into_response();
            resp.headers_mut().insert(
                "x-amzn-RequestId",
                HeaderValue::from_str(&uuid::Uuid::new_v4().to_string())
                    .unwrap_or(HeaderValue::from_static("0")),
            );
            resp
        }
        Err(e) => {
            state.count(op_name, &bot_id, |c| c.rejected += 1);
            e.into_response()
        }
    }
}
