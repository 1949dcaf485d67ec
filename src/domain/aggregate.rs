//! The aggregation engine: session and intent-stage metrics computed from a stream
//! of records, for sources that do not serve metrics themselves (Kore, memory).
//!
//! # Definitions (Lex's, from `ListSessionMetrics` / `ListIntentStageMetrics`)
//!
//! Every record contributes one value `v` per metric:
//!
//! | metric | `v` for one session / stage record |
//! |---|---|
//! | `COUNT` | 1 |
//! | `SUCCESS`, `FAILURE`, `DROPPED` | 1 when the session ended that way, else 0 |
//! | `DURATION` | the conversation's duration in seconds |
//! | `TURNS_PER_CONVERSATION` | its number of turns (sessions without a turn count are skipped) |
//! | `CONCURRENCY` | sessions of the same group open at the instant this one starts (itself and any starting at that same instant included) |
//! | stage `COUNT` | 1 |
//! | stage `SUCCESS`, `FAILED`, `DROPPED`, `RETRY` | 1 when the stage had that outcome, else 0 |
//!
//! and the statistics over the records of one bin and group are
//! - `SUM`: the sum of `v` ("the total count for the category", Lex);
//! - `AVG`: that sum divided by the number of records ("the total count divided by
//!   the number of sessions in the category", Lex), so `SUCCESS AVG` is the
//!   containment rate and `DURATION AVG` the mean duration;
//! - `MAX`: the largest `v` ("the highest count in the category", Lex), so
//!   `CONCURRENCY MAX` is the peak number of sessions open at once inside the bin
//!   (a sweep line over starts and ends), and `COUNT MAX` is 1 for any non-empty bin.
//!
//! A session is open over `[start, end)`. Bins go by start time and are aligned
//! to UTC hours or days. Without `binBy` there is one bin, starting at the range start.
//!
//! # Memory
//! Memory is proportional to bins × groups, not to records: each bin-and-group
//! cell is one fixed-size accumulator. `CONCURRENCY` additionally keeps the end
//! times of the sessions open at the current instant (a heap per group), which
//! is why it needs records in start order ([`SessionAggregator::push`] reports
//! an error otherwise).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use chrono::{DateTime, TimeZone, Utc};
use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

use super::{
    Bin, BinInterval, Family, GroupKey, IntentEndState, IntentGroupField, IntentMetricName,
    IntentMetrics, IntentRecord, IntentStageGroupField, IntentStageMetricName, IntentStageMetrics,
    IntentStageRecord, MetricBin, MetricSpec, MetricValue, MetricsQuery, Session,
    SessionGroupField, SessionMetricName, SessionMetricSpec, Statistic, TimeRange,
    UtteranceGroupField, UtteranceMetricName, UtteranceMetrics, UtteranceRecord, UtteranceState,
};
use crate::domain::ConversationEndState;
use crate::error::{Error, Result};

/// How an intent stage ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StageOutcome {
    Success,
    Failed,
    Dropped,
    Retry,
}

/// The group value used when a record lacks the grouped field.
pub const NO_VALUE: &str = "(none)";

/// A hint to load the cache line at `p`; never faults, whatever `p` is.
#[inline(always)]
fn prefetch(p: *const u8) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it does not dereference `p` in the
    // language's sense and cannot fault, even for a dangling address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(p.cast())
    };
    #[cfg(not(target_arch = "x86_64"))]
    let _ = p;
}

/// Start of the UTC bin holding `t`.
pub fn bin_start(t: DateTime<Utc>, interval: BinInterval) -> DateTime<Utc> {
    let secs = t.timestamp().div_euclid(interval.seconds()) * interval.seconds();
    Utc.timestamp_opt(secs, 0).single().unwrap_or(t)
}

