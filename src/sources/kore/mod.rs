//! The Kore.ai XO adapter: `KoreSource` answers the unified questions from
//! Kore's public `getSessions` and `getAnalytics` APIs.
//!
//! The API's limits, from `../shared/vendors/kore.md`, and what this adapter does
//! about each:
//! - `auth: <JWT>` header, HS256 with the client secret, claim `appId`
//!   (§4): [`auth::KoreAuth`].
//! - `dateTo - dateFrom` must be under 7 days (§1.3): [`window::KoreWindowPlan`]
//!   splits ranges into 6-day windows anchored at the epoch.
//! - `containmentType` is a query parameter, one value per call (§1.2): one
//!   call per type and window, so each session's type is known even if the
//!   answer omitted it.
//! - Pages: `skip` until `moreAvailable` is false; the maximum `limit` is
//!   NOT DOCUMENTED and may be capped silently (§1.3): [`client::KoreClient`].
//! - 60 calls a minute and 1800 an hour per bot, shared by every API (§5.2):
//!   [`budget::KoreBudget`], one per source, so every query for the bot shares it.
//!   A cold 30-day query costs about 6 windows × 3 types × pages calls.
//! - Session metrics are not served by Kore: botscope computes them with the
//!   foundation's `SessionAggregator` from all sessions of the range.
//! - Intent stages: Kore has no stages. getAnalytics' `successtask` /
//!   `failtask` records give COUNT, SUCCESS and FAILED per task, reported with
//!   the task name as the stage name; DROPPED, RETRY and `switchedToIntent`
//!   cannot be derived and are `UNSUPPORTED_BY_VENDOR`.
//! - Errors: the table in [`error`].

pub mod auth;
pub mod budget;
pub mod client;
pub mod config;
pub mod error;
pub mod mapping;
pub mod timestamp;
pub mod window;

use std::collections::HashSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt, future::try_join_all};

pub use self::client::KoreClient;
pub use self::config::KoreConfig;
use self::mapping::{
    ANALYTICS_CHANNELS, CONTAINMENT_TYPES, KoreSessionsRequest, end_state_of, kore_time,
    modality_of,
};
pub use self::window::KoreWindowPlan;
use super::{AnalyticsSource, BotInfo, Capabilities};
use crate::domain::{
    ConversationEndState, FamilyBins, FamilyQuery, IntentBin, IntentEndState, IntentFilter,
    IntentGroupField, IntentMetricName, IntentMetrics, IntentPathNode, IntentPathQuery,
    IntentRecord, IntentStageBin, IntentStageGroupField, IntentStageMetricName,
    IntentStageMetricsQuery, IntentStageRecord, MetricBin, MetricsQuery, Session,
    SessionAggregator, SessionFilter, SessionMetricName, SessionMetricsQuery, SessionPage,
    SessionQuery, StageOutcome, Tally, TimeRange, UtteranceBin, UtteranceFilter,
    UtteranceMetricName, UtteranceMetrics, UtterancePage, UtteranceQuery, UtteranceRecord,
    UtteranceState, Vendor,
};
use crate::error::{Error, Result};

/// Windows fetched at once; the budget paces the calls in any case.
const WINDOWS_IN_FLIGHT: usize = 8;
/// getSessions takes at most 50 session ids (kore.md §1.3).
const MAX_SESSION_IDS: usize = 50;

/// A window's sessions of one containment type: (window start, window end,
/// containment type, pushed-down user id).
type WindowKey = (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    &'static str,
    Option<String>,
);

/// A window's getAnalytics records of one type: (window start, window end,
/// record type, channels asked, developer traffic included).
type RecordsKey = (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    &'static str,
    Arc<[String]>,
    bool,
);

type Records = Arc<Vec<mapping::KoreAnalyticsRecord>>;

