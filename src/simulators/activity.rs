//! What happens inside each generated conversation: the intents it went
//! through (with their end states and levels) and the utterances users said,
//! with realistic texts and a realistic missed share.
//!
//! Derived from a session and its intent-stage records with a random
//! generator of its own (seeded by the session id), so sessions and stages
//! are the same whether activity is generated or not.
//!
//! - One intent record per intent occurrence: level 1, 2, … in order; an
//!   occurrence followed by another intent ended `SWITCHED`, the last one
//!   ended as the conversation did.
//! - One utterance per stage: the first stage's is a phrasing of the intent
//!   (with typos now and then), later ones answer the bot's prompts. A stage
//!   the user had to retry was not understood: its utterance is *missed* —
//!   an out-of-scope ask from a pool shared by every bot and vendor (written
//!   with varying case and spacing, so merging across bots matters) or a
//!   garbled phrasing. About one conversation in ten also opens with an
//!   out-of-scope ask. The missed share comes out near 15 %.
//! - Vendor fields: Lex utterances carry input/output types, the dialog
//!   action (the stage), the intent state and voice durations; a missed first
//!   utterance goes to `FallbackIntent`. Kore's carry none of those; a missed
//!   first utterance has no intent (an unhandled utterance), a missed later
//!   one keeps its task (a failed intent match).

use chrono::Duration;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::domain::{
    ConversationEndState, IntentEndState, IntentRecord, IntentStageRecord, Modality, Session,
    StageOutcome, UtteranceRecord, UtteranceState, Vendor,
};

/// Out-of-scope asks users send every bot, in several spellings.
const OUT_OF_SCOPE: &[&str] = &[
    "talk to a human",
    "Talk to a human",
    "talk to a  human",
    "i want to speak to a real person",
    "what's the weather like",
    "representative",
    "Representative",
    "is anyone there",
    "this is useless",
    "where is my refund",
    "Where is my refund?",
    "can i pay with crypto",
    "do you have a student discount",
    "asdfgh",
    "hello??",
];

/// How users ask for each intent (unknown intents get a generic phrasing).
fn phrasings(intent: &str) -> &'static [&'static str] {
    match intent {
        "CheckBalance" => &[
            "what's my balance",
            "check my balance",
            "how much money do i have",
            "balance please",
        ],
        "OrderStatus" => &[
            "where is my order",
            "track my order",
            "order status",
            "has my package shipped",
        ],
        "ResetPassword" => &[
            "reset my password",
            "i forgot my password",
            "can't log in",
            "change my password",
        ],
        "TalkToAgent" => &[
            "agent",
            "i need an agent",
            "connect me to support",
            "speak to an agent",
        ],
        "BookAppointment" => &[
            "book an appointment",
            "i need an appointment",
            "schedule a visit",
            "can i come in tomorrow",
        ],
        "PaymentDue" => &[
            "when is my payment due",
            "due date of my bill",
            "what do i owe",
        ],
        "UpdateAddress" | "Update Address" => &[
            "change my address",
            "i moved",
            "update my address",
            "new address",
        ],
        "ChangePlan" => &[
            "change my plan",
            "upgrade my plan",
            "switch to a cheaper plan",
        ],
        "ReportFraud" => &[
            "report fraud",
            "there is a charge i don't recognise",
            "my card was stolen",
        ],
        "CancelSubscription" => &[
            "cancel my subscription",
            "stop my subscription",
            "unsubscribe me",
        ],
        "OpeningHours" | "Store Hours" => &[
            "what are your opening hours",
            "when are you open",
            "store hours",
            "are you open on sunday",
        ],
        "CloseAccount" => &["close my account", "delete my account"],
        "Track Order" => &[
            "track my order",
            "where is my parcel",
            "order status",
            "when will my order arrive",
        ],
        "Return Item" => &[
            "return an item",
            "i want to return this",
            "how do i send it back",
            "return policy",
        ],
        "Speak to Agent" => &["speak to an agent", "agent please", "customer service"],
        "Change Delivery Date" => &[
            "change delivery date",
            "deliver it next week instead",
            "reschedule my delivery",
        ],
        "Apply Coupon" => &["apply a coupon", "i have a promo code", "discount code"],
        "Gift Card Balance" => &["gift card balance", "how much is left on my gift card"],
        "Cancel Order" => &["cancel my order", "i don't want it anymore"],
        "Report Damaged Item" => &[
            "my item arrived broken",
            "damaged item",
            "the box was crushed",
        ],
        _ => &["help me with something"],
    }
}

/// Answers to the bot's prompts (slot values, confirmations).
const ANSWERS: &[&str] = &[
    "yes",
    "no",
    "yes please",
    "tomorrow at 3pm",
    "my account number is 4417",
    "the one from last week",
    "123 Main Street",
    "that's right",
    "ok",
    "friday",
];

/// Swaps two neighbouring letters: the typos people make.
fn typo(rng: &mut ChaCha8Rng, text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    if chars.len() > 3 {
        let i = rng.gen_range(0..chars.len() - 1);
        chars.swap(i, i + 1);
    }
    chars.into_iter().collect()
}

fn pick<'a>(rng: &mut ChaCha8Rng, items: &[&'a str]) -> &'a str {
    items[rng.gen_range(0..items.len())]
}

fn seeded(seed: u64, session_id: &str) -> ChaCha8Rng {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    (seed, "activity", session_id).hash(&mut h);
    ChaCha8Rng::seed_from_u64(h.finish())
}

