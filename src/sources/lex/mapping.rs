//! Unified queries to Lex requests and Lex answers back (DESIGN §4): filters,
//! enums in both directions, sessions and bins.

use aws_sdk_lexmodelsv2::primitives as lex_time;
use aws_sdk_lexmodelsv2::types::{
    self as lex, AnalyticsFilterOperator, AnalyticsIntentStageField, AnalyticsIntentStageFilter,
    AnalyticsIntentStageFilterName, AnalyticsIntentStageMetricName, AnalyticsMetricStatistic,
    AnalyticsModality, AnalyticsSessionField, AnalyticsSessionFilter, AnalyticsSessionFilterName,
    AnalyticsSessionMetricName, AnalyticsSessionSortByName, AnalyticsSortOrder,
};
use chrono::{DateTime, Utc};

use crate::domain::{
    ConversationEndState, IntentEndState, IntentFilter, IntentGroupField, IntentMetricName,
    IntentStageFilter, IntentStageGroupField, IntentStageMetricName, Modality, NO_VALUE, Session,
    SessionFilter, SessionGroupField, SessionMetricName, SessionOrderField, SharedFields,
    SortOrder, Statistic, UtteranceFilter, UtteranceGroupField, UtteranceMetricName,
    UtteranceRecord, UtteranceState, Vendor,
};
use crate::error::{Error, Result};

/// Lex takes 1..5 values per filter (lex.md §4).
pub const LEX_MAX_FILTER_VALUES: usize = 5;

/// The part of a filter Lex can apply, and what is left for botscope.
pub struct Pushdown<F> {
    pub filters: Vec<F>,
    /// Some condition can never hold for Lex data (an empty list, `userIds`).
    pub matches_none: bool,
    /// Everything was pushed down; nothing is left to apply locally.
    pub complete: bool,
    /// What was left for botscope and why, when that is not a long value list.
    pub left_over: Option<String>,
}

impl<F> Pushdown<F> {
    fn new() -> Self {
        Pushdown {
            filters: Vec::new(),
            matches_none: false,
            complete: true,
            left_over: None,
        }
    }

    /// Pushes one "value in list" condition built by `make`, if Lex can take it.
    fn list<T>(
        &mut self,
        list: &Option<Vec<T>>,
        word: impl Fn(&T) -> String,
        make: impl FnOnce(Vec<String>) -> Result<F>,
    ) -> Result<()> {
        match list {
            None => {}
            Some(l) if l.is_empty() => self.matches_none = true,
            Some(l) if l.len() > LEX_MAX_FILTER_VALUES => self.complete = false,
            Some(l) => self.filters.push(make(l.iter().map(word).collect())?),
        }
        Ok(())
    }