/// Interns the values of up to three group fields and maps (bin, group) cells to
/// accumulators.
///
/// This is the per-record hot path (DESIGN §9 asks for 10 M records/s/core),
/// so two things avoid the general-purpose work:
/// - group values are few (end states, locales, bots) and short: they are
///   compared by length and first 8 bytes as integers before any byte compare;
/// - records come in time order, so the same few cells repeat: a small
///   direct-mapped table of recent cells answers most lookups without hashing.
struct Cells<A> {
    bin_secs: Option<i64>,
    values: [Vec<Interned>; GROUP_SLOTS],
    index: FxHashMap<CellKey, u32>,
    recent: [RecentCell; RECENT_CELLS],
    cells: Vec<(CellKey, A)>,
}

/// Group fields one aggregation can take (ListIntentMetrics' limit; the
/// other families take two, `Family::MAX_GROUP_BY`).
const GROUP_SLOTS: usize = 3;

/// A cell: its bin start and the interned value of each group slot.
type CellKey = (i64, u32, u32, u32);

const RECENT_CELLS: usize = 64;

#[derive(Clone, Copy)]
struct RecentCell {
    key: CellKey,
    index: u32,
}

/// An interned group value and the integer form of its head.
struct Interned {
    head: StrHead,
    value: String,
}

/// A string's length and first 8 bytes: equal heads and a length of at most 8
/// mean equal strings.
#[derive(Clone, Copy, PartialEq, Eq)]
struct StrHead(usize, u64);

impl StrHead {
    #[inline]
    fn of(s: &str) -> Self {
        let b = s.as_bytes();
        // Shifts, not a byte buffer: a buffer becomes a `memcpy` call and a
        // store-to-load stall on every record.
        let word = match b.first_chunk::<8>() {
            Some(head) => u64::from_le_bytes(*head),
            None => b
                .iter()
                .enumerate()
                .fold(0u64, |w, (i, &x)| w | (u64::from(x) << (8 * i))),
        };
        StrHead(b.len(), word)
    }
}

impl<A: Default> Cells<A> {
    fn new(bin_by: Option<BinInterval>) -> Self {
        Cells {
            bin_secs: bin_by.map(BinInterval::seconds),
            values: [Vec::new(), Vec::new(), Vec::new()],
            index: FxHashMap::default(),
            // No real cell has bin i64::MIN, so every slot starts as a miss.
            recent: [RecentCell {
                key: (i64::MIN, u32::MAX, u32::MAX, u32::MAX),
                index: 0,
            }; RECENT_CELLS],
            cells: Vec::new(),
        }
    }

    #[inline]
    fn intern(&mut self, slot: usize, value: &str) -> u32 {
        let head = StrHead::of(value);
        let vals = &mut self.values[slot];
        if let Some(i) = vals
            .iter()
            .position(|v| v.head == head && (head.0 <= 8 || v.value == value))
        {
            return i as u32;
        }
        vals.push(Interned {
            head,
            value: value.to_owned(),
        });
        (vals.len() - 1) as u32
    }

    #[inline]
    fn bin_of(&self, start: DateTime<Utc>) -> i64 {
        match self.bin_secs {
            Some(s) => start.timestamp().div_euclid(s) * s,
            None => 0,
        }
    }

    #[inline]
    fn cell_index(&mut self, key: CellKey) -> u32 {
        let slot = (key.1 as usize * 64 + key.2 as usize * 8 + key.3 as usize) % RECENT_CELLS;
        if self.recent[slot].key == key {
            return self.recent[slot].index;
        }
        let next = self.cells.len() as u32;
        let i = *self.index.entry(key).or_insert(next);
        if i == next {
            self.cells.push((key, A::default()));
        }
        self.recent[slot] = RecentCell { key, index: i };
        i
    }

    #[inline]
    fn cell(&mut self, key: CellKey) -> &mut A {
        let i = self.cell_index(key);
        &mut self.cells[i as usize].1
    }

    /// The cells sorted by bin start, then group values; with their bin start
    /// and group values resolved.
    fn into_sorted(
        self,
        range: &TimeRange,
    ) -> Vec<(DateTime<Utc>, [Option<String>; GROUP_SLOTS], A)> {
        let Cells {
            bin_secs,
            values,
            cells,
            ..
        } = self;
        let mut out: Vec<_> = cells
            .into_iter()
            .map(|((bin, g0, g1, g2), acc)| {
                let start = match bin_secs {
                    Some(_) => Utc.timestamp_opt(bin, 0).single().unwrap_or(range.start()),
                    None => range.start(),
                };
                let v = |slot: usize, i: u32| values[slot].get(i as usize).map(|v| v.value.clone());
                (start, [v(0, g0), v(1, g1), v(2, g2)], acc)
            })
            .collect();
        out.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
        out
    }
}

