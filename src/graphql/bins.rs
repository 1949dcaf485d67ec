//! The answer of a metrics field, resolved in one pass.
//!
//! A 30-day hourly series over four bots is ≈ 8 600 bins and ≈ 60 000 field
//! values. Resolved the general way, every field of every bin is a future
//! polled through async-graphql's machinery, which took ~70 % of the CPU of
//! such a request (BENCHMARKS.md). Nothing in a bin needs a future: its fields
//! are plain data. [`Bins`] reads the selection once into a [`Plan`] and, when
//! the request carries [`Splices`] (every request the server executes),
//! writes the list's JSON bytes in one loop, leaving a placeholder string in
//! the response that [`Splices::to_json`] replaces with those bytes (building
//! a `Value` tree and serializing it was most of the rest of the cost). It is
//! the same GraphQL type as a list of the family's bin objects (same name,
//! same schema); a selection the plan does not cover (fragments, directives,
//! arguments), or a request without `Splices` (`schema.execute` in benches),
//! goes the general way, so the answer is the same in every case.

use std::borrow::Cow;
use std::sync::{Arc, Mutex};

use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::{ContextSelectionSet, Name, OutputType, Positioned, ServerResult, Value};
use bytes::Bytes;

use super::scalars::DateTimeScalar;
use super::types::{FamilyBin, GqlFamily, Session};
use crate::domain;
use crate::engine::{BinSet, BinView, Engine};

/// The bins of one metrics answer, as a GraphQL list of the family's bin type.
pub struct Bins<F: GqlFamily>(pub BinSet<F::Group, F::Metric>);

impl<F: GqlFamily> OutputType for Bins<F> {
    fn type_name() -> Cow<'static, str> {
        <Vec<FamilyBin<F>> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<FamilyBin<F>> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<FamilyBin<F>> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        // The schema registers no extension that hooks field resolution
        // (graphql/mod.rs), so building values directly skips no hook.
        if let Some(plan) = Plan::of(&ctx.item.node) {
            let engine = ctx.data_unchecked::<Arc<Engine>>();
            if let Some(splices) = ctx.data_opt::<Arc<Splices>>() {
                let mut out = Vec::with_capacity(1024);
                out.push(b'[');
                let mut times = TimeText::default();
                let mut floats = FloatText::default();
                let mut keys = KeyText::new(self.0.key_count());
                for (i, b) in self.0.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    plan.write_bin::<F>(engine, b, &mut times, &mut floats, &mut keys, &mut out);
                    if i == 0 {
                        // Bins of one selection are about the same size:
                        // one allocation for the rest, with some room.
                        out.reserve(out.len() * self.0.len() / 8 * 9);
                    }
                }
                out.push(b']');
                return Ok(Value::String(splices.add(out)));
            }
        }
        let general: Vec<FamilyBin<F>> = self.0.iter().map(|b| b.to_bin().into()).collect();
        OutputType::resolve(&general, ctx, field).await
    }
}

/// The nodes of a page of sessions, as a GraphQL list of `Session`: written
/// in one pass like [`Bins`] (a page of 100 sessions over four bots spent
/// most of its CPU in per-field futures), the general way otherwise.
pub struct SessionNodes(pub Vec<Arc<domain::Session>>);

impl OutputType for SessionNodes {
    fn type_name() -> Cow<'static, str> {
        <Vec<Session> as OutputType>::type_name()
    }

    fn qualified_type_name() -> String {
        <Vec<Session> as OutputType>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        <Vec<Session> as OutputType>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let (Some(plan), Some(splices)) = (
            SessionPlan::of(&ctx.item.node),
            ctx.data_opt::<Arc<Splices>>(),
        ) {
            let engine = ctx.data_unchecked::<Arc<Engine>>();
            let mut out = Vec::with_capacity(self.0.len() * 320 + 2);
            out.push(b'[');
            for (i, s) in self.0.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                plan.write(engine, s, &mut out);
            }
            out.push(b']');
            return Ok(Value::String(splices.add(out)));
        }
        let general: Vec<Session> = self.0.iter().cloned().map(Session).collect();
        OutputType::resolve(&general, ctx, field).await
    }
}

