//! The HTTP server: axum routes for GraphQL, GraphiQL, the dashboard and its
//! assets, health and readiness, with a body limit, optional CORS, request
//! ids, tracing, HTTP metrics and graceful shutdown; `/graphql` runs the
//! pipeline of [`pipeline::stack`] (auth → rate limit → response cache →
//! deadline → GraphQL).
//!
//! Around every route, outermost first ([`router`]): a caller's `x-request-id`
//! is dropped unless short and plain, tower-http's `SetRequestIdLayer` makes
//! one when there is none ([`RequestIds`]) and `PropagateRequestIdLayer`
//! echoes it; `TraceLayer` opens the `request` span (request id, method,
//! route) every log line of the request carries; HTTP metrics count the
//! request by route and status; a 413 gets a GraphQL-shaped body.

pub mod assets;
pub mod auth;
mod pipeline;
pub mod rate_limit;
pub mod response_cache;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::error::ErrorKind;
use crate::graphql::BotscopeSchema;
use auth::Authenticator;
use rate_limit::ClientRateLimiter;
use response_cache::ResponseCache;

pub use pipeline::stack;

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub schema: BotscopeSchema,
    pub auth: Option<Authenticator>,
    pub graphiql: bool,
    pub response_cache: Option<ResponseCache>,
    /// Per-client request budget; `None` when off.
    pub rate_limiter: Option<ClientRateLimiter>,
    /// Deadline of one GraphQL request.
    pub request_timeout: Duration,
    /// `[redis]`: its state shows in `/readyz`'s body.
    pub fleet: Option<crate::fleet::Fleet>,
    /// What `/readyz` checks besides the authenticator's keys.
    pub readiness: Readiness,
}

/// Readiness the application reports as it starts: whether the sources are
/// built. (The authenticator's keys are asked of the authenticator itself.)
#[derive(Clone, Default)]
pub struct Readiness {
    sources_built: Arc<AtomicBool>,
}

impl Readiness {
    /// The sources (vendor clients and their layers) exist and the engine
    /// holds them.
    pub fn mark_sources_built(&self) {
        self.sources_built.store(true, Ordering::Release);
    }

    pub fn sources_built(&self) -> bool {
        self.sources_built.load(Ordering::Acquire)
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
    /// Deadline of one GraphQL request (`limits.request_timeout`).
    pub request_timeout: Duration,
    /// Per-client budget (`limits.requests_per_minute_per_client`); 0 = off.
    pub requests_per_minute_per_client: u32,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 256 * 1024,
            cors_origins: Vec::new(),
            request_timeout: Duration::from_secs(30),
            // Off for the demo and tests (a load test from one IP must not be
            // throttled by botscope); `serve` takes the config's default of 600.
            requests_per_minute_per_client: 0,
        }
    }
}

/// The route label of a path: the known routes, else `other` (bounded cardinality).
fn route_label(path: &str) -> &'static str {
    match path {
        "/" => "/",
        "/graphql" => "/graphql",
        "/healthz" => "/healthz",
        "/readyz" => "/readyz",
        "/metrics" => "/metrics",
        p if p.starts_with("/assets/") => "/assets",
        _ => "other",
    }
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A caller's request id is kept when it is short and plain, so ids cannot
/// inject into logs.
fn plain_request_id(v: &HeaderValue) -> bool {
    let v = v.as_bytes();
    !v.is_empty()
        && v.len() <= 128
        && v.iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
}

/// Drops a caller's `x-request-id` that is not plain, so that
/// `SetRequestIdLayer` (which keeps any id it finds) makes a new one.
fn drop_unplain_request_id<B>(mut req: Request<B>) -> Request<B> {
    if req
        .headers()
        .get(&X_REQUEST_ID)
        .is_some_and(|v| !plain_request_id(v))
    {
        req.headers_mut().remove(&X_REQUEST_ID);
    }
    req
}

/// Makes the id of a request that brought none: a UUID v4 from the thread's
/// random generator (tower-http's `MakeRequestUuid` asks the OS for every id).
#[derive(Clone, Copy, Default)]
pub struct RequestIds;

impl tower_http::request_id::MakeRequestId for RequestIds {
    fn make_request_id<B>(&mut self, _: &Request<B>) -> Option<RequestId> {
        let id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        let text = id.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(RequestId::new)
    }
}

