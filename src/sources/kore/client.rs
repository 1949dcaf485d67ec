//! `KoreClient`: signed, budgeted, retried calls to getSessions and
//! getAnalytics, and paging through their answers.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use super::auth::KoreAuth;
use super::budget::KoreBudget;
use super::config::KoreConfig;
use super::error::{bad_body, classify_status, transport};
use super::mapping::{
    KoreAnalyticsFilters, KoreAnalyticsRecord, KoreAnalyticsRequest, KoreAnalyticsResponse,
    KoreSession, KoreSessionsRequest, KoreSessionsResponse, kore_time,
};
use crate::domain::TimeRange;
use crate::error::{Error, ErrorKind, Result};

/// Cheap to clone (shared HTTP pool, budget and key): a page is fetched on a
/// task of its own with a clone.
#[derive(Clone)]
pub struct KoreClient {
    http: reqwest::Client,
    /// `{host}/api/public/bot/{botId}`
    base: String,
    auth: KoreAuth,
    budget: Arc<KoreBudget>,
    page_size: u32,
    max_retries: u32,
    retry_base_delay: Duration,
    retry_max_delay: Duration,
    call_timeout: Duration,
    max_budget_wait: Duration,
    /// The gateway's bot id, for the `upstream` span.
    bot: String,
}

/// A failed attempt: the error, and how long Kore asked us to wait.
struct Failed {
    error: Error,
    retry_after: Option<Duration>,
}

/// Pages of one window fetched at once after the first (the budget paces them).
const MAX_PARALLEL_PAGES: usize = 16;

