//! How Lex failures become botscope errors: one table, each arm citing
//! `../shared/vendors/lex.md`.
//!
//! | Lex answer | kind | retryable | why |
//! |---|---|---|---|
//! | 400 `ValidationException` | `BAD_USER_INPUT` | no | §6.1; the request broke a constraint, the message says which |
//! | 429 `ThrottlingException` (after the SDK's own retries) | `UPSTREAM_THROTTLED` | yes | §6.1, §6.3 |
//! | 500 `InternalServerException` (after retries) | `UPSTREAM_UNAVAILABLE` | yes | §6.1 (`fault: true`) |
//! | 402 `ServiceQuotaExceededException` | `UPSTREAM_THROTTLED` | no | §6.1: a quota, not a rate; retrying soon will not help |
//! | 412 `PreconditionFailedException` | `NOT_FOUND` | no | §6.1; the bot does not exist or is not ready (our reading) |
//! | another code with a 5xx status (e.g. `ServiceUnavailableException`, 503) | `UPSTREAM_UNAVAILABLE` | yes | §6.1: a server fault, whatever its name; the SDK retried it by status |
//! | another code with a 4xx status (e.g. `AccessDeniedException`) | `UPSTREAM_UNAVAILABLE` | no | §0.4: not modelled; usually credentials or IAM |
//! | a 5xx without a code (no `x-amzn-ErrorType`, no `__type`: a proxy or load balancer page) | `UPSTREAM_UNAVAILABLE` | yes | §6.3: a server fault like the modelled ones, so it counts for the breaker |
//! | a 429 without a code | `UPSTREAM_THROTTLED` | yes | §6.3 |
//! | any other answer without a code, or a 2xx body the SDK cannot decode | `UPSTREAM_BAD_RESPONSE` | no | §6.2, §3 (`Unhandled`) |
//! | dispatch failure, timeout (after retries) | `UPSTREAM_UNAVAILABLE` | yes | §6.3 (transient) |
//! | a response error (framing) on a 5xx | `UPSTREAM_UNAVAILABLE` | yes | §6.3 |
//! | a response error (framing) otherwise | `UPSTREAM_BAD_RESPONSE` | no | §8.5 |

use std::error::Error as StdError;

use aws_sdk_lexmodelsv2::config::http::HttpResponse;
use aws_sdk_lexmodelsv2::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};

use crate::domain::Vendor;
use crate::error::{Error, ErrorKind};

/// Classifies a failed SDK call of operation `op` for gateway bot `bot`.
pub fn classify<E>(err: SdkError<E, HttpResponse>, bot: &str, op: &str) -> Error
where
    E: ProvideErrorMetadata + StdError + Send + Sync + 'static,
{
    let detail = DisplayErrorContext(&err).to_string();
    let status = err.raw_response().map(|r| r.status().as_u16());
    let server_fault = status.is_some_and(|s| (500..600).contains(&s));
    let error = match &err {
        SdkError::ServiceError(ctx) => {
            let e = ctx.err();
            let msg = e.message().unwrap_or("(no message)").to_owned();
            match e.code() {
                Some("ValidationException") => {
                    Error::new(ErrorKind::BadUserInput, format!("Lex rejected {op}: {msg}"))
                }
                Some("ThrottlingException") => Error::new(
                    ErrorKind::UpstreamThrottled,
                    format!("Lex throttled {op} beyond the retry budget: {msg}"),
                ),
                Some("InternalServerException") => Error::new(
                    ErrorKind::UpstreamUnavailable,
                    format!("Lex failed {op} with an internal error: {msg}"),
                ),
                Some("ServiceQuotaExceededException") => Error::new(
                    ErrorKind::UpstreamThrottled,
                    format!("Lex quota reached for {op}: {msg}"),
                )
                .with_retryable(false),
                Some("PreconditionFailedException") => Error::new(
                    ErrorKind::NotFound,
                    format!("Lex has no usable bot for {op} (check bot_id and region): {msg}"),
                ),
                Some(code) => Error::new(
                    ErrorKind::UpstreamUnavailable,
                    format!("Lex answered {op} with {code}: {msg}"),
                )
                .with_retryable(server_fault),
                None if server_fault => unavailable_status(op, status),
                None if status == Some(429) => Error::new(
                    ErrorKind::UpstreamThrottled,
                    format!("Lex throttled {op} (HTTP 429) beyond the retry budget"),
                ),
                None => Error::new(
                    ErrorKind::UpstreamBadResponse,
                    format!("Lex sent an answer to {op} that botscope cannot read"),
                ),
            }
        }
        SdkError::TimeoutError(_) => Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("Lex did not answer {op} in time"),
        ),
        SdkError::DispatchFailure(_) => Error::new(
            ErrorKind::UpstreamUnavailable,
            format!("cannot reach Lex for {op}"),
        ),
        SdkError::ResponseError(_) if server_fault => unavailable_status(op, status),
        SdkError::ResponseError(_) => Error::new(
            ErrorKind::UpstreamBadResponse,
            format!("Lex sent an answer to {op} that botscope cannot read"),
        ),
        _ => Error::internal(format!("cannot build the Lex request for {op}")),
    };
    error
        .with_bot(bot, Vendor::LexV2)
        .with_source(LexCause(detail))
}

/// A server fault Lex did not name (a 5xx without an error type).
fn unavailable_status(op: &str, status: Option<u16>) -> Error {
    let status = status.map_or_else(|| "5xx".to_owned(), |s| s.to_string());
    Error::new(
        ErrorKind::UpstreamUnavailable,
        format!("Lex failed {op} with HTTP {status} and no error type"),
    )
    .with_retryable(true)
}

/// The SDK's error chain, kept for logs (never sent to clients).
#[derive(Debug)]
struct LexCause(String);

impl std::fmt::Display for LexCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl StdError for LexCause {}

/// A response the SDK accepted but that lacks what botscope needs.
pub fn bad_response(bot: &str, what: impl Into<String>) -> Error {
    Error::new(ErrorKind::UpstreamBadResponse, what.into()).with_bot(bot, Vendor::LexV2)
}
