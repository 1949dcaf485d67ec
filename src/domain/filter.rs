use serde::{Deserialize, Serialize};

use super::{ConversationEndState, IntentStageRecord, Modality, Session};

/// Duration bounds in whole seconds; bounds AND together.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct DurationFilter {
    pub eq: Option<i64>,
    pub gt: Option<i64>,
    pub lt: Option<i64>,
}

impl DurationFilter {
    pub fn matches(&self, seconds: i64) -> bool {
        self.eq.is_none_or(|v| seconds == v)
            && self.gt.is_none_or(|v| seconds > v)
            && self.lt.is_none_or(|v| seconds < v)
    }
}

/// Which sessions to keep. Fields AND together; values in one list OR.
///
/// A filter on a field the vendor does not have matches none of that vendor's
/// sessions, like SQL `NULL` (filtering Lex sessions by `userIds` returns none).
/// Lists are kept sorted and deduplicated (see [`SessionFilter::canonical`]) so
/// that equal filters compare and hash equal, for cursors and caches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct SessionFilter {
    pub end_states: Option<Vec<ConversationEndState>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub duration_seconds: Option<DurationFilter>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    pub user_ids: Option<Vec<String>>,
    /// Developer (test) sessions are left out unless this is set (DESIGN §3.1).
    pub include_developer_sessions: bool,
}

fn one_of<T: PartialEq>(allowed: &Option<Vec<T>>, value: Option<&T>) -> bool {
    match allowed {
        None => true,
        Some(list) => value.is_some_and(|v| list.contains(v)),
    }
}

fn one_of_str(allowed: &Option<Vec<String>>, value: Option<&str>) -> bool {
    match allowed {
        None => true,
        Some(list) => value.is_some_and(|v| list.iter().any(|a| a == v)),
    }
}

fn canonical_list<T: Ord>(list: &mut Option<Vec<T>>) {
    if let Some(l) = list {
        l.sort();
        l.dedup();
    }
}

impl SessionFilter {
    pub fn is_empty(&self) -> bool {
        *self == SessionFilter::default()
    }

    /// Sorts and deduplicates every list, so equal filters are equal values.
    pub fn canonical(mut self) -> Self {
        canonical_list(&mut self.end_states);
        canonical_list(&mut self.locales);
        canonical_list(&mut self.channels);
        if let Some(m) = &mut self.modalities {
            m.sort_by_key(|m| *m as u8);
            m.dedup();
        }
        canonical_list(&mut self.session_ids);
        canonical_list(&mut self.bot_alias_ids);
        canonical_list(&mut self.bot_versions);
        canonical_list(&mut self.user_ids);
        self
    }

    pub fn matches(&self, s: &Session) -> bool {
        one_of(&self.end_states, s.end_state.as_ref())
            && one_of_str(&self.locales, s.locale.as_deref())
            && one_of_str(&self.channels, s.channel.as_deref())
            && one_of(&self.modalities, s.modality.as_ref())
            && one_of_str(&self.session_ids, Some(&s.session_id))
            && self
                .duration_seconds
                .as_ref()
                .is_none_or(|d| d.matches(s.duration_seconds))
            && one_of_str(&self.bot_alias_ids, s.bot_alias_id.as_deref())
            && one_of_str(&self.bot_versions, s.bot_version.as_deref())
            && one_of_str(&self.user_ids, s.user_id.as_deref())
            && (self.include_developer_sessions || s.is_developer != Some(true))
    }
}

/// Which conversations an intent-path tree counts; the fields Lex's
/// ListIntentPaths can filter on (lex.md §11).
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentPathFilter {
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic is left out unless this is set.
    pub include_developer_sessions: bool,
}

impl IntentPathFilter {
    pub fn canonical(mut self) -> Self {
        canonical_list(&mut self.locales);
        canonical_list(&mut self.channels);
        if let Some(m) = &mut self.modalities {
            m.sort_by_key(|m| *m as u8);
            m.dedup();
        }
        canonical_list(&mut self.bot_alias_ids);
        canonical_list(&mut self.bot_versions);
        self
    }

    pub fn matches(&self, r: &super::IntentRecord) -> bool {
        one_of_str(&self.locales, r.locale.as_deref())
            && one_of_str(&self.channels, r.channel.as_deref())
            && one_of(&self.modalities, r.modality.as_ref())
            && one_of_str(&self.bot_alias_ids, r.bot_alias_id.as_deref())
            && one_of_str(&self.bot_versions, r.bot_version.as_deref())
            && (self.include_developer_sessions || r.is_developer != Some(true))
    }
}

/// Which intent-stage records to keep; same rules as [`SessionFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentStageFilter {
    pub intent_names: Option<Vec<String>>,
    pub intent_stage_names: Option<Vec<String>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic is left out unless this is set; only Kore
    /// marks it (getAnalytics' `filters.isDeveloper`).
    pub include_developer_sessions: bool,
}

impl IntentStageFilter {
    pub fn is_empty(&self) -> bool {
        *self == IntentStageFilter::default()
    }

