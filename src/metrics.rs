//! Prometheus metrics, served at `GET /metrics`.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `botscope_http_requests_total` | counter | `route` (known routes, else `other`), `status` | HTTP requests served |
//! | `botscope_http_request_seconds` | histogram | `route` | time to answer an HTTP request |
//! | `botscope_graphql_requests_total` | counter | `operation` (see below), `outcome` (`ok`, `partial`, `error`, `cached`) | GraphQL requests that passed auth and the rate limit |
//! | `botscope_graphql_request_seconds` | histogram | `operation` | time to execute a GraphQL request (response-cache hits excluded) |
//! | `botscope_auth_failures_total` | counter | | requests refused with 401 |
//! | `botscope_rate_limited_total` | counter | | requests refused with 429 (per-client rate limit) |
//! | `botscope_response_cache_requests_total` | counter | `outcome` (`hit`, `miss`, `bypass`) | whole-response cache |
//! | `botscope_source_calls_total` | counter | `bot`, `vendor`, `operation` | questions asked of a source (after the cache) |
//! | `botscope_source_outcomes_total` | counter | `operation`, `outcome` (`ok` or an error code) | their outcomes |
//! | `botscope_source_call_seconds` | histogram | `bot`, `vendor`, `operation` | time a source took |
//! | `botscope_source_cache_requests_total` | counter | `operation`, `outcome` (`hit`, `miss`) | source-cache lookups |
//! | `botscope_cache_evictions_total` | counter | | source-cache entries evicted for size |
//! | `botscope_breaker_state` | gauge | `bot` | circuit breaker: 0 closed, 1 half-open, 2 open |
//! | `botscope_breaker_rejections_total` | counter | `bot` | questions failed fast by an open breaker |
//! | `botscope_redis_up` | gauge | | with `[redis]`: 1 while Redis answers, 0 while the replica runs degraded |
//! | `botscope_redis_errors_total` | counter | | Redis commands that failed or timed out |
//! | `botscope_redis_fallbacks_total` | counter | `what` (`source`, `kore_window`, `response`, `kore_budget`, `lex_budget`) | times local state served because Redis gave no answer |
//! | `botscope_l2_cache_requests_total` | counter | `cache` (`source`, `kore_window`, `response`), `outcome` (`hit`, `miss`, `error`, `undecodable`) | L2 (Redis) lookups after an L1 miss |
//! | `botscope_redis_lock_waits_total` | counter | `cache`, `outcome` (`filled`, `lock_gone`) | cold keys another replica was fetching: waited for its entry |
//! | `botscope_redis_lock_wait_seconds` | histogram | `cache` | how long those waits took |

//!
//! `operation` is the request's `operationName` (letters, digits, `_`, at most
//! 64), `(anonymous)` without one, `(cached)` for response-cache hits, and
//! `(timed out)` for requests cut by `limits.request_timeout` (their name is
//! not known where the deadline answers), and
//! `(other)` once [`MAX_OPERATION_LABELS`] distinct names were seen or for a
//! name that is not a plain identifier — clients cannot blow up cardinality.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Bucket bounds (seconds) of every `*_seconds` histogram: rendered as true
/// Prometheus histograms (`_bucket`, `_sum`, `_count`), so replicas aggregate.
pub const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// How often histogram samples are folded into their buckets.
pub const UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the process-wide recorder once; later calls reuse it.
///
/// `install_recorder` leaves upkeep to the caller: until a histogram is
/// drained, every sample recorded is kept (the soak saw RSS grow by ~20 bytes
/// per request with nobody scraping `/metrics`). A background thread drains
/// them every [`UPKEEP_INTERVAL`], as `PrometheusBuilder::install` would.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new()
                .set_buckets(LATENCY_BUCKETS)
                .ok()?
                .install_recorder()
                .ok()?;
            let upkeep = handle.clone();
            let spawned = std::thread::Builder::new()
                .name("metrics-upkeep".into())
                .spawn(move || {
                    loop {
                        std::thread::sleep(UPKEEP_INTERVAL);
                        upkeep.run_upkeep();
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "no metrics upkeep thread: histograms drain only when /metrics is scraped");
            }
            Some(handle)
        })
        .as_ref()
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}

/// Distinct operation names kept as label values; later names are `(other)`.
pub const MAX_OPERATION_LABELS: usize = 200;

static OPERATIONS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();

/// The `operation` label of a GraphQL request (see the table above).
pub fn operation_label(name: Option<&str>) -> String {
    let Some(name) = name else {
        return "(anonymous)".into();
    };
    if name.is_empty()
        || name.len() > 64
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
    {
        return "(other)".into();
    }
    let mut seen = OPERATIONS
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen.contains(name) {
        return name.to_owned();
    }
    if seen.len() >= MAX_OPERATION_LABELS {
        return "(other)".into();
    }
    seen.insert(name.to_owned());
    name.to_owned()
}