    /// Pushes the conditions every kind of Lex filter takes under the same
    /// names (`LocaleId`, `Channel`, …), in that order; `eq` builds the
    /// filter of one name.
    fn shared<N, M>(&mut self, f: SharedFields<'_>, eq: impl Fn(N) -> M) -> Result<()>
    where
        N: for<'a> From<&'a str>,
        M: FnOnce(Vec<String>) -> Result<F>,
    {
        let name = |n: &str| eq(N::from(n));
        self.list(f.locales, String::clone, name("LocaleId"))?;
        self.list(f.channels, String::clone, name("Channel"))?;
        let modality = |m: &Modality| modality_word(*m).as_str().to_owned();
        self.list(f.modalities, modality, name("Modality"))?;
        self.list(f.session_ids, String::clone, name("SessionId"))?;
        self.list(f.bot_alias_ids, String::clone, name("BotAliasId"))?;
        self.list(f.bot_versions, String::clone, name("BotVersion"))
    }
}

fn build_err(e: impl std::fmt::Display) -> Error {
    Error::internal(format!("cannot build a Lex filter: {e}"))
}

/// A Lex filter of type `$filter` (the SDK's filter types share no trait):
/// `$name` `$op` any of `$values`.
macro_rules! lex_filter {
    ($filter:ty, $name:expr, $op:expr, $values:expr) => {
        <$filter>::builder()
            .name($name)
            .operator($op)
            .set_values(Some($values))
            .build()
            .map_err(build_err)
    };
}

/// The builder of `$filter`s that take a name and values equal to it.
macro_rules! lex_eq_filter {
    ($filter:ty) => {
        |name| move |v: Vec<String>| lex_filter!($filter, name, AnalyticsFilterOperator::Equals, v)
    };
}

/// The Lex filters for a session filter. `userIds` has no Lex counterpart:
/// Lex sessions carry no user id, so such a filter matches none (DESIGN §3).
pub fn session_pushdown(f: &SessionFilter) -> Result<Pushdown<AnalyticsSessionFilter>> {
    use AnalyticsSessionFilterName as N;
    let mut p = Pushdown::new();
    let eq = lex_eq_filter!(AnalyticsSessionFilter);
    p.list(
        &f.end_states,
        |e| end_state_word(*e).to_owned(),
        eq(N::ConversationEndState),
    )?;
    p.shared(f.shared(), eq)?;
    if let Some(d) = &f.duration_seconds {
        match duration_pushdown(d) {
            DurationPush::None => {}
            DurationPush::MatchesNone => p.matches_none = true,
            DurationPush::One { op, seconds, left } => {
                // A Duration value is whole seconds (the user guide's "30 sec"
                // format is UNCERTAIN, lex.md §3).
                p.filters.push(lex_filter!(
                    AnalyticsSessionFilter,
                    N::Duration,
                    op,
                    vec![seconds.to_string()]
                )?);
                if let Some(left) = left {
                    p.complete = false;
                    p.left_over = Some(left);
                }
            }
        }
    }
    if f.user_ids.is_some() {
        p.matches_none = true;
    }
    Ok(p)
}

/// What of a duration filter goes to Lex: at most one `Duration` filter,
/// because a repeated filter name is undocumented (lex.md §11).
#[derive(Debug, PartialEq)]
pub enum DurationPush {
    None,
    MatchesNone,
    One {
        op: AnalyticsFilterOperator,
        seconds: i64,
        /// The bound left for botscope, described, when there is one.
        left: Option<String>,
    },
}

/// The share of conversations shorter than `seconds` under the reference
/// distribution botscope assumes for choosing a bound to push: log-normal
/// with a median of 90 s and σ = 1 (**guess**: a typical bot conversation;
/// the choice only affects how many sessions Lex sends, never the answer).
fn share_shorter_than(seconds: i64) -> f64 {
    let z = ((seconds.max(1) as f64).ln() - 90f64.ln()) / 1.0;
    // The logistic approximation of the normal CDF (error < 0.01).
    1.0 / (1.0 + (-1.702 * z).exp())
}

/// One bound for Lex, the most selective: `eq` when given (the others then
/// only decide whether anything can match); of `gt` and `lt` the one that
/// keeps the smaller share under the reference distribution.
pub fn duration_pushdown(d: &crate::domain::DurationFilter) -> DurationPush {
    use AnalyticsFilterOperator as Op;
    if let Some(eq) = d.eq {
        if d.gt.is_some_and(|g| eq <= g) || d.lt.is_some_and(|l| eq >= l) {
            return DurationPush::MatchesNone;
        }
        return DurationPush::One {
            op: Op::Equals,
            seconds: eq,
            left: None,
        };
    }
    match (d.gt, d.lt) {
        (None, None) => DurationPush::None,
        (Some(g), None) => DurationPush::One {
            op: Op::GreaterThan,
            seconds: g,
            left: None,
        },
        (None, Some(l)) => DurationPush::One {
            op: Op::LessThan,
            seconds: l,
            left: None,
        },
        // Whole seconds: nothing lies strictly between g and g + 1.
        (Some(g), Some(l)) if l <= g.saturating_add(1) => DurationPush::MatchesNone,
        (Some(g), Some(l)) => {
            let why = "Lex takes one Duration filter per request (a repeated filter name is \
                       undocumented), and computes metrics itself";
            if 1.0 - share_shorter_than(g.saturating_add(1)) <= share_shorter_than(l) {
                DurationPush::One {
                    op: Op::GreaterThan,
                    seconds: g,
                    left: Some(format!(
                        "durationSeconds.lt ({l}) cannot be sent with durationSeconds.gt ({g}): {why}; \
                         ask with one bound"
                    )),
                }
            } else {
                DurationPush::One {
                    op: Op::LessThan,
                    seconds: l,
                    left: Some(format!(
                        "durationSeconds.gt ({g}) cannot be sent with durationSeconds.lt ({l}): {why}; \
                         ask with one bound"
                    )),
                }
            }
        }
    }
}

pub fn stage_pushdown(f: &IntentStageFilter) -> Result<Pushdown<AnalyticsIntentStageFilter>> {
    use AnalyticsIntentStageFilterName as N;
    let mut p = Pushdown::new();
    let eq = lex_eq_filter!(AnalyticsIntentStageFilter);
    p.list(&f.intent_names, String::clone, eq(N::IntentName))?;
    p.list(&f.intent_stage_names, String::clone, eq(N::IntentStageName))?;
    p.shared(f.shared(), eq)?;
    Ok(p)
}

/// The Lex filters of an intent-path filter (ListIntentPaths takes only
/// these five names, lex.md §11).
pub fn path_pushdown(
    f: &crate::domain::IntentPathFilter,
) -> Result<Pushdown<lex::AnalyticsPathFilter>> {
    let mut p = Pushdown::new();
    let eq = lex_eq_filter!(lex::AnalyticsPathFilter);
    p.shared(f.shared(), eq)?;
    Ok(p)
}

/// A node summary of ListIntentPaths, checked.
pub fn path_node(
    n: &lex::AnalyticsIntentNodeSummary,
    bot_id: &str,
) -> Result<crate::domain::IntentPathNode> {
    use crate::domain::IntentPathNodeType as T;
    let bad = |what: &str| {
        Error::new(
            crate::error::ErrorKind::UpstreamBadResponse,
            format!("Lex ListIntentPaths sent a node {what}"),
        )
        .with_bot(bot_id, Vendor::LexV2)
    };
    let (Some(name), Some(path)) = (n.intent_name(), n.intent_path()) else {
        return Err(bad("without intentName or intentPath"));
    };
    let count = n
        .intent_count()
        .and_then(|c| u64::try_from(c).ok())
        .ok_or_else(|| bad(&format!("{path:?} without a count of 0 or more")))?;
    let level = n
        .intent_level()
        .and_then(|l| u32::try_from(l).ok())
        .ok_or_else(|| bad(&format!("{path:?} without a level")))?;
    let node_type = match n.node_type() {
        Some(lex::AnalyticsNodeType::Inner) => T::Inner,
        Some(lex::AnalyticsNodeType::Exit) => T::Exit,
        _ => return Err(bad(&format!("{path:?} with an unknown nodeType"))),
    };
    Ok(crate::domain::IntentPathNode {
        bot_id: Some(bot_id.to_owned()),
        intent_name: name.to_owned(),
        path: path.to_owned(),
        count,
        level,
        node_type,
    })
}

pub fn end_state_word(e: ConversationEndState) -> &'static str {
    match e {
        ConversationEndState::Success => "Success",
        ConversationEndState::Failure => "Failure",
        ConversationEndState::Dropped => "Dropped",
    }
}