    pub fn canonical(mut self) -> Self {
        canonical_list(&mut self.intent_names);
        canonical_list(&mut self.intent_stage_names);
        canonical_list(&mut self.locales);
        canonical_list(&mut self.channels);
        if let Some(m) = &mut self.modalities {
            m.sort_by_key(|m| *m as u8);
            m.dedup();
        }
        canonical_list(&mut self.session_ids);
        canonical_list(&mut self.bot_alias_ids);
        canonical_list(&mut self.bot_versions);
        self
    }

    pub fn matches(&self, r: &IntentStageRecord) -> bool {
        one_of_str(&self.intent_names, Some(&r.intent_name))
            && one_of_str(&self.intent_stage_names, Some(&r.stage_name))
            && one_of_str(&self.locales, r.locale.as_deref())
            && one_of_str(&self.channels, r.channel.as_deref())
            && one_of(&self.modalities, r.modality.as_ref())
            && one_of_str(&self.session_ids, Some(&r.session_id))
            && one_of_str(&self.bot_alias_ids, r.bot_alias_id.as_deref())
            && one_of_str(&self.bot_versions, r.bot_version.as_deref())
            && (self.include_developer_sessions || r.is_developer != Some(true))
    }
}

/// Which intent records intent metrics count; same rules as [`SessionFilter`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct IntentFilter {
    pub intent_names: Option<Vec<String>>,
    pub intent_end_states: Option<Vec<super::IntentEndState>>,
    pub locales: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub session_ids: Option<Vec<String>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic is left out unless this is set.
    pub include_developer_sessions: bool,
}

impl IntentFilter {
    pub fn canonical(mut self) -> Self {
        canonical_list(&mut self.intent_names);
        canonical_list(&mut self.intent_end_states);
        canonical_list(&mut self.locales);
        canonical_list(&mut self.channels);
        canonical_list(&mut self.modalities);
        canonical_list(&mut self.session_ids);
        canonical_list(&mut self.bot_alias_ids);
        canonical_list(&mut self.bot_versions);
        self
    }

    pub fn matches(&self, r: &super::IntentRecord) -> bool {
        one_of_str(&self.intent_names, Some(&r.intent_name))
            && one_of(&self.intent_end_states, Some(&r.end_state))
            && one_of_str(&self.locales, r.locale.as_deref())
            && one_of_str(&self.channels, r.channel.as_deref())
            && one_of(&self.modalities, r.modality.as_ref())
            && one_of_str(&self.session_ids, Some(&r.session_id))
            && one_of_str(&self.bot_alias_ids, r.bot_alias_id.as_deref())
            && one_of_str(&self.bot_versions, r.bot_version.as_deref())
            && (self.include_developer_sessions || r.is_developer != Some(true))
    }
}

/// Which utterances to keep; same rules as [`SessionFilter`]. `text_contains`
/// keeps an utterance whose text contains any of the given texts, compared
/// case- and whitespace-insensitively.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UtteranceFilter {
    pub states: Option<Vec<super::UtteranceState>>,
    pub text_contains: Option<Vec<String>>,
    pub intent_names: Option<Vec<String>>,
    pub session_ids: Option<Vec<String>>,
    pub channels: Option<Vec<String>>,
    pub locales: Option<Vec<String>>,
    pub modalities: Option<Vec<Modality>>,
    pub bot_alias_ids: Option<Vec<String>>,
    pub bot_versions: Option<Vec<String>>,
    /// Developer (test) traffic is left out unless this is set.
    pub include_developer_sessions: bool,
}

impl UtteranceFilter {
    pub fn canonical(mut self) -> Self {
        canonical_list(&mut self.states);
        if let Some(texts) = &mut self.text_contains {
            for t in texts.iter_mut() {
                *t = super::text_key(t);
            }
        }
        canonical_list(&mut self.text_contains);
        canonical_list(&mut self.intent_names);
        canonical_list(&mut self.session_ids);
        canonical_list(&mut self.channels);
        canonical_list(&mut self.locales);
        canonical_list(&mut self.modalities);
        canonical_list(&mut self.bot_alias_ids);
        canonical_list(&mut self.bot_versions);
        self
    }

    /// Expects the canonical form (`text_contains` already keyed).
    pub fn matches(&self, u: &super::UtteranceRecord) -> bool {
        one_of(&self.states, Some(&u.state))
            && self.text_contains.as_ref().is_none_or(|needles| {
                let key = super::text_key(&u.text);
                needles.iter().any(|n| key.contains(n.as_str()))
            })
            && one_of_str(&self.intent_names, u.intent_name.as_deref())
            && one_of_str(&self.session_ids, Some(&u.session_id))
            && one_of_str(&self.channels, u.channel.as_deref())
            && one_of_str(&self.locales, u.locale.as_deref())
            && one_of(&self.modalities, u.modality.as_ref())
            && one_of_str(&self.bot_alias_ids, u.bot_alias_id.as_deref())
            && one_of_str(&self.bot_versions, u.bot_version.as_deref())
            && (self.include_developer_sessions || u.is_developer != Some(true))
    }
}
