//! Which records a query keeps: one filter per record kind, all built by
//! [`record_filter!`] so that every field of every filter follows the same
//! rules (a list keeps a record whose value is in it; a record without the
//! value is left out, like SQL `NULL`; developer traffic is left out unless
//! asked for).

use serde::{Deserialize, Serialize};

use super::{
    ConversationEndState, IntentEndState, IntentRecord, IntentStageRecord, Modality, Session,
    UtteranceRecord, UtteranceState, text_key,
};

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

/// One field of a filter, asked about one value of a record; an absent
/// condition (`None`) keeps every record.
trait Condition<V> {
    fn keeps(&self, value: V) -> bool;
}

/// A list keeps a record whose value is in it; one without the value is left out.
impl<T: PartialEq<V>, V: ?Sized> Condition<Option<&V>> for Option<Vec<T>> {
    fn keeps(&self, value: Option<&V>) -> bool {
        match self {
            None => true,
            Some(list) => value.is_some_and(|v| list.iter().any(|a| a == v)),
        }
    }
}

impl Condition<i64> for Option<DurationFilter> {
    fn keeps(&self, seconds: i64) -> bool {
        self.as_ref().is_none_or(|d| d.matches(seconds))
    }
}

/// A text to look for: kept when its [`text_key`] contains any of the
/// (already keyed) texts of the list.
struct Containing<'a>(&'a str);

impl Condition<Containing<'_>> for Option<Vec<String>> {
    fn keeps(&self, text: Containing<'_>) -> bool {
        self.as_ref().is_none_or(|needles| {
            let key = text_key(text.0);
            needles.iter().any(|n| key.contains(n.as_str()))
        })
    }
}

/// Puts a field in the one form equal fields share: lists sorted and
/// deduplicated, so that equal filters compare and hash equal (cursors and
/// caches key on them).
trait Canonical {
    fn canonicalize(&mut self);
}

impl<T: Ord> Canonical for Option<Vec<T>> {
    fn canonicalize(&mut self) {
        if let Some(l) = self {
            l.sort();
            l.dedup();
        }
    }
}

impl Canonical for Option<DurationFilter> {
    fn canonicalize(&mut self) {}
}

/// The fields most filters share, with one meaning everywhere: their type and
/// the record field they read (every record kind has these fields). The
/// GraphQL filter inputs take the same types (`graphql::inputs`).
macro_rules! shared_field {
    (type modalities) => { Option<Vec<$crate::domain::Modality>> };
    (type $field:ident) => { Option<Vec<String>> };
    (read $r:ident locales) => { $r.locale.as_deref() };
    (read $r:ident channels) => { $r.channel.as_deref() };
    (read $r:ident modalities) => { $r.modality.as_ref() };
    (read $r:ident session_ids) => { Some($r.session_id.as_str()) };
    (read $r:ident bot_alias_ids) => { $r.bot_alias_id.as_deref() };
    (read $r:ident bot_versions) => { $r.bot_version.as_deref() };
}

/// The [`shared_field!`]s of one filter, for code that treats them alike
/// whatever the filter (an adapter pushing them to its vendor); a field the
/// filter does not have is no condition.
#[derive(Debug, Clone, Copy)]
pub struct SharedFields<'a> {
    pub locales: &'a Option<Vec<String>>,
    pub channels: &'a Option<Vec<String>>,
    pub modalities: &'a Option<Vec<Modality>>,
    pub session_ids: &'a Option<Vec<String>>,
    pub bot_alias_ids: &'a Option<Vec<String>>,
    pub bot_versions: &'a Option<Vec<String>>,
}

impl Default for SharedFields<'_> {
    fn default() -> Self {
        SharedFields {
            locales: &None,
            channels: &None,
            modalities: &None,
            session_ids: &None,
            bot_alias_ids: &None,
            bot_versions: &None,
        }
    }
}

/// Notes a shared field of `$filter` in `$shared`; one of its own is not shared.
macro_rules! note_shared {
    ($shared:ident, $filter:ident, $field:ident: $ty:ty = $value:expr) => {};
    ($shared:ident, $filter:ident, $field:ident) => {
        $shared.$field = &$filter.$field;
    };
}

/// A field's type: the one given, or the [`shared_field!`]'s.
macro_rules! filter_field_type {
    ($field:ident: $ty:ty) => { $ty };
    ($field:ident) => { $crate::domain::shared_field!(type $field) };
}

pub(crate) use {filter_field_type, shared_field};

macro_rules! field_value {
    ($r:ident, $field:ident = $value:expr) => { $value };
    ($r:ident, $field:ident) => { shared_field!(read $r $field) };
}

