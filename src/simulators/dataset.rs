//! The synthetic dataset every simulator serves: deterministic from a seed.
//!
//! `Dataset::generate` draws each bot's traffic hour by hour from a random
//! generator seeded with (seed, bot id, hour), so the same seed gives the same
//! sessions whatever range is generated, and a simulator started for 30 days
//! agrees with one started for 7 on the days they share.
//!
//! Traffic follows a diurnal curve (quiet nights, a late-morning and an
//! early-evening peak) and is lighter at weekends. Each bot has its own
//! end-state mix, locales, channels (voice among them), intents and intent
//! stages (with retries, drops and switches to other intents). Durations and
//! turns have long tails (log-normal). Records carry each vendor's own fields:
//! Lex sessions have alias, version, originating request id and intents; Kore
//! sessions have user ids, `sessionType`, tasks executed, tags and Kore's
//! `containmentType` word in `vendor_end_state`.

use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc, Weekday};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::activity;
use crate::domain::BotData;
use crate::domain::{
    ConversationEndState, IntentRecord, IntentStageRecord, Modality, Session, StageOutcome, Tag,
    UtteranceRecord, Vendor,
};

/// A fixed point in the recent past for tests and benches: the latest Monday
/// at least 60 days before `now` that is also a 6-day boundary counted from
/// the epoch (Kore's windows), so data generated from it is old enough to be
/// settled and young enough for Lex's 365-day rule whatever the date. Such
/// days come every 42 days, so it stays put for six weeks at a time.
pub fn fixture_epoch(now: DateTime<Utc>) -> DateTime<Utc> {
    let latest = (now - Duration::days(60)).timestamp().div_euclid(86_400);
    // Monday and a multiple of 6 ⇔ days ≡ 18 (mod 42) (1970-01-01 was a Thursday).
    let day = latest - (latest - 18).rem_euclid(42);
    Utc.timestamp_opt(day * 86_400, 0)
        .single()
        .unwrap_or(now - Duration::days(60))
}

