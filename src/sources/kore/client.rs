//! `KoreClient`: signed, budgeted, retried calls to getSessions and
//! getAnalytics, and paging through their answers.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use reqwest::StatusCode;
use serde::Serialize;
use serde::de::{
    DeserializeOwned, DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess,
    Visitor,
};
use tracing::Instrument;

use super::auth::KoreAuth;
use super::budget::KoreBudget;
use super::config::KoreConfig;
use super::error::{bad_body, classify_status, transport};
use super::mapping::{
    KoreAnalyticsFilters, KoreAnalyticsRecord, KoreAnalyticsRequest, KoreAnalyticsResponse,
    KoreSession, KoreSessionsRequest, kore_time,
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

/// A failed attempt: the error, how long Kore asked us to wait, and whether
/// another attempt could succeed.
struct Failed {
    error: Error,
    retry_after: Option<Duration>,
    again: bool,
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
        let bytes = self.call_raw(operation, query, body).await?;
        serde_json::from_slice(&bytes).map_err(|e| bad_body(operation, e))
    }

    /// [`call`](Self::call) without the parse: the body of Kore's 200.
    async fn call_raw<B: Serialize>(
        &self,
        operation: &str,
        query: &[(&str, &str)],
        body: &B,
    ) -> Result<Bytes> {
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
            .when(|f: &Failed| f.again)
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
    async fn attempt<B: Serialize>(
        &self,
        operation: &str,
        url: &str,
        query: &[(&str, &str)],
        body: &B,
        attempt: u32,
    ) -> std::result::Result<Bytes, Failed> {
        let failed = |error: Error| Failed {
            again: error.retryable,
            error,
            retry_after: None,
        };
        // No longer than the bot's answer is due: calls made past it would
        // spend the bot's budget on an answer nobody receives. A budget used
        // up past that wait is final for this call: retrying on the backoff
        // would only wait again (the caller may retry later).
        let max_wait = crate::sources::deadline::remaining()
            .map_or(self.max_budget_wait, |due| due.min(self.max_budget_wait));
        self.budget
            .acquire(max_wait)
            .await
            .map_err(|error| Failed {
                again: false,
                ..failed(error)
            })?;
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
            return Ok(bytes);
        }
        let error = classify_status(status, &String::from_utf8_lossy(&bytes), operation);
        span.in_scope(|| tracing::debug!(error = %error, "Kore call failed"));
        Err(Failed {
            again: error.retryable,
            error,
            retry_after,
        })
    }

    /// Every session of one getSessions query: pages with `skip += sessions
    /// received` until `moreAvailable` is false (`total` is unreliable,
    /// kore.md §1.4).
    ///
    /// Each session is turned into the caller's value by `read` (`None`
    /// leaves it out) as its page is parsed, on the task that fetched the
    /// page: thousands of sessions are spread over every core as pages
    /// arrive rather than read after the last one, and no page is held as
    /// Kore's sessions first.
    pub async fn all_sessions<T, R>(
        &self,
        containment: Option<&'static str>,
        mut request: KoreSessionsRequest,
        read: R,
    ) -> Result<Vec<T>>
    where
        T: Send + 'static,
        R: Fn(KoreSession) -> Option<T> + Clone + Send + Sync + 'static,
    {
        let query: Vec<(&'static str, &'static str)> = containment
            .map(|c| vec![("containmentType", c)])
            .unwrap_or_default();
        request.limit = self.page_size;
        request.skip = 0;
        // The first page's head tells the server's real page size (it may
        // cap `limit` silently) and `total`: the remaining pages are asked at
        // once, paced by the budget, and while they are on the wire the first
        // page is read in full on a task of its own. Only the head is read
        // before the second round of calls goes out, and not in this task,
        // which pages the other windows and types too.
        let (head, first) = self.first_page_task(&query, &request).await?;
        let size = head.sessions.len() as u64;
        let skips: Vec<u64> = match head.total {
            Some(total) if head.more_available && size > 0 => (1..)
                .map(|k| k * size)
                .take_while(|skip| *skip < total)
                .take(MAX_PARALLEL_PAGES)
                .collect(),
            _ => Vec::new(),
        };
        let rest = futures::future::try_join_all(skips.iter().map(|skip| {
            let mut r = request.clone();
            r.skip = *skip;
            let (query, read) = (&query, read.clone());
            async move {
                self.sessions_page_task(query, &r, size as usize, read)
                    .await
            }
        }));
        // `rest` first: joined, it is polled first and its calls go out
        // before the first page is read.
        let first = {
            let read = read.clone();
            self.on_task(async move { ReadPage::of(&first, size as usize, read) })
        };
        let (pages, first) = tokio::join!(rest, first);
        let (pages, first) = (pages?, first?);
        let mut received = first.received;
        let mut more = first.more_available;
        let mut out = first.items;
        if let Some(last) = pages.last() {
            more = last.more_available;
        }
        out.reserve(pages.iter().map(|p| p.items.len()).sum());
        for page in pages {
            received += page.received;
            out.extend(page.items);
        }
        // Whatever remains (no `total`, or data that grew meanwhile): one page
        // after another with `skip += sessions received`.
        while more {
            request.skip = received;
            let page = self
                .sessions_page_task(&query, &request, size as usize, read.clone())
                .await?;
            if page.received == 0 {
                return Err(Error::new(
                    ErrorKind::UpstreamBadResponse,
                    "Kore's getSessions said moreAvailable but sent no sessions",
                ));
            }
            received += page.received;
            more = page.more_available;
            out.extend(page.items);
        }
        Ok(out)
    }

    /// One getSessions page, fetched and read on a task of its own. A cold
    /// 30-day query is dozens of pages, and reading them was most of its
    /// CPU: polled together in the caller's task they were read one after
    /// another on one core; as tasks they are read on every core while the
    /// others are still on the wire.
    async fn sessions_page_task<T, R>(
        &self,
        query: &[(&'static str, &'static str)],
        request: &KoreSessionsRequest,
        expected: usize,
        read: R,
    ) -> Result<ReadPage<T>>
    where
        T: Send + 'static,
        R: Fn(KoreSession) -> Option<T> + Send + 'static,
    {
        let page = self.sessions_page(query, request);
        self.on_task(async move { ReadPage::of(&page.await?, expected, read) })
            .await
    }

    /// One getSessions page's body and its head, fetched and the head read
    /// on a task of its own.
    async fn first_page_task(
        &self,
        query: &[(&'static str, &'static str)],
        request: &KoreSessionsRequest,
    ) -> Result<(PageHead, Bytes)> {
        let page = self.sessions_page(query, request);
        self.on_task(async move {
            let bytes = page.await?;
            let head = serde_json::from_slice(&bytes).map_err(|e| bad_body("getSessions", e))?;
            Ok((head, bytes))
        })
        .await
    }

    /// The body of one getSessions call, as a future that owns what it
    /// needs (to run on a task of its own).
    fn sessions_page(
        &self,
        query: &[(&'static str, &'static str)],
        request: &KoreSessionsRequest,
    ) -> impl std::future::Future<Output = Result<Bytes>> + Send + 'static {
        let (client, query, request) = (self.clone(), query.to_vec(), request.clone());
        async move { client.call_raw("getSessions", &query, &request).await }
    }

    async fn on_task<T: Send + 'static>(
        &self,
        work: impl std::future::Future<Output = Result<T>> + Send + 'static,
    ) -> Result<T> {
        // A JoinSet aborts its tasks when dropped: when the caller gives up (a
        // bot's deadline, an open breaker's caller gone), a detached task
        // would go on calling Kore, retries included, on a budget nobody is
        // waiting for.
        let mut task = tokio::task::JoinSet::new();
        task.spawn(crate::sources::deadline::carry(work).instrument(tracing::Span::current()));
        match task.join_next().await {
            Some(Ok(page)) => page,
            Some(Err(e)) => Err(Error::internal(format!(
                "a Kore getSessions page task failed: {e}"
            ))),
            None => Err(Error::internal("a Kore getSessions page task was lost")),
        }
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

/// A getSessions page read in full: whether more follow, how many sessions
/// it held, and what the caller's reader made of them.
struct ReadPage<T> {
    more_available: bool,
    received: u64,
    items: Vec<T>,
}

impl<T> ReadPage<T> {
    /// The page, each session read by `read` as it is parsed (room for
    /// `expected` of them is made at once). A closed session that ends
    /// before it starts fails the page (open ones have no end yet and are
    /// the reader's to leave out).
    fn of(bytes: &[u8], expected: usize, read: impl Fn(KoreSession) -> Option<T>) -> Result<Self> {
        let mut ends_before_start = None;
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let page = PageSeed {
            read: &read,
            expected,
            ends_before_start: &mut ends_before_start,
        }
        .deserialize(&mut de)
        .and_then(|page| de.end().map(|()| page));
        if let Some(id) = ends_before_start {
            return Err(Error::new(
                ErrorKind::UpstreamBadResponse,
                format!("Kore getSessions returned session {id} ending before it starts"),
            ));
        }
        page.map_err(|e| bad_body("getSessions", e))
    }
}

/// A getSessions body (`moreAvailable`, `total`, `sessions`; other keys
/// ignored, kore.md §1.4) read into a [`ReadPage`] without first building
/// Kore's sessions: each is handed to `read` as soon as it is parsed.
struct PageSeed<'a, R> {
    read: &'a R,
    expected: usize,
    ends_before_start: &'a mut Option<String>,
}

