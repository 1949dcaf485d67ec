//! `LexClient`: the `aws-sdk-lexmodelsv2` client of one bot, and the calls
//! `LexSource` makes. Retries are the SDK's standard mode (lex.md §6.3): it
//! retries `ThrottlingException` by code, 5xx by status and transport errors,
//! honouring `x-amz-retry-after`; botscope adds no retry loop of its own here.
//! Each attempt is bounded by `attempt_timeout`, each call (retries included)
//! by `operation_timeout`. Every call first waits for a slot of the bot's
//! `requests_per_second` budget (a governor limiter: waiting, not failing).

use std::error::Error as StdError;
use std::future::Future;

use aws_config::BehaviorVersion;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_lexmodelsv2::Client;
use aws_sdk_lexmodelsv2::config::http::HttpResponse;
use aws_sdk_lexmodelsv2::config::{Credentials, Region};
use aws_sdk_lexmodelsv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lexmodelsv2::operation::list_session_analytics_data::ListSessionAnalyticsDataOutput;
use aws_sdk_lexmodelsv2::operation::list_utterance_analytics_data::ListUtteranceAnalyticsDataOutput;
use aws_sdk_lexmodelsv2::primitives::DateTime as LexDateTime;
use aws_sdk_lexmodelsv2::types::{
    AnalyticsSessionFilter, AnalyticsSortOrder, AnalyticsUtteranceFilter,
    AnalyticsUtteranceSortByName, SessionDataSortBy, UtteranceDataSortBy,
};
use chrono::{DateTime, Utc};
use tracing::Instrument;

use super::config::{LexConfig, LexCredentials};
use super::error::classify;
use crate::domain::TimeRange;
use crate::error::Result;

/// The most results Lex returns per page (lex.md §2).
pub const LEX_MAX_RESULTS: i32 = 1000;

type Limiter = governor::DefaultDirectRateLimiter;

pub struct LexClient {
    client: Client,
    /// The bot's upstream budget, `requests_per_second`.
    limiter: Limiter,
    /// With `[redis]`: the fleet-wide budget, and this replica's share
    /// (`requests_per_second / expected_replicas`) for when Redis is down.
    fleet: Option<(crate::fleet::FleetBudget, Limiter)>,
    /// Lex's bot id.
    lex_bot_id: String,
    /// The gateway's bot id, for error context.
    bot: String,
}

pub fn lex_time(t: DateTime<Utc>) -> LexDateTime {
    LexDateTime::from_millis(t.timestamp_millis())
}

/// `v`, or none for an empty list (Lex takes no empty lists).
pub(super) fn some_if_any<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

