//! `LexSource` over the real SDK against the Lex simulator on port 0: filters,
//! orders, pages, metrics, stages, errors and retries. Raw JSON calls (reqwest)
//! cover requests the adapter itself never sends.
use crate::{conformance, lex_common};

use aws_sdk_lexmodelsv2::types::{
    AnalyticsFilterOperator, AnalyticsSessionFilter, AnalyticsSessionFilterName,
    AnalyticsSessionSortByName, AnalyticsSortOrder, SessionDataSortBy,
};
use serde_json::{Value, json};

use botscope::domain::{
    BinInterval, ConversationEndState, DurationFilter, IntentStageFilter, IntentStageGroupField,
    IntentStageMetricName, IntentStageMetricSpec, IntentStageMetricsQuery, Modality, PageSize,
    SessionFilter, SessionGroupField, SessionMetricName, SessionMetricSpec, SessionMetricsQuery,
    SessionOrder, SessionQuery, Statistic,
};
use botscope::error::ErrorKind;
use botscope::simulators::lex::LexSimConfig;
use botscope::sources::AnalyticsSource;
use botscope::sources::MetricsOf;
use botscope::sources::lex::{LexConfig, LexSource};
use lex_common::{LEX_BOT_ID, fixture, fixture_with, info, range, source_for};

fn sdk_client(url: &str) -> aws_sdk_lexmodelsv2::Client {
    use aws_sdk_lexmodelsv2::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_lexmodelsv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("AKIDTEST", "SECRETTEST", None, None, "t"))
        .endpoint_url(url)
        .build();
    aws_sdk_lexmodelsv2::Client::from_conf(conf)
}

fn lex_time(t: chrono::DateTime<chrono::Utc>) -> aws_sdk_lexmodelsv2::primitives::DateTime {
    aws_sdk_lexmodelsv2::primitives::DateTime::from_millis(t.timestamp_millis())
}

#[tokio::test]
async fn every_supported_filter_and_operator_matches_the_reference() {
    let f = fixture(150).await;
    let sample: Vec<String> = f
        .data
        .sessions_in(&range())
        .step_by(7)
        .take(4)
        .map(|s| s.session_id.clone())
        .collect();
    let filters = vec![
        SessionFilter {
            end_states: Some(vec![ConversationEndState::Dropped]),
            ..Default::default()
        },
        SessionFilter {
            locales: Some(vec!["en_GB".into(), "es_US".into()]),
            ..Default::default()
        },
        SessionFilter {
            channels: Some(vec!["Web".into()]),
            ..Default::default()
        },
        SessionFilter {
            modalities: Some(vec![Modality::Dtmf]),
            ..Default::default()
        },
        SessionFilter {
            modalities: Some(vec![Modality::Speech, Modality::Text]),
            ..Default::default()
        },
        SessionFilter {
            session_ids: Some(sample.clone()),
            ..Default::default()
        },
        SessionFilter {
            duration_seconds: Some(DurationFilter {
                // A duration the data has (which depends on the dataset's dates).
                eq: f
                    .data
                    .sessions_in(&range())
                    .nth(10)
                    .map(|s| s.duration_seconds),
                gt: None,
                lt: None,
            }),
            ..Default::default()
        },
        SessionFilter {
            duration_seconds: Some(DurationFilter {
                eq: None,
                gt: Some(300),
                lt: None,
            }),
            ..Default::default()
        },
        SessionFilter {
            duration_seconds: Some(DurationFilter {
                eq: None,
                gt: None,
                lt: Some(30),
            }),
            ..Default::default()
        },
        SessionFilter {
            bot_alias_ids: Some(vec!["TSTALIASID".into()]),
            ..Default::default()
        },
        SessionFilter {
            bot_versions: Some(vec!["2".into()]),
            end_states: Some(vec![ConversationEndState::Failure]),
            ..Default::default()
        },
        // Six values: more than Lex takes, so botscope applies it locally.
        SessionFilter {
            session_ids: Some(
                f.data
                    .sessions_in(&range())
                    .take(6)
                    .map(|s| s.session_id.clone())
                    .collect(),
            ),
            ..Default::default()
        },
    ];
    for filter in &filters {
        let n = conformance::same_sessions(
            &f.memory,
            &f.lex,
            range(),
            filter,
            SessionOrder::default(),
            40,
            conformance::Differences::default(),
        )
        .await;
        assert!(n > 0, "{filter:?} should match some sessions");
    }
    // Lex sessions have no user id: such a filter matches none, like SQL NULL.
    let n = conformance::same_sessions(
        &f.memory,
        &f.lex,
        range(),
        &SessionFilter {
            user_ids: Some(vec!["u-1".into()]),
            ..Default::default()
        },
        SessionOrder::default(),
        40,
        conformance::Differences::default(),
    )
    .await;
    assert_eq!(n, 0);
}

#[tokio::test]
async fn simulator_sorts_by_each_field_in_both_orders() {
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    for name in [
        AnalyticsSessionSortByName::ConversationStartTime,
        AnalyticsSessionSortByName::Duration,
        AnalyticsSessionSortByName::NumberOfTurns,
    ] {
        for order in [
            AnalyticsSortOrder::Ascending,
            AnalyticsSortOrder::Descending,
        ] {
            let out = client
                .list_session_analytics_data()
                .bot_id(LEX_BOT_ID)
                .start_date_time(lex_time(range().start()))
                .end_date_time(lex_time(range().end()))
                .sort_by(
                    SessionDataSortBy::builder()
                        .name(name.clone())
                        .order(order.clone())
                        .build()
                        .unwrap(),
                )
                .max_results(1000)
                .send()
                .await
                .unwrap();
            let keys: Vec<f64> = out
                .sessions()
                .iter()
                .map(|s| match name {
                    AnalyticsSessionSortByName::Duration => {
                        s.conversation_duration_seconds().unwrap() as f64
                    }
                    AnalyticsSessionSortByName::NumberOfTurns => {
                        s.number_of_turns().unwrap() as f64
                    }
                    _ => s.conversation_start_time().unwrap().as_secs_f64(),
                })
                .collect();
            assert!(keys.len() > 100);
            let sorted = keys.windows(2).all(|w| match order {
                AnalyticsSortOrder::Ascending => w[0] <= w[1],
                _ => w[0] >= w[1],
            });
            assert!(sorted, "{name:?} {order:?} not sorted");
        }
    }
}

#[tokio::test]
async fn pages_through_at_least_three_pages_with_the_sdk_paginator_and_the_source() {
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let mut pages = client
        .list_session_analytics_data()
        .bot_id(LEX_BOT_ID)
        .start_date_time(lex_time(range().start()))
        .end_date_time(lex_time(range().end()))
        .filters(
            AnalyticsSessionFilter::builder()
                .name(AnalyticsSessionFilterName::Duration)
                .operator(AnalyticsFilterOperator::GreaterThan)
                .values("30")
                .build()
                .unwrap(),
        )
        .into_paginator()
        .page_size(50)
        .send();
    let (mut n_pages, mut n) = (0, 0);
    let mut ids = std::collections::HashSet::new();
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        n_pages += 1;
        for s in page.sessions() {
            assert!(s.conversation_duration_seconds().unwrap() > 30);
            ids.insert(format!(
                "{}/{}",
                s.session_id().unwrap(),
                s.originating_request_id().unwrap()
            ));
            n += 1;
        }
    }
    let want = f
        .data
        .sessions_in(&range())
        .filter(|s| s.duration_seconds > 30)
        .count();
    assert!(n_pages >= 3, "{n_pages} pages");
    assert_eq!((n, ids.len()), (want, want), "every session exactly once");

    // The source pages with keyset `after` keys: ≥ 3 pages, all sessions, in order.
    let got = conformance::all_sessions(
        &f.lex,
        range(),
        &SessionFilter::default(),
        SessionOrder::default(),
        60,
    )
    .await;
    let total = f.data.sessions_in(&range()).count();
    assert!(total > 3 * 60);
    assert_eq!(got.len(), total);
}

#[tokio::test]
async fn first_page_reports_has_more_and_no_total() {
    let f = fixture(150).await;
    let q = SessionQuery {
        range: range(),
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(10, 1000).unwrap(),
    };
    let page = f.lex.sessions(&q).await.unwrap();
    assert_eq!(page.sessions.len(), 10);
    assert!(page.has_more);
    assert_eq!(page.total_count, None);
}

