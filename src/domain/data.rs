//! [`BotData`]: one bot's records, as a dataset holds them (the simulators
//! serve them, the memory source answers from them).

use chrono::{DateTime, Utc};

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
        starting_in(&self.intents, range, |r| r.start_time)
            .iter()
            .filter(move |r| range.contains_conversation(r.start_time, r.end_time))
    }

    /// Utterances said in `[start, end)`, in time order.
    pub fn utterances_in(&self, range: &TimeRange) -> &[UtteranceRecord] {
        starting_in(&self.utterances, range, |u| u.timestamp)
    }

    /// Sessions in `range` (Lex's rule), in start order.
    pub fn sessions_in(&self, range: &TimeRange) -> impl Iterator<Item = &Session> {
        starting_in(&self.sessions, range, |s| s.start_time)
            .iter()
            .filter(move |s| range.contains_conversation(s.start_time, s.end_time))
    }

    /// Intent-stage records in `range` (same rule), in start order.
    pub fn stages_in(&self, range: &TimeRange) -> impl Iterator<Item = &IntentStageRecord> {
        starting_in(&self.stages, range, |r| r.start_time)
            .iter()
            .filter(move |r| range.contains_conversation(r.start_time, r.end_time))
    }
}

/// The records of `sorted` (sorted by `at`) whose `at` is in `[start, end)`
/// of `range`: two binary searches, since every list here is sorted by time.
fn starting_in<'a, T>(
    sorted: &'a [T],
    range: &TimeRange,
    at: impl Fn(&T) -> DateTime<Utc>,
) -> &'a [T] {
    let from = sorted.partition_point(|r| at(r) < range.start());
    let to = sorted.partition_point(|r| at(r) < range.end());
    &sorted[from..to]
}