pub fn end_state(e: &lex::ConversationEndState) -> Option<ConversationEndState> {
    match e {
        lex::ConversationEndState::Success => Some(ConversationEndState::Success),
        lex::ConversationEndState::Failure => Some(ConversationEndState::Failure),
        lex::ConversationEndState::Dropped => Some(ConversationEndState::Dropped),
        _ => None,
    }
}

pub fn modality_word(m: Modality) -> AnalyticsModality {
    match m {
        Modality::Speech => AnalyticsModality::Speech,
        Modality::Text => AnalyticsModality::Text,
        Modality::Dtmf => AnalyticsModality::Dtmf,
        Modality::MultiMode => AnalyticsModality::MultiMode,
    }
}

pub fn modality(m: &AnalyticsModality) -> Option<Modality> {
    match m {
        AnalyticsModality::Speech => Some(Modality::Speech),
        AnalyticsModality::Text => Some(Modality::Text),
        AnalyticsModality::Dtmf => Some(Modality::Dtmf),
        AnalyticsModality::MultiMode => Some(Modality::MultiMode),
        _ => None,
    }
}

pub fn sort_name(f: SessionOrderField) -> AnalyticsSessionSortByName {
    match f {
        SessionOrderField::StartTime => AnalyticsSessionSortByName::ConversationStartTime,
        SessionOrderField::Duration => AnalyticsSessionSortByName::Duration,
        SessionOrderField::Turns => AnalyticsSessionSortByName::NumberOfTurns,
    }
}

pub fn sort_order(o: SortOrder) -> AnalyticsSortOrder {
    match o {
        SortOrder::Asc => AnalyticsSortOrder::Ascending,
        SortOrder::Desc => AnalyticsSortOrder::Descending,
    }
}

pub fn statistic_word(s: Statistic) -> AnalyticsMetricStatistic {
    match s {
        Statistic::Sum => AnalyticsMetricStatistic::Sum,
        Statistic::Avg => AnalyticsMetricStatistic::Avg,
        Statistic::Max => AnalyticsMetricStatistic::Max,
    }
}

