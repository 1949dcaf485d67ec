//! `MemorySource`: a real [`AnalyticsSource`] over sessions and intent-stage
//! records held in memory. It applies the unified semantics directly (range rule,
//! filters, order, keyset pages, computed metrics), which makes it the reference
//! the vendor adapters are checked against in the conformance suite.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AnalyticsSource, BotInfo, Capabilities};
use crate::domain::{
    Counted, Family, FamilyBins, FamilyQuery, IntentMetricName, IntentPathNode, IntentPathQuery,
    IntentRecord, IntentStageMetricName, IntentStageRecord, MetricBin, MetricsQuery, Session,
    SessionAggregator, SessionMetricName, SessionMetricsQuery, SessionPage, SessionQuery, Tally,
    TimeRange, UtteranceMetricName, UtterancePage, UtteranceQuery, UtteranceRecord,
    intent_path_nodes,
};
use crate::error::Result;

/// One bot's data, sorted by start time (utterances by timestamp).
#[derive(Debug, Default)]
pub struct BotData {
    pub sessions: Vec<Session>,
    pub stages: Vec<IntentStageRecord>,
    /// The intents of each conversation, in order.
    pub intents: Vec<IntentRecord>,
    pub utterances: Vec<UtteranceRecord>,
}

impl BotData {
    pub fn new(mut sessions: Vec<Session>, mut stages: Vec<IntentStageRecord>) -> Self {
        sessions.sort_by_key(|s| s.start_time);
        stages.sort_by_key(|r| r.start_time);
        BotData {
            sessions,
            stages,
            intents: Vec::new(),
            utterances: Vec::new(),
        }
    }

    /// The same data with the conversations' intents and utterances.
    pub fn with_activity(
        mut self,
        mut intents: Vec<IntentRecord>,
        mut utterances: Vec<UtteranceRecord>,
    ) -> Self {
        intents.sort_by_key(|r| r.start_time);
        utterances.sort_by_key(|u| u.timestamp);
        self.intents = intents;
        self.utterances = utterances;
        self
    }

    /// Intent records in `range` (the range rule on the record's own span),
    /// in start order.
    pub fn intents_in(&self, range: &TimeRange) -> impl Iterator<Item = &IntentRecord> {
        let from = self
            .intents
            .partition_point(|r| r.start_time < range.start());
        let to = self.intents.partition_point(|r| r.start_time < range.end());
        self.intents[from..to]
            .iter()
            .filter(move |r| range.contains_conversation(r.start_time, r.end_time))
    }

    /// Utterances said in `[start, end)`, in time order.
    pub fn utterances_in(&self, range: &TimeRange) -> &[UtteranceRecord] {
        let from = self
            .utterances
            .partition_point(|u| u.timestamp < range.start());
        let to = self
            .utterances
            .partition_point(|u| u.timestamp < range.end());
        &self.utterances[from..to]
    }

    /// Sessions in `range` (Lex's rule), in start order.
    pub fn sessions_in(&self, range: &TimeRange) -> impl Iterator<Item = &Session> {
        let from = self
            .sessions
            .partition_point(|s| s.start_time < range.start());
        let to = self
            .sessions
            .partition_point(|s| s.start_time < range.end());
        self.sessions[from..to]
            .iter()
            .filter(move |s| range.contains_conversation(s.start_time, s.end_time))
    }

    /// Intent-stage records in `range` (same rule), in start order.
    pub fn stages_in(&self, range: &TimeRange) -> impl Iterator<Item = &IntentStageRecord> {
        let from = self
            .stages
            .partition_point(|r| r.start_time < range.start());
        let to = self.stages.partition_point(|r| r.start_time < range.end());
        self.stages[from..to]
            .iter()
            .filter(move |r| range.contains_conversation(r.start_time, r.end_time))
    }
}

pub struct MemorySource {
    bot: BotInfo,
    capabilities: Capabilities,
    data: Arc<BotData>,
}

impl MemorySource {
    pub fn new(bot: BotInfo, data: Arc<BotData>) -> Self {
        use IntentStageMetricName as I;
        use SessionMetricName as S;
        MemorySource {
            bot,
            capabilities: Capabilities {
                session_metrics: vec![
                    S::Count,
                    S::Success,
                    S::Failure,
                    S::Dropped,
                    S::Duration,
                    S::TurnsPerConversation,
                    S::Concurrency,
                ],
                native_session_metrics: false,
                intent_stage_metrics: vec![I::Count, I::Success, I::Failed, I::Dropped, I::Retry],
                intent_metrics: IntentMetricName::ALL.to_vec(),
                utterance_metrics: UtteranceMetricName::ALL.to_vec(),
                utterances: true,
                session_fields: vec!["*"],
                intent_paths: true,
            },
            data,
        }
    }
}

impl MemorySource {
    fn session_metrics(&self, q: &SessionMetricsQuery) -> Result<Vec<MetricBin>> {
        let mut agg = SessionAggregator::new(
            Some(self.bot.id.clone()),
            q.range,
            &q.metrics,
            q.bin_by,
            &q.group_by,
        )?;
        for s in self
            .data
            .sessions_in(&q.range)
            .filter(|s| q.filter.matches(s))
        {
            agg.push(s)?;
        }
        Ok(agg.finish())
    }

    /// Counts the records of an indicator family.
    fn tally<'r, F: Family, R: Counted<F> + 'r>(
        &self,
        q: &MetricsQuery<F>,
        records: impl Iterator<Item = &'r R>,
    ) -> Result<FamilyBins> {
        let mut tally = Tally::new(Some(self.bot.id.clone()), q)?;
        for r in records {
            tally.push(r);
        }
        Ok(F::wrap(tally.finish()))
    }
}

#[async_trait]
impl AnalyticsSource for MemorySource {
    fn bot(&self) -> &BotInfo {
        &self.bot
    }

    fn capabilities(&self) -> &Capabilities {
        &self.capabilities
    }

    async fn sessions(&self, q: &SessionQuery) -> Result<SessionPage> {
        let matching: Vec<&Session> = self
            .data
            .sessions_in(&q.range)
            .filter(|s| q.filter.matches(s))
            .collect();
        Ok(q.page_of(matching, |s| Arc::new(s.clone())))
    }

    async fn metrics(&self, q: &FamilyQuery) -> Result<FamilyBins> {
        let d = &self.data;
        Ok(match q {
            FamilyQuery::Session(q) => FamilyBins::Session(self.session_metrics(q)?),
            FamilyQuery::IntentStage(q) => {
                self.tally(q, d.stages_in(&q.range).filter(|r| q.filter.matches(r)))?
            }
            FamilyQuery::Intent(q) => {
                self.tally(q, d.intents_in(&q.range).filter(|r| q.filter.matches(r)))?
            }
            FamilyQuery::Utterance(q) => self.tally(
                q,
                d.utterances_in(&q.range)
                    .iter()
                    .filter(|u| q.filter.matches(u)),
            )?,
        })
    }

    async fn utterances(&self, q: &UtteranceQuery) -> Result<UtterancePage> {
        let matching = self
            .data
            .utterances_in(&q.range)
            .iter()
            .filter(|u| q.filter.matches(u))
            .map(|u| Arc::new(u.clone()))
            .collect();
        Ok(q.page_of(matching))
    }

    async fn intent_paths(&self, q: &IntentPathQuery) -> Result<Vec<IntentPathNode>> {
        let records = self
            .data
            .intents_in(&q.range)
            .filter(|r| q.filter.matches(r));
        Ok(intent_path_nodes(records, &q.path, Some(&self.bot.id)))
    }
}
