//! The GraphQL pipeline of `/graphql`, composed in [`stack`] and nowhere else.
//!
//! ```text
//! auth ─▶ rate limit ─▶ response cache ─▶ deadline ─▶ GraphQL
//! ```
//!
//! Each stage is one axum middleware (or a tower-http layer) with one job; the
//! order is the design, and `tests/api/limits.rs::pipeline_order_*` fails if
//! it changes:
//!
//! - **auth** first, so nothing below runs for a caller botscope cannot name:
//!   a refused request spends no rate-limit budget (it has no `sub` to count
//!   under) and reads no cache. It leaves the [`Caller`] (bot scope, `sub`) in
//!   the request for the stages below.
//! - **rate limit** next, per `sub` (per IP when auth is off), and above the
//!   response cache: every request that passed auth spends budget, so a client
//!   over its budget is refused even for an answer that sits in memory.
//! - **response cache** after both: its key is the caller's scope + method +
//!   request, so a hit for one scope is never served to another, and a hit
//!   answers without parsing, executing or arming the deadline's timer.
//! - **deadline** (tower-http's `TimeoutLayer`) around execution only; its 408
//!   becomes a GraphQL-shaped `UPSTREAM_UNAVAILABLE` answer naming
//!   `limits.request_timeout`, as a deadline has always answered.
//! - **GraphQL** parses, executes and serializes, and reports the answer's
//!   lifetime ([`crate::graphql::Executed::lifetime`]) in the response's
//!   extensions ([`Answer`]) for the response cache to store it that long.
//!
//! The GraphiQL page (`GET` with `Accept: text/html` and no `query`) is
//! answered before auth: a static page that holds no data.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{Next, from_fn_with_state};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get, post};
use bytes::Bytes;
use tower::ServiceBuilder;
use tower_http::timeout::TimeoutLayer;

use super::{AppState, assets, graphql_error};
use crate::engine::BotScope;
use crate::error::ErrorKind;

/// The `/graphql` route with its pipeline, outermost first: auth, rate limit
/// (when configured), response cache (when configured), deadline, GraphQL.
/// The module docs explain the order.
pub fn stack(state: &Arc<AppState>) -> MethodRouter<Arc<AppState>> {
    let deadline = state.request_timeout;
    // One `ServiceBuilder`, outermost first: one boxed service per request
    // rather than one per stage.
    let pipeline = ServiceBuilder::new()
        .layer(from_fn_with_state(state.clone(), authenticate))
        .option_layer(
            state
                .rate_limiter
                .as_ref()
                .map(|_| from_fn_with_state(state.clone(), rate_limit)),
        )
        .option_layer(
            state
                .response_cache
                .as_ref()
                .map(|_| from_fn_with_state(state.clone(), response_cache)),
        )
        .map_response(move |r: Response| past_deadline(r, deadline))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            deadline,
        ));
    // GET and POST get the same pipeline; GET first answers the GraphiQL page.
    post(graphql_post).route_layer(pipeline.clone()).merge(
        get(graphql_get).route_layer(
            ServiceBuilder::new()
                .layer(from_fn_with_state(state.clone(), graphiql))
                .layer(pipeline),
        ),
    )
}

/// Who is calling, as `authenticate` found: what they may see, and the `sub`
/// their rate limit counts under (`None` when auth is off: the client's IP).
#[derive(Clone)]
pub(super) struct Caller {
    scope: BotScope,
    sub: Option<String>,
}

/// What the GraphQL handler tells the response cache about an executed
/// answer: its body and, when it may be stored (no errors, caching on), for
/// how long.
#[derive(Clone)]
pub(super) struct Answer {
    /// The body's pieces (see [`Pieces`]).
    body: Vec<Bytes>,
    lifetime: Option<Duration>,
}

/// A response body sent as the pieces it was made of, with its exact length.
/// An executed answer is the serialized response cut around each answer
/// written ahead ([`crate::graphql::Splices`]); gluing them into one buffer
/// copied every large answer once more and held it twice.
struct Pieces {
    pieces: std::collections::VecDeque<Bytes>,
    remaining: u64,
}

impl Pieces {
    fn new(pieces: Vec<Bytes>) -> Pieces {
        let remaining = pieces.iter().map(|p| p.len() as u64).sum();
        Pieces {
            pieces: pieces.into(),
            remaining,
        }
    }
}

impl http_body::Body for Pieces {
    type Data = Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        let next = self.pieces.pop_front().map(|piece| {
            self.remaining -= piece.len() as u64;
            Ok(http_body::Frame::data(piece))
        });
        std::task::Poll::Ready(next)
    }

    fn is_end_stream(&self) -> bool {
        self.remaining == 0
    }

    fn size_hint(&self) -> http_body::SizeHint {
        http_body::SizeHint::with_exact(self.remaining)
    }
}

