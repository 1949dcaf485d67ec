//! The conformance suite: functions taking `&dyn AnalyticsSource` that check a
//! candidate source (a vendor adapter talking to its simulator) gives the same
//! answers as the reference (`MemorySource` over the same dataset).
//!
//! Use from a test file with `#[path = "conformance/mod.rs"] mod conformance;`.
//! Where a vendor's semantics differ by design, [`Differences`] says so
//! explicitly, and the suite checks the documented behaviour instead.
#![allow(dead_code)]

use botscope::domain::{
    BinInterval, Family, IntentStageFilter, IntentStageGroupField, IntentStageMetricName,
    IntentStageMetricSpec, IntentStageMetricsQuery, MetricsQuery, PageSize, Session, SessionFilter,
    SessionGroupField, SessionMetricName, SessionMetricSpec, SessionMetricsQuery, SessionOrder,
    SessionOrderField, SessionQuery, SortOrder, Statistic, TimeRange, UtteranceFilter,
    UtteranceKey, UtteranceQuery,
};
use botscope::sources::AnalyticsSource;
use botscope::sources::MetricsOf;

/// Documented ways a vendor differs from the unified reference.
#[derive(Debug, Clone, Copy, Default)]
pub struct Differences {
    /// The vendor does not report intents per session (Kore: `intents` is `[]`).
    pub no_session_intents: bool,
    /// The vendor has no intent-stage metrics the reference has.
    pub no_intent_stages: bool,
}

/// Pages through all sessions of a query with `after` keys.
pub async fn all_sessions(
    source: &dyn AnalyticsSource,
    range: TimeRange,
    filter: &SessionFilter,
    order: SessionOrder,
    page: usize,
) -> Vec<Session> {
    let mut out: Vec<Session> = Vec::new();
    let mut after = None;
    loop {
        let q = SessionQuery {
            range,
            filter: filter.clone(),
            order,
            after: after.clone(),
            limit: PageSize::parse(page as i64, 1000).unwrap(),
        };
        let p = source
            .sessions(&q)
            .await
            .unwrap_or_else(|e| panic!("{}: sessions failed: {e:?}", source.bot().id));
        assert!(p.sessions.len() <= page, "page larger than the limit");
        if let Some(last) = p.sessions.last() {
            after = Some(order.key(last));
        }
        let done = !p.has_more;
        out.extend(p.sessions.into_iter().map(std::sync::Arc::unwrap_or_clone));
        if done {
            break;
        }
    }
    out
}

fn comparable(mut s: Session, diff: Differences) -> Session {
    if diff.no_session_intents {
        s.intents = None;
    }
    s
}

/// Both sources give the same sessions, in the same order, paged with `page`.
pub async fn same_sessions(
    reference: &dyn AnalyticsSource,
    candidate: &dyn AnalyticsSource,
    range: TimeRange,
    filter: &SessionFilter,
    order: SessionOrder,
    page: usize,
    diff: Differences,
) -> usize {
    let want = all_sessions(reference, range, filter, order, 1000).await;
    let got = all_sessions(candidate, range, filter, order, page).await;
    let ids = |v: &[Session]| v.iter().map(Session::global_id).collect::<Vec<_>>();
    assert_eq!(
        ids(&got),
        ids(&want),
        "{}: sessions differ for {filter:?} {order:?} page {page}",
        candidate.bot().id
    );
    for (g, w) in got.iter().zip(&want) {
        if diff.no_session_intents {
            assert_eq!(
                g.intents.as_deref(),
                Some(&[][..]),
                "intents must be [] for this vendor"
            );
        }
        assert_eq!(comparable(g.clone(), diff), comparable(w.clone(), diff));
    }
    got.len()
}

fn close(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => (a - b).abs() <= 1e-6 * a.abs().max(1.0),
        (a, b) => a == b,
    }
}

pub fn assert_same_bins<F: std::fmt::Debug + PartialEq, M: std::fmt::Debug + PartialEq>(
    got: &[botscope::domain::Bin<F, M>],
    want: &[botscope::domain::Bin<F, M>],
    what: &str,
) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: bin count\n got {got:#?}\n want {want:#?}"
    );
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.bin_start, w.bin_start, "{what}");
        assert_eq!(g.bin_interval, w.bin_interval, "{what}");
        assert_eq!(g.groups, w.groups, "{what}");
        assert_eq!(g.values.len(), w.values.len(), "{what}");
        for (gv, wv) in g.values.iter().zip(&w.values) {
            assert_eq!(
                (&gv.metric, gv.statistic),
                (&wv.metric, wv.statistic),
                "{what}"
            );
            assert!(
                close(gv.value, wv.value),
                "{what}: {gv:?} vs {wv:?} in bin {:?} {:?}",
                g.bin_start,
                g.groups
            );
        }
    }
}

/// Sorts bins the way the engine does, so sources may return any order.
fn sorted<F: Ord + Clone, M: Clone>(
    mut v: Vec<botscope::domain::Bin<F, M>>,
) -> Vec<botscope::domain::Bin<F, M>> {
    v.sort_by(|a, b| {
        a.bin_start
            .cmp(&b.bin_start)
            .then_with(|| a.groups.cmp(&b.groups))
    });
    v
}

