//! The streaming aggregation engine against a naive one, on random data.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;

use botscope::domain::{
    BinInterval, ConversationEndState, Session, SessionAggregator, SessionGroupField,
    SessionMetricName, SessionMetricSpec, Statistic, TimeRange, Vendor, bin_start,
};

use crate::support::t0;

fn session(
    i: usize,
    start_s: i64,
    dur_s: i64,
    state: u8,
    locale: u8,
    bot: u8,
    turns: Option<i64>,
) -> Session {
    let start = t0() + Duration::seconds(start_s);
    Session {
        // Same length and first 8 bytes for bots 0–9: group values that only
        // differ past their head must still be told apart.
        bot_id: format!("bot-with-a-long-prefix-{bot}"),
        vendor: Vendor::LexV2,
        session_id: format!("s{i}"),
        originating_request_id: None,
        user_id: None,
        channel: None,
        locale: Some(["en_US", "fr_CA", "de_DE"][locale as usize].to_owned()),
        modality: None,
        start_time: start,
        end_time: start + Duration::seconds(dur_s),
        duration_seconds: dur_s,
        end_state: [
            Some(ConversationEndState::Success),
            Some(ConversationEndState::Failure),
            Some(ConversationEndState::Dropped),
            None,
        ][state as usize],
        vendor_end_state: None,
        turns,
        intents: None,
        bot_alias_id: None,
        bot_version: None,
        interactive: None,
        tasks_executed: None,
        tags: None,
        is_developer: None,
    }
}

fn arb_sessions() -> impl Strategy<Value = Vec<Session>> {
    // Starts on a coarse grid so ties happen; durations up to 3 hours.
    prop::collection::vec(
        (
            0i64..(3 * 86_400 / 600),
            0i64..10_800,
            0u8..4,
            0u8..3,
            0u8..12,
            prop::option::of(0i64..40),
        ),
        0..300,
    )
    .prop_map(|v| {
        let mut out: Vec<Session> = v
            .into_iter()
            .enumerate()
            .map(|(i, (slot, d, st, lo, b, tu))| session(i, slot * 600, d, st, lo, b, tu))
            .collect();
        out.sort_by_key(|s| s.start_time);
        out
    })
}

fn group_value(s: &Session, f: SessionGroupField) -> String {
    match f {
        SessionGroupField::EndState => s.end_state.map_or("(none)".into(), |e| e.as_str().into()),
        SessionGroupField::Locale => s.locale.clone().unwrap_or_else(|| "(none)".into()),
        SessionGroupField::Bot => s.bot_id.clone(),
    }
}

/// The definitions, computed the obvious way: O(n²), no streaming.
fn naive(
    sessions: &[Session],
    range: &TimeRange,
    spec: SessionMetricSpec,
    bin_by: Option<BinInterval>,
    group_by: &[SessionGroupField],
) -> Vec<(DateTime<Utc>, Vec<String>, Option<f64>)> {
    let key = |s: &Session| {
        let bin = bin_by.map_or(range.start(), |i| bin_start(s.start_time, i));
        let groups: Vec<String> = group_by.iter().map(|f| group_value(s, *f)).collect();
        (bin, groups)
    };
    let mut keys: Vec<_> = sessions.iter().map(key).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .map(|(bin, groups)| {
            let members: Vec<&Session> = sessions
                .iter()
                .filter(|s| key(s) == (bin, groups.clone()))
                .collect();
            let values: Vec<f64> = members
                .iter()
                .filter_map(|s| {
                    use SessionMetricName as M;
                    let ind = |b: bool| Some(if b { 1.0 } else { 0.0 });
                    match spec.name {
                        M::Count => Some(1.0),
                        M::Success => ind(s.end_state == Some(ConversationEndState::Success)),
                        M::Failure => ind(s.end_state == Some(ConversationEndState::Failure)),
                        M::Dropped => ind(s.end_state == Some(ConversationEndState::Dropped)),
                        M::Duration => Some(s.duration_seconds as f64),
                        M::TurnsPerConversation => s.turns.map(|t| t as f64),
                        M::Concurrency => {
                            let g: Vec<String> =
                                group_by.iter().map(|f| group_value(s, *f)).collect();
                            Some(
                                sessions
                                    .iter()
                                    .filter(|x| {
                                        group_by
                                            .iter()
                                            .map(|f| group_value(x, *f))
                                            .collect::<Vec<_>>()
                                            == g
                                            && x.start_time <= s.start_time
                                            // Open at s's start; sessions starting at that
                                            // very instant count too, even zero-length ones.
                                            && (s.start_time < x.end_time || x.start_time == s.start_time)
                                    })
                                    .count() as f64,
                            )
                        }
                    }
                })
                .collect();
            let value = match spec.statistic {
                Statistic::Sum => Some(values.iter().sum()),
                Statistic::Max => values.iter().cloned().reduce(f64::max),
                Statistic::Avg => {
                    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
                }
            };
            (bin, groups, value)
        })
        .collect()
}