/// The selected fields of a `Session`; fields with arguments
/// (`utterances(first:)`) or sub-objects other than `bot` and `tags` leave
/// the selection to the general way.
struct SessionPlan(Vec<(Key, SessionField)>);

enum SessionField {
    Typename,
    Id,
    Bot(Vec<(Key, BotField)>),
    SessionId,
    OriginatingRequestId,
    UserId,
    Channel,
    Locale,
    Modality,
    StartTime,
    EndTime,
    DurationSeconds,
    EndState,
    VendorEndState,
    Turns,
    Intents,
    BotAliasId,
    BotVersion,
    Interactive,
    TasksExecuted,
    IsDeveloper,
    Tags(Vec<(Key, TagField)>),
}

enum TagField {
    Typename,
    Scope,
    Name,
    Value,
}

impl SessionPlan {
    fn of(set: &SelectionSet) -> Option<SessionPlan> {
        let fields = plain_fields(set)?
            .into_iter()
            .map(|(key, name, sub)| {
                use SessionField as S;
                let leaf = |f: SessionField| sub.items.is_empty().then_some(f);
                let field = match name {
                    "bot" => S::Bot(bot_plan(sub)?),
                    "tags" => S::Tags(leaves(sub, |n| match n {
                        "__typename" => Some(TagField::Typename),
                        "scope" => Some(TagField::Scope),
                        "name" => Some(TagField::Name),
                        "value" => Some(TagField::Value),
                        _ => None,
                    })?),
                    "__typename" => leaf(S::Typename)?,
                    "id" => leaf(S::Id)?,
                    "sessionId" => leaf(S::SessionId)?,
                    "originatingRequestId" => leaf(S::OriginatingRequestId)?,
                    "userId" => leaf(S::UserId)?,
                    "channel" => leaf(S::Channel)?,
                    "locale" => leaf(S::Locale)?,
                    "modality" => leaf(S::Modality)?,
                    "startTime" => leaf(S::StartTime)?,
                    "endTime" => leaf(S::EndTime)?,
                    "durationSeconds" => leaf(S::DurationSeconds)?,
                    "endState" => leaf(S::EndState)?,
                    "vendorEndState" => leaf(S::VendorEndState)?,
                    "turns" => leaf(S::Turns)?,
                    "intents" => leaf(S::Intents)?,
                    "botAliasId" => leaf(S::BotAliasId)?,
                    "botVersion" => leaf(S::BotVersion)?,
                    "interactive" => leaf(S::Interactive)?,
                    "tasksExecuted" => leaf(S::TasksExecuted)?,
                    "isDeveloper" => leaf(S::IsDeveloper)?,
                    _ => return None,
                };
                Some((key, field))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(SessionPlan(fields))
    }

    /// One session as JSON: the same bytes the `Session` object serializes to.
    fn write(&self, engine: &Engine, s: &domain::Session, out: &mut Vec<u8>) {
        use SessionField as S;
        out.push(b'{');
        let mut first = true;
        for (key, field) in &self.0 {
            write_key(out, &mut first, key);
            match field {
                S::Typename => write_str(out, "Session"),
                S::Id => write_str(out, &s.global_id()),
                S::Bot(fields) => write_bot(engine, Some(&s.bot_id), fields, out),
                S::SessionId => write_str(out, &s.session_id),
                S::OriginatingRequestId => write_opt_str(out, s.originating_request_id.as_deref()),
                S::UserId => write_opt_str(out, s.user_id.as_deref()),
                S::Channel => write_opt_str(out, s.channel.as_deref()),
                S::Locale => write_opt_str(out, s.locale.as_deref()),
                S::Modality => write_opt_enum(out, s.modality),
                S::StartTime => write_str(out, &DateTimeScalar(s.start_time).to_text()),
                S::EndTime => write_str(out, &DateTimeScalar(s.end_time).to_text()),
                S::DurationSeconds => write_opt(out, Some(s.duration_seconds)),
                S::EndState => write_opt_enum(out, s.end_state),
                S::VendorEndState => write_opt_str(out, s.vendor_end_state.as_deref()),
                S::Turns => write_opt(out, s.turns),
                S::Intents => write_opt(out, s.intents.as_deref()),
                S::BotAliasId => write_opt_str(out, s.bot_alias_id.as_deref()),
                S::BotVersion => write_opt_str(out, s.bot_version.as_deref()),
                S::Interactive => write_opt(out, s.interactive),
                S::TasksExecuted => write_opt(out, s.tasks_executed),
                S::IsDeveloper => write_opt(out, s.is_developer),
                S::Tags(fields) => match &s.tags {
                    None => out.extend_from_slice(b"null"),
                    Some(tags) => write_objects(out, tags, fields, |out, t, f| match f {
                        TagField::Typename => write_str(out, "Tag"),
                        TagField::Scope => write_str(out, &t.scope),
                        TagField::Name => write_str(out, &t.name),
                        TagField::Value => write_str(out, &t.value),
                    }),
                },
            }
        }
        out.push(b'}');
    }
}

/// JSON written ahead by resolvers, spliced into the serialized response.
/// Placeholders carry a random per-request token, so no data can imitate one.
pub struct Splices {
    token: String,
    parts: Mutex<Vec<Vec<u8>>>,
}

impl Default for Splices {
    fn default() -> Self {
        Splices {
            token: format!("__botscope_splice_{}", uuid::Uuid::new_v4().simple()),
            parts: Mutex::new(Vec::new()),
        }
    }
}

impl Splices {
    /// Keeps `json` and returns the placeholder string to answer instead.
    fn add(&self, json: Vec<u8>) -> String {
        let mut parts = self.parts.lock().unwrap_or_else(|e| e.into_inner());
        parts.push(json);
        format!("{}_{}", self.token, parts.len() - 1)
    }

    /// The response as JSON, in pieces: the serialized response (which
    /// holds only the placeholders, a few bytes each) cut around each
    /// placeholder, and each part where its placeholder stood. Nothing is
    /// copied: the body is written from the pieces as they are.
    pub fn to_json(&self, resp: &async_graphql::Response) -> serde_json::Result<Vec<Bytes>> {
        let body = Bytes::from(serde_json::to_vec(resp)?);
        let parts = std::mem::take(&mut *self.parts.lock().unwrap_or_else(|e| e.into_inner()));
        let mut at_of: Vec<(usize, usize, Bytes)> = Vec::with_capacity(parts.len());
        for (i, part) in parts.into_iter().enumerate() {
            let placeholder = format!("\"{}_{i}\"", self.token);
            let Some(at) = body
                .windows(placeholder.len())
                .position(|w| w == placeholder.as_bytes())
            else {
                return Err(serde::ser::Error::custom(
                    "a written-ahead answer lost its place",
                ));
            };
            at_of.push((at, placeholder.len(), Bytes::from(part)));
        }
        at_of.sort_by_key(|(at, ..)| *at);
        let mut pieces = Vec::with_capacity(2 * at_of.len() + 1);
        let mut from = 0;
        for (at, len, part) in at_of {
            pieces.push(body.slice(from..at));
            pieces.push(part);
            from = at + len;
        }
        pieces.push(body.slice(from..));
        Ok(pieces)
    }
}

/// The last bin start written, as JSON text: bins of one time bin (every
/// bot and group) come together, so most starts are formatted once.
#[derive(Default)]
struct TimeText {
    at: Option<chrono::DateTime<chrono::Utc>>,
    json: Vec<u8>,
}

/// The JSON text of values written lately, in a small table indexed by a
/// hash of their bits: values repeat (counts, and averages over small counts
/// such as 0.5 or 0.3333333333333333), and finding the shortest text of a
/// float was the costliest part of writing a bin.
struct FloatText {
    slots: Vec<FloatSlot>,
}

#[derive(Clone, Copy, Default)]
struct FloatSlot {
    bits: u64,
    len: u8,
    text: [u8; 24],
}

impl Default for FloatText {
    fn default() -> Self {
        FloatText {
            slots: vec![FloatSlot::default(); 1 << FloatText::BITS],
        }
    }
}

impl FloatText {
    const BITS: u32 = 9;

    /// A finite float as serde_json writes it (at most 24 bytes).
    fn write(&mut self, out: &mut Vec<u8>, v: f64) {
        let bits = v.to_bits();
        let slot = &mut self.slots
            [(bits.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> (64 - Self::BITS)) as usize];
        if slot.len != 0 && slot.bits == bits {
            out.extend_from_slice(&slot.text[..slot.len as usize]);
            return;
        }
        let from = out.len();
        write_f64(out, v);
        let text = &out[from..];
        if text.len() <= slot.text.len() {
            slot.text[..text.len()].copy_from_slice(text);
            slot.len = text.len() as u8;
            slot.bits = bits;
        }
    }
}

/// What bins show of their key — their `bot` object, their `groups` list —
/// written once per key and selection: an answer's bins have a few keys
/// (`BinView::key_id`) and repeat them thousands of times.
struct KeyText {
    keys: usize,
    /// Per selection (by address: `a: bot { id } b: bot { name }` are two),
    /// per key, where in `bytes` its text is.
    selections: Vec<(usize, Vec<Option<Span>>)>,
    bytes: Vec<u8>,
}

/// Where in [`KeyText::bytes`] a text is.
type Span = (u32, u32);

impl KeyText {
    fn new(keys: usize) -> Self {
        KeyText {
            keys,
            selections: Vec::new(),
            bytes: Vec::new(),
        }
    }

    fn of<T>(&mut self, selection: &[T], key: u32, write: impl FnOnce(&mut Vec<u8>)) -> &[u8] {
        let selection = selection.as_ptr() as usize;
        let at = match self.selections.iter().position(|(s, _)| *s == selection) {
            Some(at) => at,
            None => {
                self.selections.push((selection, vec![None; self.keys]));
                self.selections.len() - 1
            }
        };
        let span = match self.selections[at].1[key as usize] {
            Some(span) => span,
            None => {
                let from = self.bytes.len() as u32;
                write(&mut self.bytes);
                let span = (from, self.bytes.len() as u32);
                self.selections[at].1[key as usize] = Some(span);
                span
            }
        };
        &self.bytes[span.0 as usize..span.1 as usize]
    }
}

impl TimeText {
    fn of(&mut self, at: chrono::DateTime<chrono::Utc>) -> &[u8] {
        if self.at != Some(at) {
            self.at = Some(at);
            self.json.clear();
            write_str(&mut self.json, &DateTimeScalar(at).to_text());
        }
        &self.json
    }
}

/// A string as serde_json writes it. Most strings (ids, names, times) need
/// no escaping: those are copied as they are.
fn write_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Writing a string into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// A GraphQL name (an enum value) as a JSON string: names need no escaping.
fn write_name(out: &mut Vec<u8>, name: &str) {
    out.push(b'"');
    out.extend_from_slice(name.as_bytes());
    out.push(b'"');
}

/// A response key as written after another field: `,"key":`. Made once per
/// plan, copied once per object field (tens of thousands of times an answer).
struct Key(Box<[u8]>);

impl Key {
    fn of(name: &Name) -> Key {
        // Response keys are GraphQL names: letters, digits and `_`, no escaping.
        Key(format!(",\"{name}\":").into_bytes().into_boxed_slice())
    }
}

fn write_key(out: &mut Vec<u8>, first: &mut bool, key: &Key) {
    let bytes = if std::mem::take(first) {
        &key.0[1..]
    } else {
        &key.0[..]
    };
    out.extend_from_slice(bytes);
}

fn enum_name<E: async_graphql::EnumType>(value: E) -> &'static str {
    E::items()
        .iter()
        .find(|item| item.value == value)
        .map_or("", |item| item.name)
}

/// What to write for each bin: the selected fields, under their response keys.
struct Plan {
    bin: Vec<(Key, BinField)>,
}

enum BinField {
    Typename,
    Bot(Vec<(Key, BotField)>),
    BinStart,
    BinInterval,
    Groups(Vec<(Key, GroupField)>),
    Values(Vec<(Key, ValueField)>),
}

enum BotField {
    Typename,
    Id,
    Name,
    Vendor,
    VendorBotId,
}

fn bot_plan(set: &SelectionSet) -> Option<Vec<(Key, BotField)>> {
    leaves(set, |n| match n {
        "__typename" => Some(BotField::Typename),
        "id" => Some(BotField::Id),
        "name" => Some(BotField::Name),
        "vendor" => Some(BotField::Vendor),
        "vendorBotId" => Some(BotField::VendorBotId),
        _ => None,
    })
}

/// A `Bot` object as JSON (`null` for a bot the engine does not know).
fn write_bot(engine: &Engine, id: Option<&str>, fields: &[(Key, BotField)], out: &mut Vec<u8>) {
    let Some(bot) = id.and_then(|id| engine.bot_info(id)) else {
        out.extend_from_slice(b"null");
        return;
    };
    write_object(out, fields, |out, f| match f {
        BotField::Typename => write_str(out, "Bot"),
        BotField::Id => write_str(out, &bot.id),
        BotField::Name => write_str(out, &bot.name),
        BotField::Vendor => write_name(out, enum_name(bot.vendor)),
        BotField::VendorBotId => write_str(out, &bot.vendor_bot_id),
    });
}

/// A finite float as serde_json writes it. Counts and sums are whole
/// numbers: those are written as integers with `.0`, which is several times
/// cheaper than the shortest-float algorithm and gives the same bytes.
fn write_f64(out: &mut Vec<u8>, v: f64) {
    // (`as` saturates and drops the fraction: a cheap whole-number test.)
    let whole = v as i64;
    if whole as f64 == v && v.abs() < 1e15 && !(v == 0.0 && v.is_sign_negative()) {
        out.extend_from_slice(itoa::Buffer::new().format(whole).as_bytes());
        out.extend_from_slice(b".0");
    } else {
        // Writing a number into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &v);
    }
}

/// One object: each selected field under its key, written by `value`.
fn write_object<K>(
    out: &mut Vec<u8>,
    fields: &[(Key, K)],
    mut value: impl FnMut(&mut Vec<u8>, &K),
) {
    out.push(b'{');
    let mut first = true;
    for (key, field) in fields {
        write_key(out, &mut first, key);
        value(out, field);
    }
    out.push(b'}');
}

/// A list of objects, each written by [`write_object`].
fn write_objects<T, K>(
    out: &mut Vec<u8>,
    items: impl IntoIterator<Item = T>,
    fields: &[(Key, K)],
    mut value: impl FnMut(&mut Vec<u8>, &T, &K),
) {
    out.push(b'[');
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        write_object(out, fields, |out, f| value(out, &item, f));
    }
    out.push(b']');
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

fn write_opt<T: serde::Serialize>(out: &mut Vec<u8>, v: Option<T>) {
    // Writing a number or a bool into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, &v);
}

fn write_opt_enum<E: async_graphql::EnumType>(out: &mut Vec<u8>, v: Option<E>) {
    write_opt_str(out, v.map(enum_name));
}

enum GroupField {
    Typename,
    Field,
    Value,
}

enum ValueField {
    Typename,
    Metric,
    Statistic,
    Value,
}

/// The plain fields of a selection set: `(response key, name, sub-selection)`,
/// or `None` when anything else is in it.
fn plain_fields(set: &SelectionSet) -> Option<Vec<(Key, &str, &SelectionSet)>> {
    set.items
        .iter()
        .map(|item| match &item.node {
            Selection::Field(f) if f.node.directives.is_empty() && f.node.arguments.is_empty() => {
                let key = Key::of(&f.node.alias.as_ref().unwrap_or(&f.node.name).node);
                Some((key, f.node.name.node.as_str(), &f.node.selection_set.node))
            }
            _ => None,
        })
        .collect()
}

fn leaves<T>(set: &SelectionSet, pick: impl Fn(&str) -> Option<T>) -> Option<Vec<(Key, T)>> {
    plain_fields(set)?
        .into_iter()
        .map(|(key, name, sub)| {
            if !sub.items.is_empty() {
                return None;
            }
            pick(name).map(|f| (key, f))
        })
        .collect()
}

impl Plan {
    fn of(set: &SelectionSet) -> Option<Plan> {
        let bin = plain_fields(set)?
            .into_iter()
            .map(|(key, name, sub)| {
                let field = match name {
                    "__typename" => BinField::Typename,
                    "binStart" => BinField::BinStart,
                    "binInterval" => BinField::BinInterval,
                    "bot" => BinField::Bot(bot_plan(sub)?),
                    "groups" => BinField::Groups(leaves(sub, |n| match n {
                        "__typename" => Some(GroupField::Typename),
                        "field" => Some(GroupField::Field),
                        "value" => Some(GroupField::Value),
                        _ => None,
                    })?),
                    "values" => BinField::Values(leaves(sub, |n| match n {
                        "__typename" => Some(ValueField::Typename),
                        "metric" => Some(ValueField::Metric),
                        "statistic" => Some(ValueField::Statistic),
                        "value" => Some(ValueField::Value),
                        _ => None,
                    })?),
                    _ => return None,
                };
                Some((key, field))
            })
            .collect::<Option<Vec<_>>>()?;
        Some(Plan { bin })
    }

