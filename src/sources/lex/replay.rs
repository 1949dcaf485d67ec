//! A Lex answer decoded and mapped offline, for fuzzing and tests: the bytes
//! of a ListSessionAnalyticsData HTTP answer go through the real
//! `aws-sdk-lexmodelsv2` client (its restJson1 deserializer, error parsing and
//! [`classify`](super::error::classify)) and then through the same
//! [`mapping::session`](super::mapping::session) `LexSource` uses. Only the
//! network is replaced: an in-memory HTTP client answers the one request with
//! the given status and body. No retries, timeouts or stalled-stream checks
//! (nothing sleeps), static credentials, no identity cache.

use aws_sdk_lexmodelsv2::config::http::HttpResponse;
use aws_sdk_lexmodelsv2::config::retry::RetryConfig;
use aws_sdk_lexmodelsv2::config::{
    BehaviorVersion, Credentials, IdentityCache, Region, StalledStreamProtectionConfig,
};
use aws_sdk_lexmodelsv2::primitives::DateTime as LexDateTime;
use aws_smithy_runtime_api::client::http::{
    HttpConnector, HttpConnectorFuture, SharedHttpConnector, http_client_fn,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;

use super::error::classify;
use super::mapping;
use crate::domain::Session;
use crate::error::{Error, Result};

/// The gateway bot id the mapped sessions and errors carry.
pub const REPLAY_BOT: &str = "lex-replay";

/// Maps the JSON body of a 200 ListSessionAnalyticsData answer to the
/// sessions `LexSource` would produce, or to the error it would give
/// (`UPSTREAM_BAD_RESPONSE` for a body it cannot read or trust).
pub fn map_session_page_json(body: &[u8]) -> Result<Vec<Session>> {
    map_session_answer(200, None, body)
}

/// Like [`map_session_page_json`] for any answer: `status`, the optional
/// `x-amzn-ErrorType` header and the body (errors are classified as the
/// adapter classifies them).
pub fn map_session_answer(
    status: u16,
    error_type: Option<&str>,
    body: &[u8],
) -> Result<Vec<Session>> {
    let status = StatusCode::try_from(status)
        .map_err(|_| Error::internal(format!("{status} is not an HTTP status")))?;
    let canned = Canned {
        status,
        error_type: error_type.map(str::to_owned),
        body: bytes::Bytes::copy_from_slice(body),
    };
    let config = aws_sdk_lexmodelsv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "AKIDREPLAY",
            "replay",
            None,
            None,
            "replay",
        ))
        .identity_cache(IdentityCache::no_cache())
        .retry_config(RetryConfig::disabled())
        .stalled_stream_protection(StalledStreamProtectionConfig::disabled())
        .http_client(http_client_fn(move |_, _| {
            SharedHttpConnector::new(canned.clone())
        }))
        .build();
    let client = aws_sdk_lexmodelsv2::Client::from_conf(config);
    let sent = client
        .list_session_analytics_data()
        .bot_id("REPLAYBOT1")
        .start_date_time(LexDateTime::from_secs(1_772_409_600))
        .end_date_time(LexDateTime::from_secs(1_772_496_000))
        .max_results(1000)
        .send();
    // Nothing in the call awaits a timer or a socket: the answer is ready.
    let out = futures::executor::block_on(sent)
        .map_err(|e| classify(e, REPLAY_BOT, "ListSessionAnalyticsData"))?;
    out.sessions()
        .iter()
        .map(|spec| mapping::session(spec, REPLAY_BOT))
        .collect()
}

/// The in-memory "network": every request gets the same answer.
#[derive(Debug, Clone)]
struct Canned {
    status: StatusCode,
    error_type: Option<String>,
    body: bytes::Bytes,
}

impl HttpConnector for Canned {
    fn call(&self, _request: HttpRequest) -> HttpConnectorFuture {
        let mut resp = HttpResponse::new(self.status, SdkBody::from(self.body.clone()));
        resp.headers_mut()
            .insert("content-type", "application/json");
        if let Some(t) = &self.error_type {
            // A value that is no valid header is left out, as a server could not send it.
            let _ = resp.headers_mut().try_insert("x-amzn-ErrorType", t.clone());
        }
        HttpConnectorFuture::ready(Ok(resp))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    #[test]
    fn a_sound_page_maps() {
        let body = br#"{"botId":"REPLAYBOT1","sessions":[{"sessionId":"a",
            "conversationStartTime":1772413200,"conversationEndTime":1772413500.5,
            "conversationDurationSeconds":300,"conversationEndState":"Success",
            "mode":"Text","numberOfTurns":3,
            "invokedIntentSamples":[{"intentName":"Order"}]}]}"#;
        let sessions = map_session_page_json(body).unwrap();
        assert_eq!(sessions.len(), 1);
        assert_eq!(sessions[0].session_id, "a");
        assert_eq!(sessions[0].duration_seconds, 300);
        assert_eq!(sessions[0].turns, Some(3));
        assert_eq!(
            sessions[0].intents.as_deref(),
            Some(&["Order".to_owned()][..])
        );
    }

    #[test]
    fn bad_bodies_and_records_are_bad_responses() {
        for body in [
            &br#"{"sessions":[{"#[..],
            br#"{"sessions":7}"#,
            br#"{"sessions":[{"sessionId":"a","conversationStartTime":"NaN"}]}"#,
            br#"{"sessions":[{"sessionId":"a","conversationStartTime":1772413200,
                "conversationEndTime":1772413500,"conversationDurationSeconds":-1}]}"#,
        ] {
            let e = map_session_page_json(body).unwrap_err();
            assert_eq!(e.kind, ErrorKind::UpstreamBadResponse, "{e:?}");
        }
    }

    #[test]
    fn errors_are_classified_like_the_adapter() {
        let e = map_session_answer(500, None, b"<html>").unwrap_err();
        assert_eq!(e.kind, ErrorKind::UpstreamUnavailable);
        assert!(e.retryable);
        let e = map_session_answer(
            400,
            Some("ValidationException"),
            br#"{"message":"maxResults too big"}"#,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::BadUserInput);
    }
}