fn all_session_metrics(statistic: Statistic) -> Vec<SessionMetricSpec> {
    use SessionMetricName as M;
    [
        M::Count,
        M::Success,
        M::Failure,
        M::Dropped,
        M::Duration,
        M::TurnsPerConversation,
        M::Concurrency,
    ]
    .into_iter()
    .map(|name| SessionMetricSpec { name, statistic })
    .collect()
}

#[tokio::test]
async fn session_metrics_bin_by_hour_and_day_group_by_each_field_every_statistic() {
    let f = fixture(120).await;
    for bin_by in [None, Some(BinInterval::OneHour), Some(BinInterval::OneDay)] {
        for group_by in [
            vec![],
            vec![SessionGroupField::EndState],
            vec![SessionGroupField::Locale],
            vec![SessionGroupField::Locale, SessionGroupField::EndState],
            vec![SessionGroupField::Bot, SessionGroupField::EndState],
        ] {
            for statistic in [Statistic::Sum, Statistic::Avg, Statistic::Max] {
                let q = SessionMetricsQuery {
                    range: range(),
                    metrics: all_session_metrics(statistic),
                    bin_by,
                    group_by: group_by.clone(),
                    filter: SessionFilter::default(),
                };
                conformance::same_metrics(&f.memory, &f.lex, &q).await;
            }
        }
    }
    // More metrics than Lex takes in one call (7) are split across calls, and
    // filters are pushed down.
    let mut metrics = all_session_metrics(Statistic::Sum);
    metrics.extend(all_session_metrics(Statistic::Avg));
    let q = SessionMetricsQuery {
        range: range(),
        metrics,
        bin_by: Some(BinInterval::OneDay),
        group_by: vec![SessionGroupField::EndState],
        filter: SessionFilter {
            channels: Some(vec!["Web".into()]),
            // One bound: Lex takes one Duration filter per request, and a
            // range is UNSUPPORTED_BY_VENDOR for metrics (tested below).
            duration_seconds: Some(DurationFilter {
                eq: None,
                gt: Some(20),
                lt: None,
            }),
            ..Default::default()
        },
    };
    conformance::same_metrics(&f.memory, &f.lex, &q).await;
}

#[tokio::test]
async fn metrics_with_a_filter_lex_cannot_take_are_unsupported() {
    let f = fixture(50).await;
    let q = SessionMetricsQuery {
        range: range(),
        metrics: all_session_metrics(Statistic::Sum),
        bin_by: None,
        group_by: vec![],
        filter: SessionFilter {
            session_ids: Some((0..6).map(|i| format!("s{i}")).collect()),
            ..Default::default()
        },
    };
    let err = f.lex.metrics_of(&q).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Unsupported, "{err:?}");
}

#[tokio::test]
async fn intent_stages_by_stage_and_by_switched_to_intent() {
    use IntentStageMetricName as S;
    let f = fixture(120).await;
    for group_by in [
        vec![IntentStageGroupField::IntentStageName],
        vec![IntentStageGroupField::SwitchedToIntent],
        vec![
            IntentStageGroupField::IntentStageName,
            IntentStageGroupField::SwitchedToIntent,
        ],
    ] {
        for bin_by in [None, Some(BinInterval::OneHour), Some(BinInterval::OneDay)] {
            for statistic in [Statistic::Sum, Statistic::Avg, Statistic::Max] {
                let q = IntentStageMetricsQuery {
                    range: range(),
                    metrics: [S::Count, S::Success, S::Failed, S::Dropped, S::Retry]
                        .into_iter()
                        .map(|name| IntentStageMetricSpec { name, statistic })
                        .collect(),
                    bin_by,
                    group_by: group_by.clone(),
                    filter: IntentStageFilter::default(),
                };
                conformance::same_metrics(&f.memory, &f.lex, &q).await;
            }
        }
    }
    let q = IntentStageMetricsQuery {
        range: range(),
        metrics: vec![IntentStageMetricSpec {
            name: S::Failed,
            statistic: Statistic::Sum,
        }],
        bin_by: Some(BinInterval::OneDay),
        group_by: vec![IntentStageGroupField::IntentStageName],
        filter: IntentStageFilter {
            intent_stage_names: Some(vec!["Fulfillment".into(), "Close".into()]),
            modalities: Some(vec![Modality::Text]),
            ..Default::default()
        },
    };
    conformance::same_metrics(&f.memory, &f.lex, &q).await;
}

async fn raw(url: &str, op: &str, body: Value) -> (u16, reqwest::header::HeaderMap, Value) {
    let resp = reqwest::Client::new()
        .post(format!("{url}/bots/{LEX_BOT_ID}/analytics/{op}"))
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.json().await.unwrap())
}

fn assert_validation(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    body: &Value,
    needle: &str,
) {
    assert_eq!(status, 400, "{body}");
    assert_eq!(headers["x-amzn-ErrorType"], "ValidationException");
    assert_eq!(body["__type"], "ValidationException");
    let msg = body["message"].as_str().unwrap();
    assert!(msg.contains(needle), "{msg:?} should mention {needle:?}");
}

#[tokio::test]
async fn validation_exceptions_like_the_service() {
    let f = fixture(20).await;
    let url = f.sim.url();
    let (s, e) = (
        range().start().timestamp() as f64,
        range().end().timestamp() as f64,
    );
    let metric = json!([{ "name": "Count", "statistic": "Sum" }]);
    let cases = vec![
        (
            "sessions",
            json!({ "startDateTime": s, "endDateTime": e, "maxResults": 0 }),
            "maxResults",
        ),
        (
            "sessions",
            json!({ "startDateTime": s, "endDateTime": e, "maxResults": 1001 }),
            "maxResults",
        ),
        (
            "sessions",
            json!({ "startDateTime": s, "endDateTime": e,
                    "filters": (0..11).map(|_| json!({"name": "Channel", "operator": "EQ", "values": ["web"]})).collect::<Vec<_>>() }),
            "filters",
        ),
        (
            "sessionmetrics",
            json!({ "startDateTime": s, "endDateTime": e,
                    "metrics": [{ "name": "Count", "statistic": "Average" }] }),
            "Average",
        ),
        (
            "sessions",
            json!({ "startDateTime": s, "endDateTime": e,
                    "filters": [{"name": "Modality", "operator": "CO", "values": ["Text"]}] }),
            "operator",
        ),
        (
            "sessionmetrics",
            json!({ "startDateTime": s, "endDateTime": e,
                    "metrics": [{ "name": "Count", "statistic": "Sum", "order": "Ascending" }],
                    "binBy": [{ "name": "ConversationStartTime", "interval": "OneHour", "order": "Descending" }] }),
            "not both",
        ),
        (
            "intentstagemetrics",
            json!({ "startDateTime": e, "endDateTime": s, "metrics": metric }),
            "endDateTime",
        ),
        (
            "sessionmetrics",
            json!({ "startDateTime": s, "endDateTime": e }),
            "metrics",
        ),
        (
            "intentstagemetrics",
            json!({ "startDateTime": s, "endDateTime": e,
                    "metrics": [{ "name": "Failure", "statistic": "Sum" }] }),
            "Failure",
        ),
    ];
    for (op, body, needle) in cases {
        let (status, headers, answer) = raw(&url, op, body).await;
        assert_validation(status, &headers, &answer, needle);
    }
    let rejected: u64 = f.sim.stats().iter().map(|s| s.counters.rejected).sum();
    assert_eq!(rejected, 9);
}

#[tokio::test]
async fn the_service_message_reaches_the_client_as_bad_user_input() {
    let f = fixture(20).await;
    // A bot id Lex cannot accept: the only validation error the adapter can
    // provoke, since it never sends an invalid request of its own.
    let mut bad = info();
    bad.vendor_bot_id = "not-a-bot".into();
    let lex = LexSource::new(bad, &LexConfig::for_endpoint("not-a-bot", f.sim.url())).await;
    let q = SessionQuery {
        range: range(),
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(10, 1000).unwrap(),
    };
    let err = lex.sessions(&q).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::BadUserInput, "{err:?}");
    assert!(err.message.contains("botId"), "{}", err.message);
    assert!(!err.retryable);

    // A well-formed id the service does not know: 412 → NOT_FOUND.
    let lex = LexSource::new(info(), &LexConfig::for_endpoint("ZZZZZZZZZZ", f.sim.url())).await;
    let err = lex.sessions(&q).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::NotFound, "{err:?}");
}

