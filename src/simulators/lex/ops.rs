//! The operations: validate the request like the service, select records,
//! answer in Lex's vocabulary (lex.md §4, §5). The intent and utterance
//! operations are in `activity_ops`.

use std::collections::BTreeMap;
use std::sync::Arc;

use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::activity_ops;
use super::wire::{
    self, AnalyticsDataRequest, BIN_BY_NAMES, END_STATES, Filter, INTERVALS, LexError,
    MetricsRequest, SORT_ORDERS, STATISTICS, Violations, epoch_number, instant,
};
use crate::domain::BotData;
use crate::domain::{
    Bin, BinInterval, ConversationEndState, GroupKey, IntentStageGroupField, IntentStageMetricName,
    IntentStageMetrics, IntentStageRecord, MetricSpec, MetricsQuery, Modality, NO_VALUE, Session,
    SessionAggregator, SessionGroupField, SessionMetricName, Statistic, Tally, TimeRange,
};

#[derive(Debug, Clone, Copy)]
pub enum Operation {
    Sessions,
    SessionMetrics,
    IntentStageMetrics,
    IntentMetrics,
    UtteranceMetrics,
    Utterances,
    IntentPaths,
}

impl Operation {
    pub fn from_path(suffix: &str) -> Option<Self> {
        match suffix {
            "sessions" => Some(Operation::Sessions),
            "sessionmetrics" => Some(Operation::SessionMetrics),
            "intentstagemetrics" => Some(Operation::IntentStageMetrics),
            "intentmetrics" => Some(Operation::IntentMetrics),
            "utterancemetrics" => Some(Operation::UtteranceMetrics),
            "utterances" => Some(Operation::Utterances),
            "intentpaths" => Some(Operation::IntentPaths),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Operation::Sessions => "ListSessionAnalyticsData",
            Operation::SessionMetrics => "ListSessionMetrics",
            Operation::IntentStageMetrics => "ListIntentStageMetrics",
            Operation::IntentMetrics => "ListIntentMetrics",
            Operation::UtteranceMetrics => "ListUtteranceMetrics",
            Operation::Utterances => "ListUtteranceAnalyticsData",
            Operation::IntentPaths => "ListIntentPaths",
        }
    }
}

const SESSION_FILTERS: &[&str] = &[
    "BotAliasId",
    "BotVersion",
    "LocaleId",
    "Modality",
    "Channel",
    "Duration",
    "ConversationEndState",
    "SessionId",
    "OriginatingRequestId",
    "IntentPath",
];
const STAGE_FILTERS: &[&str] = &[
    "BotAliasId",
    "BotVersion",
    "LocaleId",
    "Modality",
    "Channel",
    "SessionId",
    "OriginatingRequestId",
    "IntentName",
    "IntentStageName",
];
const SESSION_SORTS: &[&str] = &["ConversationStartTime", "NumberOfTurns", "Duration"];
const SESSION_METRICS: &[&str] = &[
    "Count",
    "Success",
    "Failure",
    "Dropped",
    "Duration",
    "TurnsPerConversation",
    "Concurrency",
];
const STAGE_METRICS: &[&str] = &["Count", "Success", "Failed", "Dropped", "Retry"];
const SESSION_FIELDS: &[&str] = &["ConversationEndState", "LocaleId"];
const STAGE_FIELDS: &[&str] = &["IntentStageName", "SwitchedToIntent"];

/// The clock of one call: what "now" is, and whether the guide's range
/// rules apply (`--lenient-ranges` turns them off).
#[derive(Debug, Clone, Copy)]
pub struct CallClock {
    pub now: chrono::DateTime<chrono::Utc>,
    pub range_rules: bool,
}

impl CallClock {
    /// The guide's range rules on `startDateTime` and `endDateTime`, where
    /// they apply.
    pub fn check_range(self, v: &mut Violations, start: Option<f64>, end: Option<f64>) {
        if self.range_rules {
            wire::check_range_rules(v, start, end, self.now);
        }
    }
}