fn group_keys<F: Copy>(fields: &[F], values: [Option<String>; GROUP_SLOTS]) -> Vec<GroupKey<F>> {
    fields
        .iter()
        .zip(values)
        .map(|(f, v)| GroupKey {
            field: *f,
            value: v.unwrap_or_else(|| NO_VALUE.to_owned()),
        })
        .collect()
}

/// Sorted cells as bins of one bot (or a rollup): each cell's group values
/// under their fields, and each metric asked for with `value` of the cell's
/// accumulator. The one way both aggregators answer.
fn bins_of<A, F: Copy, M: Copy>(
    cells: Vec<(DateTime<Utc>, [Option<String>; GROUP_SLOTS], A)>,
    bot_id: &Option<String>,
    bin_by: Option<BinInterval>,
    group_by: &[F],
    metrics: &[MetricSpec<M>],
    value: impl Fn(&A, &MetricSpec<M>) -> Option<f64>,
) -> Vec<Bin<F, M>> {
    cells
        .into_iter()
        .map(|(start, groups, acc)| Bin {
            bot_id: bot_id.clone(),
            bin_start: start,
            bin_interval: bin_by,
            groups: group_keys(group_by, groups),
            values: metrics
                .iter()
                .map(|m| MetricValue {
                    metric: m.name,
                    statistic: m.statistic,
                    value: value(&acc, m),
                })
                .collect(),
        })
        .collect()
}

/// Refuses more group fields than `max` (or the cells' slots).
pub fn check_group_count(n: usize, max: usize) -> Result<()> {
    if n > max.min(GROUP_SLOTS) {
        return Err(Error::bad_input(
            "groupBy",
            format!("at most {max} group-by fields are allowed here, got {n}"),
        ));
    }
    Ok(())
}

#[derive(Debug, Default, Clone, Copy)]
struct SessionAcc {
    count: u64,
    success: u64,
    failure: u64,
    dropped: u64,
    duration_sum: i64,
    duration_max: i64,
    turns_n: u64,
    turns_sum: i64,
    turns_max: i64,
    concurrency_sum: u64,
    concurrency_max: u64,
}

/// Streams sessions into session-metric bins. See the module docs for definitions.
pub struct SessionAggregator {
    bot_id: Option<String>,
    range: TimeRange,
    bin_by: Option<BinInterval>,
    group_by: Vec<SessionGroupField>,
    metrics: Vec<SessionMetricSpec>,
    cells: Cells<SessionAcc>,
    concurrency: Option<Concurrency>,
}

/// Sweep-line state for CONCURRENCY, per group: the end times of open
/// sessions, and the cells of the sessions that start at the current instant
/// (ties all see each other, so they are credited together).
#[derive(Default)]
struct Sweep {
    open: BinaryHeap<Reverse<i64>>,
    tie_start: i64,
    ties: Vec<u32>,
}

struct Concurrency {
    last_start: i64,
    groups: FxHashMap<(u32, u32), Sweep>,
}

impl Sweep {
    /// Credits the tied sessions with the number open at their start.
    fn flush(&mut self, cells: &mut [(CellKey, SessionAcc)]) {
        let open = self.open.len() as u64;
        for &i in &self.ties {
            let acc = &mut cells[i as usize].1;
            acc.concurrency_sum += open;
            acc.concurrency_max = acc.concurrency_max.max(open);
        }
        self.ties.clear();
    }
}

impl SessionAggregator {
    /// The aggregator of one source's answer to `q`.
    pub fn of(bot_id: Option<String>, q: &super::SessionMetricsQuery) -> Result<Self> {
        Self::new(bot_id, q.range, &q.metrics, q.bin_by, &q.group_by)
    }