/// One bot of the dataset and the shape of its traffic.
#[derive(Debug, Clone)]
pub struct DatasetBot {
    /// The gateway id the records carry.
    pub id: String,
    pub vendor: Vendor,
    /// Mean sessions on a weekday.
    pub sessions_per_day: u32,
    /// Probabilities of success, failure (Kore: `agent`), dropped; they sum to 1.
    pub end_state_mix: [f64; 3],
    /// Locales with weights.
    pub locales: Vec<(&'static str, f64)>,
    /// Channels with weights; `true` marks a voice channel.
    pub channels: Vec<(&'static str, f64, bool)>,
    pub intents: Vec<&'static str>,
}

impl DatasetBot {
    /// A Lex-like bot: Lex locales, channels and intents.
    pub fn lex(id: &str, sessions_per_day: u32, end_state_mix: [f64; 3]) -> Self {
        DatasetBot {
            id: id.to_owned(),
            vendor: Vendor::LexV2,
            sessions_per_day,
            end_state_mix,
            locales: vec![("en_US", 0.7), ("es_US", 0.2), ("fr_CA", 0.1)],
            channels: vec![
                ("Connect", 0.55, true),
                ("Web", 0.3, false),
                ("Slack", 0.1, false),
                ("Twilio-SMS", 0.05, false),
            ],
            // Most popular first: traffic follows a long tail (see `pick_intent`).
            intents: vec![
                "CheckBalance",
                "OrderStatus",
                "ResetPassword",
                "TalkToAgent",
                "BookAppointment",
                "PaymentDue",
                "UpdateAddress",
                "ChangePlan",
                "ReportFraud",
                "CancelSubscription",
                "OpeningHours",
                "CloseAccount",
            ],
        }
    }

    /// A Kore-like bot: Kore languages, channels and tasks.
    pub fn kore(id: &str, sessions_per_day: u32, end_state_mix: [f64; 3]) -> Self {
        DatasetBot {
            id: id.to_owned(),
            vendor: Vendor::Kore,
            sessions_per_day,
            end_state_mix,
            locales: vec![("en", 0.75), ("de", 0.15), ("es", 0.1)],
            channels: vec![
                ("rtm", 0.5, false),
                ("korevg", 0.25, true),
                ("msteams", 0.15, false),
                ("sms", 0.1, false),
            ],
            intents: vec![
                "Track Order",
                "Return Item",
                "Speak to Agent",
                "Update Address",
                "Store Hours",
                "Change Delivery Date",
                "Apply Coupon",
                "Gift Card Balance",
                "Cancel Order",
                "Report Damaged Item",
            ],
        }
    }
}

/// A generated dataset: every bot's sessions and intent-stage records.
#[derive(Debug)]
pub struct Dataset {
    pub bots: Vec<(DatasetBot, BotData)>,
}

/// Relative traffic per UTC hour (local time is not modelled).
const DIURNAL: [f64; 24] = [
    0.15, 0.1, 0.08, 0.08, 0.1, 0.2, 0.45, 0.8, 1.2, 1.55, 1.7, 1.65, 1.5, 1.45, 1.4, 1.35, 1.3,
    1.4, 1.55, 1.5, 1.2, 0.85, 0.5, 0.3,
];

fn hour_weight(t: DateTime<Utc>) -> f64 {
    let weekday = matches!(t.weekday(), Weekday::Sat | Weekday::Sun);
    let sum: f64 = DIURNAL.iter().sum();
    DIURNAL[t.hour() as usize] / sum * if weekday { 0.45 } else { 1.0 }
}

fn pick<'a, T>(rng: &mut ChaCha8Rng, items: &'a [(T, f64)]) -> &'a T {
    let total: f64 = items.iter().map(|(_, w)| w).sum();
    let mut x = rng.r#gen::<f64>() * total;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    &items[items.len() - 1].0
}

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(f64::MIN_POSITIVE);
    let u2: f64 = rng.r#gen();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A Poisson draw (Knuth for small means, normal approximation for large).
fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u32 {
    if mean > 30.0 {
        return (mean + mean.sqrt() * normal(rng)).round().max(0.0) as u32;
    }
    let limit = (-mean).exp();
    let mut k = 0;
    let mut p = rng.r#gen::<f64>();
    while p > limit {
        k += 1;
        p *= rng.r#gen::<f64>();
    }
    k
}

fn rng_for(seed: u64, bot: &str, hour: i64) -> ChaCha8Rng {
    let mut h = DefaultHasher::new();
    (seed, bot, hour).hash(&mut h);
    ChaCha8Rng::seed_from_u64(h.finish())
}

fn hex(rng: &mut ChaCha8Rng, n: usize) -> String {
    (0..n)
        .map(|_| char::from_digit(rng.gen_range(0..16), 16).unwrap_or('0'))
        .collect()
}

