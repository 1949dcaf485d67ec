//! `MemorySource`: a real [`AnalyticsSource`] over sessions and intent-stage
//! records held in memory. It applies the unified semantics directly (range rule,
//! filters, order, keyset pages, computed metrics), which makes it the reference
//! the vendor adapters are checked against in the conformance suite.

use std::sync::Arc;

use async_trait::async_trait;

use super::{AnalyticsSource, BotInfo, Capabilities};
use crate::domain::{
    BotData, Counted, Family, FamilyBins, FamilyQuery, IntentMetricName, IntentPathNode,
    IntentPathQuery, MetricBin, MetricsQuery, Session, SessionAggregator, SessionMetricsQuery,
    SessionPage, SessionQuery, Tally, UtteranceMetricName, UtterancePage, UtteranceQuery,
    intent_path_nodes,
};
use crate::error::Result;

pub struct MemorySource {
    bot: BotInfo,
    capabilities: Capabilities,
    data: Arc<BotData>,
}

impl MemorySource {
    pub fn new(bot: BotInfo, data: Arc<BotData>) -> Self {
        MemorySource {
            bot,
            capabilities: Capabilities {
                session_metrics: crate::domain::SessionMetricName::ALL.to_vec(),
                native_session_metrics: false,
                intent_stage_metrics: crate::domain::IntentStageMetricName::ALL.to_vec(),
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
        let mut agg = SessionAggregator::of(Some(self.bot.id.clone()), q)?;
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
            FamilyQuery::Session(q) => self.session_metrics(q)?.into(),
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

    fn describe(&self) -> (&BotInfo, &Capabilities) {
        (&self.bot, &self.capabilities)
    }
}