const SESSION_METRICS: [(SessionMetricName, AnalyticsSessionMetricName); 7] = [
    (SessionMetricName::Count, AnalyticsSessionMetricName::Count),
    (
        SessionMetricName::Success,
        AnalyticsSessionMetricName::Success,
    ),
    (
        SessionMetricName::Failure,
        AnalyticsSessionMetricName::Failure,
    ),
    (
        SessionMetricName::Dropped,
        AnalyticsSessionMetricName::Dropped,
    ),
    (
        SessionMetricName::Duration,
        AnalyticsSessionMetricName::Duration,
    ),
    (
        SessionMetricName::TurnsPerConversation,
        AnalyticsSessionMetricName::TurnsPerConversation,
    ),
    (
        SessionMetricName::Concurrency,
        AnalyticsSessionMetricName::Concurrency,
    ),
];

pub fn session_metric_word(m: SessionMetricName) -> AnalyticsSessionMetricName {
    SESSION_METRICS
        .iter()
        .find(|(d, _)| *d == m)
        .map(|(_, l)| l.clone())
        .unwrap_or(AnalyticsSessionMetricName::Count)
}

const STAGE_METRICS: [(IntentStageMetricName, AnalyticsIntentStageMetricName); 5] = [
    (
        IntentStageMetricName::Count,
        AnalyticsIntentStageMetricName::Count,
    ),
    (
        IntentStageMetricName::Success,
        AnalyticsIntentStageMetricName::Success,
    ),
    // lex.md §0.8: the stage metric is `Failed`, unlike the session `Failure`.
    (
        IntentStageMetricName::Failed,
        AnalyticsIntentStageMetricName::Failed,
    ),
    (
        IntentStageMetricName::Dropped,
        AnalyticsIntentStageMetricName::Dropped,
    ),
    (
        IntentStageMetricName::Retry,
        AnalyticsIntentStageMetricName::Retry,
    ),
];

pub fn stage_metric_word(m: IntentStageMetricName) -> AnalyticsIntentStageMetricName {
    STAGE_METRICS
        .iter()
        .find(|(d, _)| *d == m)
        .map(|(_, l)| l.clone())
        .unwrap_or(AnalyticsIntentStageMetricName::Count)
}

/// The Lex group-by field of a unified one; `Bot` has none (a source serves one bot).
pub fn session_field_word(f: SessionGroupField) -> Option<AnalyticsSessionField> {
    match f {
        SessionGroupField::EndState => Some(AnalyticsSessionField::ConversationEndState),
        SessionGroupField::Locale => Some(AnalyticsSessionField::LocaleId),
        SessionGroupField::Bot => None,
    }
}

pub fn stage_field_word(f: IntentStageGroupField) -> Option<AnalyticsIntentStageField> {
    match f {
        IntentStageGroupField::IntentStageName => Some(AnalyticsIntentStageField::IntentStageName),
        IntentStageGroupField::SwitchedToIntent => {
            Some(AnalyticsIntentStageField::SwitchedToIntent)
        }
        IntentStageGroupField::Bot => None,
    }
}

/// A Lex value of `E` in the unified vocabulary: the name of the `E` whose
/// Lex word it is (in any case), else the value as Lex sent it.
fn unified<E: strum::VariantArray + Copy>(
    value: &str,
    lex_word: fn(E) -> &'static str,
    name: fn(E) -> &'static str,
) -> String {
    E::VARIANTS
        .iter()
        .find(|e| lex_word(**e).eq_ignore_ascii_case(value))
        .map_or_else(|| value.to_owned(), |e| name(*e).to_owned())
}

/// A session-group value in the unified vocabulary: end states as `SUCCESS`…,
/// a missing value as the domain's `(none)`.
pub fn session_group_value(field: SessionGroupField, value: Option<&str>) -> String {
    match (field, value) {
        (_, None) => NO_VALUE.to_owned(),
        (SessionGroupField::EndState, Some(v)) => {
            unified(v, end_state_word, ConversationEndState::as_str)
        }
        (_, Some(v)) => v.to_owned(),
    }
}

/// A bin key as an instant. Its unit is UNCERTAIN (lex.md §4.2): values past
/// 10^11 are milliseconds (10^11 seconds is the year 5138), smaller ones seconds.
pub fn bin_key_time(value: i64) -> Option<DateTime<Utc>> {
    if value.abs() >= 100_000_000_000 {
        DateTime::from_timestamp_millis(value)
    } else {
        DateTime::from_timestamp(value, 0)
    }
}