fn one_page() -> SessionQuery {
    SessionQuery {
        range: range(),
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(5, 1000).unwrap(),
    }
}

#[tokio::test]
async fn throttling_is_retried_until_success() {
    let f = fixture(20).await;
    f.sim.throttle_next(2);
    let page = f.lex.sessions(&one_page()).await.unwrap();
    assert_eq!(page.sessions.len(), 5);
    let stat = f.sim.stats().into_iter().next().unwrap();
    assert_eq!((stat.counters.faulted, stat.counters.calls), (2, 1));
}

#[tokio::test]
async fn throttling_beyond_the_retry_budget_is_upstream_throttled_and_retryable() {
    let f = fixture(20).await;
    f.sim.throttle_next(10);
    let err = f.lex.sessions(&one_page()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamThrottled, "{err:?}");
    assert_eq!(err.kind.code(), "UPSTREAM_THROTTLED");
    assert!(err.retryable);
    let stat = f.sim.stats().into_iter().next().unwrap();
    assert_eq!(stat.counters.faulted, 3, "three attempts, then give up");

    // The throttling answer itself, on the wire.
    f.sim.throttle_next(1);
    let (status, headers, body) = raw(&f.sim.url(), "sessions", json!({})).await;
    assert_eq!(status, 429);
    assert_eq!(headers["x-amzn-ErrorType"], "ThrottlingException");
    assert_eq!(body["__type"], "ThrottlingException");
    assert!(
        headers["Retry-After"]
            .to_str()
            .unwrap()
            .parse::<u32>()
            .is_ok()
    );
    assert_eq!(headers["x-amz-retry-after"], "5");
}

#[tokio::test]
async fn internal_errors_are_retried_then_upstream_unavailable() {
    let f = fixture_with(
        20,
        LexSimConfig {
            error_rate: 1.0,
            ..LexSimConfig::default()
        },
    )
    .await;
    let lex = source_for(&f.sim, 2).await;
    let err = lex.sessions(&one_page()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamUnavailable, "{err:?}");
    assert!(err.retryable);
    let faulted: u64 = f.sim.stats().iter().map(|s| s.counters.faulted).sum();
    assert_eq!(faulted, 2);
}

#[tokio::test]
async fn an_unreachable_endpoint_is_upstream_unavailable() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let mut config = LexConfig::for_endpoint(LEX_BOT_ID, url);
    config.max_attempts = 1;
    let lex = LexSource::new(info(), &config).await;
    let err = lex.sessions(&one_page()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamUnavailable, "{err:?}");
    assert!(err.retryable);
}

