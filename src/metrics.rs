//! Prometheus metrics, served at `GET /metrics`.
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `botscope_http_requests_total` | counter | `route`, `status` | HTTP requests served |
//! | `botscope_graphql_requests_total` | counter | `outcome` (`ok`, `partial`, `error`, `cached`) | GraphQL requests |
//! | `botscope_graphql_request_seconds` | histogram | | time to answer a GraphQL request |
//! | `botscope_response_cache_requests_total` | counter | `outcome` (`hit`, `miss`, `bypass`) | whole-response cache |
//! | `botscope_source_calls_total` | counter | `bot`, `vendor`, `operation` | questions asked of a source (after the cache) |
//! | `botscope_source_outcomes_total` | counter | `operation`, `outcome` (`ok` or an error code) | their outcomes |
//! | `botscope_source_call_seconds` | histogram | `bot`, `vendor`, `operation` | time a source took |
//! | `botscope_source_cache_requests_total` | counter | `operation`, `outcome` (`hit`, `miss`) | source-cache lookups |
//! | `botscope_cache_evictions_total` | counter | | source-cache entries evicted for size |
//! | `botscope_breaker_state` | gauge | `bot` | circuit breaker: 0 closed, 1 half-open, 2 open |
//! | `botscope_breaker_rejections_total` | counter | `bot` | questions failed fast by an open breaker |

use std::sync::OnceLock;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the process-wide recorder once; later calls reuse it.
pub fn handle() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// The Prometheus text exposition of every metric.
pub fn render() -> String {
    handle().map(|h| h.render()).unwrap_or_default()
}