/// The candidate answers a metrics query of any family like the reference.
pub async fn same_metrics<F: Family>(
    reference: &dyn AnalyticsSource,
    candidate: &dyn AnalyticsSource,
    query: &MetricsQuery<F>,
) {
    let want = sorted(reference.metrics_of(query).await.unwrap());
    let got = sorted(
        candidate
            .metrics_of(query)
            .await
            .unwrap_or_else(|e| panic!("{} metrics failed: {e:?}", F::NAME)),
    );
    assert_same_bins(&got, &want, &format!("{}: {query:?}", candidate.bot().id));
}

/// Every utterance of the query, paged with `after` keys in pages of `size`.
pub async fn all_utterances(
    source: &dyn AnalyticsSource,
    range: TimeRange,
    filter: UtteranceFilter,
    size: usize,
) -> Vec<botscope::domain::UtteranceRecord> {
    let mut out = Vec::new();
    let mut after = None;
    loop {
        let q = UtteranceQuery {
            range,
            filter: filter.clone(),
            after: after.clone(),
            limit: PageSize::parse(size as i64, 1000).unwrap(),
        };
        let page = source
            .utterances(&q)
            .await
            .unwrap_or_else(|e| panic!("utterances failed: {e:?}"));
        assert!(page.utterances.len() <= size);
        after = page.utterances.last().map(|u| UtteranceKey::of(u));
        out.extend(page.utterances.iter().map(|u| (**u).clone()));
        if !page.has_more {
            return out;
        }
        assert_eq!(page.utterances.len(), size, "only the last page is short");
    }
}

/// The standard battery: orders × page sizes, filters, metrics, stages.
pub async fn run_suite(
    reference: &dyn AnalyticsSource,
    candidate: &dyn AnalyticsSource,
    range: TimeRange,
    diff: Differences,
) {
    let none = SessionFilter::default();
    let mut seen = 0;
    for field in [
        SessionOrderField::StartTime,
        SessionOrderField::Duration,
        SessionOrderField::Turns,
    ] {
        for direction in [SortOrder::Desc, SortOrder::Asc] {
            seen = same_sessions(
                reference,
                candidate,
                range,
                &none,
                SessionOrder { field, direction },
                97,
                diff,
            )
            .await;
        }
    }
    assert!(seen > 0, "the range must hold sessions");
    let filters = [
        SessionFilter {
            end_states: Some(vec![botscope::domain::ConversationEndState::Success]),
            ..Default::default()
        },
        SessionFilter {
            duration_seconds: Some(botscope::domain::DurationFilter {
                gt: Some(60),
                lt: Some(600),
                eq: None,
            }),
            ..Default::default()
        },
        SessionFilter {
            end_states: Some(vec![
                botscope::domain::ConversationEndState::Failure,
                botscope::domain::ConversationEndState::Dropped,
            ]),
            modalities: Some(vec![botscope::domain::Modality::Speech]),
            ..Default::default()
        },
    ];
    for f in &filters {
        same_sessions(
            reference,
            candidate,
            range,
            f,
            SessionOrder::default(),
            50,
            diff,
        )
        .await;
    }
    use SessionMetricName as M;
    let all_metrics: Vec<SessionMetricSpec> = [
        M::Count,
        M::Success,
        M::Failure,
        M::Dropped,
        M::Duration,
        M::TurnsPerConversation,
    ]
    .into_iter()
    .flat_map(|name| {
        [Statistic::Sum, Statistic::Avg, Statistic::Max]
            .into_iter()
            .map(move |statistic| SessionMetricSpec { name, statistic })
    })
    .collect();
    for (bin_by, group_by) in [
        (None, vec![]),
        (Some(BinInterval::OneHour), vec![]),
        (Some(BinInterval::OneDay), vec![SessionGroupField::EndState]),
        (Some(BinInterval::OneHour), vec![SessionGroupField::Locale]),
        (
            Some(BinInterval::OneDay),
            vec![SessionGroupField::EndState, SessionGroupField::Locale],
        ),
    ] {
        for chunk in all_metrics.chunks(6) {
            let q = SessionMetricsQuery {
                range,
                metrics: chunk.to_vec(),
                bin_by,
                group_by: group_by.clone(),
                filter: SessionFilter::default(),
            };
            same_metrics(reference, candidate, &q).await;
        }
    }
    if !diff.no_intent_stages {
        use IntentStageMetricName as S;
        let metrics: Vec<IntentStageMetricSpec> =
            [S::Count, S::Success, S::Failed, S::Dropped, S::Retry]
                .into_iter()
                .map(|name| IntentStageMetricSpec {
                    name,
                    statistic: Statistic::Sum,
                })
                .collect();
        for group_by in [
            vec![IntentStageGroupField::IntentStageName],
            vec![IntentStageGroupField::SwitchedToIntent],
        ] {
            let q = IntentStageMetricsQuery {
                range,
                metrics: metrics.clone(),
                bin_by: Some(BinInterval::OneDay),
                group_by,
                filter: IntentStageFilter::default(),
            };
            same_metrics(reference, candidate, &q).await;
        }
    }
}
