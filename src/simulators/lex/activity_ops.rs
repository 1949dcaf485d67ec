//! The intent and utterance operations (lex.md §4.4–4.7, the official model in
//! `../shared/vendors/lex-analytics-model.json`): ListIntentMetrics,
//! ListUtteranceMetrics, ListUtteranceAnalyticsData and ListIntentPaths,
//! validated like the service and answered over the dataset's intent and
//! utterance records.
//!
//! Metrics are computed here, independently of botscope's domain aggregation:
//! every record contributes 1 to `Count` and 1 to the metric named by its
//! state (`Success`… for intents, `Detected`/`Missed` for utterances) and 0 to
//! the others; `Sum` adds, `Avg` is the mean per record, `Max` the largest.
//! `UtteranceTimestamp` is the utterance's time in epoch seconds (so `Max` is
//! the last time it was said). Guesses, where the model and guide are silent:
//! - intent records are in a range by the range rule on their own span
//!   (started ≥ start, ended < end), like stages; utterances by their
//!   timestamp in `[start, end)`;
//! - ListUtteranceMetrics bins by `UtteranceTimestamp` only (the other
//!   operations refuse it, so this one takes only it: the least forgiving
//!   reading);
//! - `attributes: [{"name": "LastUsedIntent"}]` answers, per result, the
//!   intent of the latest utterance in it;
//! - ListIntentPaths answers the intents that follow `intentPath` (`/` for
//!   the first intents of conversations): one node per next intent, its count
//!   the conversations in the range that followed the path to it, `Exit` when
//!   no conversation went on past it and `Inner` otherwise; at most 100 nodes,
//!   the most frequent first. A path must start with `/`; `//` and a trailing
//!   `/` (other than the root) are refused.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::ops::{
    CallClock, MetricsRules, Row, check_metrics, conversation_field, finish_rows, interval,
    matches, modality_word,
};
use super::wire::{
    self, AnalyticsDataRequest, Filter, LexError, MetricsRequest, Violations, epoch_number, instant,
};
use crate::domain::BotData;
use crate::domain::{
    IntentEndState, IntentRecord, Session, TimeRange, UtteranceRecord, UtteranceState, bin_start,
};

pub const INTENT_METRICS: &[&str] = &["Count", "Success", "Failure", "Switched", "Dropped"];
pub const INTENT_FIELDS: &[&str] = &["IntentName", "IntentEndState", "IntentLevel"];
pub const INTENT_FILTERS: &[&str] = &[
    "BotAliasId",
    "BotVersion",
    "LocaleId",
    "Modality",
    "Channel",
    "SessionId",
    "OriginatingRequestId",
    "IntentName",
    "IntentEndState",
];
pub const UTTERANCE_METRICS: &[&str] = &["Count", "Missed", "Detected", "UtteranceTimestamp"];
pub const UTTERANCE_FIELDS: &[&str] = &["UtteranceText", "UtteranceState"];
pub const UTTERANCE_FILTERS: &[&str] = &[
    "BotAliasId",
    "BotVersion",
    "LocaleId",
    "Modality",
    "Channel",
    "SessionId",
    "OriginatingRequestId",
    "UtteranceState",
    "UtteranceText",
];
const UTTERANCE_ATTRIBUTES: &[&str] = &["LastUsedIntent"];
const UTTERANCE_SORTS: &[&str] = &["UtteranceTimestamp"];
const PATH_FILTERS: &[&str] = &[
    "BotAliasId",
    "BotVersion",
    "LocaleId",
    "Modality",
    "Channel",
];
const INTENT_END_STATES: &[&str] = &["Success", "Failure", "Switched", "Dropped"];
const UTTERANCE_STATES: &[&str] = &["Detected", "Missed"];

fn intent_end_state_word(e: IntentEndState) -> &'static str {
    match e {
        IntentEndState::Success => "Success",
        IntentEndState::Failure => "Failure",
        IntentEndState::Switched => "Switched",
        IntentEndState::Dropped => "Dropped",
    }
}

fn utterance_state_word(s: UtteranceState) -> &'static str {
    match s {
        UtteranceState::Detected => "Detected",
        UtteranceState::Missed => "Missed",
    }
}