/// Declares a filter over one record kind `$record` (read as `$r`): its
/// fields in order, then `include_developer_sessions`, with `is_empty`,
/// `canonical` and `matches`. A field is either a [`shared_field!`] by name,
/// or `name: Type = value of $r` for the ones only this filter has. `first`
/// names a step `canonical` runs before sorting.
macro_rules! record_filter {
    (
        $(#[$attr:meta])*
        pub struct $name:ident for $r:ident: $record:ty $(, first $prepare:path)? {
            $($field:ident $(: $ty:ty = $value:expr)?),* $(,)?
        }
    ) => {
        $(#[$attr])*
        #[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub struct $name {
            $(pub $field: filter_field_type!($field $(: $ty)?),)*
            /// Developer (test) traffic is left out unless this is set
            /// (DESIGN §3.1); only Kore marks it (`isDeveloper`).
            pub include_developer_sessions: bool,
        }

        impl $name {
            pub fn is_empty(&self) -> bool {
                *self == Self::default()
            }

            /// Sorts and deduplicates every list, so equal filters are equal values.
            pub fn canonical(mut self) -> Self {
                $($prepare(&mut self);)?
                $(Canonical::canonicalize(&mut self.$field);)*
                self
            }

            /// The [`shared_field!`]s this filter has.
            pub fn shared(&self) -> SharedFields<'_> {
                let mut shared = SharedFields::default();
                $(note_shared!(shared, self, $field $(: $ty = $value)?);)*
                shared
            }

            pub fn matches(&self, $r: &$record) -> bool {
                $(Condition::keeps(&self.$field, field_value!($r, $field $(= $value)?)) &&)*
                    (self.include_developer_sessions || $r.is_developer != Some(true))
            }
        }
    };
}

record_filter! {
    /// Which sessions to keep. Fields AND together; values in one list OR.
    ///
    /// A filter on a field the vendor does not have matches none of that
    /// vendor's sessions, like SQL `NULL` (filtering Lex sessions by `userIds`
    /// returns none). Lists are kept sorted and deduplicated (see
    /// [`SessionFilter::canonical`]) so that equal filters compare and hash
    /// equal, for cursors and caches.
    pub struct SessionFilter for s: Session {
        end_states: Option<Vec<ConversationEndState>> = s.end_state.as_ref(),
        locales, channels, modalities, session_ids,
        duration_seconds: Option<DurationFilter> = s.duration_seconds,
        bot_alias_ids, bot_versions,
        user_ids: Option<Vec<String>> = s.user_id.as_deref(),
    }
}

record_filter! {
    /// Which conversations an intent-path tree counts; the fields Lex's
    /// ListIntentPaths can filter on (lex.md §11).
    pub struct IntentPathFilter for r: IntentRecord {
        locales, channels, modalities, bot_alias_ids, bot_versions,
    }
}

record_filter! {
    /// Which intent-stage records to keep; same rules as [`SessionFilter`].
    pub struct IntentStageFilter for r: IntentStageRecord {
        intent_names: Option<Vec<String>> = Some(r.intent_name.as_str()),
        intent_stage_names: Option<Vec<String>> = Some(r.stage_name.as_str()),
        locales, channels, modalities, session_ids, bot_alias_ids, bot_versions,
    }
}

record_filter! {
    /// Which intent records intent metrics count; same rules as [`SessionFilter`].
    pub struct IntentFilter for r: IntentRecord {
        intent_names: Option<Vec<String>> = Some(r.intent_name.as_str()),
        intent_end_states: Option<Vec<IntentEndState>> = Some(&r.end_state),
        locales, channels, modalities, session_ids, bot_alias_ids, bot_versions,
    }
}

record_filter! {
    /// Which utterances to keep; same rules as [`SessionFilter`]. `text_contains`
    /// keeps an utterance whose text contains any of the given texts, compared
    /// case- and whitespace-insensitively; `matches` expects the canonical
    /// form (texts already keyed).
    pub struct UtteranceFilter for u: UtteranceRecord, first key_texts {
        states: Option<Vec<UtteranceState>> = Some(&u.state),
        text_contains: Option<Vec<String>> = Containing(&u.text),
        intent_names: Option<Vec<String>> = u.intent_name.as_deref(),
        session_ids, channels, locales, modalities, bot_alias_ids, bot_versions,
    }
}

/// Compares `text_contains` by [`text_key`]: keyed before it is sorted.
fn key_texts(f: &mut UtteranceFilter) {
    if let Some(texts) = &mut f.text_contains {
        for t in texts.iter_mut() {
            *t = text_key(t);
        }
    }
}