pub fn answer(
    bots: &BTreeMap<String, Arc<BotData>>,
    op: Operation,
    bot_id: &str,
    body: &[u8],
    clock: CallClock,
) -> Result<Value, LexError> {
    if bot_id.len() != 10 || !bot_id.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(LexError::validation(format!(
            "1 validation error detected: Value '{bot_id}' at 'botId' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: ^[0-9a-zA-Z]+$ and have length 10"
        )));
    }
    // Validation comes before the bot lookup, as a service front end would do.
    let answer = match op {
        Operation::Sessions => {
            let req: AnalyticsDataRequest = wire::parse_body(body)?;
            validate_sessions(&req, clock)?;
            let data = bot(bots, bot_id)?;
            sessions(data, &req, clock.now)?
        }
        Operation::SessionMetrics => {
            let req: MetricsRequest = wire::parse_body(body)?;
            validate_metrics(&req, clock, &SESSION_RULES)?;
            let data = bot(bots, bot_id)?;
            session_metrics(data, &req, clock.now)?
        }
        Operation::IntentStageMetrics => {
            let req: MetricsRequest = wire::parse_body(body)?;
            validate_metrics(&req, clock, &STAGE_RULES)?;
            let data = bot(bots, bot_id)?;
            stage_metrics(data, &req, clock.now)?
        }
        // These validate before looking the bot up too: an unknown bot with a
        // bad request gets the validation error.
        Operation::IntentMetrics => {
            activity_ops::intent_metrics(bot_or_empty(bots, bot_id), body, clock)?
        }
        Operation::UtteranceMetrics => {
            activity_ops::utterance_metrics(bot_or_empty(bots, bot_id), body, clock)?
        }
        Operation::Utterances => activity_ops::utterances(bot_or_empty(bots, bot_id), body, clock)?,
        Operation::IntentPaths => {
            let answer = activity_ops::intent_paths(bot_or_empty(bots, bot_id), body, clock)?;
            bot(bots, bot_id)?;
            // The model's ListIntentPathsResponse has no botId.
            return Ok(answer);
        }
    };
    if matches!(
        op,
        Operation::IntentMetrics | Operation::UtteranceMetrics | Operation::Utterances
    ) {
        bot(bots, bot_id)?;
    }
    let mut answer = answer;
    answer["botId"] = json!(bot_id);
    Ok(answer)
}

/// The bot's data, or none, so that a request is validated before the bot
/// is looked up (an unknown bot answers 412 after validation passes).
fn bot_or_empty<'a>(bots: &'a BTreeMap<String, Arc<BotData>>, id: &str) -> &'a BotData {
    static EMPTY: std::sync::OnceLock<BotData> = std::sync::OnceLock::new();
    bots.get(id)
        .map(|b| b.as_ref())
        .unwrap_or_else(|| EMPTY.get_or_init(BotData::default))
}

fn bot<'a>(bots: &'a BTreeMap<String, Arc<BotData>>, id: &str) -> Result<&'a BotData, LexError> {
    bots.get(id).map(|b| b.as_ref()).ok_or_else(|| {
        LexError::new(
            StatusCode::PRECONDITION_FAILED,
            "PreconditionFailedException",
            format!("Failed to retrieve resource since it does not exist: bot {id}"),
        )
    })
}

fn validate_sessions(req: &AnalyticsDataRequest, clock: CallClock) -> Result<(), LexError> {
    let mut v = Violations::default();
    clock.check_range(&mut v, req.start_date_time, req.end_date_time);
    wire::check_common(
        &mut v,
        req.start_date_time,
        req.end_date_time,
        req.max_results,
        &req.filters,
        10,
        SESSION_FILTERS,
    );
    wire::check_sort_by(&mut v, &req.sort_by, SESSION_SORTS);
    v.finish()
}

/// What one metrics operation accepts, from the model (lex.md §11).
pub(super) struct MetricsRules<'a> {
    pub metrics: &'a [&'a str],
    pub max_metrics: usize,
    pub fields: &'a [&'a str],
    pub max_group_by: usize,
    pub filters: &'a [&'a str],
    pub max_filters: usize,
    /// The `binBy` names this operation takes (of `BIN_BY_NAMES`).
    pub bin_names: &'a [&'a str],
}

const SESSION_RULES: MetricsRules<'static> = MetricsRules {
    metrics: SESSION_METRICS,
    max_metrics: 7,
    fields: SESSION_FIELDS,
    max_group_by: 2,
    filters: SESSION_FILTERS,
    max_filters: 10,
    bin_names: &["ConversationStartTime"],
};

const STAGE_RULES: MetricsRules<'static> = MetricsRules {
    metrics: STAGE_METRICS,
    max_metrics: 5,
    fields: STAGE_FIELDS,
    max_group_by: 2,
    filters: STAGE_FILTERS,
    max_filters: 9,
    bin_names: &["ConversationStartTime"],
};