#[derive(Debug, Deserialize)]
pub struct Attribute {
    pub name: Option<String>,
}

/// ListUtteranceMetrics: the metrics request plus `attributes`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UtteranceMetricsRequest {
    #[serde(flatten)]
    pub metrics: MetricsRequest,
    pub attributes: Option<Vec<Attribute>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PathsRequest {
    pub start_date_time: Option<f64>,
    pub end_date_time: Option<f64>,
    pub intent_path: Option<String>,
    pub filters: Option<Vec<Filter>>,
}

/// The values a filter of `name` may hold, where the model fixes them.
fn check_filter_values(v: &mut Violations, filters: &Option<Vec<Filter>>) {
    for (i, f) in filters.iter().flatten().enumerate() {
        let allowed = match f.name.as_deref() {
            Some("IntentEndState") => INTENT_END_STATES,
            Some("UtteranceState") => UTTERANCE_STATES,
            _ => continue,
        };
        for val in f.values.iter().flatten() {
            if !allowed.contains(&val.as_str()) {
                v.add(format!(
                    "Value '{val}' at 'filters.{}.member.values' must be one of [{}]",
                    i + 1,
                    allowed.join(", ")
                ));
            }
        }
    }
}

const INTENT_RULES: MetricsRules<'static> = MetricsRules {
    metrics: INTENT_METRICS,
    max_metrics: 5,
    fields: INTENT_FIELDS,
    max_group_by: 3,
    filters: INTENT_FILTERS,
    max_filters: 9,
    bin_names: &["ConversationStartTime"],
};

const UTTERANCE_RULES: MetricsRules<'static> = MetricsRules {
    metrics: UTTERANCE_METRICS,
    max_metrics: 4,
    fields: UTTERANCE_FIELDS,
    max_group_by: 2,
    filters: UTTERANCE_FILTERS,
    max_filters: 9,
    bin_names: &["UtteranceTimestamp"],
};

fn range_of(start: Option<f64>, end: Option<f64>) -> Option<TimeRange> {
    TimeRange::new_unbounded(start.and_then(instant)?, end.and_then(instant)?)
}

fn intent_field(r: &IntentRecord, name: &str) -> Option<String> {
    match name {
        "OriginatingRequestId" => r.originating_request_id.clone(),
        "IntentName" => Some(r.intent_name.clone()),
        "IntentEndState" => Some(intent_end_state_word(r.end_state).to_owned()),
        "IntentLevel" => Some(r.level.to_string()),
        _ => conversation_field!(r, name),
    }
}

fn utterance_field(u: &UtteranceRecord, name: &str) -> Option<String> {
    match name {
        "OriginatingRequestId" => u.originating_request_id.clone(),
        "UtteranceState" => Some(utterance_state_word(u.state).to_owned()),
        "UtteranceText" => Some(u.text.clone()),
        _ => conversation_field!(u, name),
    }
}

/// A result row's bin (ms) and group values.
type RowKey = (Option<i64>, Vec<(String, Option<String>)>);

/// One cell's accumulators per requested metric: (sum, max, records).
#[derive(Default, Clone)]
struct Acc {
    sum: f64,
    max: Option<f64>,
    n: f64,
}