impl Dataset {
    /// Generates the sessions of every bot that ended by `end` and started at or
    /// after `start`.
    pub fn generate(
        seed: u64,
        bots: &[DatasetBot],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Self {
        Self::generate_with(seed, bots, start, end, false)
    }

    /// Like [`Dataset::generate`] up to `now`, with the conversations still
    /// open at `now` too (started before it, ending after it), as live traffic
    /// has them: simulators serve those as open until their end passes. As many
    /// are open at `now` as live traffic would have: arrival rate × mean
    /// duration (about 1 at a daytime hour for 500 sessions a day).
    pub fn generate_live(
        seed: u64,
        bots: &[DatasetBot],
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Self {
        Self::generate_with(seed, bots, start, now, true)
    }

    fn generate_with(
        seed: u64,
        bots: &[DatasetBot],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        open_at_end: bool,
    ) -> Self {
        let bots = bots
            .iter()
            .map(|bot| {
                let (sessions, stages, intents, utterances) =
                    generate_bot(seed, bot, start, end, open_at_end);
                let data = BotData::new(sessions, stages).with_activity(intents, utterances);
                (bot.clone(), data)
            })
            .collect();
        Dataset { bots }
    }

    pub fn bot(&self, id: &str) -> Option<&BotData> {
        self.bots.iter().find(|(b, _)| b.id == id).map(|(_, d)| d)
    }
}

fn generate_bot(
    seed: u64,
    bot: &DatasetBot,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    open_at_end: bool,
) -> BotRecords {
    let mut sessions = Vec::new();
    let mut stages = Vec::new();
    let mut intents = Vec::new();
    let mut utterances = Vec::new();
    let first_hour = start.timestamp().div_euclid(3600);
    let last_hour = (end.timestamp() - 1).div_euclid(3600);
    for hour in first_hour..=last_hour {
        let hour_start = Utc.timestamp_opt(hour * 3600, 0).single().unwrap_or(start);
        let mut rng = rng_for(seed, &bot.id, hour);
        let n = poisson(
            &mut rng,
            f64::from(bot.sessions_per_day) * hour_weight(hour_start),
        );
        for i in 0..n {
            let offset_ms = rng.gen_range(0..3_600_000);
            let s_start = hour_start + Duration::milliseconds(offset_ms);
            let (session, session_stages) = generate_session(&mut rng, bot, hour, i, s_start);
            let ended = session.end_time <= end || open_at_end;
            if session.start_time >= start && session.start_time < end && ended {
                let (i, u) = activity::generate(seed, &session, &session_stages);
                intents.extend(i);
                utterances.extend(u);
                sessions.push(session);
                stages.extend(session_stages);
            }
        }
    }
    (sessions, stages, intents, utterances)
}

/// Everything generated for one bot.
type BotRecords = (
    Vec<Session>,
    Vec<IntentStageRecord>,
    Vec<IntentRecord>,
    Vec<UtteranceRecord>,
);

fn generate_session(
    rng: &mut ChaCha8Rng,
    bot: &DatasetBot,
    hour: i64,
    i: u32,
    start: DateTime<Utc>,
) -> (Session, Vec<IntentStageRecord>) {
    let roll: f64 = rng.r#gen();
    let [p_success, p_failure, _] = bot.end_state_mix;
    let end_state = if roll < p_success {
        ConversationEndState::Success
    } else if roll < p_success + p_failure {
        ConversationEndState::Failure
    } else {
        ConversationEndState::Dropped
    };
    // Log-normal durations: median ~80 s, long tail to tens of minutes. Dropped
    // conversations are shorter, failures (handovers) longer.
    let state_factor = match end_state {
        ConversationEndState::Success => 1.0,
        ConversationEndState::Failure => 1.6,
        ConversationEndState::Dropped => 0.6,
    };
    let duration_s = ((4.4 + 0.9 * normal(rng)).exp() * state_factor)
        .clamp(2.0, 3.0 * 3600.0)
        .round() as i64;
    let turns = (1.0 + duration_s as f64 / 25.0 * (0.6 + rng.r#gen::<f64>())).round() as i64;
    let locale = *pick(rng, &bot.locales);
    let ch_idx = {
        let weighted: Vec<(usize, f64)> = bot
            .channels
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.1))
            .collect();
        *pick(rng, &weighted)
    };
    let (channel, _, voice) = bot.channels[ch_idx];
    let end =
        start + Duration::seconds(duration_s) + Duration::milliseconds(rng.gen_range(0..1000));
    let n_intents = 1 + usize::from(rng.gen_bool(0.3)) + usize::from(rng.gen_bool(0.1));
    let intents: Vec<String> = (0..n_intents)
        .map(|_| pick_intent(rng, &bot.intents).to_owned())
        .collect();

    let mut session = match bot.vendor {
        Vendor::LexV2 => Session {
            bot_id: bot.id.clone(),
            vendor: Vendor::LexV2,
            session_id: format!("{}-{}", hex(rng, 8), hex(rng, 12)),
            originating_request_id: Some(format!("{}-{hour:x}-{i:x}", hex(rng, 8))),
            user_id: None,
            channel: Some(channel.to_owned()),
            locale: Some(locale.to_owned()),
            modality: Some(if voice {
                if rng.gen_bool(0.15) {
                    Modality::Dtmf
                } else {
                    Modality::Speech
                }
            } else {
                Modality::Text
            }),
            start_time: start,
            end_time: end,
            duration_seconds: 0,
            end_state: Some(end_state),
            vendor_end_state: Some(
                match end_state {
                    ConversationEndState::Success => "Success",
                    ConversationEndState::Failure => "Failure",
                    ConversationEndState::Dropped => "Dropped",
                }
                .to_owned(),
            ),
            turns: Some(turns),
            intents: Some(intents.clone()),
            bot_alias_id: Some(
                if rng.gen_bool(0.8) {
                    "PRODALIAS1"
                } else {
                    "TSTALIASID"
                }
                .to_owned(),
            ),
            bot_version: Some(if rng.gen_bool(0.8) { "3" } else { "2" }.to_owned()),
            interactive: None,
            tasks_executed: None,
            tags: None,
            is_developer: None,
        },
        Vendor::Kore => Session {
            bot_id: bot.id.clone(),
            vendor: Vendor::Kore,
            session_id: hex(rng, 24),
            originating_request_id: None,
            user_id: Some(format!("u-{}", hex(rng, 10))),
            channel: Some(channel.to_owned()),
            locale: Some(locale.to_owned()),
            modality: Some(if voice {
                Modality::Speech
            } else {
                Modality::Text
            }),
            start_time: start,
            end_time: end,
            duration_seconds: 0,
            // Kore's default mapping: agent (handed to a human) counts as FAILURE.
            end_state: Some(end_state),
            vendor_end_state: Some(
                match end_state {
                    ConversationEndState::Success => "selfService",
                    ConversationEndState::Failure => "agent",
                    ConversationEndState::Dropped => "dropOff",
                }
                .to_owned(),
            ),
            turns: Some(turns * 2),
            intents: Some(intents.clone()),
            bot_alias_id: None,
            bot_version: None,
            interactive: Some(!rng.gen_bool(0.05)),
            tasks_executed: Some(n_intents as i64),
            tags: Some(if voice {
                vec![Tag {
                    scope: "session".into(),
                    name: "callerNumber".into(),
                    value: format!("+1555{:07}", rng.gen_range(0..10_000_000)),
                }]
            } else {
                Vec::new()
            }),
            is_developer: Some(false),
        },
    };
    if bot.vendor == Vendor::Kore {
        // About 3 % developer (test) sessions, from the id so that the random
        // stream (and so every other field) stays what it was.
        session.is_developer = Some(
            u8::from_str_radix(&session.session_id[..2], 16)
                .is_ok_and(|b| b < DEVELOPER_SHARE_OF_256),
        );
    }
    // Whole seconds, as both vendors report them.
    session.duration_seconds = (session.end_time - session.start_time).num_seconds();
    let stages = generate_stages(rng, &session, &intents, end_state);
    (session, stages)
}

/// An intent from a bot's list (most popular first) with Zipf-like weights
/// `1 / rank^1.2`: a few intents carry most traffic, a long tail the rest.
fn pick_intent<'a>(rng: &mut ChaCha8Rng, intents: &[&'a str]) -> &'a str {
    let total: f64 = (1..=intents.len()).map(|r| (r as f64).powf(-1.2)).sum();
    let mut x = rng.r#gen::<f64>() * total;
    for (i, name) in intents.iter().enumerate() {
        let w = ((i + 1) as f64).powf(-1.2);
        if x < w {
            return name;
        }
        x -= w;
    }
    intents[intents.len() - 1]
}