    pub fn new(
        bot_id: Option<String>,
        range: TimeRange,
        metrics: &[SessionMetricSpec],
        bin_by: Option<BinInterval>,
        group_by: &[SessionGroupField],
    ) -> Result<Self> {
        check_group_count(
            group_by.len(),
            <super::SessionMetrics as super::Family>::MAX_GROUP_BY,
        )?;
        let concurrency = metrics
            .iter()
            .any(|m| m.name == SessionMetricName::Concurrency)
            .then(|| Concurrency {
                last_start: i64::MIN,
                groups: FxHashMap::default(),
            });
        Ok(SessionAggregator {
            bot_id,
            range,
            bin_by,
            group_by: group_by.to_vec(),
            metrics: metrics.to_vec(),
            cells: Cells::new(bin_by),
            concurrency,
        })
    }

    /// Adds one session. The caller has already applied range and filter.
    /// With `CONCURRENCY` requested, sessions must come in start order.
    #[inline]
    pub fn push(&mut self, s: &Session) -> Result<()> {
        let mut g = [0u32; GROUP_SLOTS];
        for (slot, field) in self.group_by.iter().enumerate() {
            let value = match field {
                SessionGroupField::EndState => s.end_state.map_or(NO_VALUE, |e| e.as_str()),
                SessionGroupField::Locale => s.locale.as_deref().unwrap_or(NO_VALUE),
                SessionGroupField::Bot => &s.bot_id,
            };
            g[slot] = self.cells.intern(slot, value);
        }
        let bin = self.cells.bin_of(s.start_time);
        let idx = self.cells.cell_index((bin, g[0], g[1], g[2]));
        if let Some(c) = &mut self.concurrency {
            let start = s.start_time.timestamp_millis();
            if start < c.last_start {
                return Err(Error::internal(
                    "CONCURRENCY needs sessions in start order; a source fed them out of order",
                ));
            }
            c.last_start = start;
            let sweep = c.groups.entry((g[0], g[1])).or_insert_with(|| Sweep {
                tie_start: i64::MIN,
                ..Sweep::default()
            });
            if sweep.tie_start != start {
                sweep.flush(&mut self.cells.cells);
                while sweep.open.peek().is_some_and(|Reverse(end)| *end <= start) {
                    sweep.open.pop();
                }
                sweep.tie_start = start;
            }
            sweep.open.push(Reverse(s.end_time.timestamp_millis()));
            sweep.ties.push(idx);
        }
        let acc = &mut self.cells.cells[idx as usize].1;
        acc.count += 1;
        match s.end_state {
            Some(ConversationEndState::Success) => acc.success += 1,
            Some(ConversationEndState::Failure) => acc.failure += 1,
            Some(ConversationEndState::Dropped) => acc.dropped += 1,
            None => {}
        }
        acc.duration_sum += s.duration_seconds;
        acc.duration_max = acc.duration_max.max(s.duration_seconds);
        if let Some(t) = s.turns {
            acc.turns_n += 1;
            acc.turns_sum += t;
            acc.turns_max = acc.turns_max.max(t);
        }
        Ok(())
    }

    /// Adds sessions in order, like [`push`](Self::push) one by one, reading
    /// ahead: the loop is bound by cache misses on each session and on its
    /// group-value strings (BENCHMARKS.md), so the ones a few records ahead
    /// are prefetched while the current one is counted.
    pub fn push_all<S: std::borrow::Borrow<Session>>(&mut self, sessions: &[S]) -> Result<()> {
        const AHEAD: usize = 8;
        for (i, s) in sessions.iter().enumerate() {
            if let Some(next) = sessions.get(i + AHEAD) {
                let next = next.borrow();
                prefetch(std::ptr::from_ref(next).cast());
                for field in &self.group_by {
                    match field {
                        SessionGroupField::Locale => {
                            if let Some(l) = &next.locale {
                                prefetch(l.as_ptr());
                            }
                        }
                        SessionGroupField::Bot => prefetch(next.bot_id.as_ptr()),
                        SessionGroupField::EndState => {}
                    }
                }
            }
            self.push(s.borrow())?;
        }
        Ok(())
    }

