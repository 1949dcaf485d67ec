//! GraphQL input types and their conversion to domain values (validated here).

use async_graphql::InputObject;

use super::scalars::DateTimeScalar;
use crate::domain::{
    self, ConversationEndState, IntentStageMetricName, SessionMetricName, SessionOrderField,
    SortOrder, Statistic,
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

/// How a field of a filter input becomes the domain filter's field; `field`
/// names it in errors.
trait FilterField {
    type Domain;
    fn parse(self, field: &str) -> Result<Self::Domain>;
}

impl<T> FilterField for Option<Vec<T>> {
    type Domain = Self;
    fn parse(self, field: &str) -> Result<Self> {
        check_list(field, &self)?;
        Ok(self)
    }
}

impl FilterField for Option<DurationFilterInput> {
    type Domain = Option<domain::DurationFilter>;
    fn parse(self, _: &str) -> Result<Self::Domain> {
        Ok(self.map(|d| domain::DurationFilter {
            eq: d.eq,
            gt: d.gt,
            lt: d.lt,
        }))
    }
}

/// A list of a filter: absent, or 1 to [`MAX_FILTER_VALUES`] values.
fn check_list<T>(field: &str, v: &Option<Vec<T>>) -> Result<()> {
    match v {
        Some(l) if l.is_empty() => Err(Error::bad_input(
            filter_key(field),
            "an empty list matches nothing; omit the field instead",
        )),
        Some(l) if l.len() > MAX_FILTER_VALUES => Err(Error::bad_input(
            filter_key(field),
            format!("at most {MAX_FILTER_VALUES} values, got {}", l.len()),
        )),
        _ => Ok(()),
    }
}

/// `filter.<field in GraphQL's camelCase>`, for errors.
fn filter_key(field: &str) -> String {
    let mut key = String::from("filter.");
    let mut words = field.split('_');
    key.extend(words.next());
    for w in words {
        let mut chars = w.chars();
        key.extend(chars.next().map(|c| c.to_ascii_uppercase()));
        key.push_str(chars.as_str());
    }
    key
}

/// Declares the GraphQL input `$gql` of the domain filter `$domain`: the same
/// fields in the same order (a [`domain::shared_field!`] by name, others with
/// their input type), then `include_developer_sessions` with its description;
/// and `parse`, which runs `first` (if any), checks every field in order and
/// returns the canonical domain filter.
macro_rules! filter_input {
    (
        $(#[$attr:meta])*
        pub struct $name:ident as $gql:literal => $domain:ident $(, first $check:path)? {
            $($field:ident $(: $ty:ty)?),* $(,)?
        }
        $(#[$developer:meta])*
        include_developer_sessions
    ) => {
        $(#[$attr])*
        #[derive(InputObject, Debug, Clone, Default)]
        #[graphql(name = $gql)]
        pub struct $name {
            $(pub $field: domain::filter_field_type!($field $(: $ty)?),)*
            $(#[$developer])*
            #[graphql(default)]
            pub include_developer_sessions: bool,
        }

        impl $name {
            pub fn parse(self) -> Result<domain::$domain> {
                $($check(&self)?;)?
                Ok(domain::$domain {
                    $($field: FilterField::parse(self.$field, stringify!($field))?,)*
                    include_developer_sessions: self.include_developer_sessions,
                }
                .canonical())
            }
        }
    };
}

filter_input! {
    /// Which sessions to keep. Fields AND together; values in one list OR.
    /// A filter on a field a vendor does not have (e.g. `userIds` for Lex,
    /// `botAliasIds` for Kore) matches none of that vendor's sessions.
    pub struct SessionFilterInput as "SessionFilter" => SessionFilter {
        end_states: Option<Vec<ConversationEndState>>,
        locales, channels, modalities, session_ids,
        duration_seconds: Option<DurationFilterInput>,
        bot_alias_ids, bot_versions,
        user_ids: Option<Vec<String>>,
    }
    /// Developer (test) sessions — Kore's `isDeveloper` — are left out of
    /// every answer unless this is `true`.
    include_developer_sessions
}

filter_input! {
    /// Which intent-stage records to keep; same rules as `SessionFilter`.
    pub struct IntentStageFilterInput as "IntentStageFilter" => IntentStageFilter {
        intent_names: Option<Vec<String>>,
        intent_stage_names: Option<Vec<String>>,
        locales, channels, modalities, session_ids, bot_alias_ids, bot_versions,
    }
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    include_developer_sessions
}

filter_input! {
    /// Which conversations an intent-path tree counts: the fields Lex's
    /// ListIntentPaths can filter on.
    pub struct IntentPathFilterInput as "IntentPathFilter" => IntentPathFilter {
        locales, channels, modalities, bot_alias_ids, bot_versions,
    }
    /// Developer (test) traffic is left out unless this is `true`.
    include_developer_sessions
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

filter_input! {
    /// Which intent records intent metrics count; same rules as `SessionFilter`.
    pub struct IntentFilterInput as "IntentFilter" => IntentFilter {
        intent_names: Option<Vec<String>>,
        intent_end_states: Option<Vec<domain::IntentEndState>>,
        locales, channels, modalities, session_ids, bot_alias_ids, bot_versions,
    }
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    include_developer_sessions
}

filter_input! {
    /// Which utterances to keep; same rules as `SessionFilter`. `textContains`
    /// keeps an utterance whose text contains any of the given texts, ignoring
    /// case and runs of whitespace.
    pub struct UtteranceFilterInput as "UtteranceFilter" => UtteranceFilter, first check_texts {
        states: Option<Vec<domain::UtteranceState>>,
        text_contains: Option<Vec<String>>,
        intent_names: Option<Vec<String>>,
        session_ids, channels, locales, modalities, bot_alias_ids, bot_versions,
    }
    /// Developer (test) traffic — Kore's `isDeveloper` — is left out unless
    /// this is `true`.
    include_developer_sessions
}

/// The longest text `textContains` takes (Lex's utterance texts are at most
/// 1024 characters too).
const MAX_TEXT_LEN: usize = 1024;

/// `textContains` is checked before the other fields: a list, of texts that
/// are neither blank nor longer than [`MAX_TEXT_LEN`].
fn check_texts(f: &UtteranceFilterInput) -> Result<()> {
    check_list("text_contains", &f.text_contains)?;
    let Some(texts) = &f.text_contains else {
        return Ok(());
    };
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
    Ok(())
}