fn validate_metrics(
    req: &MetricsRequest,
    clock: CallClock,
    rules: &MetricsRules<'_>,
) -> Result<(), LexError> {
    let mut v = Violations::default();
    check_metrics(&mut v, req, clock, rules);
    v.finish()
}

/// The validation every metrics operation shares: range rules, the common
/// members, metrics, `binBy`, `groupBy` and where `order` may go.
pub(super) fn check_metrics(
    v: &mut Violations,
    req: &MetricsRequest,
    clock: CallClock,
    rules: &MetricsRules<'_>,
) {
    clock.check_range(v, req.start_date_time, req.end_date_time);
    wire::check_common(
        v,
        req.start_date_time,
        req.end_date_time,
        req.max_results,
        &req.filters,
        rules.max_filters,
        rules.filters,
    );
    v.required(&req.metrics, "metrics");
    v.list_len(&req.metrics, "metrics", 1, rules.max_metrics);
    for (i, m) in req.metrics.iter().flatten().enumerate() {
        let at = format!("metrics.{}.member", i + 1);
        v.one_of(&m.name, &format!("{at}.name"), rules.metrics);
        v.one_of(&m.statistic, &format!("{at}.statistic"), STATISTICS);
        v.opt_one_of(&m.order, &format!("{at}.order"), SORT_ORDERS);
    }
    v.list_len(&req.bin_by, "binBy", 1, 1);
    for (i, b) in req.bin_by.iter().flatten().enumerate() {
        let at = format!("binBy.{}.member", i + 1);
        v.one_of(&b.name, &format!("{at}.name"), BIN_BY_NAMES);
        if let Some(name) = b.name.as_deref()
            && BIN_BY_NAMES.contains(&name)
            && !rules.bin_names.contains(&name)
        {
            v.add(format!(
                "Value '{name}' at '{at}.name' is not valid for this operation; use {}",
                rules.bin_names.join(" or ")
            ));
        }
        v.one_of(&b.interval, &format!("{at}.interval"), INTERVALS);
        v.opt_one_of(&b.order, &format!("{at}.order"), SORT_ORDERS);
    }
    v.list_len(&req.group_by, "groupBy", 1, rules.max_group_by);
    for (i, g) in req.group_by.iter().flatten().enumerate() {
        v.one_of(
            &g.name,
            &format!("groupBy.{}.member.name", i + 1),
            rules.fields,
        );
    }
    let metric_orders = req
        .metrics
        .iter()
        .flatten()
        .filter(|m| m.order.is_some())
        .count();
    let bin_orders = req
        .bin_by
        .iter()
        .flatten()
        .filter(|b| b.order.is_some())
        .count();
    // lex.md §3: `order` may be given in metrics or in binBy, not both.
    if metric_orders > 0 && bin_orders > 0 {
        v.add("order can be specified in either metrics or binBy, but not both".into());
    }
    if metric_orders > 1 {
        v.add("order can be specified for at most one metric".into());
    }
}

fn range_of(start: Option<f64>, end: Option<f64>) -> Result<Option<TimeRange>, LexError> {
    let (Some(s), Some(e)) = (start.and_then(instant), end.and_then(instant)) else {
        return Err(LexError::validation(
            "startDateTime and endDateTime must be valid epoch seconds",
        ));
    };
    // An empty range is valid and holds nothing.
    Ok(TimeRange::new_unbounded(s, e))
}

pub(super) fn modality_word(m: Modality) -> &'static str {
    match m {
        Modality::Speech => "Speech",
        Modality::Text => "Text",
        Modality::Dtmf => "DTMF",
        Modality::MultiMode => "MultiMode",
    }
}

fn end_state_word(e: ConversationEndState) -> &'static str {
    END_STATES[e as usize]
}

fn eq(values: &[String], v: Option<&str>) -> bool {
    v.is_some_and(|v| values.iter().any(|x| x == v))
}

/// Applies the filters a record's fields can answer; `field` names them.
pub(super) fn matches(filters: &[Filter], field: impl Fn(&str) -> Option<String>) -> bool {
    filters.iter().all(|f| {
        let values = f.values.as_deref().unwrap_or_default();
        eq(
            values,
            field(f.name.as_deref().unwrap_or_default()).as_deref(),
        )
    })
}