    pub fn finish(mut self) -> Vec<MetricBin> {
        if let Some(c) = &mut self.concurrency {
            for sweep in c.groups.values_mut() {
                sweep.flush(&mut self.cells.cells);
            }
        }
        let SessionAggregator {
            bot_id,
            range,
            bin_by,
            group_by,
            metrics,
            cells,
            ..
        } = self;
        let cells = cells.into_sorted(&range);
        bins_of(cells, &bot_id, bin_by, &group_by, &metrics, |acc, m| {
            session_value(acc, m.name, m.statistic)
        })
    }
}

fn stat(sum: f64, max: f64, n: u64, statistic: Statistic) -> Option<f64> {
    match statistic {
        Statistic::Sum => Some(sum),
        Statistic::Max => (n > 0).then_some(max),
        Statistic::Avg => (n > 0).then(|| sum / n as f64),
    }
}

fn indicator(hits: u64, n: u64, statistic: Statistic) -> Option<f64> {
    stat(hits as f64, if hits > 0 { 1.0 } else { 0.0 }, n, statistic)
}

fn session_value(a: &SessionAcc, name: SessionMetricName, statistic: Statistic) -> Option<f64> {
    use SessionMetricName as M;
    match name {
        M::Count => indicator(a.count, a.count, statistic),
        M::Success => indicator(a.success, a.count, statistic),
        M::Failure => indicator(a.failure, a.count, statistic),
        M::Dropped => indicator(a.dropped, a.count, statistic),
        M::Duration => stat(
            a.duration_sum as f64,
            a.duration_max as f64,
            a.count,
            statistic,
        ),
        M::TurnsPerConversation => {
            stat(a.turns_sum as f64, a.turns_max as f64, a.turns_n, statistic)
        }
        M::Concurrency => stat(
            a.concurrency_sum as f64,
            a.concurrency_max as f64,
            a.count,
            statistic,
        ),
    }
}

/// A record that an indicator family counts: every record adds 1 to `COUNT`
/// and 1 to each metric it [`hits`](Counted::hits) (intent stages, intents,
/// utterances — every family but sessions).
pub trait Counted<F: Family> {
    /// The time that places the record in a bin.
    fn at(&self) -> DateTime<Utc>;
    /// The record's value of a group field ([`NO_VALUE`] when it has none).
    fn group(&self, field: F::Group) -> std::borrow::Cow<'_, str>;
    /// Whether the record counts for `metric`.
    fn hits(&self, metric: F::Metric) -> bool;
}

/// Up to this many distinct metrics per question (the largest family has 7).
const MAX_TALLIED: usize = 8;

#[derive(Debug, Default, Clone, Copy)]
struct TallyAcc {
    count: u64,
    hits: [u64; MAX_TALLIED],
}

/// Streams the records of an indicator family into bins, in any order:
/// `SUM` is the number of records that hit the metric, `AVG` that over the
/// records of the cell, `MAX` 1 when any did (the module's definitions).
pub struct Tally<F: Family> {
    bot_id: Option<String>,
    range: TimeRange,
    bin_by: Option<BinInterval>,
    group_by: Vec<F::Group>,
    metrics: Vec<MetricSpec<F::Metric>>,
    /// The distinct metric names asked, in order; `hits` is indexed by them.
    names: Vec<F::Metric>,
    cells: Cells<TallyAcc>,
}

impl<F: Family> Tally<F> {
    pub fn new(bot_id: Option<String>, q: &MetricsQuery<F>) -> Result<Self> {
        check_group_count(q.group_by.len(), F::MAX_GROUP_BY)?;
        let mut names: Vec<F::Metric> = Vec::new();
        for m in &q.metrics {
            if !names.contains(&m.name) {
                names.push(m.name);
            }
        }
        if names.len() > MAX_TALLIED {
            return Err(Error::bad_input(
                "metrics",
                format!(
                    "at most {MAX_TALLIED} distinct metrics, got {}",
                    names.len()
                ),
            ));
        }
        Ok(Tally {
            bot_id,
            range: q.range,
            bin_by: q.bin_by,
            group_by: q.group_by.clone(),
            metrics: q.metrics.clone(),
            names,
            cells: Cells::new(q.bin_by),
        })
    }