pub struct KoreSource {
    bot: BotInfo,
    capabilities: Capabilities,
    client: KoreClient,
    agent: ConversationEndState,
    window_days: u32,
    /// Windows already fetched. Windows sit on fixed UTC boundaries, so
    /// neighbouring queries share them; settled windows live `settled_ttl`,
    /// the open one `recent_ttl`. Concurrent misses of one key share one
    /// upstream fetch; errors are not cached.
    windows: Option<moka::future::Cache<WindowKey, WindowEntry>>,
    /// getAnalytics records per window and type, on the same rules: the
    /// intent, intent-stage and utterance families (and the utterance
    /// records) read the same types, so a dashboard's views share calls.
    /// Kept in this process only (no L2).
    records: Option<moka::future::Cache<RecordsKey, (Records, std::time::Duration)>>,
    /// With `[redis]`: the window cache's L2, shared by every replica, so a
    /// window one replica fetched costs the others no call.
    l2: Option<crate::fleet::FleetCache>,
    settle_lag: chrono::Duration,
    settled_ttl: std::time::Duration,
    recent_ttl: std::time::Duration,
}

#[derive(Clone)]
struct WindowEntry {
    sessions: Arc<Vec<Arc<Session>>>,
    ttl: std::time::Duration,
}

struct WindowTtl;

impl moka::Expiry<WindowKey, WindowEntry> for WindowTtl {
    fn expire_after_create(
        &self,
        _: &WindowKey,
        v: &WindowEntry,
        _: std::time::Instant,
    ) -> Option<std::time::Duration> {
        Some(v.ttl)
    }
}

struct RecordsTtl;

impl moka::Expiry<RecordsKey, (Records, std::time::Duration)> for RecordsTtl {
    fn expire_after_create(
        &self,
        _: &RecordsKey,
        v: &(Records, std::time::Duration),
        _: std::time::Instant,
    ) -> Option<std::time::Duration> {
        Some(v.1)
    }
}

impl KoreSource {
    pub fn new(bot: BotInfo, config: KoreConfig) -> Result<Self> {
        use IntentStageMetricName as I;
        Ok(KoreSource {
            capabilities: Capabilities {
                session_metrics: crate::domain::SessionMetricName::ALL.to_vec(),
                native_session_metrics: false,
                intent_stage_metrics: vec![I::Count, I::Success, I::Failed],
                intent_metrics: vec![
                    IntentMetricName::Count,
                    IntentMetricName::Success,
                    IntentMetricName::Failure,
                ],
                utterance_metrics: UtteranceMetricName::ALL.to_vec(),
                utterances: true,
                session_fields: vec![
                    "sessionId",
                    "userId",
                    "channel",
                    "locale",
                    "modality",
                    "startTime",
                    "endTime",
                    "durationSeconds",
                    "endState",
                    "vendorEndState",
                    "turns",
                    "intents",
                    "interactive",
                    "tasksExecuted",
                    "tags",
                    "isDeveloper",
                ],
                intent_paths: false,
            },
            client: KoreClient::new(&bot.id, &config)
                .map_err(|e| e.with_bot(&bot.id, Vendor::Kore))?,
            agent: config.agent_end_state,
            window_days: config.window_days,
            windows: (config.window_cache_sessions > 0).then(|| {
                moka::future::Cache::builder()
                    .max_capacity(config.window_cache_sessions)
                    .weigher(|_, v: &WindowEntry| {
                        u32::try_from(v.sessions.len()).unwrap_or(u32::MAX).max(1)
                    })
                    .expire_after(WindowTtl)
                    .build()
            }),
            records: (config.window_cache_sessions > 0).then(|| {
                moka::future::Cache::builder()
                    .max_capacity(config.window_cache_sessions)
                    .weigher(|_, v: &(Records, std::time::Duration)| {
                        u32::try_from(v.0.len()).unwrap_or(u32::MAX).max(1)
                    })
                    .expire_after(RecordsTtl)
                    .build()
            }),
            l2: config
                .fleet
                .clone()
                .map(|f| crate::fleet::FleetCache::new(f, "kore_window")),
            settle_lag: chrono::Duration::from_std(config.settle_lag)
                .unwrap_or(chrono::Duration::hours(2)),
            settled_ttl: config.settled_ttl,
            recent_ttl: config.recent_ttl,
            bot,
        })
    }

