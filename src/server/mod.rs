//! The HTTP server: axum routes for GraphQL, GraphiQL, the dashboard and its
//! assets, health and readiness, with a body limit, optional CORS, bearer auth, a per-client rate limit, a
//! per-request deadline, request ids, HTTP metrics and graceful shutdown.
//!
//! Every request goes through [`observe`]: it takes the caller's `x-request-id`
//! (or makes a UUID), opens a tracing span carrying it, counts the request by
//! route and status, and echoes the id in the response.

pub mod assets;
pub mod auth;
pub mod rate_limit;
pub mod response_cache;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Extension, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;
use tower_http::compression::CompressionLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tracing::Instrument;

use crate::engine::BotScope;
use crate::graphql::BotscopeSchema;
use crate::layers::CachePolicy;
use auth::Authenticator;
use rate_limit::ClientRateLimiter;
use response_cache::{ResponseCache, TtlHint};

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub schema: BotscopeSchema,
    pub auth: Option<Authenticator>,
    pub graphiql: bool,
    pub response_cache: Option<ResponseCache>,
    /// Lifetimes of cached data; `None` when caching is off.
    pub cache_policy: Option<CachePolicy>,
    /// Per-client request budget; `None` when off.
    pub rate_limiter: Option<ClientRateLimiter>,
    /// Deadline of one GraphQL request.
    pub request_timeout: Duration,
    /// `[redis]`: its state shows in `/readyz`'s body.
    pub fleet: Option<crate::fleet::Fleet>,
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

/// What [`observe`] learns about a request, for the handlers.
#[derive(Debug, Clone)]
pub struct RequestContext {
    pub request_id: String,
    pub client_ip: Option<IpAddr>,
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

/// A caller's request id is kept when it is short and plain; otherwise (or when
/// absent) a new UUID is made, so ids cannot inject into logs.
fn request_id(headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 128
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string())
}

/// Request id, span, HTTP metrics; and a GraphQL-shaped body for a 413.
async fn observe(mut req: Request, next: Next) -> Response {
    let started = std::time::Instant::now();
    let route = route_label(req.uri().path());
    let id = request_id(req.headers());
    let client_ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    req.extensions_mut().insert(RequestContext {
        request_id: id.clone(),
        client_ip,
    });
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        route,
    );
    let mut resp = next.run(req).instrument(span.clone()).await;
    if resp.status() == StatusCode::PAYLOAD_TOO_LARGE {
        resp = graphql_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the request body is larger than server.max_body_bytes",
            "BAD_USER_INPUT",
        );
    }
    let status = resp.status().as_u16();
    let elapsed = started.elapsed();
    span.in_scope(|| {
        tracing::debug!(
            status,
            elapsed_ms = elapsed.as_millis() as u64,
            "request done"
        );
    });
    metrics::counter!("botscope_http_requests_total", "route" => route, "status" => status.to_string())
        .increment(1);
    metrics::histogram!("botscope_http_request_seconds", "route" => route)
        .record(elapsed.as_secs_f64());
    if let Ok(v) = HeaderValue::from_str(&id) {
        resp.headers_mut().insert("x-request-id", v);
    }
    resp
}

