//! `POST /api/public/bot/{botId}/getAnalytics` (kore.md §2), with records
//! derived from the dataset's intent-stage records (see the module docs of
//! `simulators::kore` for the invented derivation).

use std::collections::HashMap;
use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use super::sessions::parse_date;
use crate::domain::BotData;
use crate::domain::{IntentEndState, UtteranceRecord, UtteranceState};

const OP: &str = "getAnalytics";

/// One getAnalytics record the simulator can serve.
#[derive(Debug, Clone)]
pub struct KoreSimTask {
    /// `successintent`, `failintent`, `successtask`, `failtask`,
    /// `unhandledutterance` or `performance`.
    pub kind: &'static str,
    pub session_id: String,
    /// The task (Kore's unit of an intent's dialog); none for an unhandled
    /// utterance.
    pub task_name: Option<String>,
    /// What the user said (for task records: the utterance that started it).
    pub utterance: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub language: Option<String>,
    /// Developer (test) traffic: the record's session is a developer session.
    pub is_developer: bool,
}

/// The channel ids getAnalytics accepts in `filters.channel`: the current
/// page's list (kore.md §8). Anything else is refused with 400.
pub const ACCEPTED_CHANNELS: [&str; 24] = [
    "msteams",
    "twitter",
    "spark",
    "rtm",
    "facebook",
    "slack",
    "kore",
    "email",
    "sms",
    "ringcentral",
    "jabber",
    "yammer",
    "alexa",
    "twiliovoice",
    "telegram",
    "ivr",
    "ivrVoice",
    "smartassist",
    "line",
    "liveperson",
    "googleactions",
    "hangoutchat",
    "mattermost",
    "rcs",
];

/// Derives the records of every type from the conversations' intents and
/// utterances, sorted by time (the pairing of types and meanings is inferred
/// from `NLAnalysis.debugTitle`, kore.md §2.4, and **UNCERTAIN**):
/// - `successintent` ("Intent Match Successful"): the utterance that started
///   a task (the first one understood within an intent occurrence);
/// - `failintent` ("Intent Match Failed"): an utterance not understood within
///   a task (the dataset keeps its task);
/// - `unhandledutterance` ("Unhandled Utterances"): an utterance not
///   understood and tied to no task;
/// - `successtask` ("Intent Completed Successfully"): a task that ended in
///   success, at its end; `failtask` ("Intent Failed/Abandoned"): one that
///   failed, was dropped or was left for another task;
/// - `performance`: one record per task, its dialog node's response time.
pub fn derive_tasks(data: &BotData) -> Vec<KoreSimTask> {
    let users: HashMap<&str, Option<&String>> = data
        .sessions
        .iter()
        .map(|s| (s.session_id.as_str(), s.user_id.as_ref()))
        .collect();
    let mut by_session: HashMap<&str, Vec<&UtteranceRecord>> = HashMap::new();
    for u in &data.utterances {
        by_session.entry(u.session_id.as_str()).or_default().push(u);
    }
    let mut out = Vec::new();
    let record =
        |kind, session_id: &str, task: Option<&str>, at, text: Option<&str>, i: &IntentLike| {
            KoreSimTask {
                kind,
                session_id: session_id.to_owned(),
                task_name: task.map(str::to_owned),
                timestamp: at,
                user_id: users.get(session_id).copied().flatten().cloned(),
                channel: i.channel.clone(),
                language: i.language.clone(),
                is_developer: i.is_developer,
                utterance: text.map(str::to_owned),
            }
        };
    for r in &data.intents {
        let like = IntentLike {
            channel: r.channel.clone(),
            language: r.locale.clone(),
            is_developer: r.is_developer == Some(true),
        };
        let said = by_session.get(r.session_id.as_str());
        let within = said
            .into_iter()
            .flatten()
            .filter(|u| u.timestamp >= r.start_time && u.timestamp <= r.end_time);
        let mut started: Option<&UtteranceRecord> = None;
        for u in within {
            match u.state {
                UtteranceState::Detected if started.is_none() => {
                    started = Some(u);
                    out.push(record(
                        "successintent",
                        &r.session_id,
                        Some(&r.intent_name),
                        u.timestamp,
                        Some(&u.text),
                        &like,
                    ));
                }
                UtteranceState::Detected => {}
                UtteranceState::Missed => match &u.intent_name {
                    Some(task) => out.push(record(
                        "failintent",
                        &r.session_id,
                        Some(task),
                        u.timestamp,
                        Some(&u.text),
                        &like,
                    )),
                    None => out.push(record(
                        "unhandledutterance",
                        &r.session_id,
                        None,
                        u.timestamp,
                        Some(&u.text),
                        &like,
                    )),
                },
            }
        }
        let text = started.map(|u| u.text.as_str());
        let kind = if r.end_state == IntentEndState::Success {
            "successtask"
        } else {
            "failtask"
        };
        // The task's outcome at its end, and its performance record.
        for kind in [kind, "performance"] {
            out.push(record(
                kind,
                &r.session_id,
                Some(&r.intent_name),
                r.end_time,
                text,
                &like,
            ));
        }
    }
    // Utterances before a conversation's first task (out-of-scope openers).
    let mut first_task: HashMap<&str, DateTime<Utc>> = HashMap::new();
    for r in &data.intents {
        let t = first_task
            .entry(r.session_id.as_str())
            .or_insert(r.start_time);
        *t = (*t).min(r.start_time);
    }
    for u in &data.utterances {
        let first = first_task.get(u.session_id.as_str());
        if u.state == UtteranceState::Missed && first.is_none_or(|t| u.timestamp < *t) {
            let like = IntentLike {
                channel: u.channel.clone(),
                language: u.locale.clone(),
                is_developer: u.is_developer == Some(true),
            };
            out.push(record(
                "unhandledutterance",
                &u.session_id,
                None,
                u.timestamp,
                Some(&u.text),
                &like,
            ));
        }
    }
    out.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    out
}

