//! How Kore's failures become botscope errors: one table, each arm citing
//! `../shared/vendors/kore.md`.
//!
//! | Kore answers | kind | retryable | why |
//! |---|---|---|---|
//! | 401 (any body; e.g. `Invalid SDK credentials`, code 4002) | `UPSTREAM_UNAVAILABLE` | no | bad client id/secret, scopes not mapped, or bot not published (§4.2, §4.4) |
//! | 429, or any body matching /rate limit/i | `UPSTREAM_THROTTLED` | yes | the per-bot budget; the status is not documented, so the text counts too (§5.2) |
//! | 400 `Invalid StreamId` | `UPSTREAM_UNAVAILABLE` | no | the bot id is wrong or not mapped to the app (§4.4) |
//! | other 400 | `INTERNAL` | no | botscope sent a request Kore refused (e.g. the 7-day rule, §1.6): our bug |
//! | 5xx | `UPSTREAM_UNAVAILABLE` | yes | Kore is failing; nothing documented, retry |
//! | other status | `UPSTREAM_BAD_RESPONSE` | no | nothing documented |
//! | 2xx with a body that does not parse | `UPSTREAM_BAD_RESPONSE` | no | the envelope of §1.4 / §2.3 is missing |
//! | transport error / timeout | `UPSTREAM_UNAVAILABLE` | yes | |
//!
//! Messages never contain the client secret or the token.

use reqwest::StatusCode;
use serde::Deserialize;

use crate::error::{Error, ErrorKind};

/// Kore's error envelope `{"errors":[{"msg","code"}]}` (kore.md §5.1).
#[derive(Debug, Deserialize)]
struct KoreErrorBody {
    #[serde(default)]
    errors: Vec<KoreErrorItem>,
}

#[derive(Debug, Deserialize)]
struct KoreErrorItem {
    #[serde(default)]
    msg: String,
    code: Option<serde_json::Value>,
}

/// The first `msg` of an error envelope, if the body is one.
fn kore_message(body: &str) -> Option<(String, String)> {
    let parsed: KoreErrorBody = serde_json::from_str(body).ok()?;
    let first = parsed.errors.into_iter().next()?;
    let code = first.code.map(|c| c.to_string()).unwrap_or_default();
    Some((first.msg, code))
}

/// Classifies a non-success answer (see the table above).
pub fn classify_status(status: StatusCode, body: &str, operation: &str) -> Error {
    let (msg, code) = kore_message(body).unwrap_or_default();
    let rate_limited =
        status == StatusCode::TOO_MANY_REQUESTS || msg.to_ascii_lowercase().contains("rate limit");
    if status == StatusCode::UNAUTHORIZED {
        return Error::new(
            ErrorKind::UpstreamUnavailable,
            format!(
                "invalid Kore credentials for {operation}: Kore answered 401 ({msg} {code}); check \
                 the bot's client_id and client_secret, that the JWT app has the \"Bot Sessions\" \
                 and \"Metrics\" scopes, and that the bot was published after mapping them"
            ),
        )
        .with_retryable(false);
    }
    if rate_limited {
        return Error::new(
            ErrorKind::UpstreamThrottled,
            format!("Kore throttled {operation}: {msg}"),
        )
        .with_retryable(true);
    }
    if status == StatusCode::BAD_REQUEST && msg.eq_ignore_ascii_case("Invalid StreamId") {
        return Error::new(
            ErrorKind::UpstreamUnavailable,
            "Kore does not know this bot id, or the JWT app is not mapped to it (Invalid StreamId)",
        )
        .with_retryable(false);
    }
    if status == StatusCode::BAD_REQUEST {
        return Error::internal(format!("Kore refused the {operation} request: {msg}"));
    }
    if status.is_server_error() {
        return Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("Kore failed {operation} with HTTP {}", status.as_u16()),
        )
        .with_retryable(true);
    }
    Error::new(
        ErrorKind::UpstreamBadResponse,
        format!(
            "Kore answered {operation} with unexpected HTTP {}",
            status.as_u16()
        ),
    )
}

/// A 2xx body that is not the documented shape.
pub fn bad_body(operation: &str, e: serde_json::Error) -> Error {
    Error::new(
        ErrorKind::UpstreamBadResponse,
        format!("Kore's {operation} answer does not have the documented shape"),
    )
    .with_retryable(false)
    .with_source(e)
}

/// A connection failure or timeout.
pub fn transport(operation: &str, e: reqwest::Error) -> Error {
    let what = if e.is_timeout() {
        "timed out"
    } else {
        "failed"
    };
    Error::new(
        ErrorKind::UpstreamUnavailable,
        format!("the call to Kore's {operation} {what}"),
    )
    .with_retryable(true)
    .with_source(e.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table() {
        let auth = classify_status(
            StatusCode::UNAUTHORIZED,
            r#"{"errors":[{"msg":"Invalid SDK credentials","code":4002}]}"#,
            "getSessions",
        );
        assert_eq!(auth.kind, ErrorKind::UpstreamUnavailable);
        assert!(auth.message.contains("invalid Kore credentials"));
        assert!(!auth.retryable);
        let t = classify_status(StatusCode::TOO_MANY_REQUESTS, "", "getSessions");
        assert_eq!((t.kind, t.retryable), (ErrorKind::UpstreamThrottled, true));
        let t = classify_status(
            StatusCode::BAD_REQUEST,
            r#"{"errors":[{"msg":"Rate limit for this API has been reached. Please try again later","code":400}]}"#,
            "getSessions",
        );
        assert_eq!(t.kind, ErrorKind::UpstreamThrottled, "detected by text");
        let s = classify_status(StatusCode::BAD_GATEWAY, "<html>", "getSessions");
        assert_eq!(
            (s.kind, s.retryable),
            (ErrorKind::UpstreamUnavailable, true)
        );
        let b = classify_status(
            StatusCode::BAD_REQUEST,
            r#"{"errors":[{"msg":"x","code":400}]}"#,
            "getSessions",
        );
        assert_eq!(b.kind, ErrorKind::Internal);
    }
}