#[tokio::test]
async fn an_undecodable_answer_is_upstream_bad_response() {
    // lex.md §3: an ISO-8601 timestamp where Lex sends a number.
    let app = axum::Router::new().fallback(|| async {
        axum::Json(json!({ "sessions": [{ "sessionId": "s", "conversationStartTime": "2026-03-02T00:00:00Z" }] }))
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let lex = LexSource::new(info(), &LexConfig::for_endpoint(LEX_BOT_ID, url)).await;
    let err = lex.sessions(&one_page()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamBadResponse, "{err:?}");
}

#[tokio::test]
async fn sim_routes_list_bots_and_count_calls() {
    let f = fixture(20).await;
    let bots: Value = reqwest::get(format!("{}/_sim/bots", f.sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(bots["botIds"], json!([LEX_BOT_ID]));
    f.lex.sessions(&one_page()).await.unwrap();
    let stats: Value = reqwest::get(format!("{}/_sim/stats", f.sim.url()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        stats["stats"],
        json!([{ "operation": "ListSessionAnalyticsData", "botId": LEX_BOT_ID,
                 "calls": 1, "rejected": 0, "faulted": 0 }])
    );
}

/// The simulator applies every filter itself (the adapter re-applies filters
/// locally, so the comparisons above alone would not catch a simulator that
/// ignored them).
#[tokio::test]
async fn simulator_applies_each_filter_and_operator_server_side() {
    use botscope::domain::Session;
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let id = f.data.sessions_in(&range()).nth(3).unwrap().clone();
    type Pred = Box<dyn Fn(&Session) -> bool>;
    let cases: Vec<(
        AnalyticsSessionFilterName,
        AnalyticsFilterOperator,
        Vec<String>,
        Pred,
    )> = vec![
        (
            AnalyticsSessionFilterName::ConversationEndState,
            AnalyticsFilterOperator::Equals,
            vec!["Failure".into(), "Dropped".into()],
            Box::new(|s| s.end_state != Some(ConversationEndState::Success)),
        ),
        (
            AnalyticsSessionFilterName::LocaleId,
            AnalyticsFilterOperator::Equals,
            vec!["fr_CA".into()],
            Box::new(|s| s.locale.as_deref() == Some("fr_CA")),
        ),
        (
            AnalyticsSessionFilterName::Channel,
            AnalyticsFilterOperator::Equals,
            vec!["Slack".into()],
            Box::new(|s| s.channel.as_deref() == Some("Slack")),
        ),
        (
            AnalyticsSessionFilterName::Modality,
            AnalyticsFilterOperator::Equals,
            vec!["DTMF".into()],
            Box::new(|s| s.modality == Some(Modality::Dtmf)),
        ),
        (
            AnalyticsSessionFilterName::SessionId,
            AnalyticsFilterOperator::Equals,
            vec![id.session_id.clone()],
            Box::new(move |s| s.session_id == id.session_id),
        ),
        (
            AnalyticsSessionFilterName::BotAliasId,
            AnalyticsFilterOperator::Equals,
            vec!["TSTALIASID".into()],
            Box::new(|s| s.bot_alias_id.as_deref() == Some("TSTALIASID")),
        ),
        (
            AnalyticsSessionFilterName::BotVersion,
            AnalyticsFilterOperator::Equals,
            vec!["2".into()],
            Box::new(|s| s.bot_version.as_deref() == Some("2")),
        ),
        (
            AnalyticsSessionFilterName::Duration,
            AnalyticsFilterOperator::Equals,
            vec!["45".into()],
            Box::new(|s| s.duration_seconds == 45),
        ),
        (
            AnalyticsSessionFilterName::Duration,
            AnalyticsFilterOperator::GreaterThan,
            vec!["600".into()],
            Box::new(|s| s.duration_seconds > 600),
        ),
        (
            AnalyticsSessionFilterName::Duration,
            AnalyticsFilterOperator::LessThan,
            vec!["20 sec".into()],
            Box::new(|s| s.duration_seconds < 20),
        ),
    ];
    for (name, op, values, pred) in cases {
        let out = client
            .list_session_analytics_data()
            .bot_id(LEX_BOT_ID)
            .start_date_time(lex_time(range().start()))
            .end_date_time(lex_time(range().end()))
            .filters(
                AnalyticsSessionFilter::builder()
                    .name(name.clone())
                    .operator(op.clone())
                    .set_values(Some(values))
                    .build()
                    .unwrap(),
            )
            .max_results(1000)
            .send()
            .await
            .unwrap();
        let want = f.data.sessions_in(&range()).filter(|s| pred(s)).count();
        assert!(want > 0, "{name:?} {op:?}: the dataset should hold matches");
        assert_eq!(out.sessions().len(), want, "{name:?} {op:?}");
    }
}

/// Serves one canned error answer to every request, as Lex encodes errors.
async fn canned_error(status: u16, code: &'static str) -> String {
    let app = axum::Router::new().fallback(move || async move {
        (
            axum::http::StatusCode::from_u16(status).unwrap(),
            [("x-amzn-ErrorType", code)],
            axum::Json(json!({ "__type": code, "message": "canned" })),
        )
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

#[tokio::test]
async fn quota_and_unmodelled_errors_get_clear_codes_and_are_not_retried() {
    for (status, code, kind) in [
        (
            402,
            "ServiceQuotaExceededException",
            ErrorKind::UpstreamThrottled,
        ),
        (412, "PreconditionFailedException", ErrorKind::NotFound),
        (403, "AccessDeniedException", ErrorKind::UpstreamUnavailable),
    ] {
        let url = canned_error(status, code).await;
        let lex = LexSource::new(info(), &LexConfig::for_endpoint(LEX_BOT_ID, url)).await;
        let err = lex.sessions(&one_page()).await.unwrap_err();
        assert_eq!(err.kind, kind, "{code}: {err:?}");
        assert!(!err.retryable, "{code} must not be retryable");
        assert!(err.message.contains("canned"), "{}", err.message);
    }
}

/// Serves one canned 5xx with no `x-amzn-ErrorType` header and no `__type`
/// (what a proxy or load balancer sends), counting the requests it answers.
async fn headerless_fault(
    status: u16,
    body: &'static str,
) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let calls = std::sync::Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let app = axum::Router::new().fallback(move || {
        let c = c.clone();
        async move {
            c.fetch_add(1, Ordering::SeqCst);
            (axum::http::StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, calls)
}

#[tokio::test]
async fn a_5xx_without_error_type_is_upstream_unavailable_and_opens_the_breaker() {
    use botscope::layers::breaker::{BreakerLayer, BreakerPolicy, BreakerState};
    use std::sync::atomic::Ordering;
    for (status, body) in [
        (500, r#"{"message":"boom"}"#),
        (502, "<html>bad gateway</html>"),
        (503, ""),
    ] {
        let (url, calls) = headerless_fault(status, body).await;
        let mut config = LexConfig::for_endpoint(LEX_BOT_ID, url);
        config.max_attempts = 2;
        config.initial_backoff = std::time::Duration::from_millis(1);
        let lex = LexSource::new(info(), &config).await;
        let err = lex.sessions(&one_page()).await.unwrap_err();
        assert_eq!(
            err.kind,
            ErrorKind::UpstreamUnavailable,
            "{status}: {err:?}"
        );
        assert!(err.retryable, "{status}");
        assert!(err.message.contains(&status.to_string()), "{}", err.message);
        // The SDK retried it as the server fault it is.
        assert_eq!(calls.load(Ordering::SeqCst), 2, "{status}");

        // And the breaker counts it: two such failures open it.
        let breaker = BreakerLayer::new(
            std::sync::Arc::new(lex),
            BreakerPolicy {
                failure_threshold: 2,
                cool_down: std::time::Duration::from_secs(60),
            },
        );
        for _ in 0..2 {
            breaker.sessions(&one_page()).await.unwrap_err();
        }
        assert_eq!(breaker.state(), BreakerState::Open, "{status}");
        let before = calls.load(Ordering::SeqCst);
        breaker.sessions(&one_page()).await.unwrap_err();
        assert_eq!(calls.load(Ordering::SeqCst), before, "open: no call");
    }
}

#[tokio::test]
async fn an_unmodelled_5xx_code_is_retryable_upstream_unavailable() {
    let url = canned_error(503, "ServiceUnavailableException").await;
    let mut config = LexConfig::for_endpoint(LEX_BOT_ID, url);
    config.max_attempts = 1;
    let lex = LexSource::new(info(), &config).await;
    let err = lex.sessions(&one_page()).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::UpstreamUnavailable, "{err:?}");
    assert!(err.retryable);
    assert!(err.message.contains("canned"), "{}", err.message);
}

/// A Lex bot with 60 days of traffic ending 5 days before today's UTC midnight
/// (inside the guide's 365 days whatever the date), the strict simulator over
/// it, the adapter and the reference.
struct Recent {
    sim: botscope::simulators::lex::LexSimulator,
    lex: LexSource,
    memory: botscope::sources::memory::MemorySource,
    data: std::sync::Arc<botscope::domain::BotData>,
    start: chrono::DateTime<chrono::Utc>,
    end: chrono::DateTime<chrono::Utc>,
}

async fn recent(per_day: u32) -> Recent {
    use chrono::{Duration, DurationRound, Utc};
    let end = Utc::now().duration_trunc(Duration::days(1)).unwrap() - Duration::days(5);
    let start = end - Duration::days(60);
    let bot = botscope::simulators::dataset::DatasetBot::lex("lex-a", per_day, [0.7, 0.1, 0.2]);
    let d =
        botscope::simulators::dataset::Dataset::generate(5, &[bot], start - Duration::days(1), end);
    let generated = d.bots.into_iter().next().unwrap().1;
    // Conversations across the midnights where a split range is cut (27 and
    // 54 days in) and where the 30-day halves meet: Lex's range rule loses
    // them unless the pieces overlap.
    let mut sessions = generated.sessions;
    for (i, days) in [27, 30, 54].into_iter().enumerate() {
        for k in 0..3 {
            let mut s = sessions[i * 10 + k].clone();
            s.session_id = format!("cross-{days}-{k}");
            s.start_time = start + Duration::days(days) - Duration::minutes(3 + k as i64);
            s.end_time = s.start_time + Duration::minutes(10);
            s.duration_seconds = 600;
            sessions.push(s);
        }
    }
    let data = std::sync::Arc::new(botscope::domain::BotData::new(sessions, generated.stages));
    let sim = botscope::simulators::lex::LexSimulator::spawn(
        "127.0.0.1:0".parse().unwrap(),
        LexSimConfig::default(),
        vec![(LEX_BOT_ID.into(), data.clone())],
    )
    .await
    .unwrap();
    let lex = source_for(&sim, 1).await;
    let memory = botscope::sources::memory::MemorySource::new(info(), data.clone());
    Recent {
        sim,
        lex,
        memory,
        data,
        start,
        end,
    }
}

fn time_range(
    a: chrono::DateTime<chrono::Utc>,
    b: chrono::DateTime<chrono::Utc>,
) -> botscope::domain::TimeRange {
    botscope::domain::TimeRange::parse(a, b, 92).unwrap()
}

/// Every call the simulator refused, over every operation (the strict
/// simulator refuses ranges over a month, starts over 365 days back and
/// repeated filter names).
fn refused(sim: &botscope::simulators::lex::LexSimulator) -> u64 {
    sim.stats().iter().map(|s| s.counters.rejected).sum()
}

/// Lex takes at most one month per call (lex.md §11): 60 days of sessions are
/// read in pieces and page exactly like the reference, in every order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_day_range_pages_like_the_reference_across_pieces() {
    use botscope::domain::{SessionOrderField, SortOrder};
    let r = recent(80).await;
    let range = time_range(r.start, r.end);
    let orders = [
        (SessionOrder::default(), 100),
        (
            SessionOrder {
                field: SessionOrderField::StartTime,
                direction: SortOrder::Asc,
            },
            333,
        ),
        (
            SessionOrder {
                field: SessionOrderField::Duration,
                direction: SortOrder::Desc,
            },
            1000,
        ),
    ];
    for (order, page) in orders {
        let n = conformance::same_sessions(
            &r.memory,
            &r.lex,
            range,
            &SessionFilter::default(),
            order,
            page,
            conformance::Differences::default(),
        )
        .await;
        assert!(n > 3000, "{n}");
    }
    let sessions_calls = r
        .sim
        .stats()
        .iter()
        .find(|s| s.operation == "ListSessionAnalyticsData")
        .map(|s| s.counters.calls)
        .unwrap();
    assert!(sessions_calls > 3, "pieces were asked: {sessions_calls}");
    assert_eq!(refused(&r.sim), 0, "no call broke the one-month rule");
}

/// 60 daily bins equal the two 30-day answers, except the 30th day, where the
/// longer range also holds the conversations that start that day and end after
/// it (Lex's rule keeps them out of the first half, not out of the whole).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_60_day_daily_series_equals_its_two_30_day_halves() {
    use chrono::Duration;
    let r = recent(120).await;
    let metrics = vec![
        SessionMetricSpec {
            name: SessionMetricName::Count,
            statistic: Statistic::Sum,
        },
        SessionMetricSpec {
            name: SessionMetricName::Success,
            statistic: Statistic::Avg,
        },
        SessionMetricSpec {
            name: SessionMetricName::Duration,
            statistic: Statistic::Max,
        },
    ];
    let query = |a, b, bin_by| SessionMetricsQuery {
        range: time_range(a, b),
        metrics: metrics.clone(),
        bin_by,
        group_by: vec![],
        filter: SessionFilter::default(),
    };
    let mid = r.start + Duration::days(30);
    let whole = query(r.start, r.end, Some(BinInterval::OneDay));
    let mut long = r.lex.metrics_of(&whole).await.unwrap();
    long.sort_by_key(|b| b.bin_start);
    assert_eq!(long.len(), 60);
    let mut halves = r
        .lex
        .metrics_of(&query(r.start, mid, Some(BinInterval::OneDay)))
        .await
        .unwrap();
    halves.extend(
        r.lex
            .metrics_of(&query(mid, r.end, Some(BinInterval::OneDay)))
            .await
            .unwrap(),
    );
    halves.sort_by_key(|b| b.bin_start);
    assert_eq!(halves.len(), 60);
    let boundary_day = mid - Duration::days(1);
    for (l, h) in long.iter().zip(&halves) {
        assert_eq!(l.bin_start, h.bin_start);
        if l.bin_start != boundary_day {
            assert_eq!(l.values, h.values, "{}", l.bin_start);
            continue;
        }
        let crossing = r
            .data
            .sessions
            .iter()
            .filter(|s| s.start_time >= boundary_day && s.start_time < mid && s.end_time >= mid)
            .count() as f64;
        assert!(crossing >= 3.0);
        assert_eq!(
            l.value(SessionMetricName::Count, Statistic::Sum),
            h.value(SessionMetricName::Count, Statistic::Sum)
                .map(|c| c + crossing),
            "the boundary day holds the {crossing} conversations crossing midnight"
        );
    }
    // The split answers are the reference's, binned and folded into one bin.
    conformance::same_metrics(&r.memory, &r.lex, &whole).await;
    conformance::same_metrics(&r.memory, &r.lex, &query(r.start, r.end, None)).await;
    let stages = IntentStageMetricsQuery {
        range: time_range(r.start, r.end),
        metrics: vec![
            IntentStageMetricSpec {
                name: IntentStageMetricName::Count,
                statistic: Statistic::Sum,
            },
            IntentStageMetricSpec {
                name: IntentStageMetricName::Success,
                statistic: Statistic::Avg,
            },
        ],
        bin_by: None,
        group_by: vec![IntentStageGroupField::IntentStageName],
        filter: IntentStageFilter::default(),
    };
    conformance::same_metrics(&r.memory, &r.lex, &stages).await;
    // CONCURRENCY across two calls cannot be exact: an error, not a number.
    let mut concurrency = query(r.start, r.end, Some(BinInterval::OneHour));
    concurrency.metrics = vec![SessionMetricSpec {
        name: SessionMetricName::Concurrency,
        statistic: Statistic::Max,
    }];
    let e = r.lex.metrics_of(&concurrency).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    assert!(e.message.contains("one month"), "{}", e.message);
    assert_eq!(refused(&r.sim), 0);
}

#[tokio::test]
async fn a_start_more_than_365_days_back_is_refused_before_any_call() {
    use chrono::{Duration, Utc};
    let r = recent(10).await;
    let now = Utc::now();
    let range = time_range(now - Duration::days(400), now - Duration::days(390));
    let page = SessionQuery {
        range,
        filter: SessionFilter::default(),
        order: SessionOrder::default(),
        after: None,
        limit: PageSize::parse(10, 1000).unwrap(),
    };
    let e = r.lex.sessions(&page).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadUserInput, "{e:?}");
    assert_eq!(e.argument.as_deref(), Some("range"));
    let day = (now - Duration::days(400)).format("%Y-%m-%d").to_string();
    assert!(
        e.message.contains("365 days") && e.message.contains(&day),
        "{}",
        e.message
    );
    let metrics = SessionMetricsQuery {
        range,
        metrics: all_session_metrics(Statistic::Sum),
        bin_by: None,
        group_by: vec![],
        filter: SessionFilter::default(),
    };
    let e = r.lex.metrics_of(&metrics).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::BadUserInput, "{e:?}");
    assert!(
        r.sim.stats().is_empty(),
        "no call reached Lex: {:?}",
        r.sim.stats()
    );
}

/// `durationSeconds { gt, lt }` reaches Lex as one Duration filter (the
/// strict simulator refuses a repeated name, so no refusal proves it), and
/// the sessions are right; Lex computes metrics itself, so there the left-out
/// bound is UNSUPPORTED_BY_VENDOR, naming it.
#[tokio::test]
async fn a_duration_range_sends_one_duration_filter_and_keeps_the_right_sessions() {
    let f = fixture(150).await;
    let filter = SessionFilter {
        duration_seconds: Some(DurationFilter {
            eq: None,
            gt: Some(40),
            lt: Some(200),
        }),
        ..Default::default()
    };
    let n = conformance::same_sessions(
        &f.memory,
        &f.lex,
        range(),
        &filter,
        SessionOrder::default(),
        25,
        conformance::Differences::default(),
    )
    .await;
    let outside = f
        .data
        .sessions_in(&range())
        .filter(|s| s.duration_seconds <= 40 || s.duration_seconds >= 200)
        .count();
    assert!(
        n > 20 && outside > 20,
        "both bounds matter: {n} inside, {outside} outside"
    );
    assert_eq!(refused(&f.sim), 0, "{:?}", f.sim.stats());
    let e = f
        .lex
        .metrics_of(&SessionMetricsQuery {
            range: range(),
            metrics: all_session_metrics(Statistic::Sum),
            bin_by: None,
            group_by: vec![],
            filter,
        })
        .await
        .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
    assert!(
        e.message.contains("durationSeconds.lt (200)")
            || e.message.contains("durationSeconds.gt (40)"),
        "{}",
        e.message
    );
}

/// The simulator itself enforces the guide's rules by default, and
/// `lenient_ranges` turns the range rules off.
#[tokio::test]
async fn the_simulator_enforces_the_range_rules_and_one_use_of_a_filter_name() {
    use chrono::{Duration, Utc};
    let now = Utc::now();
    let secs = |t: chrono::DateTime<Utc>| t.timestamp() as f64;
    let body = |a: chrono::DateTime<Utc>, b: chrono::DateTime<Utc>| json!({ "startDateTime": secs(a), "endDateTime": secs(b), "maxResults": 10 });
    for lenient in [false, true] {
        let f = fixture_with(
            10,
            LexSimConfig {
                lenient_ranges: lenient,
                ..LexSimConfig::default()
            },
        )
        .await;
        let url = f.sim.url();
        let old = raw(
            &url,
            "sessions",
            body(now - Duration::days(400), now - Duration::days(399)),
        )
        .await;
        let long = raw(
            &url,
            "sessions",
            body(now - Duration::days(60), now - Duration::days(20)),
        )
        .await;
        let month = raw(
            &url,
            "sessions",
            body(now - Duration::days(58), now - Duration::days(30)),
        )
        .await;
        assert_eq!(month.0, 200, "{:?}", month.2);
        if lenient {
            assert_eq!((old.0, long.0), (200, 200));
        } else {
            assert_validation(old.0, &old.1, &old.2, "365 days");
            assert_validation(long.0, &long.1, &long.2, "1 month after the start date");
        }
        let mut twice = body(now - Duration::days(10), now - Duration::days(9));
        twice["filters"] = json!([
            { "name": "Duration", "operator": "GT", "values": ["30"] },
            { "name": "Duration", "operator": "LT", "values": ["300"] },
        ]);
        let (status, headers, answer) = raw(&url, "sessions", twice).await;
        assert_validation(status, &headers, &answer, "more than once");
    }
}

// ---- The intent and utterance operations, with the real SDK ----

#[tokio::test]
async fn list_intent_metrics_every_metric_and_group_field_over_three_pages() {
    use aws_sdk_lexmodelsv2::types::{
        AnalyticsBinByName, AnalyticsBinBySpecification, AnalyticsIntentField,
        AnalyticsIntentGroupBySpecification, AnalyticsIntentMetric, AnalyticsIntentMetricName,
        AnalyticsInterval, AnalyticsMetricStatistic,
    };
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let metric = |n, s| {
        AnalyticsIntentMetric::builder()
            .name(n)
            .statistic(s)
            .build()
            .unwrap()
    };
    let group = |n| {
        AnalyticsIntentGroupBySpecification::builder()
            .name(n)
            .build()
            .unwrap()
    };
    let mut pages = client
        .list_intent_metrics()
        .bot_id(LEX_BOT_ID)
        .start_date_time(lex_time(range().start()))
        .end_date_time(lex_time(range().end()))
        .metrics(metric(
            AnalyticsIntentMetricName::Count,
            AnalyticsMetricStatistic::Sum,
        ))
        .metrics(metric(
            AnalyticsIntentMetricName::Success,
            AnalyticsMetricStatistic::Sum,
        ))
        .metrics(metric(
            AnalyticsIntentMetricName::Failure,
            AnalyticsMetricStatistic::Avg,
        ))
        .metrics(metric(
            AnalyticsIntentMetricName::Switched,
            AnalyticsMetricStatistic::Max,
        ))
        .metrics(metric(
            AnalyticsIntentMetricName::Dropped,
            AnalyticsMetricStatistic::Sum,
        ))
        .bin_by(
            AnalyticsBinBySpecification::builder()
                .name(AnalyticsBinByName::ConversationStartTime)
                .interval(AnalyticsInterval::OneDay)
                .build()
                .unwrap(),
        )
        .group_by(group(AnalyticsIntentField::IntentName))
        .group_by(group(AnalyticsIntentField::IntentEndState))
        .group_by(group(AnalyticsIntentField::IntentLevel))
        .into_paginator()
        .page_size(40)
        .send();
    let (mut n_pages, mut count, mut switched) = (0, 0.0, 0.0);
    while let Some(page) = pages.next().await {
        n_pages += 1;
        for r in page.unwrap().results() {
            let key = |f: AnalyticsIntentField| {
                r.group_by_keys()
                    .iter()
                    .find(|k| k.name() == Some(&f))
                    .and_then(|k| k.value())
                    .unwrap()
                    .to_owned()
            };
            let state = key(AnalyticsIntentField::IntentEndState);
            assert!(["Success", "Failure", "Switched", "Dropped"].contains(&state.as_str()));
            assert!(
                key(AnalyticsIntentField::IntentLevel)
                    .parse::<u32>()
                    .unwrap()
                    >= 1
            );
            let value = |m: AnalyticsIntentMetricName| {
                r.metrics_results()
                    .iter()
                    .find(|v| v.name() == Some(&m))
                    .and_then(|v| v.value())
                    .unwrap()
            };
            // Each group holds one end state: its own metric is all, the others none.
            let n = value(AnalyticsIntentMetricName::Count);
            let own = |word: &str| if state == word { 1.0 } else { 0.0 };
            assert_eq!(
                value(AnalyticsIntentMetricName::Success),
                n * own("Success")
            );
            assert_eq!(value(AnalyticsIntentMetricName::Failure), own("Failure"));
            assert_eq!(value(AnalyticsIntentMetricName::Switched), own("Switched"));
            count += n;
            switched += n * own("Switched");
        }
    }
    let want: Vec<_> = f.data.intents_in(&range()).collect();
    assert!(n_pages >= 3, "{n_pages} pages");
    assert_eq!(count, want.len() as f64);
    let want_switched = want
        .iter()
        .filter(|r| r.end_state == botscope::domain::IntentEndState::Switched)
        .count();
    assert!(want_switched > 0);
    assert_eq!(switched, want_switched as f64);
}

#[tokio::test]
async fn list_utterance_metrics_by_text_and_state_with_last_used_intent() {
    use aws_sdk_lexmodelsv2::types::{
        AnalyticsBinByName, AnalyticsBinBySpecification, AnalyticsInterval,
        AnalyticsMetricStatistic, AnalyticsSortOrder, AnalyticsUtteranceAttribute,
        AnalyticsUtteranceAttributeName, AnalyticsUtteranceField,
        AnalyticsUtteranceGroupBySpecification, AnalyticsUtteranceMetric,
        AnalyticsUtteranceMetricName,
    };
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let metric = |n, s| {
        AnalyticsUtteranceMetric::builder()
            .name(n)
            .statistic(s)
            .build()
            .unwrap()
    };
    let group = |n| {
        AnalyticsUtteranceGroupBySpecification::builder()
            .name(n)
            .build()
            .unwrap()
    };
    let mut pages = client
        .list_utterance_metrics()
        .bot_id(LEX_BOT_ID)
        .start_date_time(lex_time(range().start()))
        .end_date_time(lex_time(range().end()))
        .metrics(
            AnalyticsUtteranceMetric::builder()
                .name(AnalyticsUtteranceMetricName::Count)
                .statistic(AnalyticsMetricStatistic::Sum)
                .order(AnalyticsSortOrder::Descending)
                .build()
                .unwrap(),
        )
        .metrics(metric(
            AnalyticsUtteranceMetricName::Missed,
            AnalyticsMetricStatistic::Sum,
        ))
        .metrics(metric(
            AnalyticsUtteranceMetricName::Detected,
            AnalyticsMetricStatistic::Avg,
        ))
        .metrics(metric(
            AnalyticsUtteranceMetricName::UtteranceTimestamp,
            AnalyticsMetricStatistic::Max,
        ))
        .bin_by(
            AnalyticsBinBySpecification::builder()
                .name(AnalyticsBinByName::UtteranceTimestamp)
                .interval(AnalyticsInterval::OneDay)
                .build()
                .unwrap(),
        )
        .group_by(group(AnalyticsUtteranceField::UtteranceText))
        .group_by(group(AnalyticsUtteranceField::UtteranceState))
        .attributes(
            AnalyticsUtteranceAttribute::builder()
                .name(AnalyticsUtteranceAttributeName::LastUsedIntent)
                .build()
                .unwrap(),
        )
        .into_paginator()
        .page_size(50)
        .send();
    let (mut n_pages, mut count, mut missed, mut previous) = (0, 0.0, 0.0, f64::MAX);
    while let Some(page) = pages.next().await {
        n_pages += 1;
        for r in page.unwrap().results() {
            let value = |m: AnalyticsUtteranceMetricName| {
                r.metrics_results()
                    .iter()
                    .find(|v| v.name() == Some(&m))
                    .and_then(|v| v.value())
                    .unwrap()
            };
            let n = value(AnalyticsUtteranceMetricName::Count);
            assert!(n <= previous, "ordered by Count descending");
            previous = n;
            let state = r
                .group_by_keys()
                .iter()
                .find(|k| k.name() == Some(&AnalyticsUtteranceField::UtteranceState))
                .and_then(|k| k.value())
                .unwrap();
            let detected = if state == "Detected" { 1.0 } else { 0.0 };
            assert_eq!(value(AnalyticsUtteranceMetricName::Detected), detected);
            assert_eq!(
                value(AnalyticsUtteranceMetricName::Missed),
                n * (1.0 - detected)
            );
            let last = value(AnalyticsUtteranceMetricName::UtteranceTimestamp);
            assert!(last >= range().start().timestamp() as f64);
            assert_eq!(r.attribute_results().len(), 1);
            count += n;
            missed += value(AnalyticsUtteranceMetricName::Missed);
        }
        previous = f64::MAX;
    }
    let want = f.data.utterances_in(&range());
    assert!(n_pages >= 3, "{n_pages} pages");
    assert_eq!(count, want.len() as f64);
    let want_missed = want
        .iter()
        .filter(|u| u.state == botscope::domain::UtteranceState::Missed)
        .count() as f64;
    assert!(want_missed > 10.0);
    assert_eq!(missed, want_missed);
}

#[tokio::test]
async fn list_utterance_analytics_data_pages_every_missed_utterance_once() {
    use aws_sdk_lexmodelsv2::types::{
        AnalyticsSortOrder, AnalyticsUtteranceFilter, AnalyticsUtteranceFilterName,
        AnalyticsUtteranceSortByName, IntentState, UtteranceDataSortBy,
    };
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let mut pages = client
        .list_utterance_analytics_data()
        .bot_id(LEX_BOT_ID)
        .start_date_time(lex_time(range().start()))
        .end_date_time(lex_time(range().end()))
        .sort_by(
            UtteranceDataSortBy::builder()
                .name(AnalyticsUtteranceSortByName::UtteranceTimestamp)
                .order(AnalyticsSortOrder::Ascending)
                .build()
                .unwrap(),
        )
        .filters(
            AnalyticsUtteranceFilter::builder()
                .name(AnalyticsUtteranceFilterName::UtteranceState)
                .operator(AnalyticsFilterOperator::Equals)
                .values("Missed")
                .build()
                .unwrap(),
        )
        .into_paginator()
        .page_size(25)
        .send();
    let (mut n_pages, mut got, mut last) = (0, Vec::new(), 0.0);
    while let Some(page) = pages.next().await {
        n_pages += 1;
        for u in page.unwrap().utterances() {
            assert!(!u.utterance_understood());
            // A spelling outside the model's enum would decode as Unknown.
            assert!(
                u.intent_state()
                    .is_some_and(|s| IntentState::values().contains(&s.as_str())),
                "{:?}",
                u.intent_state()
            );
            assert!(u.conversation_start_time().is_some() && u.conversation_end_time().is_some());
            let at = u.utterance_timestamp().unwrap().as_secs_f64();
            assert!(at >= last, "ascending");
            last = at;
            got.push((
                u.session_id().unwrap().to_owned(),
                u.utterance().unwrap().to_owned(),
            ));
        }
    }
    let want: Vec<(String, String)> = f
        .data
        .utterances_in(&range())
        .iter()
        .filter(|u| u.state == botscope::domain::UtteranceState::Missed)
        .map(|u| (u.session_id.clone(), u.text.clone()))
        .collect();
    assert!(n_pages >= 3, "{n_pages} pages");
    assert_eq!(got, want);
}

#[tokio::test]
async fn list_intent_paths_expands_one_level_per_call() {
    use aws_sdk_lexmodelsv2::types::AnalyticsNodeType;
    let f = fixture(150).await;
    let client = sdk_client(&f.sim.url());
    let level = |path: &'static str| {
        client
            .list_intent_paths()
            .bot_id(LEX_BOT_ID)
            .start_date_time(lex_time(range().start()))
            .end_date_time(lex_time(range().end()))
            .intent_path(path)
            .send()
    };
    let root = level("/").await.unwrap();
    let nodes = root.node_summaries();
    assert!(nodes.len() >= 5);
    let conversations: std::collections::HashSet<&str> = f
        .data
        .intents_in(&range())
        .map(|r| r.session_id.as_str())
        .collect();
    let total: i32 = nodes.iter().map(|n| n.intent_count().unwrap()).sum();
    assert_eq!(
        total as usize,
        conversations.len(),
        "every conversation starts somewhere"
    );
    let top = &nodes[0];
    assert_eq!(top.intent_level(), Some(1));
    assert_eq!(top.node_type(), Some(&AnalyticsNodeType::Inner));
    let path = top.intent_path().unwrap().to_owned();
    assert_eq!(path, format!("/{}", top.intent_name().unwrap()));
    let next = client
        .list_intent_paths()
        .bot_id(LEX_BOT_ID)
        .start_date_time(lex_time(range().start()))
        .end_date_time(lex_time(range().end()))
        .intent_path(&path)
        .send()
        .await
        .unwrap();
    let children = next.node_summaries();
    assert!(!children.is_empty());
    let went_on: i32 = children.iter().map(|n| n.intent_count().unwrap()).sum();
    assert!(
        went_on < top.intent_count().unwrap(),
        "some conversations ended at {path}"
    );
    for c in children {
        assert_eq!(c.intent_level(), Some(2));
        assert!(c.intent_path().unwrap().starts_with(&format!("{path}/")));
        assert!(matches!(
            c.node_type(),
            Some(AnalyticsNodeType::Inner | AnalyticsNodeType::Exit)
        ));
    }
}

/// The model's limits for the new operations, refused server-side.
#[tokio::test]
async fn the_intent_and_utterance_operations_refuse_what_the_model_rules_out() {
    let f = fixture(10).await;
    let url = f.sim.url();
    let (s, e) = (range().start().timestamp(), range().end().timestamp());
    let metric = |n: &str| json!({ "name": n, "statistic": "Sum" });
    let cases: Vec<(&str, Value, &str)> = vec![
        (
            "intentmetrics",
            json!({ "startDateTime": s, "endDateTime": e,
            "metrics": (["Count","Success","Failure","Switched","Dropped","Count"].map(metric)) }),
            "length less than or equal to 5",
        ),
        (
            "intentmetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "groupBy": [{"name":"IntentName"},{"name":"IntentEndState"},{"name":"IntentLevel"},{"name":"IntentName"}] }),
            "less than or equal to 3",
        ),
        (
            "intentmetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Retry")] }),
            "Retry",
        ),
        (
            "intentmetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "filters": [{"name":"IntentEndState","operator":"EQ","values":["SUCCESS"]}] }),
            "SUCCESS",
        ),
        (
            "intentmetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "filters": (0..10).map(|i| json!({"name": format!("IntentName{i}"), "operator":"EQ","values":["x"]})).collect::<Vec<_>>() }),
            "less than or equal to 9",
        ),
        (
            "utterancemetrics",
            json!({ "startDateTime": s, "endDateTime": e,
            "metrics": (["Count","Missed","Detected","UtteranceTimestamp","Count"].map(metric)) }),
            "less than or equal to 4",
        ),
        (
            "utterancemetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "groupBy": [{"name":"UtteranceText"},{"name":"UtteranceState"},{"name":"UtteranceText"}] }),
            "less than or equal to 2",
        ),
        (
            "utterancemetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "binBy": [{"name":"ConversationStartTime","interval":"OneDay"}] }),
            "UtteranceTimestamp",
        ),
        (
            "utterancemetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "attributes": [{"name":"LastUsedIntent"},{"name":"LastUsedIntent"}] }),
            "attributes",
        ),
        (
            "utterancemetrics",
            json!({ "startDateTime": s, "endDateTime": e, "metrics": [metric("Count")],
            "filters": [{"name":"UtteranceText","operator":"CO","values":["refund"]}] }),
            "CO",
        ),
        (
            "utterances",
            json!({ "startDateTime": s, "endDateTime": e,
            "sortBy": {"name":"ConversationStartTime","order":"Ascending"} }),
            "ConversationStartTime",
        ),
        (
            "utterances",
            json!({ "startDateTime": s, "endDateTime": e,
            "filters": [{"name":"UtteranceState","operator":"EQ","values":["a","b","c","d","e","f"]}] }),
            "less than or equal to 5",
        ),
        (
            "intentpaths",
            json!({ "startDateTime": s, "endDateTime": e }),
            "intentPath",
        ),
        (
            "intentpaths",
            json!({ "startDateTime": s, "endDateTime": e, "intentPath": "BookCar" }),
            "BookCar",
        ),
        (
            "intentpaths",
            json!({ "startDateTime": s, "endDateTime": e, "intentPath": "/a//b" }),
            "/a//b",
        ),
        (
            "intentpaths",
            json!({ "startDateTime": s, "endDateTime": e, "intentPath": "/",
            "filters": [{"name":"IntentName","operator":"EQ","values":["x"]}] }),
            "IntentName",
        ),
    ];
    for (op, body, needle) in cases {
        let (status, headers, answer) = raw(&url, op, body.clone()).await;
        assert_eq!(status, 400, "{op} {body}: {answer}");
        assert_validation(status, &headers, &answer, needle);
    }
}

/// boto3 — which checks every request against the official model before it
/// sends it — builds a request for every operation the simulator serves and
/// pages through every answer (`scripts/boto3_lex_sim.py`). CI installs boto3;
/// without Python or boto3 this test fails, it does not skip.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn boto3_builds_every_request_and_pages_every_answer() {
    let f = fixture(150).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/boto3_lex_sim.py");
    let out = tokio::process::Command::new("python3")
        .arg(script)
        .arg(f.sim.url())
        .arg(LEX_BOT_ID)
        .arg(range().start().timestamp().to_string())
        .arg(range().end().timestamp().to_string())
        .output()
        .await
        .expect("python3 is needed for this test (CI installs it with boto3)");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "boto3 failed (pip install boto3?):\n{stdout}\n{stderr}"
    );
    for op in [
        "list_session_analytics_data",
        "list_session_metrics",
        "list_intent_stage_metrics",
        "list_intent_metrics",
        "list_utterance_metrics",
        "list_utterance_analytics_data",
        "list_intent_paths",
    ] {
        assert!(
            stdout.contains(&format!("{op}: ")),
            "{op} missing:\n{stdout}"
        );
    }
    assert_eq!(refused(&f.sim), 0, "{:?}", f.sim.stats());
}

