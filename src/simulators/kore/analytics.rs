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

use super::sessions::parse_date;
use super::{Sim, parse_body};
use crate::domain::{IntentStageRecord, StageOutcome};
use crate::sources::memory::BotData;

const OP: &str = "getAnalytics";

/// One getAnalytics record the simulator can serve.
#[derive(Debug, Clone)]
pub struct KoreSimTask {
    /// `successintent`, `failintent`, `successtask`, `failtask` or `unhandledutterance`.
    pub kind: &'static str,
    pub session_id: String,
    pub task_name: String,
    pub timestamp: DateTime<Utc>,
    pub user_id: Option<String>,
    pub channel: Option<String>,
    pub language: Option<String>,
    /// Developer (test) traffic: the record's session is a developer session.
    pub is_developer: bool,
}

/// The channel ids getAnalytics accepts in `filters.channel`: the current
/// page's list (kore.md §8). Anything else is refused with 400.
const ACCEPTED_CHANNELS: [&str; 24] = [
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

/// Derives the records of every type from the stage records, sorted by time.
pub fn derive_tasks(data: &BotData) -> Vec<KoreSimTask> {
    let users: HashMap<&str, (Option<&String>, bool)> = data
        .sessions
        .iter()
        .map(|s| {
            (
                s.session_id.as_str(),
                (s.user_id.as_ref(), s.is_developer == Some(true)),
            )
        })
        .collect();
    // Stage records are sorted by time across sessions; group them per session.
    let mut per_session: HashMap<&str, Vec<&IntentStageRecord>> = HashMap::new();
    for r in &data.stages {
        per_session
            .entry(r.session_id.as_str())
            .or_default()
            .push(r);
    }
    let mut out = Vec::new();
    for (session_id, stages) in per_session {
        let (user, developer) = users.get(session_id).copied().unwrap_or((None, false));
        let user = user.cloned();
        let task = |kind, r: &IntentStageRecord, at| KoreSimTask {
            kind,
            session_id: session_id.to_owned(),
            task_name: r.intent_name.clone(),
            timestamp: at,
            user_id: user.clone(),
            channel: r.channel.clone(),
            language: r.locale.clone(),
            is_developer: developer,
        };
        // An intent occurrence ends with the stage that switches to the next
        // intent, or with the session's last stage.
        let mut occurrence: Vec<&IntentStageRecord> = Vec::new();
        for (i, r) in stages.iter().enumerate() {
            occurrence.push(r);
            let last = i + 1 == stages.len() || r.switched_to_intent.is_some();
            if !last {
                continue;
            }
            let first = occurrence[0];
            out.push(task("successintent", first, first.start_time));
            for (j, st) in occurrence.iter().enumerate() {
                if st.outcome == StageOutcome::Retry {
                    let kind = if j == 0 {
                        "unhandledutterance"
                    } else {
                        "failintent"
                    };
                    out.push(task(kind, st, st.start_time));
                }
            }
            match r.outcome {
                StageOutcome::Success => out.push(task("successtask", r, r.end_time)),
                StageOutcome::Failed | StageOutcome::Dropped => {
                    out.push(task("failtask", r, r.end_time))
                }
                // A retried last stage leaves the task's outcome unknown.
                StageOutcome::Retry => {}
            }
            occurrence.clear();
        }
    }
    out.sort_by(|a, b| {
        a.timestamp
            .cmp(&b.timestamp)
            .then_with(|| a.session_id.cmp(&b.session_id))
    });
    out
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
        _ => "Unhandled Utterances",
    };
    let result = if t.kind == "unhandledutterance" {
        "unhandledUtterance"
    } else {
        t.kind
    };
    json!({
        "_id": format!("63{:022x}", i),
        "messageId": format!("ms-{}-{i}", t.session_id),
        "sessionId": t.session_id,
        "utterance": format!("(simulated utterance for {})", t.task_name),
        "intent": t.task_name,
        "taskName": t.task_name,
        "taskId": format!("dg-{}", t.task_name.to_ascii_lowercase().replace(' ', "-")),
        "userId": t.user_id,
        "language": t.language,
        "channel": t.channel,
        "timestamp": t.timestamp.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        "pinned": false,
        "isAmbiguous": false,
        "winningIntent": [],
        "ambiguousIntents": [],
        "flow": [],
        "customTags": { "userTags": [], "sessionTags": [], "messageTags": [] },
        "NLAnalysis": { "result": result, "debugTitle": title, "botid": bot_id, "taskId": null, "input": [], "isDeveloper": t.is_developer },
    })
}

pub async fn get_analytics(
    State(sim): State<Arc<Sim>>,
    Path(bot_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let bot = match sim.admit(OP, &bot_id, &headers).await {
        Ok(bot) => bot,
        Err(r) => return r.into_response(),
    };
    let body: AnalyticsBody = match parse_body(&body) {
        Ok(b) => b,
        Err(e) => {
            return sim.bad_request(OP, &bot_id, false, &format!("Invalid request body: {e}"));
        }
    };
    // Invented texts below: validation messages are not documented.
    let kind = match body.kind.as_deref() {
        Some(
            k
            @ ("successintent" | "failintent" | "successtask" | "failtask" | "unhandledutterance"),
        ) => k.to_owned(),
        Some("performance") => {
            return sim.bad_request(OP, &bot_id, false, "type performance is not simulated");
        }
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