/// The filter fields every record of the dataset carries, by their Lex names
/// (lex.md §5), and `None` for any other name. A macro because the records
/// are different types that share these fields by name only.
macro_rules! conversation_field {
    ($record:expr, $name:expr) => {
        match $name {
            "BotAliasId" => $record.bot_alias_id.clone(),
            "BotVersion" => $record.bot_version.clone(),
            "LocaleId" => $record.locale.clone(),
            "Modality" => $record
                .modality
                .map(|m| $crate::simulators::lex::ops::modality_word(m).to_owned()),
            "Channel" => $record.channel.clone(),
            "SessionId" => Some($record.session_id.clone()),
            _ => None,
        }
    };
}
pub(super) use conversation_field;

fn session_field(s: &Session, name: &str) -> Option<String> {
    match name {
        "OriginatingRequestId" => s.originating_request_id.clone(),
        "ConversationEndState" => s.end_state.map(|e| end_state_word(e).to_owned()),
        _ => conversation_field!(s, name),
    }
}

fn stage_field(r: &IntentStageRecord, name: &str) -> Option<String> {
    match name {
        "IntentName" => Some(r.intent_name.clone()),
        "IntentStageName" => Some(r.stage_name.clone()),
        // The dataset's stage records do not carry the originating request id.
        _ => conversation_field!(r, name),
    }
}

fn session_matches(s: &Session, filters: &[Filter]) -> bool {
    filters.iter().all(|f| {
        let values = f.values.as_deref().unwrap_or_default();
        match f.name.as_deref().unwrap_or_default() {
            "IntentPath" => {
                let path: String = s
                    .intents
                    .iter()
                    .flatten()
                    .map(|i| format!("/{i}"))
                    .collect();
                values.iter().any(|p| path.starts_with(p.as_str()))
            }
            "Duration" => {
                let d = s.duration_seconds;
                let mut vals = values.iter().filter_map(|v| wire::duration_secs(v));
                match f.operator.as_deref() {
                    Some("GT") => vals.all(|v| d > v),
                    Some("LT") => vals.all(|v| d < v),
                    _ => vals.any(|v| d == v),
                }
            }
            name => eq(values, session_field(s, name).as_deref()),
        }
    })
}

fn session_json(s: &Session) -> Value {
    let mut o = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.to_owned(), v);
        }
    };
    put("botAliasId", s.bot_alias_id.clone().map(Value::from));
    put("botVersion", s.bot_version.clone().map(Value::from));
    put("localeId", s.locale.clone().map(Value::from));
    put("channel", s.channel.clone().map(Value::from));
    put("sessionId", Some(s.session_id.clone().into()));
    put("conversationStartTime", Some(epoch_number(s.start_time)));
    put("conversationEndTime", Some(epoch_number(s.end_time)));
    put(
        "conversationDurationSeconds",
        Some(s.duration_seconds.into()),
    );
    put(
        "conversationEndState",
        s.end_state.map(|e| end_state_word(e).into()),
    );
    put("mode", s.modality.map(|m| modality_word(m).into()));
    put("numberOfTurns", s.turns.map(Value::from));
    put(
        "invokedIntentSamples",
        s.intents.as_ref().map(|l| {
            l.iter()
                .map(|i| json!({ "intentName": i }))
                .collect::<Vec<_>>()
                .into()
        }),
    );
    put(
        "originatingRequestId",
        s.originating_request_id.clone().map(Value::from),
    );
    Value::Object(o)
}

fn sessions(
    data: &BotData,
    req: &AnalyticsDataRequest,
    now: DateTime<Utc>,
) -> Result<Value, LexError> {
    let Some(range) = range_of(req.start_date_time, req.end_date_time)? else {
        return Ok(json!({ "sessions": [] }));
    };
    let filters = req.filters.as_deref().unwrap_or_default();
    let mut list: Vec<&Session> = data
        .sessions_in(&range)
        .filter(|s| ended_by(s, now) && session_matches(s, filters))
        .collect();
    let (name, order) = match &req.sort_by {
        Some(s) => (
            s.name.as_deref().unwrap_or_default(),
            s.order.as_deref().unwrap_or_default(),
        ),
        None => ("ConversationStartTime", "Descending"),
    };
    // A stable sort over start order: ties keep start order, not id order, so
    // clients cannot rely on any tie order (the real service promises none).
    let key = |s: &Session| match name {
        "NumberOfTurns" => s.turns.unwrap_or(0),
        "Duration" => s.duration_seconds,
        _ => s.start_time.timestamp_millis(),
    };
    if order == "Descending" {
        list.sort_by_key(|s| std::cmp::Reverse(key(s)));
    } else {
        list.sort_by_key(|s| key(s));
    }
    let (range, next) = wire::page(list.len(), &req.next_token, req.max_results)?;
    let sessions: Vec<Value> = list[range].iter().map(|s| session_json(s)).collect();
    Ok(wire::page_answer("sessions", sessions, next))
}