/// An SDK timestamp as a UTC instant, to the microsecond: Lex sends epoch
/// seconds as a JSON float, so the nanoseconds carry float noise.
pub fn instant(t: &aws_sdk_lexmodelsv2::primitives::DateTime) -> Option<DateTime<Utc>> {
    let micros = (i128::from(t.secs()) * 1_000_000) + (i128::from(t.subsec_nanos()) + 500) / 1000;
    DateTime::from_timestamp_micros(i64::try_from(micros).ok()?)
}

/// A Lex session in the unified vocabulary. Fields Lex lacks (`userId`,
/// `interactive`, `tasksExecuted`, `tags`) are `None`.
///
/// A record botscope cannot trust is refused with `UPSTREAM_BAD_RESPONSE`
/// naming the field and the session (as the Kore adapter refuses sessions
/// ending before they start): a missing `sessionId` or time, a time out of
/// range, an end before the start, a negative `conversationDurationSeconds`.
pub fn session(s: &lex::SessionSpecification, bot_id: &str) -> Result<Session> {
    let bad = |what: String| {
        super::error::bad_response(
            bot_id,
            format!("Lex ListSessionAnalyticsData returned {what}"),
        )
    };
    let id = s
        .session_id()
        .ok_or_else(|| bad("a session without sessionId".to_owned()))?;
    let time = |t: Option<&lex_time::DateTime>, field: &str| {
        let t = t.ok_or_else(|| bad(format!("session {id:?} without {field}")))?;
        instant(t).ok_or_else(|| bad(format!("session {id:?} with {field} out of range")))
    };
    let start = time(s.conversation_start_time(), "conversationStartTime")?;
    let end = time(s.conversation_end_time(), "conversationEndTime")?;
    if end < start {
        return Err(bad(format!(
            "session {id:?} whose conversationEndTime ({end}) is before its conversationStartTime ({start})"
        )));
    }
    let duration_seconds = match s.conversation_duration_seconds() {
        Some(d) if d < 0 => {
            return Err(bad(format!(
                "session {id:?} with a negative conversationDurationSeconds ({d})"
            )));
        }
        Some(d) => d,
        None => (end - start).num_seconds(),
    };
    Ok(Session {
        bot_id: bot_id.to_owned(),
        vendor: Vendor::LexV2,
        session_id: id.to_owned(),
        originating_request_id: s.originating_request_id().map(str::to_owned),
        user_id: None,
        channel: s.channel().map(str::to_owned),
        locale: s.locale_id().map(str::to_owned),
        modality: s.mode().and_then(modality),
        start_time: start,
        end_time: end,
        duration_seconds,
        end_state: s.conversation_end_state().and_then(end_state),
        vendor_end_state: s.conversation_end_state().map(|e| e.as_str().to_owned()),
        turns: s.number_of_turns(),
        intents: Some(
            s.invoked_intent_samples()
                .iter()
                .filter_map(|i| i.intent_name().map(str::to_owned))
                .collect(),
        ),
        bot_alias_id: s.bot_alias_id().map(str::to_owned),
        bot_version: s.bot_version().map(str::to_owned),
        interactive: None,
        tasks_executed: None,
        tags: None,
        is_developer: None,
    })
}

/// The Lex filters of an intent filter; ListIntentMetrics takes every field.
pub fn intent_pushdown(f: &IntentFilter) -> Result<Pushdown<lex::AnalyticsIntentFilter>> {
    use lex::AnalyticsIntentFilterName as N;
    let mut p = Pushdown::new();
    let eq = lex_eq_filter!(lex::AnalyticsIntentFilter);
    p.list(&f.intent_names, String::clone, eq(N::IntentName))?;
    p.list(
        &f.intent_end_states,
        |e| intent_end_state_word(*e).to_owned(),
        eq(N::IntentEndState),
    )?;
    p.shared(f.shared(), eq)?;
    Ok(p)
}

/// The Lex filters of an utterance filter. Lex filters utterances by exact
/// text only (operator `EQ`), and not by intent: `textContains` and
/// `intentNames` are left for botscope, which can apply them to records
/// (ListUtteranceAnalyticsData) but not to metrics Lex computed.
pub fn utterance_pushdown(f: &UtteranceFilter) -> Result<Pushdown<lex::AnalyticsUtteranceFilter>> {
    use lex::AnalyticsUtteranceFilterName as N;
    let mut p = Pushdown::new();
    let eq = lex_eq_filter!(lex::AnalyticsUtteranceFilter);
    p.list(
        &f.states,
        |s| utterance_state_word(*s).to_owned(),
        eq(N::UtteranceState),
    )?;
    p.shared(f.shared(), eq)?;
    for (asked, name) in [
        (f.text_contains.is_some(), "textContains"),
        (f.intent_names.is_some(), "intentNames"),
    ] {
        if asked {
            p.complete = false;
            p.left_over = Some(format!(
                "Lex cannot filter utterance metrics by {name} (its filters take exact texts \
                 and no intent); botscope applies it to utterance records only"
            ));
        }
    }
    Ok(p)
}

