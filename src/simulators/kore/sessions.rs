//! `POST /api/public/bot/{botId}/getSessions?containmentType=…` (kore.md §1).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use super::Sim;
use crate::domain::Session;

const OP: &str = "getSessions";

#[derive(Debug, Deserialize)]
pub struct SessionsParams {
    #[serde(rename = "containmentType")]
    containment_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionsBody {
    user_id: Option<String>,
    skip: Option<u64>,
    offset: Option<u64>,
    limit: Option<u64>,
    date_from: Option<String>,
    date_to: Option<String>,
    tags: Option<TagFilter>,
    session_type: Option<String>,
    session_id: Option<Vec<String>>,
}

/// `{"and":[{"name","values","type"}]}` (kore.md §1.3, §3.2).
#[derive(Debug, Default, Deserialize)]
pub struct TagFilter {
    #[serde(default)]
    and: Vec<TagCondition>,
}

#[derive(Debug, Deserialize)]
pub struct TagCondition {
    name: String,
    #[serde(default)]
    values: Vec<String>,
    #[serde(rename = "type")]
    scope: Option<String>,
}

/// `yyyy-mm-dd` (midnight GMT, kore.md §1.3) or `yyyy-mm-ddThh:mm:ss.msZ`.
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Some(d.and_hms_opt(0, 0, 0)?.and_utc());
    }
    DateTime::parse_from_rfc3339(s.trim())
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

