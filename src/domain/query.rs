use std::cmp::Ordering;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{
    IntentStageMetricName, Session, SessionFilter, SessionMetricName, SessionOrderField, SortOrder,
    TimeRange,
};
use crate::error::{Error, Result};

/// How sessions are ordered: a field and a direction; ties go by
/// (bot id, session id, originating request id) in the same direction.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionOrder {
    pub field: SessionOrderField,
    pub direction: SortOrder,
}

/// The position of a session in an ordering: what keyset pagination resumes after.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionKey {
    /// The ordered field's value: start time in epoch milliseconds, duration in
    /// seconds, or turns (`i64::MIN` when the session has no turn count).
    pub value: i64,
    pub bot_id: String,
    pub session_id: String,
    pub originating_request_id: Option<String>,
}

impl SessionOrder {
    pub fn key_value(&self, s: &Session) -> i64 {
        match self.field {
            SessionOrderField::StartTime => s.start_time.timestamp_millis(),
            SessionOrderField::Duration => s.duration_seconds,
            SessionOrderField::Turns => s.turns.unwrap_or(i64::MIN),
        }
    }

    pub fn key(&self, s: &Session) -> SessionKey {
        SessionKey {
            value: self.key_value(s),
            bot_id: s.bot_id.clone(),
            session_id: s.session_id.clone(),
            originating_request_id: s.originating_request_id.clone(),
        }
    }

    /// Total order of sessions under this ordering (ascending means "comes first").
    pub fn compare(&self, a: &Session, b: &Session) -> Ordering {
        let asc = self
            .key_value(a)
            .cmp(&self.key_value(b))
            .then_with(|| a.bot_id.cmp(&b.bot_id))
            .then_with(|| a.session_id.cmp(&b.session_id))
            .then_with(|| a.originating_request_id.cmp(&b.originating_request_id));
        self.directed(asc)
    }

    /// Whether `s` comes strictly after `key` in this ordering.
    pub fn is_after(&self, s: &Session, key: &SessionKey) -> bool {
        let asc = self
            .key_value(s)
            .cmp(&key.value)
            .then_with(|| s.bot_id.as_str().cmp(&key.bot_id))
            .then_with(|| s.session_id.as_str().cmp(&key.session_id))
            .then_with(|| {
                s.originating_request_id
                    .as_deref()
                    .cmp(&key.originating_request_id.as_deref())
            });
        self.directed(asc) == Ordering::Greater
    }

    fn directed(&self, asc: Ordering) -> Ordering {
        match self.direction {
            SortOrder::Asc => asc,
            SortOrder::Desc => asc.reverse(),
        }
    }
}

/// A page size within `1..=max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PageSize(usize);

impl PageSize {
    pub fn parse(first: i64, max: usize) -> Result<Self> {
        if first < 1 || first as u64 > max as u64 {
            return Err(Error::bad_input(
                "first",
                format!("must be between 1 and {max} (limits.max_page_size), got {first}"),
            ));
        }
        Ok(PageSize(first as usize))
    }

    pub fn get(self) -> usize {
        self.0
    }
}

/// A request for one bot's sessions: the ones in `range` matching `filter`, in
/// `order`, strictly after `after`, at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionQuery {
    pub range: TimeRange,
    pub filter: SessionFilter,
    pub order: SessionOrder,
    pub after: Option<SessionKey>,
    pub limit: PageSize,
}

impl SessionQuery {
    /// The page this query asks for out of every session that matches it (in
    /// any order): sorted by the order, strictly after `after`, at most
    /// `limit`, with `has_more` and the total count.
    pub fn page_of<S: std::borrow::Borrow<Session>>(
        &self,
        mut matching: Vec<S>,
        into_session: impl Fn(S) -> Arc<Session>,
    ) -> SessionPage {
        let total = matching.len() as u64;
        // `compare` is a total order (ties go by id), so an unstable sort is exact.
        matching.sort_unstable_by(|a, b| self.order.compare(a.borrow(), b.borrow()));
        let from = match &self.after {
            Some(key) => matching.partition_point(|s| !self.order.is_after(s.borrow(), key)),
            None => 0,
        };
        let rest = matching.len() - from;
        let take = rest.min(self.limit.get());
        SessionPage {
            sessions: matching
                .drain(from..from + take)
                .map(into_session)
                .collect(),
            has_more: rest > take,
            total_count: Some(total),
        }
    }
}

/// A page of one bot's sessions, ordered as asked. Sessions are shared by
/// reference count: a page served from a cache, merged across bots and
/// resolved by GraphQL is never deep-copied.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionPage {
    pub sessions: Vec<Arc<Session>>,
    /// More sessions follow the last one of this page.
    pub has_more: bool,
    /// Sessions matching the query in the whole range, when known without
    /// extra upstream calls.
    pub total_count: Option<u64>,
}

pub type SessionMetricSpec = super::MetricSpec<SessionMetricName>;
pub type IntentStageMetricSpec = super::MetricSpec<IntentStageMetricName>;
pub type IntentMetricSpec = super::MetricSpec<super::IntentMetricName>;
pub type UtteranceMetricSpec = super::MetricSpec<super::UtteranceMetricName>;

