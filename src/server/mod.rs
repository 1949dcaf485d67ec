//! The HTTP server: axum routes for GraphQL, GraphiQL, health and readiness,
//! with a body limit, optional CORS, bearer auth and graceful shutdown.

pub mod auth;

use std::net::SocketAddr;
use std::sync::Arc;

use async_graphql::http::GraphiQLSource;
use async_graphql_axum::{GraphQLRequest, GraphQLResponse};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;

use crate::engine::BotScope;
use crate::graphql::BotscopeSchema;
use auth::Authenticator;

/// What the routes share.
#[derive(Clone)]
pub struct AppState {
    pub schema: BotscopeSchema,
    pub auth: Option<Authenticator>,
    pub graphiql: bool,
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
    req: Result<GraphQLRequest, async_graphql_axum::rejection::GraphQLRejection>,
) -> Response {
    let wants_html = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    let has_query = uri.query().is_some_and(|q| q.contains("query="));
    if wants_html && !has_query {
        if !state.graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled").into_response();
        }
        return Html(GraphiQLSource::build().endpoint("/graphql").finish()).into_response();
    }
    match req {
        Ok(req) => execute(&state, &headers, req).await,
        Err(_) => (
            StatusCode::BAD_REQUEST,
            "GET /graphql needs ?query=… (or Accept: text/html for GraphiQL)",
        )
            .into_response(),
    }
}

async fn graphql_post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    req: GraphQLRequest,
) -> Response {
    execute(&state, &headers, req).await
}

async fn execute(state: &AppState, headers: &HeaderMap, req: GraphQLRequest) -> Response {
    let scope = match authorize(state, headers) {
        Ok(s) => s,
        Err(why) => return unauthenticated(&why),
    };
    let mut resp = state.schema.execute(req.into_inner().data(scope)).await;
    for e in &mut resp.errors {
        add_missing_code(e);
    }
    GraphQLResponse::from(resp).into_response()
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