pub fn intent_end_state_word(e: IntentEndState) -> &'static str {
    match e {
        IntentEndState::Success => "Success",
        IntentEndState::Failure => "Failure",
        IntentEndState::Switched => "Switched",
        IntentEndState::Dropped => "Dropped",
    }
}

pub fn utterance_state_word(s: UtteranceState) -> &'static str {
    match s {
        UtteranceState::Detected => "Detected",
        UtteranceState::Missed => "Missed",
    }
}

pub fn intent_metric_word(m: IntentMetricName) -> lex::AnalyticsIntentMetricName {
    use lex::AnalyticsIntentMetricName as L;
    match m {
        IntentMetricName::Count => L::Count,
        IntentMetricName::Success => L::Success,
        IntentMetricName::Failure => L::Failure,
        IntentMetricName::Switched => L::Switched,
        IntentMetricName::Dropped => L::Dropped,
    }
}

pub fn utterance_metric_word(m: UtteranceMetricName) -> lex::AnalyticsUtteranceMetricName {
    use lex::AnalyticsUtteranceMetricName as L;
    match m {
        UtteranceMetricName::Count => L::Count,
        UtteranceMetricName::Detected => L::Detected,
        UtteranceMetricName::Missed => L::Missed,
    }
}

pub fn intent_field_word(f: IntentGroupField) -> Option<lex::AnalyticsIntentField> {
    use lex::AnalyticsIntentField as L;
    match f {
        IntentGroupField::IntentName => Some(L::IntentName),
        IntentGroupField::IntentEndState => Some(L::IntentEndState),
        IntentGroupField::IntentLevel => Some(L::IntentLevel),
        IntentGroupField::Bot => None,
    }
}

pub fn utterance_field_word(f: UtteranceGroupField) -> Option<lex::AnalyticsUtteranceField> {
    use lex::AnalyticsUtteranceField as L;
    match f {
        UtteranceGroupField::UtteranceText => Some(L::UtteranceText),
        UtteranceGroupField::UtteranceState => Some(L::UtteranceState),
        UtteranceGroupField::Bot => None,
    }
}

/// An intent-group value in the unified vocabulary (end states as `SUCCESS`…).
pub fn intent_group_value(field: IntentGroupField, value: Option<&str>) -> String {
    match (field, value) {
        (_, None) => NO_VALUE.to_owned(),
        (IntentGroupField::IntentEndState, Some(v)) => {
            unified(v, intent_end_state_word, IntentEndState::as_str)
        }
        (_, Some(v)) => v.to_owned(),
    }
}

/// An utterance-group value in the unified vocabulary (`DETECTED`, `MISSED`).
pub fn utterance_group_value(field: UtteranceGroupField, value: Option<&str>) -> String {
    match (field, value) {
        (_, None) => NO_VALUE.to_owned(),
        (UtteranceGroupField::UtteranceState, Some(v)) => {
            unified(v, utterance_state_word, UtteranceState::as_str)
        }
        (_, Some(v)) => v.to_owned(),
    }
}