/// Kore sessions whose id starts with a byte below this are developer traffic
/// (8 / 256 ≈ 3 %).
const DEVELOPER_SHARE_OF_256: u8 = 8;

const STAGES: [&str; 4] = ["ElicitSlot", "ConfirmIntent", "Fulfillment", "Close"];

fn generate_stages(
    rng: &mut ChaCha8Rng,
    s: &Session,
    intents: &[String],
    end_state: ConversationEndState,
) -> Vec<IntentStageRecord> {
    let mut out = Vec::new();
    let span = (s.end_time - s.start_time).num_milliseconds().max(1);
    let per_intent = span / intents.len() as i64;
    for (k, intent) in intents.iter().enumerate() {
        let last_intent = k + 1 == intents.len();
        let n_stages = rng.gen_range(2..=STAGES.len());
        let per_stage = (per_intent / n_stages as i64).max(1);
        for (j, stage) in STAGES.iter().take(n_stages).enumerate() {
            let st =
                s.start_time + Duration::milliseconds(k as i64 * per_intent + j as i64 * per_stage);
            let last_stage = j + 1 == n_stages;
            let switched = (!last_intent && last_stage).then(|| intents[k + 1].clone());
            let outcome = if rng.gen_bool(0.12) {
                StageOutcome::Retry
            } else if last_intent && last_stage {
                match end_state {
                    ConversationEndState::Success => StageOutcome::Success,
                    ConversationEndState::Failure => StageOutcome::Failed,
                    ConversationEndState::Dropped => StageOutcome::Dropped,
                }
            } else {
                StageOutcome::Success
            };
            out.push(IntentStageRecord {
                bot_id: s.bot_id.clone(),
                session_id: s.session_id.clone(),
                intent_name: intent.clone(),
                stage_name: stage.to_string(),
                start_time: st,
                end_time: st + Duration::milliseconds(per_stage - 1),
                outcome,
                switched_to_intent: switched,
                locale: s.locale.clone(),
                channel: s.channel.clone(),
                modality: s.modality,
                bot_alias_id: s.bot_alias_id.clone(),
                bot_version: s.bot_version.clone(),
                is_developer: s.is_developer,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bots() -> Vec<DatasetBot> {
        vec![
            DatasetBot::lex("lex-a", 500, [0.7, 0.1, 0.2]),
            DatasetBot::kore("kore-a", 500, [0.6, 0.25, 0.15]),
        ]
    }

    #[test]
    fn the_fixture_epoch_is_a_recent_monday_on_a_six_day_boundary() {
        for days_ahead in [0, 1, 17, 41, 42, 400] {
            let now = Utc::now() + Duration::days(days_ahead);
            let t = fixture_epoch(now);
            assert_eq!(t.weekday(), Weekday::Mon, "{t}");
            assert_eq!(t.timestamp().div_euclid(86_400) % 6, 0, "{t}");
            assert!(
                now - t >= Duration::days(60) && now - t < Duration::days(102),
                "{t}"
            );
        }
        let known = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        assert_eq!(fixture_epoch(known + Duration::days(60)), known);
    }

    #[test]
    fn same_seed_same_data_whatever_the_range() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let a = Dataset::generate(7, &bots(), t0, t0 + Duration::days(7));
        let b = Dataset::generate(7, &bots(), t0 + Duration::days(2), t0 + Duration::days(3));
        let day3: Vec<_> = a.bots[0]
            .1
            .sessions
            .iter()
            .filter(|s| {
                s.start_time >= t0 + Duration::days(2) && s.end_time <= t0 + Duration::days(3)
            })
            .collect();
        assert_eq!(day3.len(), b.bots[0].1.sessions.len());
        assert!(day3.iter().zip(&b.bots[0].1.sessions).all(|(x, y)| *x == y));
        let c = Dataset::generate(8, &bots(), t0, t0 + Duration::days(1));
        assert_ne!(c.bots[0].1.sessions[0], a.bots[0].1.sessions[0]);
    }

    #[test]
    fn traffic_and_mix_are_realistic() {
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap(); // a Monday
        let d = Dataset::generate(1, &bots(), t0, t0 + Duration::days(7));
        let lex = &d.bots[0].1.sessions;
        let weekday = lex
            .iter()
            .filter(|s| s.start_time < t0 + Duration::days(5))
            .count() as f64
            / 5.0;
        let weekend = lex
            .iter()
            .filter(|s| s.start_time >= t0 + Duration::days(5))
            .count() as f64
            / 2.0;
        assert!((400.0..600.0).contains(&weekday), "weekday mean {weekday}");
        assert!(
            weekend < weekday * 0.6,
            "weekend {weekend} vs weekday {weekday}"
        );
        let night = lex.iter().filter(|s| s.start_time.hour() == 3).count();
        let noon = lex.iter().filter(|s| s.start_time.hour() == 10).count();
        assert!(noon > night * 5, "noon {noon} night {night}");
        let success = lex
            .iter()
            .filter(|s| s.end_state == Some(ConversationEndState::Success))
            .count() as f64
            / lex.len() as f64;
        assert!((0.65..0.75).contains(&success), "success share {success}");
        assert!(lex.iter().any(|s| s.modality == Some(Modality::Speech)));
        let max_dur = lex.iter().map(|s| s.duration_seconds).max().unwrap();
        assert!(max_dur > 900, "long tail: max duration {max_dur}");
        assert!(
            d.bots[1]
                .1
                .stages
                .iter()
                .any(|r| r.outcome == StageOutcome::Retry)
        );
        assert!(
            d.bots[1]
                .1
                .stages
                .iter()
                .any(|r| r.switched_to_intent.is_some())
        );
    }

    use crate::domain::UtteranceState;

    #[test]
    fn intents_have_a_long_tail_and_utterances_a_realistic_missed_share() {
        use std::collections::HashMap;
        let t0 = Utc.with_ymd_and_hms(2026, 3, 2, 0, 0, 0).unwrap();
        let d = Dataset::generate(1, &bots(), t0, t0 + Duration::days(7));
        for (bot, data) in &d.bots {
            let mut by_intent: HashMap<&str, usize> = HashMap::new();
            for r in &data.intents {
                *by_intent.entry(r.intent_name.as_str()).or_default() += 1;
            }
            let mut counts: Vec<usize> = by_intent.values().copied().collect();
            counts.sort_unstable_by(|a, b| b.cmp(a));
            assert!(counts.len() >= 8, "{}: {counts:?}", bot.id);
            assert!(
                counts[0] > 5 * counts[counts.len() - 1],
                "long tail: {counts:?}"
            );
            let top3: usize = counts.iter().take(3).sum();
            assert!(
                top3 * 2 > data.intents.len(),
                "the head carries most traffic"
            );
            // Levels count up within a session; every one but the last switched.
            let first = &data.intents[0];
            assert!(data.intents.iter().any(|r| r.level >= 2));
            assert!(
                data.intents
                    .iter()
                    .any(|r| r.end_state == crate::domain::IntentEndState::Switched)
            );
            assert_eq!(first.level, 1);
            let missed = data
                .utterances
                .iter()
                .filter(|u| u.state == UtteranceState::Missed)
                .count() as f64
                / data.utterances.len() as f64;
            assert!(
                (0.08..0.25).contains(&missed),
                "{}: missed share {missed}",
                bot.id
            );
            let sessions: std::collections::HashSet<&str> = data
                .sessions
                .iter()
                .map(|s| s.session_id.as_str())
                .collect();
            assert!(
                data.utterances
                    .iter()
                    .all(|u| sessions.contains(u.session_id.as_str()))
            );
        }
        // The same missed texts recur across bots and vendors.
        let missed_texts = |i: usize| -> std::collections::HashSet<String> {
            d.bots[i]
                .1
                .utterances
                .iter()
                .filter(|u| u.state == UtteranceState::Missed)
                .map(|u| u.text.to_lowercase())
                .collect()
        };
        assert!(missed_texts(0).intersection(&missed_texts(1)).count() >= 5);
    }
}