/// Aggregates records into result rows: bins by `time`, groups by the
/// request's fields, each metric's per-record value from `value`. `last` is
/// an attribute kept per row from its latest record.
fn aggregate<'a, R: 'a>(
    records: impl Iterator<Item = &'a R>,
    req: &MetricsRequest,
    time: impl Fn(&R) -> DateTime<Utc>,
    field: impl Fn(&R, &str) -> Option<String>,
    value: impl Fn(&R, &str) -> f64,
    last: impl Fn(&R) -> Option<String>,
) -> Vec<(Row, Option<String>)> {
    let bins = interval(req);
    let fields: Vec<String> = req.group_names();
    let metrics: Vec<(String, String)> = req.metric_names();
    type Latest = Option<(DateTime<Utc>, Option<String>)>;
    let mut cells: BTreeMap<RowKey, (Vec<Acc>, Latest)> = BTreeMap::new();
    for r in records {
        let t = time(r);
        let bin = bins.map(|b| bin_start(t, b).timestamp_millis());
        let groups = fields.iter().map(|f| (f.clone(), field(r, f))).collect();
        let (accs, latest) = cells
            .entry((bin, groups))
            .or_insert_with(|| (vec![Acc::default(); metrics.len()], None));
        for (acc, (name, _)) in accs.iter_mut().zip(&metrics) {
            let v = value(r, name);
            acc.sum += v;
            acc.n += 1.0;
            acc.max = Some(acc.max.map_or(v, |m: f64| m.max(v)));
        }
        if latest.as_ref().is_none_or(|(at, _)| t >= *at) {
            *latest = Some((t, last(r)));
        }
    }
    cells
        .into_iter()
        .map(|((bin_ms, groups), (accs, latest))| {
            let row = Row {
                bin_ms,
                groups,
                metrics: metrics
                    .iter()
                    .zip(&accs)
                    .map(|((name, stat), a)| {
                        let v = match stat.as_str() {
                            "Avg" => a.sum / a.n,
                            "Max" => a.max.unwrap_or(0.0),
                            _ => a.sum,
                        };
                        (name.clone(), stat.clone(), Some(v))
                    })
                    .collect(),
            };
            (row, latest.and_then(|(_, l)| l))
        })
        .collect()
}

pub fn intent_metrics(data: &BotData, body: &[u8], clock: CallClock) -> Result<Value, LexError> {
    let req: MetricsRequest = wire::parse_body(body)?;
    let mut v = Violations::default();
    check_metrics(&mut v, &req, clock, &INTENT_RULES);
    check_filter_values(&mut v, &req.filters);
    v.finish()?;
    let Some(range) = range_of(req.start_date_time, req.end_date_time) else {
        return Ok(json!({ "results": [] }));
    };
    let filters = req.filters.as_deref().unwrap_or_default();
    let records = data
        .intents_in(&range)
        .filter(|r| r.end_time <= clock.now && matches(filters, |n| intent_field(r, n)));
    let rows = aggregate(
        records,
        &req,
        |r| r.start_time,
        intent_field,
        |r, metric| match metric {
            "Count" => 1.0,
            m => f64::from(u8::from(intent_end_state_word(r.end_state) == m)),
        },
        |_| None,
    );
    finish_rows(rows.into_iter().map(|(r, _)| r).collect(), &req)
}

pub fn utterance_metrics(data: &BotData, body: &[u8], clock: CallClock) -> Result<Value, LexError> {
    let req: UtteranceMetricsRequest = wire::parse_body(body)?;
    let mut v = Violations::default();
    let m = &req.metrics;
    check_metrics(&mut v, m, clock, &UTTERANCE_RULES);
    check_filter_values(&mut v, &m.filters);
    v.list_len(&req.attributes, "attributes", 1, 1);
    for (i, a) in req.attributes.iter().flatten().enumerate() {
        v.one_of(
            &a.name,
            &format!("attributes.{}.member.name", i + 1),
            UTTERANCE_ATTRIBUTES,
        );
    }
    v.finish()?;
    let Some(range) = range_of(m.start_date_time, m.end_date_time) else {
        return Ok(json!({ "results": [] }));
    };
    let filters = m.filters.as_deref().unwrap_or_default();
    let records = data
        .utterances_in(&range)
        .iter()
        .filter(|u| u.timestamp <= clock.now && matches(filters, |n| utterance_field(u, n)));
    let rows = aggregate(
        records,
        m,
        |u| u.timestamp,
        utterance_field,
        |u, metric| match metric {
            "Count" => 1.0,
            "UtteranceTimestamp" => u.timestamp.timestamp_millis() as f64 / 1000.0,
            s => f64::from(u8::from(utterance_state_word(u.state) == s)),
        },
        |u| u.intent_name.clone(),
    );
    let with_attribute = req.attributes.is_some();
    let lasts: BTreeMap<RowKey, Option<String>> = rows
        .iter()
        .map(|(r, l)| ((r.bin_ms, r.groups.clone()), l.clone()))
        .collect();
    let mut out = finish_rows(rows.into_iter().map(|(r, _)| r).collect(), m)?;
    if with_attribute {
        // finish_rows ordered and paged the rows; find each one's attribute.
        let bin_name = m
            .bin_by
            .iter()
            .flatten()
            .next()
            .and_then(|b| b.name.clone());
        for result in out["results"].as_array_mut().into_iter().flatten() {
            let bin_ms = bin_name
                .as_ref()
                .and_then(|_| result["binKeys"][0]["value"].as_i64());
            let groups: Vec<(String, Option<String>)> = result["groupByKeys"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|g| {
                    (
                        g["name"].as_str().unwrap_or_default().to_owned(),
                        g["value"].as_str().map(str::to_owned),
                    )
                })
                .collect();
            let last = lasts.get(&(bin_ms, groups)).cloned().flatten();
            result["attributeResults"] = json!([{ "lastUsedIntent": last }]);
        }
    }
    Ok(out)
}

