//! Kore's wire shapes and their mapping onto the unified vocabulary (DESIGN §4).
//!
//! | unified | from Kore | note |
//! |---|---|---|
//! | `endState` | `containmentType`: selfService→SUCCESS, dropOff→DROPPED, agent→`agent_end_state` | case-insensitive (kore.md §1.4 shows `selfService` and `selfservice`) |
//! | `vendorEndState` | `containmentType` as sent, else the type we asked for | |
//! | `startTime`/`endTime` | `start_time`/`end_time` (snake_case ISO strings) | |
//! | `durationSeconds` | `end_time − start_time`, whole seconds | |
//! | `turns` | `noOfMessagesExchanged` | **approximation**: messages both ways, not turns |
//! | `locale` | first of `session_lang` | **guess**: Kore lists every language used |
//! | `modality` | derived from `channel`: voice channels → SPEECH, else TEXT | **guess** |
//! | `intents` | `[]` | not in getSessions |
//! | `userId`, `channel` | `userId`, `channel` | |
//! | `interactive` | `sessionType`: `interactive` → true, `non-interactive` → false, anything else (the older shape puts the containment word there) → null | |
//! | `isDeveloper` | `isDeveloper` | |
//! | open sessions | `sessionStatus: "active"` or no `end_time` | still open, so in no `[start, end)` range yet: left out, never an error |
//! | `tasksExecuted` | `noOfTasksExecuted` | |
//! | `tags` | `tags.userTags` (scope `user`), `tags.sessionTags` (scope `session`) | values that are not strings are written as JSON |

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::timestamp;
use crate::domain::{ConversationEndState, Modality, Session, Tag, Vendor};

/// Kore's containment types, in the spelling of the request (kore.md §1.2).
pub const CONTAINMENT_TYPES: [&str; 3] = ["selfService", "dropOff", "agent"];

/// Channels that carry voice. **Guess**: Kore documents no modality.
pub const VOICE_CHANNELS: [&str; 6] = [
    "korevg",
    "ivr",
    "ivrVoice",
    "twiliovoice",
    "alexa",
    "googleactions",
];