/// `LexSource::intent_paths` through the real SDK answers like the reference:
/// at the root, a level deeper, with a filter; a range over one month is
/// refused rather than answered with counts that do not add up.
#[tokio::test]
async fn intent_paths_through_the_sdk_match_the_reference() {
    use botscope::domain::{IntentPath, IntentPathFilter, IntentPathQuery};
    let f = fixture(150).await;
    let query = |path: &str, filter: IntentPathFilter| IntentPathQuery {
        range: range(),
        path: IntentPath::parse(path).unwrap(),
        filter,
    };
    let root = query("/", IntentPathFilter::default());
    let want = f.memory.intent_paths(&root).await.unwrap();
    assert!(want.len() >= 5);
    assert_eq!(f.lex.intent_paths(&root).await.unwrap(), want);
    let deeper = query(&want[0].path, IntentPathFilter::default());
    let want_deeper = f.memory.intent_paths(&deeper).await.unwrap();
    assert!(!want_deeper.is_empty());
    assert_eq!(f.lex.intent_paths(&deeper).await.unwrap(), want_deeper);
    let web = query(
        "/",
        IntentPathFilter {
            channels: Some(vec!["Web".into()]),
            locales: Some(vec!["en_US".into(), "es_US".into()]),
            ..Default::default()
        },
    );
    let want_web = f.memory.intent_paths(&web).await.unwrap();
    assert!(
        want_web.iter().map(|n| n.count).sum::<u64>() < want.iter().map(|n| n.count).sum::<u64>()
    );
    assert_eq!(f.lex.intent_paths(&web).await.unwrap(), want_web);
    assert_eq!(refused(&f.sim), 0);
    // Over a month: an error, never a different number.
    let r = recent(5).await;
    let long = IntentPathQuery {
        range: time_range(r.start, r.end),
        ..root
    };
    let e = r.lex.intent_paths(&long).await.unwrap_err();
    assert_eq!(e.kind, ErrorKind::Unsupported, "{e:?}");
}

