//! Micro-benchmarks of the hot paths: `cargo bench --bench core`.
//! Figures and the machine are in BENCHMARKS.md.

use std::hint::black_box;
use std::sync::Arc;

use chrono::{Duration, TimeZone, Utc};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

use botscope::demo::demo_specs;

/// The allocator the `botscope` binary uses, so the figures are the binary's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use botscope::domain::{
    BinInterval, Session, SessionAggregator, SessionGroupField, SessionKey, SessionMetricName,
    SessionMetricSpec, SessionOrder, Statistic, TimeRange,
};
use botscope::engine::{CursorKey, merge_sorted};
use botscope::simulators::dataset::{Dataset, DatasetBot};

/// `cargo bench` passes `--bench`; `cargo test --all-targets` runs each
/// benchmark once without it, as a test that it works: there the data is a
/// hundredth of the size (generating a million sessions unoptimized took
/// a minute and 4.8 GB of the test run).
fn size(full: u32) -> u32 {
    if std::env::args().any(|a| a == "--bench") {
        full
    } else {
        (full / 100).max(1)
    }
}

fn sessions(n_per_day: u32, days: i64) -> Vec<Session> {
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let bot = DatasetBot::lex("bench", n_per_day, [0.6, 0.2, 0.2]);
    let mut d = Dataset::generate(1, &[bot], t0, t0 + Duration::days(days));
    std::mem::take(&mut d.bots[0].1.sessions)
}

fn aggregation(c: &mut Criterion) {
    // ~1 M sessions over 30 days; the 10 M case streams them 10 times.
    let data = sessions(size(36_000), 30);
    let range = TimeRange::parse(
        data[0].start_time,
        data[data.len() - 1].end_time + Duration::seconds(1),
        92,
    )
    .unwrap();
    let metrics = [
        SessionMetricSpec {
            name: SessionMetricName::Count,
            statistic: Statistic::Sum,
        },
        SessionMetricSpec {
            name: SessionMetricName::Duration,
            statistic: Statistic::Avg,
        },
        SessionMetricSpec {
            name: SessionMetricName::Success,
            statistic: Statistic::Avg,
        },
    ];
    let groups = [SessionGroupField::EndState, SessionGroupField::Locale];
    let mut g = c.benchmark_group("aggregate_hourly_2_groups");
    g.sample_size(10);
    for repeats in [1usize, 10] {
        g.throughput(Throughput::Elements((data.len() * repeats) as u64));
        g.bench_with_input(
            BenchmarkId::from_parameter(format!(
                "{:.1}M_sessions",
                (data.len() * repeats) as f64 / 1e6
            )),
            &repeats,
            |b, &repeats| {
                b.iter(|| {
                    let mut agg = SessionAggregator::new(
                        None,
                        range,
                        &metrics,
                        Some(BinInterval::OneHour),
                        &groups,
                    )
                    .unwrap();
                    for _ in 0..repeats {
                        agg.push_all(&data).unwrap();
                    }
                    black_box(agg.finish())
                })
            },
        );
    }
    g.finish();
}

fn merge(c: &mut Criterion) {
    let order = SessionOrder::default();
    let (infos, specs) = demo_specs(1);
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let runs: Vec<Vec<Session>> = infos
        .iter()
        .zip(&specs)
        .map(|(info, spec)| {
            let spec = DatasetBot {
                sessions_per_day: size(4_000),
                ..spec.clone()
            };
            let mut d = Dataset::generate(2, &[spec], t0, t0 + Duration::days(30));
            let mut v = std::mem::take(&mut d.bots[0].1.sessions);
            v.truncate(100_000);
            v.iter_mut().for_each(|s| s.bot_id = info.id.clone());
            v.sort_by(|a, b| order.compare(a, b));
            v
        })
        .collect();
    let total: usize = runs.iter().map(Vec::len).sum();
    let mut g = c.benchmark_group("kway_merge");
    g.sample_size(10);
    g.throughput(Throughput::Elements(total as u64));
    g.bench_function(format!("4x{}k", runs[0].len() / 1000), |b| {
        b.iter_batched(
            || runs.clone(),
            |runs| black_box(merge_sorted(runs, &order, usize::MAX)),
            criterion::BatchSize::LargeInput,
        )
    });
    g.finish();
}

fn cursors(c: &mut Criterion) {
    let key = CursorKey::new(b"bench-cursor-secret-0123456789");
    let k = SessionKey {
        value: 1_772_409_600_000,
        bot_id: "support-lex".into(),
        session_id: "3f1c9a2b-8d7e4f6a1b2c".into(),
        originating_request_id: Some("9a8b7c6d-1a-2b".into()),
    };
    let encoded = key.encode("fingerprint-0123", &k);
    c.bench_function("cursor_encode", |b| {
        b.iter(|| black_box(key.encode("fingerprint-0123", &k)))
    });
    c.bench_function("cursor_decode", |b| {
        b.iter(|| {
            black_box(
                key.decode::<botscope::domain::SessionKey>("fingerprint-0123", &encoded)
                    .unwrap(),
            )
        })
    });
}

fn execute_from_source_cache(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
    let (infos, specs) = demo_specs(1000);
    let data = Dataset::generate(3, &specs, t0, t0 + Duration::days(7));
    let sources: Vec<Arc<dyn botscope::sources::AnalyticsSource>> = infos
        .into_iter()
        .zip(data.bots)
        .map(|(info, (_, d))| {
            Arc::new(botscope::sources::memory::MemorySource::new(
                info,
                Arc::new(d),
            )) as Arc<dyn botscope::sources::AnalyticsSource>
        })
        .collect();
    let config = botscope::config::Config::from_toml_str(
        "listen = \"127.0.0.1:0\"\ncursor_secret = \"bench-cursor-secret-0123\"",
        &|_| None,
    )
    .unwrap();
    let settings = rt
        .block_on(botscope::app::Settings::from_config(&config))
        .unwrap();
    let app = rt
        .block_on(botscope::app::Application::build(sources, settings))
        .unwrap();
    let schema = botscope::graphql::build_schema(
        app.engine().clone(),
        &botscope::graphql::SchemaLimits::default(),
        None,
    );
    let query = r#"{ sessions(range: {start: "2026-03-02T00:00:00Z", end: "2026-03-09T00:00:00Z"}, first: 100) {
        edges { cursor node { id startTime endState durationSeconds } } pageInfo { hasNextPage endCursor } } }"#;
    // Warm the source cache.
    let warm = rt.block_on(schema.execute(query));
    assert!(warm.errors.is_empty(), "{:?}", warm.errors);
    c.bench_function("execute_sessions_first100_4bots_warm_source_cache", |b| {
        b.to_async(&rt)
            .iter(|| async { black_box(schema.execute(query).await) })
    });
}

criterion_group!(
    benches,
    aggregation,
    merge,
    cursors,
    execute_from_source_cache
);
criterion_main!(benches);