/// The channel ids getAnalytics accepts in `filters.channel` (kore.md §8: the
/// current page's list of 24; XO v11's `skype` and `skypeforbusiness` are
/// left out because the current page dropped them). Without the filter Kore
/// answers `rtm` only (§2.2), so botscope sends this list. getSessions' `korevg`
/// (the voice gateway) and `api` are not in it, and no listed id is known to
/// stand for them: their analytics records cannot be asked for.
pub const ANALYTICS_CHANNELS: [&str; 24] = [
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

/// The unified end state of a containment type; `None` for an unknown word.
pub fn end_state_of(
    containment: &str,
    agent: ConversationEndState,
) -> Option<ConversationEndState> {
    match containment.to_ascii_lowercase().as_str() {
        "selfservice" => Some(ConversationEndState::Success),
        "dropoff" => Some(ConversationEndState::Dropped),
        "agent" => Some(agent),
        _ => None,
    }
}

pub fn modality_of(channel: &str) -> Modality {
    if VOICE_CHANNELS
        .iter()
        .any(|v| v.eq_ignore_ascii_case(channel))
    {
        Modality::Speech
    } else {
        Modality::Text
    }
}

/// The getSessions body (kore.md §1.3).
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KoreSessionsRequest {
    pub skip: u64,
    pub limit: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date_to: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_id: Option<Vec<String>>,
}

/// `yyyy-mm-ddThh:mm:ss.msZ`, the documented timestamp form.
pub fn kore_time(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// One session; field names mix snake_case and camelCase (kore.md §1.4).
#[derive(Debug, Deserialize)]
pub struct KoreSession {
    #[serde(rename = "sessionId")]
    pub session_id: String,
    pub channel: Option<String>,
    #[serde(rename = "userId")]
    pub user_id: Option<String>,
    #[serde(deserialize_with = "timestamp::required")]
    pub start_time: DateTime<Utc>,
    /// Absent or null while the session is open (kore.md §8: NOT DOCUMENTED
    /// which; both are accepted).
    #[serde(default, deserialize_with = "timestamp::optional")]
    pub end_time: Option<DateTime<Utc>>,
    /// `active` or `closed` (kore.md §8).
    #[serde(rename = "sessionStatus")]
    pub session_status: Option<String>,
    #[serde(rename = "isDeveloper")]
    pub is_developer: Option<bool>,
    #[serde(default)]
    pub session_lang: Vec<String>,
    #[serde(rename = "sessionType")]
    pub session_type: Option<String>,
    #[serde(rename = "containmentType")]
    pub containment_type: Option<String>,
    pub tags: Option<KoreTags>,
    #[serde(rename = "noOfMessagesExchanged")]
    pub messages: Option<i64>,
    #[serde(rename = "noOfTasksExecuted")]
    pub tasks: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
pub struct KoreTags {
    #[serde(default, rename = "userTags")]
    pub user: Vec<KoreTag>,
    #[serde(default, rename = "sessionTags")]
    pub session: Vec<KoreTag>,
}

#[derive(Debug, Deserialize)]
pub struct KoreTag {
    pub name: String,
    /// "mixed type" (kore.md §1.4).
    pub value: serde_json::Value,
}

fn tag(scope: &str, t: KoreTag) -> Tag {
    Tag {
        scope: scope.into(),
        name: t.name,
        value: match t.value {
            serde_json::Value::String(s) => s,
            other => other.to_string(),
        },
    }
}

impl KoreSession {
    /// The end of a closed session; `None` while it is still open
    /// (`sessionStatus: "active"`, or no `end_time`).
    pub fn closed_end(&self) -> Option<DateTime<Utc>> {
        let active = self
            .session_status
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("active"));
        if active { None } else { self.end_time }
    }

    /// The unified session, `None` while it is still open (it is in no
    /// `[start, end)` range yet, DESIGN §3); `asked` is the containment type
    /// of the call.
    pub fn into_session(
        self,
        gateway_bot_id: &str,
        asked: Option<&str>,
        agent: ConversationEndState,
    ) -> Option<Session> {
        let end_time = self.closed_end()?;
        let vendor_end_state = self.containment_type.or_else(|| asked.map(str::to_owned));
        let tags = self.tags.unwrap_or_default();
        Some(Session {
            bot_id: gateway_bot_id.to_owned(),
            vendor: Vendor::Kore,
            session_id: self.session_id,
            originating_request_id: None,
            user_id: self.user_id,
            modality: self.channel.as_deref().map(modality_of),
            channel: self.channel,
            locale: self.session_lang.into_iter().next(),
            start_time: self.start_time,
            end_time,
            duration_seconds: (end_time - self.start_time).num_seconds(),
            end_state: vendor_end_state
                .as_deref()
                .and_then(|c| end_state_of(c, agent)),
            vendor_end_state,
            turns: self.messages,
            intents: Some(Vec::new()),
            bot_alias_id: None,
            bot_version: None,
            interactive: self.session_type.as_deref().and_then(|t| {
                match t.to_ascii_lowercase().as_str() {
                    "interactive" => Some(true),
                    "non-interactive" => Some(false),
                    _ => None,
                }
            }),
            tasks_executed: self.tasks,
            tags: Some(
                tags.user
                    .into_iter()
                    .map(|t| tag("user", t))
                    .chain(tags.session.into_iter().map(|t| tag("session", t)))
                    .collect(),
            ),
            is_developer: self.is_developer,
        })
    }
}

/// The getAnalytics body (kore.md §2.2).
#[derive(Debug, Clone, Serialize)]
pub struct KoreAnalyticsRequest {
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub filters: KoreAnalyticsFilters,
    pub limit: u32,
    pub skip: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct KoreAnalyticsFilters {
    pub from: String,
    pub to: String,
    pub channel: Vec<String>,
    /// Whether developer (test) traffic is included (kore.md §2.2, §8).
    #[serde(rename = "isDeveloper")]
    pub is_developer: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KoreAnalyticsResponse {
    #[serde(default)]
    pub more_available: bool,
    #[serde(default)]
    pub result: Vec<KoreAnalyticsRecord>,
}

/// The record fields botscope reads; all optional (kore.md §2.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KoreAnalyticsRecord {
    pub session_id: Option<String>,
    /// What the user said.
    pub utterance: Option<String>,
    pub task_name: Option<String>,
    pub intent: Option<String>,
    #[serde(default, deserialize_with = "timestamp::optional")]
    pub timestamp: Option<DateTime<Utc>>,
    pub channel: Option<String>,
    pub language: Option<String>,
    #[serde(rename = "NLAnalysis")]
    pub nl_analysis: Option<KoreNlAnalysis>,
}

/// The one part of `NLAnalysis` botscope reads (kore.md §2.4).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KoreNlAnalysis {
    pub is_developer: Option<bool>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_a_documented_sample() {
        let raw: KoreSession = serde_json::from_str(
            r#"{"sessionId":"6465cf6e4769ed4e822b0000","botId":"st-1","channel":"korevg",
            "userId":"u-1","start_time":"2023-05-18T07:10:38.695Z","end_time":"2023-05-18T07:11:39.201Z",
            "session_lang":["en","de"],"sessionType":"interactive","isDeveloper":false,
            "sessionStatus":"closed","tags":{"userTags":[],"sessionTags":[{"name":"callerNumber","value":"+1123456789"}]},
            "noOfMessagesExchanged":3,"noOfTasksExecuted":1,"containmentType":"selfservice"}"#,
        )
        .unwrap();
        let s = raw
            .into_session("gw", Some("selfService"), ConversationEndState::Failure)
            .unwrap();
        assert_eq!(
            s.end_state,
            Some(ConversationEndState::Success),
            "case-insensitive"
        );
        assert_eq!(s.vendor_end_state.as_deref(), Some("selfservice"));
        assert_eq!(s.duration_seconds, 60);
        assert_eq!(s.locale.as_deref(), Some("en"));
        assert_eq!(s.modality, Some(Modality::Speech));
        assert_eq!(s.interactive, Some(true));
        assert_eq!(s.turns, Some(3));
        assert_eq!(s.tags.unwrap()[0].scope, "session");
        assert_eq!(s.is_developer, Some(false));
        assert_eq!(
            end_state_of("agent", ConversationEndState::Dropped),
            Some(ConversationEndState::Dropped)
        );
    }

    fn parse(json: &str) -> KoreSession {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn open_sessions_are_left_out_whether_end_time_is_null_or_absent() {
        for raw in [
            r#"{"sessionId":"a","start_time":"2023-05-18T07:10:38.695Z","end_time":null,"sessionStatus":"active"}"#,
            r#"{"sessionId":"b","start_time":"2023-05-18T07:10:38.695Z","sessionStatus":"active"}"#,
            r#"{"sessionId":"c","start_time":"2023-05-18T07:10:38.695Z"}"#,
            r#"{"sessionId":"d","start_time":"2023-05-18T07:10:38.695Z","end_time":"2023-05-18T07:11:38.695Z","sessionStatus":"Active"}"#,
        ] {
            let k = parse(raw);
            assert!(k.closed_end().is_none(), "{raw}");
            assert!(
                k.into_session("gw", Some("agent"), ConversationEndState::Failure)
                    .is_none()
            );
        }
        let closed = parse(
            r#"{"sessionId":"e","start_time":"2023-05-18T07:10:38.695Z","end_time":"2023-05-18T07:11:38.695Z","sessionStatus":"closed"}"#,
        );
        assert!(closed.closed_end().is_some());
    }

    /// One copy in the seed (`../shared/seeds/kore-getSessions.txt`, "for
    /// Selfservice sessions") puts the containment word in `sessionType` and
    /// has no `containmentType`.
    #[test]
    fn older_shape_maps_the_asked_type_and_leaves_interactive_unknown() {
        let raw = parse(
            r#"{"sessionId":"xxxxaxxexxxaxexdxxxdxxxe","botId":"st-1","channel":"rtm",
            "userId":"u-1","start_time":"2021-04-26T11:27:25.977Z","end_time":"2021-04-26T11:27:26.145Z",
            "session_lang":["en"],"sessionType":"dropOff","isDeveloper":false,
            "tags":{"userTags":[{"value":"newuser","name":"regular"}],"sessionTags":[]},
            "noOfMessagesExchanged":1,"noOfTasksExecuted":0}"#,
        );
        let s = raw
            .into_session("gw", Some("dropOff"), ConversationEndState::Failure)
            .unwrap();
        assert_eq!(s.end_state, Some(ConversationEndState::Dropped));
        assert_eq!(s.vendor_end_state.as_deref(), Some("dropOff"));
        assert_eq!(
            s.interactive, None,
            "a containment word says nothing of interactivity"
        );
        let non = parse(
            r#"{"sessionId":"f","start_time":"2021-04-26T11:27:25.977Z","end_time":"2021-04-26T11:27:26.145Z","sessionType":"non-interactive"}"#,
        )
        .into_session("gw", Some("agent"), ConversationEndState::Failure)
        .unwrap();
        assert_eq!(non.interactive, Some(false));
        assert_eq!(non.end_state, Some(ConversationEndState::Failure));
    }
}