/// The session an utterance belongs to: started at most 4 h before it.
fn session_of<'a>(data: &'a BotData, u: &UtteranceRecord) -> Option<&'a Session> {
    let upto = data
        .sessions
        .partition_point(|s| s.start_time <= u.timestamp);
    data.sessions[..upto]
        .iter()
        .rev()
        .take_while(|s| u.timestamp - s.start_time <= chrono::Duration::hours(4))
        .find(|s| s.session_id == u.session_id)
}

fn utterance_json(data: &BotData, u: &UtteranceRecord) -> Value {
    let mut o = serde_json::Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            o.insert(k.to_owned(), v);
        }
    };
    let session = session_of(data, u);
    put("botAliasId", u.bot_alias_id.clone().map(Value::from));
    put("botVersion", u.bot_version.clone().map(Value::from));
    put("localeId", u.locale.clone().map(Value::from));
    put("sessionId", Some(u.session_id.clone().into()));
    put("channel", u.channel.clone().map(Value::from));
    put("mode", u.modality.map(|m| modality_word(m).into()));
    put(
        "conversationStartTime",
        session.map(|s| epoch_number(s.start_time)),
    );
    put(
        "conversationEndTime",
        session.map(|s| epoch_number(s.end_time)),
    );
    put("utterance", Some(u.text.clone().into()));
    put("utteranceTimestamp", Some(epoch_number(u.timestamp)));
    put(
        "audioVoiceDurationMillis",
        u.duration_millis.map(Value::from),
    );
    put(
        "utteranceUnderstood",
        Some((u.state == UtteranceState::Detected).into()),
    );
    put("inputType", u.input_type.clone().map(Value::from));
    put("outputType", u.output_type.clone().map(Value::from));
    put(
        "associatedIntentName",
        u.intent_name.clone().map(Value::from),
    );
    put("associatedSlotName", u.slot_name.clone().map(Value::from));
    put("intentState", u.intent_state.clone().map(Value::from));
    put(
        "dialogActionType",
        u.dialog_action_type.clone().map(Value::from),
    );
    put(
        "utteranceRequestId",
        Some(
            format!(
                "{}-{}",
                u.session_id,
                u.timestamp.timestamp_millis() % 1_000_000
            )
            .into(),
        ),
    );
    put(
        "botResponses",
        Some(
            u.bot_responses
                .iter()
                .map(|r| json!({ "content": r, "contentType": "PlainText" }))
                .collect::<Vec<_>>()
                .into(),
        ),
    );
    Value::Object(o)
}