    pub fn push<R: Counted<F>>(&mut self, r: &R) {
        let mut g = [0u32; GROUP_SLOTS];
        for (slot, field) in self.group_by.iter().enumerate() {
            g[slot] = self.cells.intern(slot, &r.group(*field));
        }
        let bin = self.cells.bin_of(r.at());
        let names = &self.names;
        let acc = self.cells.cell((bin, g[0], g[1], g[2]));
        acc.count += 1;
        for (i, m) in names.iter().enumerate() {
            if r.hits(*m) {
                acc.hits[i] += 1;
            }
        }
    }

    pub fn finish(self) -> Vec<Bin<F::Group, F::Metric>> {
        let Tally {
            bot_id,
            range,
            bin_by,
            group_by,
            metrics,
            names,
            cells,
        } = self;
        let cells = cells.into_sorted(&range);
        bins_of(cells, &bot_id, bin_by, &group_by, &metrics, |a, m| {
            let i = names.iter().position(|n| *n == m.name).unwrap_or(0);
            indicator(a.hits[i], a.count, m.statistic)
        })
    }
}

impl Counted<IntentStageMetrics> for IntentStageRecord {
    fn at(&self) -> DateTime<Utc> {
        self.start_time
    }

    fn group(&self, field: IntentStageGroupField) -> std::borrow::Cow<'_, str> {
        match field {
            IntentStageGroupField::IntentStageName => self.stage_name.as_str().into(),
            IntentStageGroupField::SwitchedToIntent => self
                .switched_to_intent
                .as_deref()
                .unwrap_or(NO_VALUE)
                .into(),
            IntentStageGroupField::Bot => self.bot_id.as_str().into(),
        }
    }

    fn hits(&self, metric: IntentStageMetricName) -> bool {
        use IntentStageMetricName as M;
        match metric {
            M::Count => true,
            M::Success => self.outcome == StageOutcome::Success,
            M::Failed => self.outcome == StageOutcome::Failed,
            M::Dropped => self.outcome == StageOutcome::Dropped,
            M::Retry => self.outcome == StageOutcome::Retry,
        }
    }
}

impl Counted<IntentMetrics> for IntentRecord {
    fn at(&self) -> DateTime<Utc> {
        self.start_time
    }

    fn group(&self, field: IntentGroupField) -> std::borrow::Cow<'_, str> {
        match field {
            IntentGroupField::IntentName => self.intent_name.as_str().into(),
            IntentGroupField::IntentEndState => self.end_state.as_str().into(),
            IntentGroupField::IntentLevel => self.level.to_string().into(),
            IntentGroupField::Bot => self.bot_id.as_str().into(),
        }
    }

    fn hits(&self, metric: IntentMetricName) -> bool {
        use IntentMetricName as M;
        match metric {
            M::Count => true,
            M::Success => self.end_state == IntentEndState::Success,
            M::Failure => self.end_state == IntentEndState::Failure,
            M::Switched => self.end_state == IntentEndState::Switched,
            M::Dropped => self.end_state == IntentEndState::Dropped,
        }
    }
}

impl Counted<UtteranceMetrics> for UtteranceRecord {
    fn at(&self) -> DateTime<Utc> {
        self.timestamp
    }

    fn group(&self, field: UtteranceGroupField) -> std::borrow::Cow<'_, str> {
        match field {
            UtteranceGroupField::UtteranceText => self.text.as_str().into(),
            UtteranceGroupField::UtteranceState => self.state.as_str().into(),
            UtteranceGroupField::Bot => self.bot_id.as_str().into(),
        }
    }

    fn hits(&self, metric: UtteranceMetricName) -> bool {
        use UtteranceMetricName as M;
        match metric {
            M::Count => true,
            M::Detected => self.state == UtteranceState::Detected,
            M::Missed => self.state == UtteranceState::Missed,
        }
    }
}