/// The `request` span: request id, method and route.
fn request_span(req: &Request) -> tracing::Span {
    let id = req
        .extensions()
        .get::<RequestId>()
        .and_then(|id| id.header_value().to_str().ok())
        .unwrap_or("");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route = route_label(req.uri().path()),
    )
}

/// The routes `route_label` names, in a fixed order (index = slot below).
const ROUTES: [&str; 7] = [
    "/", "/graphql", "/healthz", "/readyz", "/metrics", "/assets", "other",
];

/// Statuses whose counters are kept at hand; others are looked up each time.
const STATUSES: [u16; 11] = [200, 304, 400, 401, 403, 404, 405, 413, 429, 500, 503];

type Slots<T, const N: usize> = [std::sync::OnceLock<T>; N];

/// The HTTP metrics' handles, registered on first use: the hot path neither
/// formats a label nor looks a key up in the registry.
static REQUESTS: [Slots<metrics::Counter, { STATUSES.len() }>; ROUTES.len()] =
    [const { [const { std::sync::OnceLock::new() }; STATUSES.len()] }; ROUTES.len()];
static SECONDS: Slots<metrics::Histogram, { ROUTES.len() }> =
    [const { std::sync::OnceLock::new() }; ROUTES.len()];

/// HTTP metrics: requests by route and status, time to answer by route.
async fn http_metrics(req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = route_label(req.uri().path());
    let r = ROUTES
        .iter()
        .position(|x| *x == route)
        .unwrap_or(ROUTES.len() - 1);
    let resp = next.run(req).await;
    let status = resp.status().as_u16();
    let counter = |s: u16| metrics::counter!("botscope_http_requests_total", "route" => route, "status" => s.to_string());
    match STATUSES.iter().position(|s| *s == status) {
        Some(k) => REQUESTS[r][k].get_or_init(|| counter(status)).increment(1),
        None => counter(status).increment(1),
    }
    SECONDS[r]
        .get_or_init(|| metrics::histogram!("botscope_http_request_seconds", "route" => route))
        .record(started.elapsed().as_secs_f64());
    resp
}

/// A 413 (the body limit) with a GraphQL-shaped body.
fn graphql_shaped_413<B>(resp: Response<B>) -> Response
where
    B: axum::body::HttpBody<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<axum::BoxError>,
{
    if resp.status() != StatusCode::PAYLOAD_TOO_LARGE {
        return resp.map(Body::new);
    }
    graphql_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        "the request body is larger than server.max_body_bytes",
        ErrorKind::BadUserInput,
    )
}

pub fn router(state: AppState, http: &HttpSettings) -> Router {
    let state = Arc::new(state);
    // Pages and files are compressed (gzip or brotli, as the browser asks);
    // GraphQL answers are not, so API clients and load tests see them as before.
    let pages = Router::new()
        .route("/", get(|| async { assets::dashboard() }))
        .route("/assets/{version}/{*path}", get(assets::asset))
        .layer(CompressionLayer::new());
    let mut router = Router::new()
        .merge(pages)
        .route("/graphql", stack(&state))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .with_state(state)
        .layer(
            // Outermost first; one `ServiceBuilder`, so one boxed service
            // per request rather than one per layer.
            ServiceBuilder::new()
                .map_request(drop_unplain_request_id)
                .layer(SetRequestIdLayer::new(X_REQUEST_ID.clone(), RequestIds))
                .layer(PropagateRequestIdLayer::new(X_REQUEST_ID.clone()))
                .layer(
                    TraceLayer::new_for_http()
                        .make_span_with(request_span)
                        .on_request(())
                        .on_response(|resp: &Response<_>, latency: Duration, _: &tracing::Span| {
                            tracing::debug!(
                                status = resp.status().as_u16(),
                                elapsed_ms = latency.as_millis() as u64,
                                "request done"
                            );
                        })
                        // Failures are answers here (a 503 from /readyz, a
                        // 500 already logged where it arose), not log lines.
                        .on_failure(()),
                )
                .layer(axum::middleware::from_fn(http_metrics))
                .map_response(graphql_shaped_413)
                .layer(RequestBodyLimitLayer::new(http.max_body_bytes))
                .map_request(|req: Request<_>| req.map(Body::new)),
        );
    if !http.cors_origins.is_empty() {
        let origins = if http.cors_origins.iter().any(|o| o == "*") {
            AllowOrigin::any()
        } else {
            AllowOrigin::list(
                http.cors_origins
                    .iter()
                    .filter_map(|o| HeaderValue::from_str(o).ok()),
            )
        };
        router = router.layer(
            CorsLayer::new()
                .allow_origin(origins)
                .allow_methods([axum::http::Method::GET, axum::http::Method::POST])
                .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE]),
        );
    }
    router
}