fn statistic(s: &str) -> Statistic {
    match s {
        "Avg" => Statistic::Avg,
        "Max" => Statistic::Max,
        _ => Statistic::Sum,
    }
}

fn statistic_word(s: Statistic) -> &'static str {
    match s {
        Statistic::Sum => "Sum",
        Statistic::Avg => "Avg",
        Statistic::Max => "Max",
    }
}

pub(super) fn interval(req: &MetricsRequest) -> Option<BinInterval> {
    req.bin_by.iter().flatten().next().map(|b| {
        if b.interval.as_deref() == Some("OneDay") {
            BinInterval::OneDay
        } else {
            BinInterval::OneHour
        }
    })
}

/// One result row before ordering and paging: bin start (ms), group keys, metrics.
pub(super) struct Row {
    pub bin_ms: Option<i64>,
    pub groups: Vec<(String, Option<String>)>,
    pub metrics: Vec<(String, String, Option<f64>)>,
}

pub(super) fn finish_rows(mut rows: Vec<Row>, req: &MetricsRequest) -> Result<Value, LexError> {
    let bin_order = req.bin_by.iter().flatten().find_map(|b| b.order.clone());
    let metric_order = req
        .metrics
        .iter()
        .flatten()
        .enumerate()
        .find_map(|(i, m)| m.order.clone().map(|o| (i, o)));
    // Default: by bin key descending (lex.md §4.2), groups ascending within.
    rows.sort_by(|a, b| {
        b.bin_ms
            .cmp(&a.bin_ms)
            .then_with(|| a.groups.cmp(&b.groups))
    });
    if let Some(o) = bin_order
        && o == "Ascending"
    {
        rows.sort_by(|a, b| {
            a.bin_ms
                .cmp(&b.bin_ms)
                .then_with(|| a.groups.cmp(&b.groups))
        });
    }
    if let Some((i, o)) = metric_order {
        let val = |r: &Row| r.metrics.get(i).and_then(|m| m.2).unwrap_or(f64::MIN);
        rows.sort_by(|a, b| {
            let c = val(a).total_cmp(&val(b));
            if o == "Descending" { c.reverse() } else { c }
        });
    }
    let (range, next) = wire::page(rows.len(), &req.next_token, req.max_results)?;
    let bin_name = req
        .bin_by
        .iter()
        .flatten()
        .next()
        .and_then(|b| b.name.clone())
        .unwrap_or_default();
    let results: Vec<Value> = rows[range]
        .iter()
        .map(|r| {
            let mut o = json!({
                "groupByKeys": r.groups.iter().map(|(name, value)| match value {
                    Some(v) => json!({ "name": name, "value": v }),
                    None => json!({ "name": name }),
                }).collect::<Vec<_>>(),
                "metricsResults": r.metrics.iter().map(|(name, stat, value)| match value {
                    Some(v) => json!({ "name": name, "statistic": stat, "value": v }),
                    None => json!({ "name": name, "statistic": stat }),
                }).collect::<Vec<_>>(),
            });
            if let Some(ms) = r.bin_ms {
                o["binKeys"] = json!([{ "name": bin_name, "value": ms }]);
            }
            o
        })
        .collect();
    Ok(wire::page_answer("results", results, next))
}

/// The domain's spec of each metric asked (`names`: name and statistic), the
/// name in the domain's words by `metric`.
fn metric_specs<M>(names: &[(String, String)], metric: impl Fn(&str) -> M) -> Vec<MetricSpec<M>> {
    names
        .iter()
        .map(|(n, s)| MetricSpec {
            name: metric(n),
            statistic: statistic(s),
        })
        .collect()
}