/// What a record takes from the conversation it belongs to.
struct IntentLike {
    channel: Option<String>,
    language: Option<String>,
    is_developer: bool,
}

#[derive(Debug, Default, Deserialize)]
pub struct AnalyticsBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    filters: Option<Filters>,
    limit: Option<u64>,
    skip: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Filters {
    from: Option<String>,
    to: Option<String>,
    channel: Option<Vec<String>>,
    user_id: Option<Vec<String>>,
    is_developer: Option<bool>,
}

fn record_json(bot_id: &str, t: &KoreSimTask, i: usize) -> Value {
    let title = match t.kind {
        "successintent" => "Intent Match Successful",
        "failintent" => "Intent Match Failed",
        "successtask" => "Intent Completed Successfully",
        "failtask" => "Intent Failed/Abandoned",
        "performance" => "Performance",
        _ => "Unhandled Utterances",
    };
    let result = if t.kind == "unhandledutterance" {
        "unhandledUtterance"
    } else {
        t.kind
    };
    let task_id = t
        .task_name
        .as_ref()
        .map(|n| format!("dg-{}", n.to_ascii_lowercase().replace(' ', "-")));
    let mut record = json!({
        "_id": format!("63{:022x}", i),
        "messageId": format!("ms-{}-{i}", t.session_id),
        "sessionId": t.session_id,
        "utterance": t.utterance,
        "intent": t.task_name,
        "taskName": t.task_name,
        "taskId": task_id,
        "userId": t.user_id,
        "channelUId": t.user_id.as_ref().map(|u| format!("{u}@channel")),
        "language": t.language,
        "channel": t.channel,
        "timestamp": t.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "pinned": false,
        "isAmbiguous": false,
        "winningIntent": [],
        "ambiguousIntents": [],
        "flow": [],
        "koralogstatusId": format!("f-{i:x}"),
        "customTags": { "userTags": [], "sessionTags": [], "messageTags": [] },
        "NLAnalysis": {
            "result": result, "debugTitle": title, "botid": bot_id, "taskId": task_id,
            "input": t.utterance.iter().collect::<Vec<_>>(), "isDeveloper": t.is_developer,
        },
    });
    if t.kind == "performance" {
        // The "Performance metric only" fields (kore.md §2.4), all strings.
        record["nodeName"] = json!(format!(
            "{}_dialog",
            t.task_name.as_deref().unwrap_or("task")
        ));
        record["type"] = json!("intent");
        record["status"] = json!("success");
        record["statusCode"] = json!("200");
        record["responseTime"] = json!(format!("{}", 80 + (i % 400)));
    }
    record
}

/// The longest `from`–`to` range one call may ask (a guess, see above).
pub const MAX_RANGE_DAYS: i64 = 7;