/// `/readyz`: 200 when this replica can answer (sources built; the
/// authenticator's keys loaded when a JWKS is configured), else 503, with a
/// JSON body naming each check. An unreachable Redis degrades a replica but
/// never makes it unready (DESIGN §11): it still answers (local caches, its
/// share of the budgets), so the load balancer keeps it; the body says so.
async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    let (status, body) = readiness_report(
        state.readiness.sources_built(),
        state.auth.as_ref().map(Authenticator::keys_loaded),
        state.fleet.as_ref().map(crate::fleet::Fleet::readiness),
    );
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// The status and body of `/readyz` from its checks: `jwks` is `None` without
/// auth (or with keys that need no loading: always `Some(true)`), `redis`
/// `None` without `[redis]`.
fn readiness_report(
    sources_built: bool,
    keys_loaded: Option<bool>,
    redis: Option<String>,
) -> (StatusCode, serde_json::Value) {
    let mut not_ready = Vec::new();
    if !sources_built {
        not_ready.push("sources: not built yet");
    }
    if keys_loaded == Some(false) {
        not_ready.push("auth: the JWKS is not loaded yet (auth.jwks_url)");
    }
    let ready = not_ready.is_empty();
    let mut body = serde_json::json!({
        "status": if ready { "ready" } else { "not ready" },
        "sources": if sources_built { "built" } else { "not built" },
        "auth": match keys_loaded {
            None => "off",
            Some(true) => "keys loaded",
            Some(false) => "keys not loaded",
        },
    });
    if !ready {
        body["not_ready"] = serde_json::json!(not_ready);
    }
    if let Some(redis) = redis {
        body["redis"] = redis.into();
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (status, body)
}

/// A response with a GraphQL-shaped body holding one error, its code from
/// `kind`.
fn graphql_error(status: StatusCode, message: &str, kind: ErrorKind) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": kind.code() } }]
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Serves until SIGTERM or Ctrl-C, then drains in-flight requests.
pub async fn serve(listener: TcpListener, router: Router) -> std::io::Result<()> {
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutting down");
}

/// The address a listener actually bound (port 0 in tests).
pub fn local_addr(listener: &TcpListener) -> SocketAddr {
    listener
        .local_addr()
        .unwrap_or_else(|_| SocketAddr::from(([127, 0, 0, 1], 0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn readiness_is_503_until_sources_are_built_and_keys_loaded() {
        let (status, body) = readiness_report(false, None, None);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(body["not_ready"][0], "sources: not built yet");
        let (status, body) = readiness_report(true, Some(false), None);
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert!(body["not_ready"][0].as_str().unwrap().contains("JWKS"));
        let (status, body) = readiness_report(true, Some(true), None);
        assert_eq!(status, StatusCode::OK, "{body}");
        assert!(body.get("not_ready").is_none());
        // A degraded Redis is said, not a reason to be unready (DESIGN §11).
        let degraded = "ready (degraded: redis unreachable; …)".to_owned();
        let (status, body) = readiness_report(true, None, Some(degraded));
        assert_eq!(status, StatusCode::OK);
        assert!(body["redis"].as_str().unwrap().contains("degraded"));
    }

    #[test]
    fn only_plain_request_ids_are_kept() {
        for ok in ["abc-123", "a.b:c_d", &"x".repeat(128)] {
            assert!(
                plain_request_id(&HeaderValue::from_str(ok).unwrap()),
                "{ok}"
            );
        }
        for bad in ["", "evil\"id", "with space", &"x".repeat(129)] {
            assert!(
                !plain_request_id(&HeaderValue::from_str(bad).unwrap()),
                "{bad}"
            );
        }
    }
}