    fn tag(&self, e: Error) -> Error {
        e.with_bot(self.bot.id.clone(), Vendor::Kore)
    }

    /// A reader of getSessions' sessions into unified ones. Sessions still open
    /// (`sessionStatus: "active"`, no `end_time`) are in no range yet and are
    /// left out; a window holding them is recent, so it is fetched again
    /// after `recent_ttl` and they appear once closed.
    fn closed_sessions(
        &self,
        asked: Option<&'static str>,
    ) -> impl Fn(mapping::KoreSession) -> Option<Arc<Session>> + Clone + Send + Sync + 'static {
        let (bot, agent) = (self.bot.id.clone(), self.agent);
        move |k| {
            let session = k.into_session(&bot, asked, agent);
            if session.is_none() {
                tracing::debug!(bot = %bot, "Kore session still open, left out");
            }
            session.map(Arc::new)
        }
    }

    /// The containment types whose end state the filter accepts.
    fn containment_types(&self, filter: &SessionFilter) -> Vec<&'static str> {
        CONTAINMENT_TYPES
            .into_iter()
            .filter(|c| {
                filter.end_states.as_ref().is_none_or(|allowed| {
                    end_state_of(c, self.agent).is_some_and(|e| allowed.contains(&e))
                })
            })
            .collect()
    }

    /// One window's sessions: one getSessions query per containment type,
    /// concurrently. `userId` is pushed down when the filter names one user.
    async fn window_sessions(
        &self,
        window: TimeRange,
        types: &[&'static str],
        filter: &SessionFilter,
    ) -> Result<Vec<Arc<Session>>> {
        let user = match filter.user_ids.as_deref() {
            Some([one]) => Some(one.clone()),
            _ => None,
        };
        let calls = types
            .iter()
            .map(|&ctype| self.window_type_sessions(window, ctype, user.clone()));
        Ok(try_join_all(calls)
            .await?
            .iter()
            .flat_map(|v| v.iter().cloned())
            .collect())
    }

    /// One window's sessions of one containment type, from the window cache
    /// when it holds them.
    async fn window_type_sessions(
        &self,
        window: TimeRange,
        ctype: &'static str,
        user: Option<String>,
    ) -> Result<Arc<Vec<Arc<Session>>>> {
        let fetch = async {
            let request = KoreSessionsRequest {
                date_from: Some(kore_time(window.start())),
                date_to: Some(kore_time(window.end())),
                user_id: user.clone(),
                ..Default::default()
            };
            let read = self.closed_sessions(Some(ctype));
            let sessions = self.client.all_sessions(Some(ctype), request, read).await?;
            Ok::<_, Error>(Arc::new(sessions))
        };
        let Some(cache) = &self.windows else {
            return fetch.await;
        };
        let ttl = self.window_ttl(&window);
        let name = self.window_name(&window, ctype, user.as_deref());
        let entry = async {
            let (sessions, ttl) = match &self.l2 {
                Some(l2) => l2.get_or_fetch(&name, ttl, fetch).await?,
                None => (fetch.await?, ttl),
            };
            Ok::<_, Error>(WindowEntry { sessions, ttl })
        };
        // A trimmed window is answered by its whole parent when that is cached.
        let parent = KoreWindowPlan::parent(&window, self.window_days);
        if parent != window {
            if let Some(hit) = cache
                .get(&(parent.start(), parent.end(), ctype, user.clone()))
                .await
            {
                return Ok(hit.sessions);
            }
            if let Some(l2) = &self.l2
                && let Some((sessions, _)) = l2
                    .get::<Arc<Vec<Arc<Session>>>>(&self.window_name(
                        &parent,
                        ctype,
                        user.as_deref(),
                    ))
                    .await
            {
                return Ok(sessions);
            }
        }
        cache
            .try_get_with((window.start(), window.end(), ctype, user.clone()), entry)
            .await
            .map(|e| e.sessions)
            .map_err(|e| (*e).clone())
    }

    /// How long a fetched window is kept: `settled_ttl` once it ended
    /// `settle_lag` ago or earlier, else `recent_ttl`.
    fn window_ttl(&self, window: &TimeRange) -> std::time::Duration {
        if window.end() <= chrono::Utc::now() - self.settle_lag {
            self.settled_ttl
        } else {
            self.recent_ttl
        }
    }

    /// The window's name in the L2 (a user id is hashed: it is free text).
    fn window_name(&self, window: &TimeRange, ctype: &str, user: Option<&str>) -> String {
        use sha2::Digest;
        let user = user.map_or_else(
            || "-".to_owned(),
            |u| {
                let h = sha2::Sha256::digest(u.as_bytes());
                h[..12].iter().map(|b| format!("{b:02x}")).collect()
            },
        );
        format!(
            "{}:{}:{}:{ctype}:{user}",
            self.bot.id,
            window.start().timestamp(),
            window.end().timestamp()
        )
    }

    /// Sessions by id: `sessionId` (≤ 50 per call) overrides every other Kore
    /// filter, dates included (kore.md §1.3), so one call per chunk covers any range.
    async fn sessions_by_id(&self, ids: &[String]) -> Result<Vec<Arc<Session>>> {
        let calls = ids.chunks(MAX_SESSION_IDS).map(|chunk| {
            let request = KoreSessionsRequest {
                session_id: Some(chunk.to_vec()),
                ..Default::default()
            };
            self.client
                .all_sessions(None, request, self.closed_sessions(None))
        });
        Ok(try_join_all(calls).await?.into_iter().flatten().collect())
    }

    /// Every getAnalytics record of each of `kinds` over the range, window
    /// by window (at most one call chain per window and kind; the bot's
    /// budget, shared with getSessions, paces them). Channels must be ones
    /// getAnalytics accepts; none asked means all of them.
    async fn analytics_records(
        &self,
        range: &TimeRange,
        kinds: &[&'static str],
        channels: Option<&[String]>,
        include_developer: bool,
    ) -> Result<Vec<(&'static str, Records)>> {
        let channels: Vec<String> = match channels {
            Some(asked) => {
                if let Some(c) = asked
                    .iter()
                    .find(|c| !ANALYTICS_CHANNELS.contains(&c.as_str()))
                {
                    return Err(self.tag(Error::unsupported(format!(
                        "Kore's getAnalytics does not accept channel {c:?} (its accepted channel \
                         ids are {}); records of that channel cannot be asked for",
                        ANALYTICS_CHANNELS.join(", ")
                    ))));
                }
                asked.to_vec()
            }
            None => ANALYTICS_CHANNELS.iter().map(|c| (*c).to_owned()).collect(),
        };
        let plan = KoreWindowPlan::new(range, self.window_days);
        let channels: Arc<[String]> = channels.into();
        let calls = plan.windows.iter().flat_map(|w| {
            let channels = channels.clone();
            kinds.iter().map(move |kind| {
                let channels = channels.clone();
                async move {
                    let records = self
                        .window_records(*w, kind, channels, include_developer)
                        .await?;
                    Ok::<_, Error>((*kind, records))
                }
            })
        });
        try_join_all(calls).await.map_err(|e| self.tag(e))
    }

    /// One window's records of one type, from the records cache when it
    /// holds them; concurrent misses share one fetch, errors are not kept.
    async fn window_records(
        &self,
        window: TimeRange,
        kind: &'static str,
        channels: Arc<[String]>,
        include_developer: bool,
    ) -> Result<Records> {
        let fetch = async {
            let records = self
                .client
                .all_analytics(kind, window, &channels, include_developer)
                .await?;
            Ok::<_, Error>(Arc::new(records))
        };
        let Some(cache) = &self.records else {
            return fetch.await;
        };
        let ttl = self.window_ttl(&window);
        let key = (
            window.start(),
            window.end(),
            kind,
            channels.clone(),
            include_developer,
        );
        cache
            .try_get_with(key, async { Ok::<_, Error>((fetch.await?, ttl)) })
            .await
            .map(|(records, _)| records)
            .map_err(|e| (*e).clone())
    }

    /// What `keep` makes of each getAnalytics record of `kinds` over the
    /// range (see [`Self::analytics_records`]), told the record's kind;
    /// `None` leaves the record out.
    async fn each_record<T>(
        &self,
        range: &TimeRange,
        kinds: &[&'static str],
        channels: Option<&[String]>,
        include_developer: bool,
        keep: impl Fn(&'static str, mapping::KoreAnalyticsRecord) -> Option<T>,
    ) -> Result<Vec<T>> {
        let fetched = self
            .analytics_records(range, kinds, channels, include_developer)
            .await?;
        let mut out = Vec::new();
        for (kind, records) in fetched {
            out.extend(records.iter().cloned().filter_map(|r| keep(kind, r)));
        }
        Ok(out)
    }

    /// Task records as intents: `successtask` ended in success, `failtask`
    /// in failure (Kore does not tell a dropped or switched task from a
    /// failed one). An instant at the record's time; level unknown.
    async fn intent_records(
        &self,
        range: &TimeRange,
        filter: &IntentFilter,
    ) -> Result<Vec<IntentRecord>> {
        let kinds = ["successtask", "failtask"];
        let channels = filter.channels.as_deref();
        let developer = filter.include_developer_sessions;
        self.each_record(range, &kinds, channels, developer, |kind, r| {
            let (Some(at), Some(session_id)) = (r.timestamp, r.session_id) else {
                return None;
            };
            let task = r.task_name.or(r.intent)?;
            let record = IntentRecord {
                bot_id: self.bot.id.clone(),
                session_id,
                originating_request_id: None,
                intent_name: task,
                end_state: if kind == "successtask" {
                    IntentEndState::Success
                } else {
                    IntentEndState::Failure
                },
                level: 0,
                start_time: at,
                end_time: at,
                locale: r.language,
                modality: r.channel.as_deref().map(modality_of),
                channel: r.channel,
                bot_alias_id: None,
                bot_version: None,
                is_developer: r.nl_analysis.and_then(|n| n.is_developer),
            };
            (range.contains_instant(at) && filter.matches(&record)).then_some(record)
        })
        .await
    }

    /// Utterance records: `successintent` (an intent was identified) is
    /// DETECTED; `failintent` and `unhandledutterance` are MISSED. Records
    /// without a text, a session or a time are left out.
    async fn utterance_records(
        &self,
        range: &TimeRange,
        filter: &UtteranceFilter,
    ) -> Result<Vec<Arc<UtteranceRecord>>> {
        let kinds: Vec<&'static str> = [
            ("successintent", UtteranceState::Detected),
            ("failintent", UtteranceState::Missed),
            ("unhandledutterance", UtteranceState::Missed),
        ]
        .into_iter()
        .filter(|(_, state)| filter.states.as_ref().is_none_or(|s| s.contains(state)))
        .map(|(k, _)| k)
        .collect();
        if kinds.is_empty() {
            return Ok(Vec::new());
        }
        let channels = filter.channels.as_deref();
        let developer = filter.include_developer_sessions;
        self.each_record(range, &kinds, channels, developer, |kind, r| {
            let (Some(at), Some(session_id), Some(text)) = (r.timestamp, r.session_id, r.utterance)
            else {
                return None;
            };
            let u = UtteranceRecord {
                bot_id: self.bot.id.clone(),
                session_id,
                originating_request_id: None,
                timestamp: at,
                text,
                state: if kind == "successintent" {
                    UtteranceState::Detected
                } else {
                    UtteranceState::Missed
                },
                intent_name: r.task_name.or(r.intent),
                slot_name: None,
                intent_state: None,
                dialog_action_type: None,
                bot_responses: Vec::new(),
                locale: r.language,
                modality: r.channel.as_deref().map(modality_of),
                channel: r.channel,
                input_type: None,
                output_type: None,
                duration_millis: None,
                bot_alias_id: None,
                bot_version: None,
                is_developer: r.nl_analysis.and_then(|n| n.is_developer),
            };
            (range.contains_instant(at) && filter.matches(&u)).then(|| Arc::new(u))
        })
        .await
    }

    async fn intent_metrics(&self, q: &MetricsQuery<IntentMetrics>) -> Result<Vec<IntentBin>> {
        if q.group_by.contains(&IntentGroupField::IntentLevel) {
            return Err(self.tag(Error::unsupported(
                "Kore's task records do not say which task of a conversation came first",
            )));
        }
        let mut tally = Tally::new(Some(self.bot.id.clone()), q)?;
        for r in self.intent_records(&q.range, &q.filter).await? {
            tally.push(&r);
        }
        Ok(tally.finish())
    }

    async fn utterance_metrics(
        &self,
        q: &MetricsQuery<UtteranceMetrics>,
    ) -> Result<Vec<UtteranceBin>> {
        let mut tally = Tally::new(Some(self.bot.id.clone()), q)?;
        for u in self.utterance_records(&q.range, &q.filter).await? {
            tally.push(&*u);
        }
        Ok(tally.finish())
    }

    /// Calls `each` with the sessions of the range that match the filter,
    /// window by window in time order, each session exactly once.
    async fn for_each_window(
        &self,
        range: TimeRange,
        filter: &SessionFilter,
        mut each: impl FnMut(Vec<Arc<Session>>) -> Result<()>,
    ) -> Result<()> {
        let mut seen: HashSet<String> = HashSet::new();
        let mut keep = |mut batch: Vec<Arc<Session>>| {
            batch.retain(|s| {
                range.contains_conversation(s.start_time, s.end_time)
                    && filter.matches(s)
                    && seen.insert(s.session_id.clone())
            });
            batch
        };
        if let Some(ids) = &filter.session_ids {
            let batch = self.sessions_by_id(ids).await.map_err(|e| self.tag(e))?;
            return each(keep(batch));
        }
        let types = self.containment_types(filter);
        if types.is_empty() {
            return Ok(());
        }
        let plan = KoreWindowPlan::new(&range, self.window_days);
        let mut windows = futures::stream::iter(plan.windows)
            .map(|w| self.window_sessions(w, &types, filter))
            .buffered(WINDOWS_IN_FLIGHT);
        while let Some(batch) = windows.try_next().await.map_err(|e| self.tag(e))? {
            each(keep(batch))?;
        }
        Ok(())
    }
}

impl KoreSource {
    /// Computed by the aggregation engine. Without CONCURRENCY, sessions are
    /// pushed window by window as they arrive; CONCURRENCY needs them in start
    /// order across windows, so they are sorted first.
    async fn session_metrics(&self, q: &SessionMetricsQuery) -> Result<Vec<MetricBin>> {
        let mut agg = SessionAggregator::of(Some(self.bot.id.clone()), q)?;
        let ordered = q
            .metrics
            .iter()
            .any(|m| m.name == SessionMetricName::Concurrency);
        let mut held: Vec<Arc<Session>> = Vec::new();
        self.for_each_window(q.range, &q.filter, |batch| {
            if ordered {
                held.extend(batch);
                return Ok(());
            }
            agg.push_all(&batch)
        })
        .await?;
        held.sort_by_key(|s| s.start_time);
        agg.push_all(&held)?;
        Ok(agg.finish())
    }

    async fn intent_stage_metrics(
        &self,
        q: &IntentStageMetricsQuery,
    ) -> Result<Vec<IntentStageBin>> {
        if let Some(m) = q
            .metrics
            .iter()
            .find(|m| !self.capabilities.intent_stage_metrics.contains(&m.name))
        {
            return Err(self.tag(Error::unsupported(format!(
                "Kore has no intent stages; only COUNT, SUCCESS and FAILED per task can be \
                 derived from getAnalytics, not {:?}",
                m.name
            ))));
        }
        if q.group_by
            .contains(&IntentStageGroupField::SwitchedToIntent)
        {
            return Err(self.tag(Error::unsupported(
                "Kore's getAnalytics records do not say which intent a task switched to",
            )));
        }
        let mut agg = Tally::new(Some(self.bot.id.clone()), q)?;
        let kinds = ["successtask", "failtask"];
        let channels = q.filter.channels.as_deref();
        let developer = q.filter.include_developer_sessions;
        let records = self
            .each_record(&q.range, &kinds, channels, developer, |kind, r| {
                let at = r.timestamp?;
                let task = r.task_name.or(r.intent).unwrap_or_default();
                let record = IntentStageRecord {
                    bot_id: self.bot.id.clone(),
                    session_id: r.session_id.unwrap_or_default(),
                    intent_name: task.clone(),
                    stage_name: task,
                    start_time: at,
                    end_time: at,
                    outcome: if kind == "successtask" {
                        StageOutcome::Success
                    } else {
                        StageOutcome::Failed
                    },
                    switched_to_intent: None,
                    locale: r.language,
                    modality: r.channel.as_deref().map(modality_of),
                    channel: r.channel,
                    bot_alias_id: None,
                    bot_version: None,
                    is_developer: r.nl_analysis.and_then(|n| n.is_developer),
                };
                let kept = q.range.contains_conversation(at, at) && q.filter.matches(&record);
                kept.then_some(record)
            })
            .await?;
        for record in &records {
            agg.push(record);
        }
        Ok(agg.finish())
    }
}

#[async_trait]
impl AnalyticsSource for KoreSource {
    /// Fetches every matching session of the range, then orders and pages
    /// locally: Kore only sorts latest-first and pages by offset.
    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        let mut all = Vec::new();
        self.for_each_window(q.range, &q.filter, |batch| {
            all.extend(batch);
            Ok(())
        })
        .await?;
        Ok(q.page_of(all, |s| s))
    }

    /// Kore has no intent-path API (DESIGN §4).
    async fn intent_paths(&self, _: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        Err(self.tag(Error::unsupported(
            "Kore has no API for intent paths: neither getSessions nor getAnalytics says in \
             which order a conversation's tasks ran",
        )))
    }

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        if let Some(m) = self.capabilities.unsupported_metric(q) {
            return Err(self.tag(Error::unsupported(format!(
                "Kore's records cannot answer the {} metric {m}: a task that failed is not told \
                 apart from one dropped or left for another, and stages are not recorded",
                q.family()
            ))));
        }
        match q {
            FamilyQuery::Session(q) => self.session_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::IntentStage(q) => self.intent_stage_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::Intent(q) => self.intent_metrics(q).await.map(FamilyBins::from),
            FamilyQuery::Utterance(q) => self.utterance_metrics(q).await.map(FamilyBins::from),
        }
    }

    /// Every matching utterance record of the range, then ordered and paged
    /// locally (getAnalytics pages by offset only).
    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        let all = self.utterance_records(&q.range, &q.filter).await?;
        Ok(q.page_of(all))
    }

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        (&self.bot, &self.capabilities)
    }
}