/// An utterance of ListUtteranceAnalyticsData, checked: it needs a session,
/// a text and a time.
pub fn utterance(u: &lex::UtteranceSpecification, bot_id: &str) -> Result<UtteranceRecord> {
    let bad = |what: &str| {
        Error::new(
            crate::error::ErrorKind::UpstreamBadResponse,
            format!("Lex ListUtteranceAnalyticsData sent an utterance {what}"),
        )
        .with_bot(bot_id, Vendor::LexV2)
    };
    let session_id = u.session_id().ok_or_else(|| bad("without sessionId"))?;
    let text = u.utterance().ok_or_else(|| bad("without its text"))?;
    let timestamp = u.utterance_timestamp().and_then(instant).ok_or_else(|| {
        bad(&format!(
            "of session {session_id:?} without utteranceTimestamp"
        ))
    })?;
    // The SDK reads an absent `utteranceUnderstood` as false: missed.
    let understood = u.utterance_understood();
    Ok(UtteranceRecord {
        bot_id: bot_id.to_owned(),
        session_id: session_id.to_owned(),
        originating_request_id: None,
        timestamp,
        text: text.to_owned(),
        state: if understood {
            UtteranceState::Detected
        } else {
            UtteranceState::Missed
        },
        intent_name: u.associated_intent_name().map(str::to_owned),
        slot_name: u.associated_slot_name().map(str::to_owned),
        intent_state: u.intent_state().map(|s| s.as_str().to_owned()),
        dialog_action_type: u.dialog_action_type().map(str::to_owned),
        bot_responses: u
            .bot_responses()
            .iter()
            .flat_map(|r| r.content())
            .map(str::to_owned)
            .collect(),
        locale: u.locale_id().map(str::to_owned),
        channel: u.channel().map(str::to_owned),
        modality: u.mode().and_then(modality),
        input_type: u.input_type().map(str::to_owned),
        output_type: u.output_type().map(str::to_owned),
        duration_millis: u.audio_voice_duration_millis(),
        bot_alias_id: u.bot_alias_id().map(str::to_owned),
        bot_version: u.bot_version().map(str::to_owned),
        is_developer: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bin_keys_in_seconds_or_milliseconds() {
        let t = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        assert_eq!(bin_key_time(1_700_000_000), Some(t));
        assert_eq!(bin_key_time(1_700_000_000_000), Some(t));
    }

    #[test]
    fn float_noise_is_rounded_away() {
        let t = aws_sdk_lexmodelsv2::primitives::DateTime::from_secs_f64(1_700_000_000.123);
        assert_eq!(
            instant(&t).unwrap().timestamp_millis(),
            1_700_000_000_123,
            "{t:?}"
        );
    }

    #[test]
    fn enums_translate_both_ways() {
        // Each family's words are distinct (answers are matched back by
        // word) and spelled as the model spells them.
        let words = |w: Vec<String>| w.into_iter().collect::<std::collections::BTreeSet<_>>();
        assert_eq!(
            words(
                SESSION_METRICS
                    .iter()
                    .map(|(d, _)| session_metric_word(*d).as_str().to_owned())
                    .collect()
            )
            .len(),
            7
        );
        assert_eq!(
            words(
                STAGE_METRICS
                    .iter()
                    .map(|(d, _)| stage_metric_word(*d).as_str().to_owned())
                    .collect()
            )
            .len(),
            5
        );
        assert_eq!(
            words(
                IntentMetricName::ALL
                    .iter()
                    .map(|m| intent_metric_word(*m).as_str().to_owned())
                    .collect()
            ),
            words(
                ["Count", "Success", "Failure", "Switched", "Dropped"]
                    .map(String::from)
                    .to_vec()
            )
        );
        assert_eq!(
            words(
                UtteranceMetricName::ALL
                    .iter()
                    .map(|m| utterance_metric_word(*m).as_str().to_owned())
                    .collect()
            ),
            words(["Count", "Detected", "Missed"].map(String::from).to_vec())
        );
        assert_eq!(
            intent_group_value(IntentGroupField::IntentEndState, Some("Switched")),
            "SWITCHED"
        );
        assert_eq!(
            utterance_group_value(UtteranceGroupField::UtteranceState, Some("Missed")),
            "MISSED"
        );
        assert_eq!(
            stage_metric_word(IntentStageMetricName::Failed).as_str(),
            "Failed"
        );
        assert_eq!(
            session_metric_word(SessionMetricName::TurnsPerConversation).as_str(),
            "TurnsPerConversation"
        );
        assert_eq!(statistic_word(Statistic::Avg).as_str(), "Avg");
        assert_eq!(modality_word(Modality::Dtmf).as_str(), "DTMF");
        assert_eq!(
            session_group_value(SessionGroupField::EndState, Some("Dropped")),
            "DROPPED"
        );
        assert_eq!(
            session_group_value(SessionGroupField::Locale, None),
            NO_VALUE
        );
    }

    fn spec(start: i64, end: i64, duration: Option<i64>) -> lex::SessionSpecification {
        lex::SessionSpecification::builder()
            .session_id("s-neg")
            .conversation_start_time(lex_time::DateTime::from_secs(start))
            .conversation_end_time(lex_time::DateTime::from_secs(end))
            .set_conversation_duration_seconds(duration)
            .build()
    }

    #[test]
    fn sound_sessions_map() {
        let s = session(&spec(1_772_413_200, 1_772_413_500, Some(300)), "gw").unwrap();
        assert_eq!(s.duration_seconds, 300);
        let s = session(&spec(1_772_413_200, 1_772_413_500, None), "gw").unwrap();
        assert_eq!(s.duration_seconds, 300, "computed when absent");
        assert!(session(&spec(1_772_413_200, 1_772_413_200, Some(0)), "gw").is_ok());
    }

    #[test]
    fn a_negative_duration_is_a_bad_response_naming_field_and_session() {
        let e = session(&spec(1_772_413_200, 1_772_413_500, Some(-300)), "gw").unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::UpstreamBadResponse);
        assert!(!e.retryable);
        assert_eq!(e.bot.as_deref(), Some("gw"));
        assert!(
            e.message.contains("conversationDurationSeconds"),
            "{}",
            e.message
        );
        assert!(e.message.contains("s-neg"), "{}", e.message);
        assert!(e.message.contains("-300"), "{}", e.message);
    }

    #[test]
    fn an_end_before_the_start_is_a_bad_response() {
        let e = session(&spec(1_772_413_500, 1_772_413_200, None), "gw").unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::UpstreamBadResponse);
        assert!(e.message.contains("conversationEndTime"), "{}", e.message);
        assert!(e.message.contains("s-neg"), "{}", e.message);
    }

    #[test]
    fn missing_fields_are_named() {
        let no_id = lex::SessionSpecification::builder()
            .conversation_start_time(lex_time::DateTime::from_secs(0))
            .conversation_end_time(lex_time::DateTime::from_secs(1))
            .build();
        let e = session(&no_id, "gw").unwrap_err();
        assert!(e.message.contains("sessionId"), "{}", e.message);
        let no_end = lex::SessionSpecification::builder()
            .session_id("s-x")
            .conversation_start_time(lex_time::DateTime::from_secs(0))
            .build();
        let e = session(&no_end, "gw").unwrap_err();
        assert!(e.message.contains("conversationEndTime") && e.message.contains("s-x"));
        let far = spec(i64::MAX / 2, i64::MAX / 2, None);
        let e = session(&far, "gw").unwrap_err();
        assert!(e.message.contains("out of range"), "{}", e.message);
    }

    #[test]
    fn pushdown_splits_what_lex_cannot_take() {
        let f = SessionFilter {
            locales: Some((0..6).map(|i| format!("l{i}")).collect()),
            channels: Some(vec!["web".into()]),
            ..Default::default()
        };
        let p = session_pushdown(&f).unwrap();
        assert_eq!(p.filters.len(), 1, "six locales stay local");
        assert!(!p.complete && !p.matches_none);
        let p = session_pushdown(&SessionFilter {
            user_ids: Some(vec!["u".into()]),
            ..Default::default()
        })
        .unwrap();
        assert!(p.matches_none);
    }

    #[test]
    fn a_duration_range_sends_one_duration_filter_the_most_selective() {
        use crate::domain::DurationFilter;
        let d = |eq, gt, lt| DurationFilter { eq, gt, lt };
        let names = |f: &DurationFilter| {
            let p = session_pushdown(&SessionFilter {
                duration_seconds: Some(f.clone()),
                ..Default::default()
            })
            .unwrap();
            let n = p
                .filters
                .iter()
                .filter(|f| f.name() == &AnalyticsSessionFilterName::Duration)
                .count();
            (n, p.complete, p.matches_none, p.left_over)
        };
        // Long calls are rare: `gt: 600` keeps fewer than `lt: 1200` drops.
        let DurationPush::One { op, seconds, left } =
            duration_pushdown(&d(None, Some(600), Some(1200)))
        else {
            panic!("one bound")
        };
        assert_eq!((op, seconds), (AnalyticsFilterOperator::GreaterThan, 600));
        assert!(left.unwrap().contains("durationSeconds.lt (1200)"));
        // Short calls are rare: `lt: 10` is more selective than `gt: 5`.
        let DurationPush::One { op, seconds, .. } = duration_pushdown(&d(None, Some(5), Some(10)))
        else {
            panic!("one bound")
        };
        assert_eq!((op, seconds), (AnalyticsFilterOperator::LessThan, 10));
        let (n, complete, none, left) = names(&d(None, Some(30), Some(300)));
        assert_eq!(n, 1, "never two Duration filters");
        assert!(!complete && !none && left.is_some());
        assert_eq!(names(&d(Some(40), Some(30), Some(300))).0, 1);
        assert!(
            names(&d(Some(40), Some(30), Some(300))).1,
            "eq inside the bounds is exact"
        );
        assert!(
            names(&d(Some(20), Some(30), None)).2,
            "eq outside a bound matches none"
        );
        assert!(
            names(&d(None, Some(30), Some(31))).2,
            "no whole second between"
        );
        assert!(names(&d(None, None, Some(31))).1);
    }
}