pub fn router(state: AppState, http: &HttpSettings) -> Router {
    // Pages and files are compressed (gzip or brotli, as the browser asks);
    // GraphQL answers are not, so API clients and load tests see them as before.
    let pages = Router::new()
        .route("/", get(|| async { assets::dashboard() }))
        .route("/assets/{version}/{*path}", get(assets::asset))
        .layer(CompressionLayer::new());
    let mut router = Router::new()
        .merge(pages)
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .layer(RequestBodyLimitLayer::new(http.max_body_bytes))
        .layer(axum::middleware::from_fn(observe))
        .with_state(Arc::new(state));
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

async fn readyz(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    // Sources are built before the router exists, so a serving router is ready.
    // An unreachable Redis degrades a replica but never makes it unready: it
    // still answers (local caches, its share of the budgets), so the load
    // balancer keeps it; the body says so.
    match &state.fleet {
        Some(fleet) => (StatusCode::OK, fleet.readiness()),
        None => (StatusCode::OK, "ready".to_owned()),
    }
}

/// A response with a GraphQL-shaped body holding one error.
fn graphql_error(status: StatusCode, message: &str, code: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": code } }]
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn unauthenticated(message: &str) -> Response {
    let mut resp = graphql_error(StatusCode::UNAUTHORIZED, message, "UNAUTHENTICATED");
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Who is calling: their scope and the key their rate limit is counted under.
struct Caller {
    scope: BotScope,
    client: String,
}

/// The caller, or why the caller is refused.
async fn authorize(
    state: &AppState,
    headers: &HeaderMap,
    ctx: &RequestContext,
) -> Result<Caller, String> {
    let Some(auth) = &state.auth else {
        let client = match ctx.client_ip {
            Some(ip) => format!("ip:{ip}"),
            None => "ip:unknown".into(),
        };
        return Ok(Caller {
            scope: BotScope::All,
            client,
        });
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    match auth.authenticate(header).await {
        Ok(claims) => Ok(Caller {
            scope: claims.scope(),
            client: format!("sub:{}", claims.sub),
        }),
        Err(why) => {
            tracing::info!(reason = %why, "request refused: unauthenticated");
            metrics::counter!("botscope_auth_failures_total").increment(1);
            Err(why)
        }
    }
}

async fn graphql_get(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    uri: axum::http::Uri,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let query = uri.query().unwrap_or("");
    let has_query = query.split('&').any(|p| p.starts_with("query="));
    if wants_html && !has_query {
        if !state.graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled").into_response();
        }
        return assets::graphiql();
    }
    if !has_query {
        return (
            StatusCode::BAD_REQUEST,
            "GET /graphql needs ?query=… (or Accept: text/html for GraphiQL)",
        )
            .into_response();
    }
    let raw = Bytes::copy_from_slice(query.as_bytes());
    execute(&state, &ctx, &headers, "GET", raw, |raw| {
        async_graphql::http::parse_query_string(std::str::from_utf8(raw).unwrap_or(""))
            .map_err(|e| e.to_string())
    })
    .await
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    Extension(ctx): Extension<RequestContext>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    execute(&state, &ctx, &headers, "POST", body, |raw| {
        serde_json::from_slice::<async_graphql::Request>(raw)
            .map_err(|e| format!("the body is not a GraphQL request in JSON: {e}"))
    })
    .await
}

fn bad_request(message: &str) -> Response {
    graphql_error(StatusCode::BAD_REQUEST, message, "BAD_USER_INPUT")
}

fn rate_limited(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = graphql_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "too many requests from this client (limits.requests_per_minute_per_client); retry in {secs} s"
        ),
        "RATE_LIMITED",
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

fn json_response(
    headers: &HeaderMap,
    body: Bytes,
    cache_control: String,
    age: Option<u64>,
) -> Response {
    let content_type = if headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/graphql-response+json"))
    {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    let mut resp = (StatusCode::OK, body).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    if let Ok(v) = HeaderValue::from_str(&cache_control) {
        h.insert(header::CACHE_CONTROL, v);
    }
    if let Some(age) = age {
        h.insert(header::AGE, HeaderValue::from(age));
    }
    // Answers depend on the caller's token: shared caches must key on it.
    h.insert(header::VARY, HeaderValue::from_static("authorization"));
    resp
}

async fn execute(
    state: &AppState,
    ctx: &RequestContext,
    headers: &HeaderMap,
    method: &str,
    raw: Bytes,
    parse: impl FnOnce(&[u8]) -> Result<async_graphql::Request, String>,
) -> Response {
    let started = std::time::Instant::now();
    // Authentication, then the rate limit, then any cache: nothing is read
    // before the caller's scope is known.
    let Caller { scope, client } = match authorize(state, headers, ctx).await {
        Ok(c) => c,
        Err(why) => return unauthenticated(&why),
    };
    if let Some(limiter) = &state.rate_limiter
        && let Err(wait) = limiter.check(&client)
    {
        tracing::info!("request refused: client over its rate limit");
        metrics::counter!("botscope_rate_limited_total").increment(1);
        return rate_limited(wait);
    }
    let key = state
        .response_cache
        .as_ref()
        .map(|_| ResponseCache::key(&scope, method, &raw));
    if let (Some(rc), Some(key)) = (&state.response_cache, &key)
        && let Some(hit) = rc.get(key).await
    {
        let (age, remaining) = hit.age_and_remaining();
        metrics::counter!("botscope_response_cache_requests_total", "outcome" => "hit")
            .increment(1);
        metrics::counter!("botscope_graphql_requests_total", "operation" => "(cached)", "outcome" => "cached")
            .increment(1);
        return json_response(
            headers,
            hit.body.clone(),
            format!("private, max-age={remaining}"),
            Some(age),
        );
    }
    let request = match parse(&raw) {
        Ok(r) => r,
        Err(message) => return bad_request(&message),
    };
    let hint = state
        .cache_policy
        .as_ref()
        .map(|p| TtlHint::new(p.settled_ttl));
    let operation = crate::metrics::operation_label(request.operation_name.as_deref());
    let mut request = request.data(scope);
    if let Some(h) = &hint {
        request = request.data(h.clone());
    }
    let (mut resp, splices) = match tokio::time::timeout(
        state.request_timeout,
        state.schema.execute_with_splices(request),
    )
    .await
    {
        Ok(executed) => executed,
        Err(_) => {
            tracing::warn!(
                timeout_ms = state.request_timeout.as_millis() as u64,
                "request exceeded its deadline"
            );
            let mut e = async_graphql::ServerError::new(
                format!(
                    "the request did not finish within its deadline of {} (limits.request_timeout)",
                    humantime::format_duration(state.request_timeout)
                ),
                None,
            );
            e.extensions
                .get_or_insert_with(Default::default)
                .set("code", "UPSTREAM_UNAVAILABLE");
            (
                async_graphql::Response::from_errors(vec![e]),
                Default::default(),
            )
        }
    };
    for e in &mut resp.errors {
        add_missing_code(e);
    }
    let ok = resp.errors.is_empty();
    let outcome = match (ok, resp.data == async_graphql::Value::Null) {
        (true, _) => "ok",
        (false, false) => "partial",
        (false, true) => "error",
    };
    metrics::counter!("botscope_graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("botscope_graphql_request_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    let body = match splices.to_json(&resp) {
        Ok(b) => Bytes::from(b),
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the response",
            )
                .into_response();
        }
    };
    match (&state.response_cache, key, hint) {
        (Some(rc), Some(key), Some(hint)) if ok => {
            let ttl = hint.get();
            rc.put(key, body.clone(), ttl).await;
            metrics::counter!("botscope_response_cache_requests_total", "outcome" => "miss")
                .increment(1);
            json_response(
                headers,
                body,
                format!("private, max-age={}", ttl.as_secs()),
                Some(0),
            )
        }
        (Some(_), _, _) => {
            metrics::counter!("botscope_response_cache_requests_total", "outcome" => "bypass")
                .increment(1);
            json_response(headers, body, "no-store".into(), None)
        }
        _ => json_response(headers, body, "no-store".into(), None),
    }
}

/// Errors raised by async-graphql itself (parse, validation, limits) carry no
/// code; give them one so every error has a stable `extensions.code`.
fn add_missing_code(e: &mut async_graphql::ServerError) {
    let has_code = e
        .extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some());
    if has_code {
        return;
    }
    let code = if e.message.contains("too complex")
        || e.message.contains("nested too deep")
        || e.message.contains("limits.max_root_fields")
    {
        "QUERY_TOO_COMPLEX"
    } else {
        "BAD_USER_INPUT"
    };
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
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