const METRICS: [SessionMetricName; 7] = SessionMetricName::ALL;
const STATS: [Statistic; 3] = [Statistic::Sum, Statistic::Avg, Statistic::Max];
const GROUPS: [SessionGroupField; 3] = [
    SessionGroupField::EndState,
    SessionGroupField::Locale,
    SessionGroupField::Bot,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn streaming_equals_naive(
        sessions in arb_sessions(),
        metric in 0usize..7, stat in 0usize..3,
        bin in 0usize..3, g1 in 0usize..4, g2 in 0usize..4,
    ) {
        let range = TimeRange::parse(t0(), t0() + Duration::days(4), 92).unwrap();
        let spec = SessionMetricSpec { name: METRICS[metric], statistic: STATS[stat] };
        let bin_by = [None, Some(BinInterval::OneHour), Some(BinInterval::OneDay)][bin];
        let mut group_by: Vec<SessionGroupField> = [g1, g2].iter().filter(|g| **g < 3).map(|g| GROUPS[*g]).collect();
        group_by.dedup();
        let mut agg = SessionAggregator::new(None, range, &[spec], bin_by, &group_by).unwrap();
        // One by one for half the sessions, then the batch path with read-ahead.
        let (one_by_one, batch) = sessions.split_at(sessions.len() / 2);
        for s in one_by_one {
            agg.push(s).unwrap();
        }
        agg.push_all(batch).unwrap();
        let got: Vec<_> = agg
            .finish()
            .into_iter()
            .map(|b| (b.bin_start, b.groups.into_iter().map(|g| g.value).collect::<Vec<_>>(), b.values[0].value))
            .collect();
        let want = naive(&sessions, &range, spec, bin_by, &group_by);
        prop_assert_eq!(got.len(), want.len());
        for (g, w) in got.iter().zip(&want) {
            prop_assert_eq!(&g.0, &w.0);
            prop_assert_eq!(&g.1, &w.1);
            match (g.2, w.2) {
                (Some(a), Some(b)) => prop_assert!((a - b).abs() < 1e-9, "{:?}: {} vs {}", spec, a, b),
                (a, b) => prop_assert_eq!(a, b),
            }
        }
    }
}

#[test]
fn concurrency_needs_start_order() {
    let range = TimeRange::parse(t0(), t0() + Duration::days(1), 92).unwrap();
    let spec = SessionMetricSpec {
        name: SessionMetricName::Concurrency,
        statistic: Statistic::Max,
    };
    let mut agg = SessionAggregator::new(None, range, &[spec], None, &[]).unwrap();
    agg.push(&session(0, 600, 60, 0, 0, 0, None)).unwrap();
    let err = agg.push(&session(1, 0, 60, 0, 0, 0, None)).unwrap_err();
    assert!(err.message.contains("start order"));
}

#[test]
fn concurrency_max_is_a_peak_not_a_count() {
    // Three sessions in one hour, never more than two open at once.
    let range = TimeRange::parse(t0(), t0() + Duration::days(1), 92).unwrap();
    let spec = SessionMetricSpec {
        name: SessionMetricName::Concurrency,
        statistic: Statistic::Max,
    };
    let mut agg =
        SessionAggregator::new(None, range, &[spec], Some(BinInterval::OneHour), &[]).unwrap();
    for s in [
        session(0, 0, 600, 0, 0, 0, None),
        session(1, 300, 600, 0, 0, 0, None),
        session(2, 1200, 60, 0, 0, 0, None),
    ] {
        agg.push(&s).unwrap();
    }
    let bins = agg.finish();
    assert_eq!(bins.len(), 1);
    assert_eq!(bins[0].values[0].value, Some(2.0));
}

#[test]
fn a_zero_length_session_is_open_at_its_own_start() {
    let range = TimeRange::parse(t0(), t0() + Duration::days(1), 92).unwrap();
    let spec = SessionMetricSpec {
        name: SessionMetricName::Concurrency,
        statistic: Statistic::Sum,
    };
    let mut agg = SessionAggregator::new(None, range, &[spec], None, &[]).unwrap();
    agg.push(&session(0, 0, 0, 0, 0, 0, None)).unwrap();
    assert_eq!(agg.finish()[0].values[0].value, Some(1.0));
}
