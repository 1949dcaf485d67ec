//! The HTTP server: axum routes for GraphQL, GraphiQL, health and readiness,
//! with a body limit, optional CORS, bearer auth and graceful shutdown.

pub mod auth;
pub mod response_cache;

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use bytes::Bytes;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::engine::BotScope;
use crate::graphql::BotscopeSchema;
use crate::layers::CachePolicy;
use auth::Authenticator;
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
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    pub max_body_bytes: usize,
    pub cors_origins: Vec<String>,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            max_body_bytes: 256 * 1024,
            cors_origins: Vec::new(),
        }
    }
}

pub fn router(state: AppState, http: &HttpSettings) -> Router {
    let mut router = Router::new()
        .route("/", get(|| async { Redirect::temporary("/graphql") }))
        .route("/graphql", get(graphql_get).post(graphql_post))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(|| async { crate::metrics::render() }))
        .layer(RequestBodyLimitLayer::new(http.max_body_bytes))
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
    let _ = &state.schema;
    (StatusCode::OK, "ready")
}

fn unauthenticated(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "UNAUTHENTICATED" } }]
    });
    (
        StatusCode::UNAUTHORIZED,
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::WWW_AUTHENTICATE, "Bearer"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// The caller's scope, or why the caller is refused.
fn authorize(state: &AppState, headers: &HeaderMap) -> Result<BotScope, String> {
    let Some(auth) = &state.auth else {
        return Ok(BotScope::All);
    };
    let header = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    auth.authenticate(header).map(|claims| claims.scope())
}

async fn graphql_get(
    State(state): State<Arc<AppState>>,
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
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    if !has_query {
        return (
            StatusCode::BAD_REQUEST,
            "GET /graphql needs ?query=… (or Accept: text/html for GraphiQL)",
        )
            .into_response();
    }
    let raw = Bytes::copy_from_slice(query.as_bytes());
    execute(&state, &headers, "GET", raw, |raw| {
        async_graphql::http::parse_query_string(std::str::from_utf8(raw).unwrap_or(""))
            .map_err(|e| e.to_string())
    })
    .await
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    execute(&state, &headers, "POST", body, |raw| {
        serde_json::from_slice::<async_graphql::Request>(raw)
            .map_err(|e| format!("the body is not a GraphQL request in JSON: {e}"))
    })
    .await
}

fn bad_request(message: &str) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message, "extensions": { "code": "BAD_USER_INPUT" } }]
    });
    (
        StatusCode::BAD_REQUEST,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
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
    headers: &HeaderMap,
    method: &str,
    raw: Bytes,
    parse: impl FnOnce(&[u8]) -> Result<async_graphql::Request, String>,
) -> Response {
    let started = std::time::Instant::now();
    let scope = match authorize(state, headers) {
        Ok(s) => s,
        Err(why) => return unauthenticated(&why),
    };
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
        metrics::counter!("botscope_graphql_requests_total", "outcome" => "cached").increment(1);
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
    let mut request = request.data(scope);
    if let Some(h) = &hint {
        request = request.data(h.clone());
    }
    let mut resp = state.schema.execute(request).await;
    for e in &mut resp.errors {
        add_missing_code(e);
    }
    let ok = resp.errors.is_empty();
    let outcome = match (ok, resp.data == async_graphql::Value::Null) {
        (true, _) => "ok",
        (false, false) => "partial",
        (false, true) => "error",
    };
    metrics::counter!("botscope_graphql_requests_total", "outcome" => outcome).increment(1);
    metrics::histogram!("botscope_graphql_request_seconds").record(started.elapsed().as_secs_f64());
    let body = match serde_json::to_vec(&resp) {
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
    let code = if e.message.contains("too complex") || e.message.contains("nested too deep") {
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
    axum::serve(listener, router)
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