#[tokio::test]
async fn intent_and_utterance_families_through_the_sdk_match_the_reference() {
    use botscope::domain::{
        IntentEndState, IntentFilter, IntentGroupField as IG, IntentMetricName as IM,
        IntentMetricsQuery, MetricSpec, UtteranceFilter, UtteranceGroupField as UG,
        UtteranceMetricName as UM, UtteranceMetricsQuery, UtteranceState,
    };
    let f = fixture(150).await;
    let mut intent_metrics: Vec<MetricSpec<IM>> = IM::ALL
        .iter()
        .map(|m| MetricSpec {
            name: *m,
            statistic: Statistic::Sum,
        })
        .collect();
    intent_metrics.push(MetricSpec {
        name: IM::Success,
        statistic: Statistic::Avg,
    });
    intent_metrics.push(MetricSpec {
        name: IM::Count,
        statistic: Statistic::Max,
    });
    for bin_by in [None, Some(BinInterval::OneHour), Some(BinInterval::OneDay)] {
        for group_by in [
            vec![],
            vec![IG::IntentName],
            vec![IG::IntentEndState],
            vec![IG::IntentLevel],
            vec![IG::IntentName, IG::IntentEndState],
            // ListIntentMetrics takes three group fields.
            vec![IG::IntentLevel, IG::IntentName, IG::IntentEndState],
        ] {
            let q = IntentMetricsQuery {
                range: range(),
                metrics: intent_metrics.clone(),
                bin_by,
                group_by,
                filter: IntentFilter::default(),
            };
            conformance::same_metrics(&f.memory, &f.lex, &q).await;
        }
    }
    let filtered = IntentMetricsQuery {
        range: range(),
        metrics: intent_metrics.clone(),
        bin_by: None,
        group_by: vec![IG::IntentName],
        filter: IntentFilter {
            intent_end_states: Some(vec![IntentEndState::Failure, IntentEndState::Dropped]),
            channels: Some(vec!["Web".into()]),
            ..Default::default()
        },
    };
    conformance::same_metrics(&f.memory, &f.lex, &filtered).await;

    let utterance_metrics = vec![
        MetricSpec {
            name: UM::Count,
            statistic: Statistic::Sum,
        },
        MetricSpec {
            name: UM::Detected,
            statistic: Statistic::Sum,
        },
        MetricSpec {
            name: UM::Missed,
            statistic: Statistic::Sum,
        },
        MetricSpec {
            name: UM::Missed,
            statistic: Statistic::Avg,
        },
        MetricSpec {
            name: UM::Count,
            statistic: Statistic::Max,
        },
    ];
    for bin_by in [None, Some(BinInterval::OneDay)] {
        for group_by in [
            vec![],
            vec![UG::UtteranceText],
            vec![UG::UtteranceState],
            vec![UG::UtteranceText, UG::UtteranceState],
        ] {
            let q = UtteranceMetricsQuery {
                range: range(),
                metrics: utterance_metrics.clone(),
                bin_by,
                group_by,
                filter: UtteranceFilter::default(),
            };
            conformance::same_metrics(&f.memory, &f.lex, &q).await;
        }
    }
    // A filter Lex cannot take for metrics: counted from the records instead.
    let data_calls = |sim: &botscope::simulators::lex::LexSimulator| -> u64 {
        sim.stats()
            .iter()
            .filter(|s| s.operation == "ListUtteranceAnalyticsData")
            .map(|s| s.counters.calls)
            .sum()
    };
    let calls_before = data_calls(&f.sim);
    let contains = UtteranceMetricsQuery {
        range: range(),
        metrics: utterance_metrics.clone(),
        bin_by: Some(BinInterval::OneDay),
        group_by: vec![UG::UtteranceText],
        filter: UtteranceFilter {
            text_contains: Some(vec!["human".into()]),
            states: Some(vec![UtteranceState::Missed]),
            ..Default::default()
        }
        .canonical(),
    };
    conformance::same_metrics(&f.memory, &f.lex, &contains).await;
    assert!(
        data_calls(&f.sim) > calls_before,
        "computed from the records"
    );

    // The records, paged in several sizes, are the reference's, in order.
    let want =
        conformance::all_utterances(&f.memory, range(), UtteranceFilter::default(), 1000).await;
    assert!(want.len() > 500, "{}", want.len());
    for size in [7, 50, 1000] {
        let got =
            conformance::all_utterances(&f.lex, range(), UtteranceFilter::default(), size).await;
        assert_eq!(got.len(), want.len(), "page size {size}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(
                (
                    &g.session_id,
                    g.timestamp,
                    &g.text,
                    g.state,
                    &g.intent_name,
                    &g.channel
                ),
                (
                    &w.session_id,
                    w.timestamp,
                    &w.text,
                    w.state,
                    &w.intent_name,
                    &w.channel
                ),
                "page size {size}"
            );
        }
    }
    // Page size 1 over one hour: every page read until it is certain.
    let hour = botscope::domain::TimeRange::parse(
        range().start() + chrono::Duration::hours(10),
        range().start() + chrono::Duration::hours(11),
        92,
    )
    .unwrap();
    let want_hour =
        conformance::all_utterances(&f.memory, hour, UtteranceFilter::default(), 1).await;
    let got_hour = conformance::all_utterances(&f.lex, hour, UtteranceFilter::default(), 1).await;
    assert!(want_hour.len() >= 5, "{}", want_hour.len());
    assert_eq!(
        got_hour
            .iter()
            .map(|u| (&u.session_id, u.timestamp, &u.text))
            .collect::<Vec<_>>(),
        want_hour
            .iter()
            .map(|u| (&u.session_id, u.timestamp, &u.text))
            .collect::<Vec<_>>(),
        "page size 1"
    );
    let one_session = UtteranceFilter {
        session_ids: Some(vec![want[0].session_id.clone()]),
        ..Default::default()
    };
    let got = conformance::all_utterances(&f.lex, range(), one_session.clone(), 3).await;
    let want_one = conformance::all_utterances(&f.memory, range(), one_session, 3).await;
    assert_eq!(got.len(), want_one.len());
    assert!(!got.is_empty() && got.iter().all(|u| u.session_id == want[0].session_id));
    assert_eq!(refused(&f.sim), 0);
}