/// The GraphiQL page for a browser's `GET /graphql` without a query.
async fn graphiql(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let wants_html = req
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if wants_html && !has_query(req.uri()) {
        if !state.graphiql {
            return (StatusCode::NOT_FOUND, "GraphiQL is disabled").into_response();
        }
        return assets::graphiql();
    }
    next.run(req).await
}

fn has_query(uri: &axum::http::Uri) -> bool {
    uri.query()
        .unwrap_or("")
        .split('&')
        .any(|p| p.starts_with("query="))
}

fn unauthenticated(message: &str) -> Response {
    let mut resp = graphql_error(
        StatusCode::UNAUTHORIZED,
        message,
        ErrorKind::Unauthenticated,
    );
    resp.headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    resp
}

/// Auth: the caller from the bearer token (everyone, with every bot, when
/// auth is off), or 401.
async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let caller = match &state.auth {
        None => Caller {
            scope: BotScope::All,
            sub: None,
        },
        Some(auth) => {
            let header = req
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok());
            match auth.authenticate(header).await {
                Ok(claims) => Caller {
                    scope: claims.scope(),
                    sub: Some(claims.sub),
                },
                Err(why) => {
                    tracing::info!(reason = %why, "request refused: unauthenticated");
                    metrics::counter!("botscope_auth_failures_total").increment(1);
                    return unauthenticated(&why);
                }
            }
        }
    };
    req.extensions_mut().insert(caller);
    next.run(req).await
}

fn rate_limited(retry_after: Duration) -> Response {
    let secs = retry_after.as_secs_f64().ceil().max(1.0) as u64;
    let mut resp = graphql_error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!(
            "too many requests from this client (limits.requests_per_minute_per_client); retry in {secs} s"
        ),
        ErrorKind::RateLimited,
    );
    resp.headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    resp
}

/// Rate limit: the caller's budget, by `sub`, else by IP; or 429.
async fn rate_limit(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(limiter) = &state.rate_limiter else {
        return next.run(req).await;
    };
    let client = match req
        .extensions()
        .get::<Caller>()
        .and_then(|c| c.sub.as_deref())
    {
        Some(sub) => format!("sub:{sub}"),
        None => match req.extensions().get::<ConnectInfo<SocketAddr>>() {
            Some(ConnectInfo(addr)) => format!("ip:{}", addr.ip()),
            None => "ip:unknown".to_owned(),
        },
    };
    if let Err(wait) = limiter.check(&client) {
        tracing::info!("request refused: client over its rate limit");
        metrics::counter!("botscope_rate_limited_total").increment(1);
        return rate_limited(wait);
    }
    next.run(req).await
}

static HITS: LazyLock<metrics::Counter> = LazyLock::new(
    || metrics::counter!("botscope_response_cache_requests_total", "outcome" => "hit"),
);
static CACHED: LazyLock<metrics::Counter> = LazyLock::new(
    || metrics::counter!("botscope_graphql_requests_total", "operation" => "(cached)", "outcome" => "cached"),
);

/// Response cache: the stored answer for this scope and request, else the
/// answer below, stored for its lifetime when it has one.
async fn response_cache(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let Some(rc) = &state.response_cache else {
        return next.run(req).await;
    };
    if req.method() == Method::GET && !has_query(req.uri()) {
        return next.run(req).await; // not a GraphQL request: the handler says so
    }
    // The request as the key has it: a GET's query string, a POST's body
    // (read here once; the handler gets the same bytes).
    let (parts, body) = req.into_parts();
    let (raw, body) = if parts.method == Method::GET {
        let query = parts.uri.query().unwrap_or("");
        (Bytes::copy_from_slice(query.as_bytes()), body)
    } else {
        // The `Bytes` extractor enforces the body limit (413) as the handler would.
        match Bytes::from_request(Request::new(body), &()).await {
            Ok(raw) => (raw.clone(), Body::from(raw)),
            Err(refused) => return refused.into_response(),
        }
    };
    let Some(Caller { scope, .. }) = parts.extensions.get::<Caller>() else {
        return internal("no caller before the response cache");
    };
    if let Some(hit) = rc.get(scope, &parts.method, &raw).await {
        HITS.increment(1);
        CACHED.increment(1);
        let (age, remaining) = hit.age_and_remaining();
        return json_response(
            &parts.headers,
            hit.body.clone(),
            max_age(remaining),
            Some(age),
        );
    }
    let (scope, method) = (scope.clone(), parts.method.clone());
    let mut resp = next.run(Request::from_parts(parts, body)).await;
    let Some(answer) = resp.extensions_mut().remove::<Answer>() else {
        return resp; // refused below (bad request, deadline): not an answer
    };
    match answer.lifetime {
        Some(ttl) => {
            rc.put(
                &scope,
                &method,
                &raw,
                Bytes::from(answer.body.concat()),
                ttl,
            )
            .await;
            metrics::counter!("botscope_response_cache_requests_total", "outcome" => "miss")
                .increment(1);
            let h = resp.headers_mut();
            h.insert(header::CACHE_CONTROL, max_age(ttl.as_secs()));
            h.insert(header::AGE, HeaderValue::from(0));
        }
        None => {
            metrics::counter!("botscope_response_cache_requests_total", "outcome" => "bypass")
                .increment(1);
        }
    }
    resp
}

