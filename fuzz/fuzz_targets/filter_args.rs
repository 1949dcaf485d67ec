#![no_main]
//! The resolvers' argument parsing (`botscope::graphql::parse_arguments`):
//! `DateTime` scalars, `TimeRange` rules, `SessionFilter` and
//! `IntentStageFilter` conversion. A JSON input is taken as the arguments
//! object; any other text as a date-time for `range.start` and `range.end`.
//! A valid range or `BAD_USER_INPUT`; never a panic.
use botscope::error::ErrorKind;
use botscope::graphql::parse_arguments;
use libfuzzer_sys::fuzz_target;
use serde_json::{Value, json};

const MAX_DAYS: u32 = 31;

fn check(args: &Value) {
    match parse_arguments(args, MAX_DAYS) {
        Ok(p) => {
            assert!(p.range.end() > p.range.start(), "{p:?}");
            assert!(p.range.duration() <= chrono::Duration::days(MAX_DAYS.into()));
        }
        Err(e) => assert_eq!(e.kind, ErrorKind::BadUserInput, "{args}: {e:?}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(v) = serde_json::from_slice::<Value>(data) {
        check(&v);
    } else if let Ok(s) = std::str::from_utf8(data) {
        check(&json!({ "range": { "start": s, "end": "2026-03-03T00:00:00Z" } }));
        check(&json!({ "range": { "start": "2026-03-02T00:00:00Z", "end": s } }));
    }
});
