#![no_main]
//! The Lex ListSessionAnalyticsData answer, arbitrary bytes as a 200 body,
//! through the real SDK deserializer and the adapter's session mapper
//! (`botscope::sources::lex::map_session_page_json`): sessions that hold the
//! mapper's promises, or `UPSTREAM_BAD_RESPONSE`; never a panic.
use botscope::error::ErrorKind;
use botscope::sources::lex::map_session_page_json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match map_session_page_json(data) {
        Ok(sessions) => {
            for s in sessions {
                assert!(s.end_time >= s.start_time, "{s:?}");
                assert!(s.duration_seconds >= 0, "{s:?}");
            }
        }
        Err(e) => assert_eq!(e.kind, ErrorKind::UpstreamBadResponse, "{e:?}"),
    }
});