pub async fn get_analytics(
    State(sim): State<Arc<Sim>>,
    Path(bot_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (bot, body): (_, AnalyticsBody) = match sim.admit(OP, &bot_id, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(r) => return r,
    };
    // Invented texts below: validation messages are not documented.
    let kind = match body.kind.as_deref() {
        Some(
            k @ ("successintent" | "failintent" | "successtask" | "failtask" | "unhandledutterance"
            | "performance"),
        ) => k.to_owned(),
        _ => return sim.bad_request(OP, &bot_id, false, "type is required and must be valid"),
    };
    let filters = body.filters.unwrap_or_default();
    let (Some(from), Some(to)) = (
        filters.from.as_deref().and_then(parse_date),
        filters.to.as_deref().and_then(parse_date),
    ) else {
        return sim.bad_request(
            OP,
            &bot_id,
            false,
            "filters.from and filters.to are required",
        );
    };
    // **Guess** (NOT DOCUMENTED, kore.md §2.2): getAnalytics takes at most
    // 7 days per call, as getSessions does — the least forgiving reading;
    // the published samples span about 14 days.
    if to <= from || to - from > chrono::Duration::days(MAX_RANGE_DAYS) {
        return sim.bad_request(
            OP,
            &bot_id,
            false,
            &format!("filters.from must be before filters.to, at most {MAX_RANGE_DAYS} days apart"),
        );
    }
    // "the default channel is rtm" (kore.md §2.2).
    let channels = filters.channel.unwrap_or_else(|| vec!["rtm".into()]);
    if let Some(c) = channels
        .iter()
        .find(|c| !ACCEPTED_CHANNELS.contains(&c.as_str()))
    {
        return sim.bad_request(OP, &bot_id, false, &format!("Invalid channel: {c}"));
    }
    // **Guess** (NOT DOCUMENTED): without `filters.isDeveloper` developer
    // traffic is included — the least forgiving reading.
    let include_developer = filters.is_developer.unwrap_or(true);
    // Records of what has not happened yet do not exist.
    let to = to.min(chrono::Utc::now());
    let lo = bot.tasks.partition_point(|t| t.timestamp < from);
    let hi = bot.tasks.partition_point(|t| t.timestamp < to);
    let matched: Vec<(usize, &KoreSimTask)> = (lo..hi)
        .map(|i| (i, &bot.tasks[i]))
        .filter(|(_, t)| t.kind == kind)
        .filter(|(_, t)| include_developer || !t.is_developer)
        .filter(|(_, t)| t.channel.as_ref().is_some_and(|c| channels.contains(c)))
        .filter(|(_, t)| {
            filters
                .user_id
                .as_ref()
                .is_none_or(|u| t.user_id.as_ref().is_some_and(|id| u.contains(id)))
        })
        .collect();
    let skip = body.skip.unwrap_or(0) as usize;
    let limit = (body.limit.unwrap_or(50) as usize).clamp(1, sim.config.max_page_size);
    let result: Vec<Value> = matched
        .iter()
        .skip(skip)
        .take(limit)
        .map(|(i, t)| record_json(&bot_id, t, *i))
        .collect();
    let more = skip + result.len() < matched.len();
    Json(json!({ "moreAvailable": more, "result": result, "totalCount": matched.len() }))
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulators::dataset::{Dataset, DatasetBot};
    use chrono::TimeZone;

    /// Records agree with the sessions getSessions serves: same session ids,
    /// times within the session, its channel, language and developer mark,
    /// tasks among its intents; every type appears.
    #[test]
    fn records_of_every_type_agree_with_the_sessions() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let bot = DatasetBot::kore("k", 300, [0.6, 0.25, 0.15]);
        let d = Dataset::generate(4, &[bot], t0, t0 + chrono::Duration::days(2));
        let data = &d.bots[0].1;
        let sessions: HashMap<&str, &crate::domain::Session> = data
            .sessions
            .iter()
            .map(|s| (s.session_id.as_str(), s))
            .collect();
        let records = derive_tasks(data);
        for kind in [
            "successintent",
            "failintent",
            "successtask",
            "failtask",
            "unhandledutterance",
            "performance",
        ] {
            assert!(records.iter().any(|r| r.kind == kind), "{kind}");
        }
        for r in &records {
            let s = sessions[r.session_id.as_str()];
            assert!(
                r.timestamp >= s.start_time && r.timestamp <= s.end_time,
                "{r:?}"
            );
            assert_eq!(r.channel, s.channel);
            assert_eq!(r.language, s.locale);
            assert_eq!(r.is_developer, s.is_developer == Some(true));
            if let Some(task) = &r.task_name {
                assert!(s.intents.iter().flatten().any(|i| i == task), "{r:?}");
            }
            let utterance_kind = matches!(
                r.kind,
                "successintent" | "failintent" | "unhandledutterance"
            );
            assert!(!utterance_kind || r.utterance.is_some());
            assert_eq!(r.kind == "unhandledutterance", r.task_name.is_none());
        }
        let tasks = records
            .iter()
            .filter(|r| matches!(r.kind, "successtask" | "failtask"))
            .count();
        assert_eq!(
            tasks,
            data.intents.len(),
            "one task record per intent occurrence"
        );
    }
}