    /// One bin as JSON: the same bytes `bin` would serialize to.
    fn write_bin<F: GqlFamily>(
        &self,
        engine: &Engine,
        b: BinView<'_, F::Group, F::Metric>,
        times: &mut TimeText,
        floats: &mut FloatText,
        keys: &mut KeyText,
        out: &mut Vec<u8>,
    ) {
        out.push(b'{');
        let mut first = true;
        for (key, field) in &self.bin {
            write_key(out, &mut first, key);
            match field {
                BinField::Typename => write_str(out, F::BIN),
                BinField::BinStart => out.extend_from_slice(times.of(b.bin_start())),
                BinField::BinInterval => match b.bin_interval() {
                    Some(i) => write_name(out, enum_name(i)),
                    None => out.extend_from_slice(b"null"),
                },
                BinField::Bot(fields) => {
                    let bot = keys.of(fields, b.key_id(), |out| {
                        write_bot(engine, b.bot_id(), fields, out)
                    });
                    out.extend_from_slice(bot);
                }
                BinField::Groups(fields) => {
                    let groups = keys.of(fields, b.key_id(), |out| {
                        write_objects(out, b.groups(), fields, |out, (field, value), f| match f {
                            GroupField::Typename => write_str(out, F::GROUP),
                            GroupField::Field => write_name(out, enum_name(*field)),
                            GroupField::Value => write_str(out, value),
                        })
                    });
                    out.extend_from_slice(groups);
                }
                BinField::Values(fields) => {
                    write_objects(out, b.values(), fields, |out, m, f| match f {
                        ValueField::Typename => write_str(out, F::VALUE),
                        ValueField::Metric => write_name(out, enum_name(m.metric)),
                        ValueField::Statistic => write_name(out, enum_name(m.statistic)),
                        ValueField::Value => match m.value.filter(|v| v.is_finite()) {
                            Some(v) => floats.write(out, v),
                            None => out.extend_from_slice(b"null"),
                        },
                    })
                }
            }
        }
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn remembered_floats_are_written_as_serde_json_writes_them() {
        // Thousands of values into a table of 512: slots are taken over
        // again and again, and every value is written twice.
        let mut floats = super::FloatText::default();
        let values: Vec<f64> = (1..60u32)
            .flat_map(|n| (0..=n).map(move |k| f64::from(k) / f64::from(n)))
            .chain([-0.0, 1e16, f64::MIN_POSITIVE, 45.333333333333336])
            .collect();
        for v in values.iter().chain(values.iter().rev()) {
            let mut ours = Vec::new();
            floats.write(&mut ours, *v);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(v).unwrap(),
                "{v}"
            );
        }
    }

    #[test]
    fn floats_are_written_as_serde_json_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            2.0,
            63.0,
            0.5,
            45.333333333333336,
            999_999.0,
            1e14,
            123_456_789_012_345.0,
            999_999_999_999_999.0,
            1e15,
            1e16,
            -7.0e12,
            f64::MIN_POSITIVE,
        ] {
            let mut ours = Vec::new();
            super::write_f64(&mut ours, v);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(&v).unwrap(),
                "{v}"
            );
        }
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for v in [
            "",
            "Talk to a human",
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "line\nbreak",
            "\u{1}\u{1f}",
            "del \u{7f}",
            "Grüße, 你好, 🤖",
            "</script>",
        ] {
            let mut ours = Vec::new();
            super::write_str(&mut ours, v);
            assert_eq!(
                String::from_utf8(ours).unwrap(),
                serde_json::to_string(v).unwrap(),
                "{v:?}"
            );
        }
    }
}