#[derive(serde::Deserialize)]
#[serde(field_identifier, rename_all = "camelCase")]
enum PageField {
    MoreAvailable,
    Total,
    Sessions,
    #[serde(other)]
    Other,
}

impl<'de, T, R: Fn(KoreSession) -> Option<T>> DeserializeSeed<'de> for PageSeed<'_, R> {
    type Value = ReadPage<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, T, R: Fn(KoreSession) -> Option<T>> Visitor<'de> for PageSeed<'_, R> {
    type Value = ReadPage<T>;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a getSessions answer")
    }

    fn visit_map<A: MapAccess<'de>>(
        self,
        mut map: A,
    ) -> std::result::Result<Self::Value, A::Error> {
        let mut page = ReadPage {
            more_available: false,
            received: 0,
            items: Vec::new(),
        };
        let mut sessions_seen = false;
        while let Some(field) = map.next_key::<PageField>()? {
            match field {
                PageField::MoreAvailable => page.more_available = map.next_value()?,
                PageField::Total => {
                    map.next_value::<Option<u64>>()?;
                }
                PageField::Sessions if sessions_seen => {
                    return Err(A::Error::duplicate_field("sessions"));
                }
                PageField::Sessions => {
                    sessions_seen = true;
                    map.next_value_seed(SessionsSeed {
                        read: self.read,
                        page: &mut page,
                        expected: self.expected,
                        ends_before_start: &mut *self.ends_before_start,
                    })?;
                }
                PageField::Other => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(page)
    }
}

/// The `sessions` array, each element read by `read` into `page` as it is
/// parsed.
struct SessionsSeed<'a, R, T> {
    read: &'a R,
    page: &'a mut ReadPage<T>,
    expected: usize,
    ends_before_start: &'a mut Option<String>,
}

impl<'de, T, R: Fn(KoreSession) -> Option<T>> DeserializeSeed<'de> for SessionsSeed<'_, R, T> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> std::result::Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, T, R: Fn(KoreSession) -> Option<T>> Visitor<'de> for SessionsSeed<'_, R, T> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of sessions")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> std::result::Result<(), A::Error> {
        self.page.items.reserve(self.expected);
        while let Some(session) = seq.next_element::<KoreSession>()? {
            self.page.received += 1;
            if session
                .closed_end()
                .is_some_and(|end| end < session.start_time)
            {
                *self.ends_before_start = Some(session.session_id);
                return Err(A::Error::custom("a session ends before it starts"));
            }
            self.page.items.extend((self.read)(session));
        }
        Ok(())
    }
}

/// What paging needs of a getSessions page, read without building its
/// sessions: `moreAvailable`, `total`, and how many sessions it holds (a
/// `Vec` of `IgnoredAny`, a zero-sized type, allocates nothing).
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageHead {
    #[serde(default)]
    more_available: bool,
    #[serde(default)]
    total: Option<u64>,
    #[serde(default)]
    sessions: Vec<IgnoredAny>,
}