impl LexClient {
    /// Builds the SDK client through aws-config: the default credential chain
    /// and the configured region in production; static credentials and the
    /// endpoint URL when configured. Note (lex.md §0.11): the SDK's HTTP client
    /// honours `HTTP(S)_PROXY` even for loopback; set `NO_PROXY=127.0.0.1,localhost`
    /// when a proxy variable is present.
    pub async fn build(gateway_bot: &str, config: &LexConfig) -> LexClient {
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(config.region.clone()))
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(config.max_attempts.max(1))
                    .with_initial_backoff(config.initial_backoff),
            )
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(config.connect_timeout)
                    .read_timeout(config.read_timeout())
                    .operation_attempt_timeout(config.attempt_timeout)
                    .operation_timeout(config.timeout)
                    .build(),
            );
        if let LexCredentials::Static {
            access_key_id,
            secret_access_key,
        } = config.effective_credentials()
        {
            loader = loader.credentials_provider(Credentials::new(
                access_key_id,
                secret_access_key,
                None,
                None,
                "botscope-static",
            ));
        }
        if let Some(url) = &config.endpoint_url {
            loader = loader.endpoint_url(url);
        }
        let sdk = loader.load().await;
        let rps = std::num::NonZeroU32::new(config.requests_per_second.max(1))
            .unwrap_or(std::num::NonZeroU32::MIN);
        let fleet = config.fleet.as_ref().map(|f| {
            let share = crate::fleet::budget::share(rps.get(), f.settings().expected_replicas);
            let share = std::num::NonZeroU32::new(share).unwrap_or(std::num::NonZeroU32::MIN);
            (
                crate::fleet::FleetBudget::new(
                    f.clone(),
                    &format!("lex:{gateway_bot}"),
                    vec![(rps.get(), std::time::Duration::from_secs(1))],
                ),
                governor::RateLimiter::direct(governor::Quota::per_second(share)),
            )
        });
        LexClient {
            client: Client::new(&sdk),
            limiter: governor::RateLimiter::direct(governor::Quota::per_second(rps)),
            fleet,
            lex_bot_id: config.bot_id.clone(),
            bot: gateway_bot.to_owned(),
        }
    }

    /// Waits for a slot of the bot's budget: the fleet's when shared (its
    /// share of it while Redis gives no answer), else this process's.
    async fn wait_for_slot(&self) {
        let Some((budget, share)) = &self.fleet else {
            return self.limiter.until_ready().await;
        };
        loop {
            match budget.try_take().await {
                Ok(None) => return,
                Ok(Some(wait)) => tokio::time::sleep(wait).await,
                Err(_) => {
                    budget.fleet().fell_back("lex_budget");
                    return share.until_ready().await;
                }
            }
        }
    }

    /// Awaits `sent`, one SDK call of `operation` (a future: nothing goes out
    /// before it is polled), once the budget has a slot, in the call's span
    /// (its retries included: the SDK makes them); a failure is classified
    /// by `error.rs`.
    pub(super) async fn call<T, E>(
        &self,
        operation: &'static str,
        sent: impl Future<Output = std::result::Result<T, SdkError<E, HttpResponse>>>,
    ) -> Result<T>
    where
        E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
    {
        self.wait_for_slot().await;
        let span = tracing::info_span!(
            "upstream",
            vendor = crate::domain::Vendor::LexV2.as_str(),
            operation,
            bot = %self.bot
        );
        sent.instrument(span)
            .await
            .map_err(|e| classify(e, &self.bot, operation))
    }

    /// One page of ListSessionAnalyticsData.
    pub async fn sessions_page(
        &self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        sort_by: SessionDataSortBy,
        filters: Vec<AnalyticsSessionFilter>,
        max_results: i32,
        next_token: Option<String>,
    ) -> Result<ListSessionAnalyticsDataOutput> {
        let request = self
            .client
            .list_session_analytics_data()
            .bot_id(&self.lex_bot_id)
            .start_date_time(lex_time(start))
            .end_date_time(lex_time(end))
            .sort_by(sort_by)
            .set_filters(some_if_any(filters))
            .max_results(max_results)
            .set_next_token(next_token);
        self.call("ListSessionAnalyticsData", request.send()).await
    }

    /// One page of ListUtteranceAnalyticsData, newest first.
    pub async fn utterances_page(
        &self,
        range: &TimeRange,
        filters: Vec<AnalyticsUtteranceFilter>,
        next_token: Option<String>,
    ) -> Result<ListUtteranceAnalyticsDataOutput> {
        let sort = UtteranceDataSortBy::builder()
            .name(AnalyticsUtteranceSortByName::UtteranceTimestamp)
            .order(AnalyticsSortOrder::Descending)
            .build()
            .map_err(|e| crate::error::Error::internal(format!("cannot build sortBy: {e}")))?;
        let request = self
            .client
            .list_utterance_analytics_data()
            .bot_id(&self.lex_bot_id)
            .start_date_time(lex_time(range.start()))
            .end_date_time(lex_time(range.end()))
            .sort_by(sort)
            .set_filters(some_if_any(filters))
            .max_results(LEX_MAX_RESULTS)
            .set_next_token(next_token);
        self.call("ListUtteranceAnalyticsData", request.send())
            .await
    }

    /// The SDK client, for the metrics operations (`family.rs`).
    pub(super) fn sdk(&self) -> &Client {
        &self.client
    }

    /// Lex's id of the bot.
    pub(super) fn lex_bot_id(&self) -> &str {
        &self.lex_bot_id
    }
}

impl LexClient {
    /// ListIntentPaths: one prefix, one level, no pages (lex.md §4.5).
    pub async fn intent_paths(
        &self,
        range: &TimeRange,
        path: &str,
        filters: Vec<aws_sdk_lexmodelsv2::types::AnalyticsPathFilter>,
    ) -> Result<Vec<aws_sdk_lexmodelsv2::types::AnalyticsIntentNodeSummary>> {
        let request = self
            .client
            .list_intent_paths()
            .bot_id(&self.lex_bot_id)
            .start_date_time(lex_time(range.start()))
            .end_date_time(lex_time(range.end()))
            .intent_path(path)
            .set_filters(some_if_any(filters));
        let out = self.call("ListIntentPaths", request.send()).await?;
        Ok(out.node_summaries().to_vec())
    }
}

/// The token to send next: none when absent, empty, or repeated (the SDK's
/// own paginator stops on the same conditions, lex.md §0.7).
pub fn next(received: Option<&str>, sent: &Option<String>) -> Option<String> {
    received
        .filter(|t| !t.is_empty() && Some(*t) != sent.as_deref())
        .map(str::to_owned)
}