pub fn utterances(data: &BotData, body: &[u8], clock: CallClock) -> Result<Value, LexError> {
    let req: AnalyticsDataRequest = wire::parse_body(body)?;
    let mut v = Violations::default();
    clock.check_range(&mut v, req.start_date_time, req.end_date_time);
    wire::check_common(
        &mut v,
        req.start_date_time,
        req.end_date_time,
        req.max_results,
        &req.filters,
        9,
        UTTERANCE_FILTERS,
    );
    check_filter_values(&mut v, &req.filters);
    wire::check_sort_by(&mut v, &req.sort_by, UTTERANCE_SORTS);
    v.finish()?;
    let Some(range) = range_of(req.start_date_time, req.end_date_time) else {
        return Ok(json!({ "utterances": [] }));
    };
    let filters = req.filters.as_deref().unwrap_or_default();
    let mut list: Vec<&UtteranceRecord> = data
        .utterances_in(&range)
        .iter()
        .filter(|u| u.timestamp <= clock.now && matches(filters, |n| utterance_field(u, n)))
        .collect();
    // Without sortBy, newest first (as for sessions, a guess).
    let ascending = req
        .sort_by
        .as_ref()
        .is_some_and(|s| s.order.as_deref() == Some("Ascending"));
    if !ascending {
        list.reverse();
    }
    let (page, next) = wire::page(list.len(), &req.next_token, req.max_results)?;
    let utterances: Vec<Value> = list[page].iter().map(|u| utterance_json(data, u)).collect();
    Ok(wire::page_answer("utterances", utterances, next))
}

pub fn intent_paths(data: &BotData, body: &[u8], clock: CallClock) -> Result<Value, LexError> {
    let req: PathsRequest = wire::parse_body(body)?;
    let mut v = Violations::default();
    clock.check_range(&mut v, req.start_date_time, req.end_date_time);
    wire::check_common(
        &mut v,
        req.start_date_time,
        req.end_date_time,
        None,
        &req.filters,
        5,
        PATH_FILTERS,
    );
    v.required(&req.intent_path, "intentPath");
    let prefix: Vec<&str> = match req.intent_path.as_deref() {
        None => Vec::new(),
        Some(p) if p.is_empty() || p.len() > 1024 => {
            v.add(format!(
                "Value at 'intentPath' failed to satisfy constraint: Member must have length between 1 and 1024, got {}",
                p.len()
            ));
            Vec::new()
        }
        Some("/") => Vec::new(),
        Some(p) => {
            let parts: Vec<&str> = p.strip_prefix('/').unwrap_or("").split('/').collect();
            if !p.starts_with('/') || parts.iter().any(|s| s.is_empty()) {
                v.add(format!(
                    "Value '{p}' at 'intentPath' is not a valid intent path; use '/' or '/Intent1/Intent2'"
                ));
            }
            parts
        }
    };
    v.finish()?;
    let Some(range) = range_of(req.start_date_time, req.end_date_time) else {
        return Ok(json!({ "nodeSummaries": [] }));
    };
    let filters = req.filters.as_deref().unwrap_or_default();
    // Each conversation's intents in order, from the records of the range.
    let mut paths: BTreeMap<&str, Vec<&IntentRecord>> = BTreeMap::new();
    for r in data
        .intents_in(&range)
        .filter(|r| r.end_time <= clock.now && matches(filters, |n| intent_field(r, n)))
    {
        paths.entry(r.session_id.as_str()).or_default().push(r);
    }
    // next intent → (conversations reaching it, conversations going on past it)
    let mut next: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for records in paths.values_mut() {
        records.sort_by_key(|r| r.level);
        let names: Vec<&str> = records.iter().map(|r| r.intent_name.as_str()).collect();
        if names.len() <= prefix.len() || names[..prefix.len()] != prefix[..] {
            continue;
        }
        let e = next.entry(names[prefix.len()]).or_default();
        e.0 += 1;
        if names.len() > prefix.len() + 1 {
            e.1 += 1;
        }
    }
    let mut nodes: Vec<(&str, u64, u64)> =
        next.into_iter().map(|(n, (c, on))| (n, c, on)).collect();
    nodes.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    nodes.truncate(100);
    let base = if prefix.is_empty() {
        String::new()
    } else {
        format!("/{}", prefix.join("/"))
    };
    let summaries: Vec<Value> = nodes
        .into_iter()
        .map(|(name, count, went_on)| {
            json!({
                "intentName": name,
                "intentPath": format!("{base}/{name}"),
                "intentCount": count,
                "intentLevel": prefix.len() + 1,
                "nodeType": if went_on > 0 { "Inner" } else { "Exit" },
            })
        })
        .collect();
    Ok(json!({ "nodeSummaries": summaries }))
}