fn max_age(secs: u64) -> HeaderValue {
    HeaderValue::try_from(format!("private, max-age={secs}"))
        .unwrap_or_else(|_| HeaderValue::from_static("no-store"))
}

/// A GraphQL answer (HTTP 200) in the content type the client asked for.
/// Shared caches must key on the token: `Vary: authorization`.
fn json_response(
    request: &HeaderMap,
    body: impl Into<Body>,
    cache_control: HeaderValue,
    age: Option<u64>,
) -> Response {
    let content_type = if request
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("application/graphql-response+json"))
    {
        "application/graphql-response+json"
    } else {
        "application/json"
    };
    let mut resp = Response::new(body.into());
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, cache_control);
    if let Some(age) = age {
        h.insert(header::AGE, HeaderValue::from(age));
    }
    h.insert(header::VARY, HeaderValue::from_static("authorization"));
    resp
}

fn internal(why: &str) -> Response {
    tracing::error!(why, "GraphQL pipeline misassembled");
    graphql_error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; the operator's logs have the details",
        ErrorKind::Internal,
    )
}

fn bad_request(message: &str) -> Response {
    graphql_error(StatusCode::BAD_REQUEST, message, ErrorKind::BadUserInput)
}

/// The caller `authenticate` left in the request (taken: it becomes the
/// request's GraphQL data).
fn take_caller(req: &mut Request) -> Option<Caller> {
    req.extensions_mut().remove::<Caller>()
}

async fn graphql_get(State(state): State<Arc<AppState>>, mut req: Request) -> Response {
    if !has_query(req.uri()) {
        return (
            StatusCode::BAD_REQUEST,
            "GET /graphql needs ?query=… (or Accept: text/html for GraphiQL)",
        )
            .into_response();
    }
    let Some(caller) = take_caller(&mut req) else {
        return internal("no caller before the GraphQL handler");
    };
    let query = req.uri().query().unwrap_or("");
    match async_graphql::http::parse_query_string(query) {
        Ok(request) => execute(&state, caller, req.headers(), request).await,
        Err(e) => bad_request(&e.to_string()),
    }
}

async fn graphql_post(State(state): State<Arc<AppState>>, mut req: Request) -> Response {
    let Some(caller) = take_caller(&mut req) else {
        return internal("no caller before the GraphQL handler");
    };
    let (parts, body) = req.into_parts();
    let raw = match Bytes::from_request(Request::new(body), &()).await {
        Ok(raw) => raw,
        Err(refused) => return refused.into_response(),
    };
    match serde_json::from_slice::<async_graphql::Request>(&raw) {
        Ok(request) => execute(&state, caller, &parts.headers, request).await,
        Err(e) => bad_request(&format!("the body is not a GraphQL request in JSON: {e}")),
    }
}

/// GraphQL: executes the request for the caller, serializes the answer, and
/// leaves an [`Answer`] for the response cache.
async fn execute(
    state: &AppState,
    caller: Caller,
    headers: &HeaderMap,
    request: async_graphql::Request,
) -> Response {
    let started = std::time::Instant::now();
    let operation = crate::metrics::operation_label(request.operation_name.as_deref());
    let executed = state
        .schema
        .execute_with_splices(request.data(caller.scope))
        .await;
    let resp = &executed.response;
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
    let body = match executed.splices.to_json(resp) {
        Ok(pieces) => pieces,
        Err(_) => {
            return (
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot encode the response",
            )
                .into_response();
        }
    };
    let mut http = json_response(
        headers,
        Body::new(Pieces::new(body.clone())),
        HeaderValue::from_static("no-store"),
        None,
    );
    http.extensions_mut().insert(Answer {
        body,
        lifetime: executed.lifetime.filter(|_| ok),
    });
    http
}

/// The deadline's 408 as a GraphQL answer: `UPSTREAM_UNAVAILABLE`, naming the
/// setting (HTTP 200, as a GraphQL error about the data).
fn past_deadline(resp: Response, deadline: Duration) -> Response {
    if resp.status() != StatusCode::REQUEST_TIMEOUT {
        return resp;
    }
    tracing::warn!(
        timeout_ms = deadline.as_millis() as u64,
        "request exceeded its deadline"
    );
    metrics::counter!("botscope_graphql_requests_total", "operation" => "(timed out)", "outcome" => "error")
        .increment(1);
    graphql_error(
        StatusCode::OK,
        &format!(
            "the request did not finish within its deadline of {} (limits.request_timeout)",
            humantime::format_duration(deadline)
        ),
        ErrorKind::UpstreamUnavailable,
    )
}