impl KoreClient {
    pub fn new(gateway_bot: &str, config: &KoreConfig) -> Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .build()
            .map_err(|e| Error::internal("cannot build the HTTP client").with_source(e))?;
        Ok(KoreClient {
            http,
            base: format!(
                "{}/api/public/bot/{}",
                config.host.trim_end_matches('/'),
                config.bot_id
            ),
            auth: KoreAuth::new(config.client_id.clone(), config.client_secret.clone()),
            budget: Arc::new({
                let local = KoreBudget::new(
                    config.calls_per_minute,
                    config.calls_per_hour,
                    config.budget_minute,
                    config.budget_hour,
                    config.budget_margin,
                );
                // Kore counts per bot, whichever replica calls: one fleet budget per bot.
                match &config.fleet {
                    Some(fleet) => local.shared(fleet, &format!("kore:{gateway_bot}")),
                    None => local,
                }
            }),
            page_size: config.page_size.max(1),
            max_retries: config.max_retries,
            retry_base_delay: config.retry_base_delay,
            retry_max_delay: config.retry_max_delay,
            call_timeout: config.call_timeout,
            max_budget_wait: config.max_budget_wait,
            bot: gateway_bot.to_owned(),
        })
    }

    /// One call: budget, token, POST, classification, retried by `backon` on
    /// retryable failures (429, 5xx, transport errors and timeouts) with
    /// jittered exponential backoff from `retry_base_delay` up to
    /// `retry_max_delay`; a `Retry-After` from Kore (NOT DOCUMENTED, kore.md
    /// §5.2) replaces the computed wait. Every attempt waits for the budget
    /// and signs a new one-use token. Bounded by `call_timeout` overall
    /// (each attempt is bounded by the HTTP client's `request_timeout`).
    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<R> {
        use backon::Retryable;
        let url = format!("{}/{operation}", self.base);
        let attempt = std::sync::atomic::AtomicU32::new(0);
        let backoff = backon::ExponentialBuilder::default()
            .with_min_delay(self.retry_base_delay)
            .with_max_delay(self.retry_max_delay)
            .with_max_times(self.max_retries as usize)
            .with_jitter();
        let max = self.retry_max_delay;
        let once = || async {
            let n = attempt.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            self.attempt(operation, &url, query, body, n).await
        };
        let attempts = once
            .retry(backoff)
            .sleep(tokio::time::sleep)
            .when(|f: &Failed| f.error.retryable)
            .adjust(move |f: &Failed, wait| f.retry_after.map(|ra| ra.min(max)).or(wait))
            .notify(|f: &Failed, wait| {
                tracing::debug!(error = %f.error, ?wait, operation, bot = %self.bot, "retrying Kore call");
            });
        match tokio::time::timeout(self.call_timeout, attempts).await {
            Ok(r) => r.map_err(|f| f.error),
            Err(_) => Err(Error::new(
                ErrorKind::UpstreamUnavailable,
                format!(
                    "Kore {operation} did not answer within {:?}, retries included",
                    self.call_timeout
                ),
            )
            .with_retryable(true)),
        }
    }

    /// One attempt: the answer, or the error with Kore's `Retry-After`.
    async fn attempt<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &str,
        url: &str,
        query: &[(&str, &str)],
        body: &B,
        attempt: u32,
    ) -> std::result::Result<R, Failed> {
        let failed = |error| Failed {
            error,
            retry_after: None,
        };
        self.budget
            .acquire(self.max_budget_wait)
            .await
            .map_err(failed)?;
        let token = self.auth.token().map_err(failed)?;
        let span = tracing::info_span!(
            "upstream",
            vendor = crate::domain::Vendor::Kore.as_str(),
            operation,
            bot = %self.bot,
            attempt
        );
        let resp = self
            .http
            .post(url)
            .query(query)
            .header("auth", token)
            .json(body)
            .send()
            .instrument(span.clone())
            .await
            .map_err(|e| failed(transport(operation, e)))?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = resp
            .bytes()
            .instrument(span.clone())
            .await
            .map_err(|e| failed(transport(operation, e)))?;
        if status == StatusCode::OK {
            return serde_json::from_slice(&bytes).map_err(|e| failed(bad_body(operation, e)));
        }
        let error = classify_status(status, &String::from_utf8_lossy(&bytes), operation);
        span.in_scope(|| tracing::debug!(error = %error, "Kore call failed"));
        Err(Failed { error, retry_after })
    }

    /// Every session of one getSessions query: pages with `skip += sessions
    /// received` until `moreAvailable` is false (`total` is unreliable,
    /// kore.md §1.4).
    pub async fn all_sessions(
        &self,
        containment: Option<&'static str>,
        mut request: KoreSessionsRequest,
    ) -> Result<Vec<KoreSession>> {
        let query: Vec<(&'static str, &'static str)> = containment
            .map(|c| vec![("containmentType", c)])
            .unwrap_or_default();
        request.limit = self.page_size;
        request.skip = 0;
        let first = self.sessions_page_task(&query, &request).await?;
        let mut received = first.sessions.len() as u64;
        let mut more = first.more_available;
        let mut out = first.sessions;
        // The first page tells the server's real page size (it may cap `limit`
        // silently) and `total`: the remaining pages are fetched at once, paced
        // by the budget, instead of one round trip after another.
        if more
            && received > 0
            && let Some(total) = first.total
        {
            let skips: Vec<u64> = (1..)
                .map(|k| k * received)
                .take_while(|skip| *skip < total)
                .take(MAX_PARALLEL_PAGES)
                .collect();
            let pages = futures::future::try_join_all(skips.iter().map(|skip| {
                let mut r = request.clone();
                r.skip = *skip;
                let query = &query;
                async move { self.sessions_page_task(query, &r).await }
            }))
            .await?;
            if let Some(last) = pages.last() {
                more = last.more_available;
            }
            for page in pages {
                received += page.sessions.len() as u64;
                out.extend(page.sessions);
            }
        }
        // Whatever remains (no `total`, or data that grew meanwhile): one page
        // after another with `skip += sessions received`.
        let mut skip = received;
        while more {
            request.skip = skip;
            let page = self.sessions_page_task(&query, &request).await?;
            if page.sessions.is_empty() {
                return Err(Error::new(
                    ErrorKind::UpstreamBadResponse,
                    "Kore's getSessions said moreAvailable but sent no sessions",
                ));
            }
            skip += page.sessions.len() as u64;
            more = page.more_available;
            out.extend(page.sessions);
        }
        Ok(out)
    }

    /// One getSessions page, checked for closed sessions that end before they
    /// start (open ones have no end yet and are left out later).
    /// [`sessions_page`](Self::sessions_page) on a task of its own. A cold
    /// 30-day query is dozens of pages, and parsing them was most of its CPU:
    /// polled together in the caller's task they were parsed one after
    /// another on one core; as tasks they are parsed on every core while the
    /// others are still on the wire.
    async fn sessions_page_task(
        &self,
        query: &[(&'static str, &'static str)],
        request: &KoreSessionsRequest,
    ) -> Result<KoreSessionsResponse> {
        let (client, query, request) = (self.clone(), query.to_vec(), request.clone());
        let page = async move { client.sessions_page(&query, &request).await };
        // A JoinSet aborts its tasks when dropped: when the caller gives up (a
        // bot's deadline, an open breaker's caller gone), a detached task
        // would go on calling Kore, retries included, on a budget nobody is
        // waiting for.
        let mut task = tokio::task::JoinSet::new();
        task.spawn(page.instrument(tracing::Span::current()));
        match task.join_next().await {
            Some(Ok(page)) => page,
            Some(Err(e)) => Err(Error::internal(format!(
                "a Kore getSessions page task failed: {e}"
            ))),
            None => Err(Error::internal("a Kore getSessions page task was lost")),
        }
    }

    async fn sessions_page(
        &self,
        query: &[(&str, &str)],
        request: &KoreSessionsRequest,
    ) -> Result<KoreSessionsResponse> {
        let page: KoreSessionsResponse = self.call("getSessions", query, request).await?;
        if let Some(bad) = page
            .sessions
            .iter()
            .find(|s| s.closed_end().is_some_and(|end| end < s.start_time))
        {
            return Err(Error::new(
                ErrorKind::UpstreamBadResponse,
                format!(
                    "Kore getSessions returned session {} ending before it starts",
                    bad.session_id
                ),
            ));
        }
        Ok(page)
    }

    /// Every getAnalytics record of `kind` in `window` on `channels`, with
    /// developer traffic or without.
    pub async fn all_analytics(
        &self,
        kind: &'static str,
        window: TimeRange,
        channels: &[String],
        include_developer: bool,
    ) -> Result<Vec<KoreAnalyticsRecord>> {
        let mut request = KoreAnalyticsRequest {
            kind,
            filters: KoreAnalyticsFilters {
                from: kore_time(window.start()),
                to: kore_time(window.end()),
                channel: channels.to_vec(),
                is_developer: include_developer,
            },
            limit: self.page_size,
            skip: 0,
        };
        let mut out = Vec::new();
        loop {
            let page: KoreAnalyticsResponse = self.call("getAnalytics", &[], &request).await?;
            let received = page.result.len() as u64;
            out.extend(page.result);
            if !page.more_available {
                return Ok(out);
            }
            if received == 0 {
                return Err(Error::new(
                    ErrorKind::UpstreamBadResponse,
                    "Kore's getAnalytics said moreAvailable but sent no records",
                ));
            }
            request.skip += received;
        }
    }
}
