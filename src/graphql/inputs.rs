//! GraphQL input types and their conversion to domain values (validated here).

use async_graphql::InputObject;

use super::scalars::DateTimeScalar;
use crate::domain::{
    self, ConversationEndState, IntentStageMetricName, Modality, SessionMetricName,
    SessionOrderField, SortOrder, Statistic,
};
use crate::error::{Error, Result};

/// Values one filter list may hold.
pub const MAX_FILTER_VALUES: usize = 100;

/// `[start, end)`: a session is in the range when it started at or after
/// `start` and ended before `end`.
#[derive(InputObject, Debug, Clone)]
#[graphql(name = "TimeRange")]
pub struct TimeRangeInput {
    pub start: DateTimeScalar,
    pub end: DateTimeScalar,
}

impl TimeRangeInput {
    pub fn parse(&self, max_days: u32) -> Result<domain::TimeRange> {
        domain::TimeRange::parse(self.start.0, self.end.0, max_days)
    }
}

/// Duration bounds in seconds; all given bounds must hold.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "DurationFilter")]
pub struct DurationFilterInput {
    pub eq: Option<i64>,
    pub gt: Option<i64>,
    pub lt: Option<i64>,
}

/// Which sessions to keep. Fields AND together; values in one list OR.
/// A filter on a field a vendor does not have (e.g. `userIds` for Lex,
/// `botAliasIds` for Kore) matches none of that vendor's sessions.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "SessionFilter")]
pub struct SessionFilterInput {
    pub end_states: Option<Vec<ConversationEndState>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub duration_seconds: Option<DurationFilterInput>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    /// Developer (test) sessions — Kore's `isDeveloper` — are left out of
    /// every answer unless this is `true`.
    #[graphql(default)]
    pub include_developer_sessions: bool,
}

fn list<T>(name: &str, v: Option<Vec<T>>) -> Result<Option<Vec<T>>> {
    match v {
        Some(l) if l.is_empty() => Err(Error::bad_input(
            format!("filter.{name}"),
            "an empty list matches nothing; omit the field instead",
        )),
        Some(l) if l.len() > MAX_FILTER_VALUES => Err(Error::bad_input(
            format!("filter.{name}"),
            format!("at most {MAX_FILTER_VALUES} values, got {}", l.len()),
        )),
        other => Ok(other),
    }
}

impl SessionFilterInput {
    pub fn parse(self) -> Result<domain::SessionFilter> {
        Ok(domain::SessionFilter {
            end_states: list("endStates", self.end_states)?,
            locales: list("locales", self.locales)?,
            channels: list("channels", self.channels)?,
            modalities: list("modalities", self.modalities)?,
            session_ids: list("sessionIds", self.session_ids)?,
            duration_seconds: self.duration_seconds.map(|d| domain::DurationFilter {
                eq: d.eq,
                gt: d.gt,
                lt: d.lt,
            }),
            bot_alias_ids: list("botAliasIds", self.bot_alias_ids)?,
            bot_versions: list("botVersions", self.bot_versions)?,
            user_ids: list("userIds", self.user_ids)?,
            include_developer_sessions: self.include_developer_sessions,
        }
        .canonical())
    }
}

/// Which intent-stage records to keep; same rules as `SessionFilter`.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "IntentStageFilter")]
pub struct IntentStageFilterInput {
    pub intent_names: Option<Vec<String>>,
    pub intent_stage_names: Option<Vec<String>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    #[graphql(default)]
    pub include_developer_sessions: bool,
}

impl IntentStageFilterInput {
    pub fn parse(self) -> Result<domain::IntentStageFilter> {
        Ok(domain::IntentStageFilter {
            intent_names: list("intentNames", self.intent_names)?,
            intent_stage_names: list("intentStageNames", self.intent_stage_names)?,
            locales: list("locales", self.locales)?,
            channels: list("channels", self.channels)?,
            modalities: list("modalities", self.modalities)?,
            session_ids: list("sessionIds", self.session_ids)?,
            bot_alias_ids: list("botAliasIds", self.bot_alias_ids)?,
            bot_versions: list("botVersions", self.bot_versions)?,
            include_developer_sessions: self.include_developer_sessions,
        }
        .canonical())
    }
}

/// Which conversations an intent-path tree counts: the fields Lex's
/// ListIntentPaths can filter on.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "IntentPathFilter")]
pub struct IntentPathFilterInput {
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic is left out unless this is `true`.
    #[graphql(default)]
    pub include_developer_sessions: bool,
}