/// A bin of the domain's aggregation as a result row: `fields` and `names`
/// are the group fields and metrics asked, in order; `group_value` spells a
/// group's value in Lex's words (a group without a value has none).
fn bin_row<F, M>(
    b: &Bin<F, M>,
    fields: &[String],
    names: &[(String, String)],
    group_value: impl Fn(&GroupKey<F>) -> Option<String>,
) -> Row {
    Row {
        bin_ms: b.bin_interval.map(|_| b.bin_start.timestamp_millis()),
        groups: fields
            .iter()
            .zip(&b.groups)
            .map(|(name, g)| {
                let value = if g.value == NO_VALUE {
                    None
                } else {
                    group_value(g)
                };
                (name.clone(), value)
            })
            .collect(),
        metrics: names
            .iter()
            .zip(&b.values)
            .map(|((n, _), v)| (n.clone(), statistic_word(v.statistic).to_owned(), v.value))
            .collect(),
    }
}

/// Lex's analytics hold a conversation once it has ended (**guess**: the docs
/// do not say when a conversation appears; the least forgiving reading).
fn ended_by(s: &Session, now: DateTime<Utc>) -> bool {
    s.end_time <= now
}

fn session_metrics(
    data: &BotData,
    req: &MetricsRequest,
    now: DateTime<Utc>,
) -> Result<Value, LexError> {
    let Some(range) = range_of(req.start_date_time, req.end_date_time)? else {
        return Ok(json!({ "results": [] }));
    };
    let names: Vec<(String, String)> = req.metric_names();
    let specs = metric_specs(&names, |n| match n {
        "Success" => SessionMetricName::Success,
        "Failure" => SessionMetricName::Failure,
        "Dropped" => SessionMetricName::Dropped,
        "Duration" => SessionMetricName::Duration,
        "TurnsPerConversation" => SessionMetricName::TurnsPerConversation,
        "Concurrency" => SessionMetricName::Concurrency,
        _ => SessionMetricName::Count,
    });
    let fields: Vec<String> = req.group_names();
    let group_by: Vec<SessionGroupField> = fields
        .iter()
        .map(|f| match f.as_str() {
            "LocaleId" => SessionGroupField::Locale,
            _ => SessionGroupField::EndState,
        })
        .collect();
    let internal = |_| LexError::internal();
    let mut agg =
        SessionAggregator::new(None, range, &specs, interval(req), &group_by).map_err(internal)?;
    let filters = req.filters.as_deref().unwrap_or_default();
    for s in data
        .sessions_in(&range)
        .filter(|s| ended_by(s, now) && session_matches(s, filters))
    {
        agg.push(s).map_err(internal)?;
    }
    let rows = agg
        .finish()
        .iter()
        .map(|b| {
            bin_row(b, &fields, &names, |g| match g.field {
                SessionGroupField::EndState => ConversationEndState::ALL
                    .iter()
                    .find(|e| e.as_str() == g.value)
                    .map(|e| end_state_word(*e).to_owned()),
                _ => Some(g.value.clone()),
            })
        })
        .collect();
    finish_rows(rows, req)
}

fn stage_metrics(
    data: &BotData,
    req: &MetricsRequest,
    now: DateTime<Utc>,
) -> Result<Value, LexError> {
    let Some(range) = range_of(req.start_date_time, req.end_date_time)? else {
        return Ok(json!({ "results": [] }));
    };
    let names: Vec<(String, String)> = req.metric_names();
    let specs = metric_specs(&names, |n| match n {
        "Success" => IntentStageMetricName::Success,
        "Failed" => IntentStageMetricName::Failed,
        "Dropped" => IntentStageMetricName::Dropped,
        "Retry" => IntentStageMetricName::Retry,
        _ => IntentStageMetricName::Count,
    });
    let fields: Vec<String> = req.group_names();
    let group_by: Vec<IntentStageGroupField> = fields
        .iter()
        .map(|f| match f.as_str() {
            "SwitchedToIntent" => IntentStageGroupField::SwitchedToIntent,
            _ => IntentStageGroupField::IntentStageName,
        })
        .collect();
    let query = MetricsQuery::<IntentStageMetrics> {
        range,
        metrics: specs,
        bin_by: interval(req),
        group_by,
        filter: Default::default(),
    };
    let mut agg = Tally::new(None, &query).map_err(|_| LexError::internal())?;
    let filters = req.filters.as_deref().unwrap_or_default();
    for r in data
        .stages_in(&range)
        .filter(|r| r.end_time <= now && matches(filters, |n| stage_field(r, n)))
    {
        agg.push(r);
    }
    let rows = agg
        .finish()
        .iter()
        .map(|b| bin_row(b, &fields, &names, |g| Some(g.value.clone())))
        .collect();
    finish_rows(rows, req)
}
