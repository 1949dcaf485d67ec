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

/// The wait before retry `attempt` (0-based): `Retry-After` when Kore sent
/// one, else "full jitter" exponential backoff — uniform in
/// `[base·2^attempt / 2, base·2^attempt]` — both capped at `max`.
pub fn retry_wait(
    attempt: u32,
    base: Duration,
    max: Duration,
    retry_after: Option<Duration>,
) -> Duration {
    if let Some(ra) = retry_after {
        return ra.min(max);
    }
    let ceiling = base
        .saturating_mul(2u32.saturating_pow(attempt.min(16)))
        .min(max);
    let half = ceiling / 2;
    let spread = (ceiling - half).as_micros() as u64;
    let jitter = if spread == 0 {
        0
    } else {
        rand::Rng::gen_range(&mut rand::thread_rng(), 0..=spread)
    };
    half + Duration::from_micros(jitter)
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

    /// One call, bounded by `call_timeout` overall (each attempt is bounded
    /// by the HTTP client's `request_timeout`).
    async fn call<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<R> {
        match tokio::time::timeout(self.call_timeout, self.attempts(operation, query, body)).await {
            Ok(r) => r,
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

    /// Budget, token, POST, classification; retried with jittered
    /// exponential backoff on retryable failures (429, 5xx, transport errors
    /// and timeouts), honouring `Retry-After` when Kore sends one (it is NOT
    /// DOCUMENTED, kore.md §5.2).
    async fn attempts<B: Serialize, R: DeserializeOwned>(
        &self,
        operation: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<R> {
        let url = format!("{}/{operation}", self.base);
        let mut attempt = 0;
        loop {
            self.budget.acquire(self.max_budget_wait).await?;
            let token = self.auth.token()?;
            let span = tracing::info_span!(
                "upstream",
                vendor = crate::domain::Vendor::Kore.as_str(),
                operation,
                bot = %self.bot,
                attempt
            );
            let sent = self
                .http
                .post(&url)
                .query(query)
                .header("auth", token)
                .json(body)
                .send()
                .instrument(span.clone())
                .await;
            let (err, retry_after) = match sent {
                Err(e) => (transport(operation, e), None),
                Ok(resp) => {
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
                        .map_err(|e| transport(operation, e));
                    match bytes {
                        Err(e) => (e, None),
                        Ok(bytes) if status == StatusCode::OK => {
                            return serde_json::from_slice(&bytes)
                                .map_err(|e| bad_body(operation, e));
                        }
                        Ok(bytes) => (
                            classify_status(status, &String::from_utf8_lossy(&bytes), operation),
                            retry_after,
                        ),
                    }
                }
            };
            let retry = err.retryable && attempt < self.max_retries;
            span.in_scope(|| tracing::debug!(error = %err, retry, "Kore call failed"));
            if !retry {
                return Err(err);
            }
            let wait = retry_wait(
                attempt,
                self.retry_base_delay,
                self.retry_max_delay,
                retry_after,
            );
            span.in_scope(|| tracing::debug!(?wait, "retrying Kore call"));
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// Every session of one getSessions query: pages with `skip += sessions
    /// received` until `moreAvailable` is false (`total` is unreliable,
    /// kore.md §1.4).
    pub async fn all_sessions(
        &self,
        containment: Option<&str>,
        mut request: KoreSessionsRequest,
    ) -> Result<Vec<KoreSession>> {
        let query: Vec<(&str, &str)> = containment
            .map(|c| vec![("containmentType", c)])
            .unwrap_or_default();
        request.limit = self.page_size;
        request.skip = 0;
        let first = self.sessions_page(&query, &request).await?;
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
                async move { self.sessions_page(query, &r).await }
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
            let page = self.sessions_page(&query, &request).await?;
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