/// Session metrics for one bot.
pub type SessionMetricsQuery = super::MetricsQuery<super::SessionMetrics>;
/// Intent-stage metrics for one bot.
pub type IntentStageMetricsQuery = super::MetricsQuery<super::IntentStageMetrics>;
/// Intent metrics for one bot.
pub type IntentMetricsQuery = super::MetricsQuery<super::IntentMetrics>;
/// Utterance metrics for one bot.
pub type UtteranceMetricsQuery = super::MetricsQuery<super::UtteranceMetrics>;

/// A path prefix of the intent-path tree: `/` (the first intents) or
/// `/Intent1/Intent2`. Validated: starts with `/`, no empty segment, at most
/// 1024 characters (Lex's limit), at most 100 levels.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentPath(Vec<String>);

impl IntentPath {
    pub fn parse(path: &str) -> Result<Self> {
        let bad = |why: &str| {
            Error::bad_input(
                "path",
                format!("{path:?} {why}; write \"/\" or \"/Intent1/Intent2\""),
            )
        };
        if path.len() > 1024 {
            return Err(bad("is longer than 1024 characters"));
        }
        let Some(rest) = path.strip_prefix('/') else {
            return Err(bad("does not start with \"/\""));
        };
        if rest.is_empty() {
            return Ok(IntentPath(Vec::new()));
        }
        let parts: Vec<String> = rest.split('/').map(str::to_owned).collect();
        if parts.iter().any(|p| p.trim().is_empty()) {
            return Err(bad("has an empty intent name"));
        }
        if parts.len() >= 100 {
            return Err(bad("has 100 levels or more"));
        }
        Ok(IntentPath(parts))
    }

    /// The intents of the prefix, in order (empty for the root).
    pub fn intents(&self) -> &[String] {
        &self.0
    }

    /// `/A/B`, or `/` for the root.
    pub fn as_path(&self) -> String {
        if self.0.is_empty() {
            "/".to_owned()
        } else {
            format!("/{}", self.0.join("/"))
        }
    }

    /// The path of a child node.
    pub fn child(&self, intent: &str) -> String {
        let mut p: String = self.0.iter().map(|i| format!("/{i}")).collect();
        p.push('/');
        p.push_str(intent);
        p
    }
}

/// The intents that follow one path prefix, for one bot.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentPathQuery {
    pub range: TimeRange,
    pub path: IntentPath,
    pub filter: super::IntentPathFilter,
}

/// The position of an utterance in the newest-first order of `utterances`:
/// time, then bot, session and text (descending too), so that the order is
/// total and a cursor resumes exactly.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UtteranceKey {
    /// The utterance's time in epoch milliseconds.
    pub at: i64,
    pub bot_id: String,
    pub session_id: String,
    pub text: String,
}

impl UtteranceKey {
    pub fn of(u: &super::UtteranceRecord) -> Self {
        UtteranceKey {
            at: u.timestamp.timestamp_millis(),
            bot_id: u.bot_id.clone(),
            session_id: u.session_id.clone(),
            text: u.text.clone(),
        }
    }

    /// Whether `u` comes strictly after this position (is older, or ties
    /// and sorts after it).
    pub fn is_before(&self, u: &super::UtteranceRecord) -> bool {
        self.cmp_record(u) == Ordering::Greater
    }

    fn cmp_record(&self, u: &super::UtteranceRecord) -> Ordering {
        self.at
            .cmp(&u.timestamp.timestamp_millis())
            .then_with(|| self.bot_id.as_str().cmp(&u.bot_id))
            .then_with(|| self.session_id.as_str().cmp(&u.session_id))
            .then_with(|| self.text.as_str().cmp(&u.text))
    }
}

/// Newest first: whether `a` comes before `b` in `utterances`.
pub fn utterance_order(a: &super::UtteranceRecord, b: &super::UtteranceRecord) -> Ordering {
    UtteranceKey::of(b).cmp_record(a)
}

/// A request for one bot's utterances: the ones in `range` matching
/// `filter`, newest first, strictly after `after`, at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UtteranceQuery {
    pub range: TimeRange,
    pub filter: super::UtteranceFilter,
    pub after: Option<UtteranceKey>,
    pub limit: PageSize,
}

impl UtteranceQuery {
    /// The page this query asks for out of every utterance that matches it.
    pub fn page_of(&self, mut matching: Vec<Arc<super::UtteranceRecord>>) -> UtterancePage {
        let total = matching.len() as u64;
        matching.sort_unstable_by(|a, b| utterance_order(a, b));
        let from = match &self.after {
            // Newest first: everything the key sorts after (older) is left.
            Some(key) => matching.partition_point(|u| key.cmp_record(u) != Ordering::Greater),
            None => 0,
        };
        let rest = matching.len() - from;
        let take = rest.min(self.limit.get());
        UtterancePage {
            utterances: matching.drain(from..from + take).collect(),
            has_more: rest > take,
            total_count: Some(total),
        }
    }
}

/// A page of one bot's utterances, newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct UtterancePage {
    pub utterances: Vec<Arc<super::UtteranceRecord>>,
    pub has_more: bool,
    pub total_count: Option<u64>,
}
