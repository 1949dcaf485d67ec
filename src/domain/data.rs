//! [`BotData`]: one bot's records, as a dataset holds them (the simulators
//! serve them, the memory source answers from them).

use super::{IntentRecord, IntentStageRecord, Session, TimeRange, UtteranceRecord};
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