fn iso(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// getSessions' order: latest start first (kore.md §1.3), ties by id so that
/// pages are stable.
pub(super) fn latest_first(a: &Session, b: &Session) -> std::cmp::Ordering {
    b.start_time
        .cmp(&a.start_time)
        .then_with(|| b.session_id.cmp(&a.session_id))
}

/// A session as Kore writes it: mixed snake_case and camelCase (kore.md §1.4).
pub(super) fn session_json(bot_id: &str, s: &Session) -> Value {
    let tags = |scope: &str| -> Vec<Value> {
        s.tags
            .iter()
            .flatten()
            .filter(|t| t.scope == scope)
            .map(|t| json!({ "name": t.name, "value": t.value }))
            .collect()
    };
    json!({
        "sessionId": s.session_id,
        "botId": bot_id,
        "channel": s.channel,
        "userId": s.user_id,
        "start_time": iso(s.start_time),
        "end_time": iso(s.end_time),
        "session_lang": s.locale.iter().collect::<Vec<_>>(),
        "sessionType": if s.interactive.unwrap_or(true) { "interactive" } else { "non-interactive" },
        "isDeveloper": s.is_developer.unwrap_or(false),
        "sessionStatus": "closed",
        "tags": { "userTags": tags("user"), "sessionTags": tags("session"), "altText": [] },
        "noOfMessagesExchanged": s.turns.unwrap_or(0),
        "noOfTasksExecuted": s.tasks_executed.unwrap_or(0),
        "containmentType": s.vendor_end_state,
    })
}

/// A session still open at the moment of the call: `sessionStatus: "active"`
/// and no end yet. What `end_time` holds then is NOT DOCUMENTED (kore.md §8),
/// so the simulator sends both readings: `null` for sessions with an even
/// first id digit, no `end_time` key for the others. It has no containment
/// type yet either, so none is sent.
pub(super) fn open_session_json(bot_id: &str, s: &Session) -> Value {
    let mut v = session_json(bot_id, s);
    v["sessionStatus"] = json!("active");
    if let Some(o) = v.as_object_mut() {
        o.remove("containmentType");
        let even = s
            .session_id
            .chars()
            .next()
            .and_then(|c| c.to_digit(16))
            .is_some_and(|d| d % 2 == 0);
        if even {
            o.insert("end_time".into(), Value::Null);
        } else {
            o.remove("end_time");
        }
    }
    v
}

fn tags_match(filter: &TagFilter, s: &Session) -> bool {
    filter.and.iter().all(|c| {
        s.tags.iter().flatten().any(|t| {
            t.name == c.name
                && c.values.contains(&t.value)
                && c.scope.as_deref().is_none_or(|scope| scope == t.scope)
        })
    })
}

pub async fn get_sessions(
    State(sim): State<Arc<Sim>>,
    Path(bot_id): Path<String>,
    Query(params): Query<SessionsParams>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (bot, body): (_, SessionsBody) = match sim.admit(OP, &bot_id, &headers, &body).await {
        Ok(admitted) => admitted,
        Err(r) => return r,
    };
    let containment = match params.containment_type.as_deref() {
        None => None,
        Some(c) => match c.to_ascii_lowercase().as_str() {
            "selfservice" | "dropoff" | "agent" => Some(c.to_ascii_lowercase()),
            // Invented text (kore.md §1.2: an invalid value is NOT DOCUMENTED).
            _ => {
                return sim.bad_request(OP, &bot_id, false, "Invalid containmentType");
            }
        },
    };
    let now = Utc::now();
    let skip = body.skip.or(body.offset).unwrap_or(0) as usize;
    let limit = (body.limit.unwrap_or(100) as usize).clamp(1, sim.config.max_page_size);

    // Indexes into the bot's sessions (and their pre-rendered JSON).
    let mut matched: Vec<usize>;
    let mut invalid = Vec::new();
    if let Some(ids) = &body.session_id {
        if ids.len() > 50 {
            // Invented text (kore.md §1.6: behaviour NOT DOCUMENTED).
            return sim.bad_request(OP, &bot_id, false, "sessionId accepts at most 50 ids");
        }
        // With `sessionId`, every other filter is ignored (kore.md §1.3).
        let mut ids = ids.clone();
        ids.sort();
        ids.dedup();
        matched = Vec::new();
        for id in &ids {
            match bot.data.sessions.iter().position(|s| &s.session_id == id) {
                Some(i) => matched.push(i),
                None => invalid.push(id.clone()),
            }
        }
    } else {
        let from = body.date_from.as_deref().map(parse_date);
        let to = body.date_to.as_deref().map(parse_date);
        let (from, to) = match (from, to) {
            (Some(None), _) | (_, Some(None)) => {
                // Invented text.
                return sim.bad_request(
                    OP,
                    &bot_id,
                    false,
                    "dateFrom/dateTo must be yyyy-mm-dd or yyyy-mm-ddThh:mm:ss.msZ",
                );
            }
            (Some(Some(f)), Some(Some(t))) => (f, t),
            (Some(Some(f)), None) => (f, f + Duration::days(7)),
            (None, Some(Some(t))) => (t - Duration::days(7), t),
            (None, None) => {
                let today = Utc::now();
                (today - Duration::days(7), today)
            }
        };
        let span = to - from;
        if span > Duration::days(7) || (sim.config.strict_seven_days && span >= Duration::days(7)) {
            // Invented text: kore.md §1.6 says only "an error will be thrown".
            return sim.bad_request(
                OP,
                &bot_id,
                true,
                "The duration between dateTo and dateFrom should be less than 7 days",
            );
        }
        // Sessions that have not started yet do not exist.
        let to = to.min(now);
        // `latest_first` is the answer's order: the sessions started in
        // [from, to) are one run of it.
        let sessions = &bot.data.sessions;
        let lo = bot
            .latest_first
            .partition_point(|&i| sessions[i].start_time >= to);
        let hi = bot
            .latest_first
            .partition_point(|&i| sessions[i].start_time >= from);
        matched = bot.latest_first[lo..hi.max(lo)]
            .iter()
            .copied()
            .filter(|&i| {
                // **Guess** (NOT DOCUMENTED): an open session has no
                // containment type yet and is listed whatever type is asked —
                // the least forgiving reading for a client that makes one call
                // per type.
                let (end, ctype) = &bot.ends[i];
                *end > now || containment.is_none() || ctype.as_deref() == containment.as_deref()
            })
            .map(|i| (i, &sessions[i]))
            .filter(|(_, s)| {
                body.user_id
                    .as_deref()
                    .is_none_or(|u| s.user_id.as_deref() == Some(u))
            })
            .filter(|(_, s)| {
                body.session_type.as_deref().is_none_or(|t| {
                    let interactive = s.interactive.unwrap_or(true);
                    (t == "interactive") == interactive
                })
            })
            .filter(|(_, s)| body.tags.as_ref().is_none_or(|f| tags_match(f, s)))
            .map(|(i, _)| i)
            .collect();
    }
    let sessions = &bot.data.sessions;
    if body.session_id.is_some() {
        // Latest first (kore.md §1.3), as `latest_first` orders them.
        matched.sort_by(|&a, &b| latest_first(&sessions[a], &sessions[b]));
    }
    let total = matched.len();
    // Sessions open at the moment of the call are rendered in their open form.
    let open: Vec<(usize, String)> = matched
        .iter()
        .skip(skip)
        .take(limit)
        .filter(|&&i| sessions[i].end_time > now)
        .map(|&i| (i, open_session_json(&bot_id, &sessions[i]).to_string()))
        .collect();
    let page: Vec<&str> = matched
        .iter()
        .skip(skip)
        .take(limit)
        .map(|&i| match open.iter().find(|(j, _)| *j == i) {
            Some((_, json)) => json.as_str(),
            None => bot.rendered[i].as_ref(),
        })
        .collect();
    let more = skip + page.len() < total;
    // The page is spliced from each session's JSON rendered once at start-up:
    // rendering per call cost the simulator more CPU than the gateway spent
    // on the same answer, which distorted cold-query measurements on a small
    // machine. The bytes are what `session_json` writes.
    let mut out = String::with_capacity(128 + page.iter().map(|p| p.len() + 1).sum::<usize>());
    out.push('{');
    if body.session_id.is_some() {
        out.push_str("\"invalidSessions\":");
        out.push_str(&json!(invalid).to_string());
        out.push(',');
    }
    out.push_str("\"moreAvailable\":");
    out.push_str(if more { "true" } else { "false" });
    out.push_str(",\"sessions\":[");
    for (k, json) in page.iter().enumerate() {
        if k > 0 {
            out.push(',');
        }
        out.push_str(json);
    }
    let reported = sim.config.reported_total.unwrap_or(total as u64);
    out.push_str("],\"total\":");
    out.push_str(&reported.to_string());
    out.push('}');
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        out,
    )
        .into_response()
}