/// The intents and utterances of one conversation, from its stage records
/// (in order).
pub fn generate(
    seed: u64,
    s: &Session,
    stages: &[IntentStageRecord],
) -> (Vec<IntentRecord>, Vec<UtteranceRecord>) {
    let mut rng = seeded(seed, &s.session_id);
    let lex = s.vendor == Vendor::LexV2;
    let voice = matches!(s.modality, Some(Modality::Speech | Modality::Dtmf));
    let mut intents = Vec::new();
    let mut utterances = Vec::new();
    let utterance = |at: chrono::DateTime<chrono::Utc>,
                     text: String,
                     state: UtteranceState,
                     intent: Option<&str>,
                     stage: Option<&IntentStageRecord>| {
        let missed = state == UtteranceState::Missed;
        UtteranceRecord {
            bot_id: s.bot_id.clone(),
            session_id: s.session_id.clone(),
            originating_request_id: s.originating_request_id.clone(),
            timestamp: at,
            state,
            intent_name: intent.map(str::to_owned),
            slot_name: (lex && stage.is_some_and(|st| st.stage_name == "ElicitSlot"))
                .then(|| "Detail".to_owned()),
            intent_state: lex.then(|| {
                match (missed, stage.map(|st| (st.stage_name.as_str(), st.outcome))) {
                    (true, _) => "InProgress",
                    (_, Some((_, StageOutcome::Failed))) => "Failed",
                    (_, Some(("Fulfillment" | "Close", StageOutcome::Success))) => "Fulfilled",
                    (_, Some(("ConfirmIntent", _))) => "ReadyForFulfillment",
                    _ => "InProgress",
                }
                .to_owned()
            }),
            dialog_action_type: lex.then(|| {
                stage
                    .map(|st| match st.stage_name.as_str() {
                        "Fulfillment" => "Close",
                        other => other,
                    })
                    .unwrap_or("ElicitIntent")
                    .to_owned()
            }),
            bot_responses: vec![
                if missed {
                    "Sorry, I didn't get that. Could you say it another way?"
                } else {
                    "Thanks, one moment."
                }
                .to_owned(),
            ],
            locale: s.locale.clone(),
            channel: s.channel.clone(),
            modality: s.modality,
            input_type: lex.then(|| {
                if voice {
                    "audio/l16; rate=16000; channels=1"
                } else {
                    "text/plain; charset=utf-8"
                }
                .to_owned()
            }),
            output_type: lex.then(|| {
                if voice {
                    "audio/mpeg"
                } else {
                    "text/plain; charset=utf-8"
                }
                .to_owned()
            }),
            duration_millis: (lex && voice).then(|| 600 + (text.len() as i64) * 55),
            text,
            bot_alias_id: s.bot_alias_id.clone(),
            bot_version: s.bot_version.clone(),
            is_developer: s.is_developer,
        }
    };
    // About one conversation in ten opens with an out-of-scope ask.
    if rng.gen_bool(0.1) {
        let text = pick(&mut rng, OUT_OF_SCOPE).to_owned();
        let intent = lex.then_some("FallbackIntent");
        utterances.push(utterance(
            s.start_time,
            text,
            UtteranceState::Missed,
            intent,
            None,
        ));
    }
    let mut occurrence: Vec<&IntentStageRecord> = Vec::new();
    for (i, st) in stages.iter().enumerate() {
        occurrence.push(st);
        let last = i + 1 == stages.len() || st.switched_to_intent.is_some();
        if !last {
            continue;
        }
        let first = occurrence[0];
        let end_state = if st.switched_to_intent.is_some() {
            IntentEndState::Switched
        } else {
            match s.end_state {
                Some(ConversationEndState::Success) => IntentEndState::Success,
                Some(ConversationEndState::Failure) => IntentEndState::Failure,
                Some(ConversationEndState::Dropped) | None => IntentEndState::Dropped,
            }
        };
        intents.push(IntentRecord {
            bot_id: s.bot_id.clone(),
            session_id: s.session_id.clone(),
            originating_request_id: s.originating_request_id.clone(),
            intent_name: first.intent_name.clone(),
            end_state,
            level: intents.len() as u32 + 1,
            start_time: first.start_time,
            end_time: st.end_time,
            locale: s.locale.clone(),
            channel: s.channel.clone(),
            modality: s.modality,
            bot_alias_id: s.bot_alias_id.clone(),
            bot_version: s.bot_version.clone(),
            is_developer: s.is_developer,
        });
        for (j, stage) in occurrence.iter().enumerate() {
            let at = stage.start_time + Duration::milliseconds(rng.gen_range(0..400));
            let intent = stage.intent_name.as_str();
            if stage.outcome == StageOutcome::Retry {
                // Not understood: garbled, or out of scope.
                let text = if rng.gen_bool(0.5) {
                    pick(&mut rng, OUT_OF_SCOPE).to_owned()
                } else {
                    let base = if j == 0 {
                        pick(&mut rng, phrasings(intent))
                    } else {
                        pick(&mut rng, ANSWERS)
                    };
                    let once = typo(&mut rng, base);
                    typo(&mut rng, &once)
                };
                let owner = match (j, lex) {
                    (0, true) => Some("FallbackIntent"),
                    (0, false) => None,
                    _ => Some(intent),
                };
                utterances.push(utterance(
                    at,
                    text,
                    UtteranceState::Missed,
                    owner,
                    Some(stage),
                ));
                continue;
            }
            let text = if j == 0 {
                let p = pick(&mut rng, phrasings(intent));
                if rng.gen_bool(0.08) {
                    typo(&mut rng, p)
                } else {
                    p.to_owned()
                }
            } else {
                pick(&mut rng, ANSWERS).to_owned()
            };
            utterances.push(utterance(
                at,
                text,
                UtteranceState::Detected,
                Some(intent),
                Some(stage),
            ));
        }
        occurrence.clear();
    }
    (intents, utterances)
}
