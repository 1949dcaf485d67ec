#![no_main]
//! The Kore getSessions body mapper: arbitrary bytes → response → sessions.
use botscope::domain::ConversationEndState;
use botscope::sources::kore::mapping::KoreSessionsResponse;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(page) = serde_json::from_slice::<KoreSessionsResponse>(data) {
        for s in page.sessions {
            let _ = s.into_session("fuzz", Some("selfService"), ConversationEndState::Failure);
        }
    }
});