impl IntentPathFilterInput {
    pub fn parse(self) -> Result<domain::IntentPathFilter> {
        Ok(domain::IntentPathFilter {
            locales: list("locales", self.locales)?,
            channels: list("channels", self.channels)?,
            modalities: list("modalities", self.modalities)?,
            bot_alias_ids: list("botAliasIds", self.bot_alias_ids)?,
            bot_versions: list("botVersions", self.bot_versions)?,
            include_developer_sessions: self.include_developer_sessions,
        }
        .canonical())
    }
}

/// Session order: a field and a direction (default `START_TIME DESC`); ties by id.
#[derive(InputObject, Debug, Clone, Copy)]
#[graphql(name = "SessionOrder")]
pub struct SessionOrderInput {
    #[graphql(default)]
    pub field: SessionOrderField,
    #[graphql(default)]
    pub direction: SortOrder,
}

#[derive(InputObject, Debug, Clone, Copy)]
#[graphql(name = "SessionMetricInput")]
pub struct SessionMetricInput {
    pub name: SessionMetricName,
    pub statistic: Statistic,
}

#[derive(InputObject, Debug, Clone, Copy)]
#[graphql(name = "IntentStageMetricInput")]
pub struct IntentStageMetricInput {
    pub name: IntentStageMetricName,
    pub statistic: Statistic,
}

#[derive(InputObject, Debug, Clone, Copy)]
#[graphql(name = "IntentMetricInput")]
pub struct IntentMetricInput {
    pub name: domain::IntentMetricName,
    pub statistic: Statistic,
}

#[derive(InputObject, Debug, Clone, Copy)]
#[graphql(name = "UtteranceMetricInput")]
pub struct UtteranceMetricInput {
    pub name: domain::UtteranceMetricName,
    pub statistic: Statistic,
}

/// Which intent records intent metrics count; same rules as `SessionFilter`.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "IntentFilter")]
pub struct IntentFilterInput {
    pub intent_names: Option<Vec<String>>,
    pub intent_end_states: Option<Vec<domain::IntentEndState>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    #[graphql(default)]
    pub include_developer_sessions: bool,
}

impl IntentFilterInput {
    pub fn parse(self) -> Result<domain::IntentFilter> {
        Ok(domain::IntentFilter {
            intent_names: list("intentNames", self.intent_names)?,
            intent_end_states: list("intentEndStates", self.intent_end_states)?,
            locales: list("locales", self.locales)?,
            channels: list("channels", self.channels)?,
            modalities: list("modalities", self.modalities)?,
            session_ids: list("sessionIds", self.session_ids)?,
            bot_alias_ids: list("botAliasIds", self.bot_alias_ids)?,
            bot_versions: list("botVersions", self.bot_versions)?,
            include_developer_sessions: self.include_developer_sessions,
        }
        .canonical())
    }
}

/// Which utterances to keep; same rules as `SessionFilter`. `textContains`
/// keeps an utterance whose text contains any of the given texts, ignoring
/// case and runs of whitespace.
#[derive(InputObject, Debug, Clone, Default)]
#[graphql(name = "UtteranceFilter")]
pub struct UtteranceFilterInput {
    pub states: Option<Vec<domain::UtteranceState>>,
    pub text_contains: Option<Vec<String>>,
    pub intent_names: Option<Vec<String>>,
    pub session_ids: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub locales: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    #[graphql(default)]
    pub include_developer_sessions: bool,
}

/// The longest text `textContains` takes (Lex's utterance texts are at most
/// 1024 characters too).
const MAX_TEXT_LEN: usize = 1024;

impl UtteranceFilterInput {
    pub fn parse(self) -> Result<domain::UtteranceFilter> {
        let text_contains = list("textContains", self.text_contains)?;
        if let Some(texts) = &text_contains {
            if texts.iter().any(|t| t.trim().is_empty()) {
                return Err(Error::bad_input(
                    "filter.textContains",
                    "a blank text matches everything; omit it instead",
                ));
            }
            if let Some(t) = texts.iter().find(|t| t.chars().count() > MAX_TEXT_LEN) {
                return Err(Error::bad_input(
                    "filter.textContains",
                    format!(
                        "texts are at most {MAX_TEXT_LEN} characters, got {}",
                        t.chars().count()
                    ),
                ));
            }
        }
        Ok(domain::UtteranceFilter {
            states: list("states", self.states)?,
            text_contains,
            intent_names: list("intentNames", self.intent_names)?,
            session_ids: list("sessionIds", self.session_ids)?,
            channels: list("channels", self.channels)?,
            locales: list("locales", self.locales)?,
            modalities: list("modalities", self.modalities)?,
            bot_alias_ids: list("botAliasIds", self.bot_alias_ids)?,
            bot_versions: list("botVersions", self.bot_versions)?,
            include_developer_sessions: self.include_developer_sessions,
        }
        .canonical())
    }
}
