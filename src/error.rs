//! The crate's one error type.
//!
//! Every failure is an [`Error`] with a [`ErrorKind`] (what went wrong, by meaning),
//! the bot and vendor it concerns (if any), a message that is safe to show a client,
//! whether retrying may help, and an internal source that is logged but never sent
//! to clients. Vendors classify their own failures into kinds in one table each
//! (`sources/<vendor>/error.rs`); the GraphQL boundary turns kinds into the stable
//! `extensions.code` strings of DESIGN §5.

use std::fmt;
use std::sync::Arc;

use crate::domain::Vendor;

/// What went wrong, by meaning. Codes are part of the public contract.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    BadUserInput,
    Unauthenticated,
    Forbidden,
    NotFound,
    Unsupported,
    UpstreamThrottled,
    UpstreamUnavailable,
    UpstreamBadResponse,
    QueryTooComplex,
    /// The caller spent its own request budget
    /// (`limits.requests_per_minute_per_client`); HTTP 429 with `Retry-After`.
    RateLimited,
    Internal,
}

impl ErrorKind {
    /// The GraphQL `extensions.code` for this kind.
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::BadUserInput => "BAD_USER_INPUT",
            ErrorKind::Unauthenticated => "UNAUTHENTICATED",
            ErrorKind::Forbidden => "FORBIDDEN",
            ErrorKind::NotFound => "NOT_FOUND",
            ErrorKind::Unsupported => "UNSUPPORTED_BY_VENDOR",
            ErrorKind::UpstreamThrottled => "UPSTREAM_THROTTLED",
            ErrorKind::UpstreamUnavailable => "UPSTREAM_UNAVAILABLE",
            ErrorKind::UpstreamBadResponse => "UPSTREAM_BAD_RESPONSE",
            ErrorKind::QueryTooComplex => "QUERY_TOO_COMPLEX",
            ErrorKind::RateLimited => "RATE_LIMITED",
            ErrorKind::Internal => "INTERNAL",
        }
    }
}

/// A failure with enough context to report it to a client and to an operator.
#[derive(Clone)]
pub struct Error {
    pub kind: ErrorKind,
    pub vendor: Option<Vendor>,
    pub bot: Option<String>,
    /// The GraphQL argument at fault, for `BAD_USER_INPUT`.
    pub argument: Option<String>,
    /// Client-safe text. Never contains secrets or internal causes.
    pub message: String,
    pub retryable: bool,
    /// The internal cause: logged, never sent to clients.
    pub source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let retryable = matches!(
            kind,
            ErrorKind::UpstreamThrottled | ErrorKind::UpstreamUnavailable | ErrorKind::RateLimited
        );
        Error {
            kind,
            vendor: None,
            bot: None,
            argument: None,
            message: message.into(),
            retryable,
            source: None,
        }
    }

    /// A `BAD_USER_INPUT` error naming the argument at fault.
    pub fn bad_input(argument: impl Into<String>, message: impl Into<String>) -> Self {
        let argument = argument.into();
        let message = format!("{argument}: {}", message.into());
        Error {
            argument: Some(argument),
            ..Error::new(ErrorKind::BadUserInput, message)
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Internal, message)
    }

    pub fn unsupported(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Unsupported, message)
    }

    pub fn with_bot(mut self, bot: impl Into<String>, vendor: Vendor) -> Self {
        self.bot = Some(bot.into());
        self.vendor = Some(vendor);
        self
    }

    pub fn with_retryable(mut self, retryable: bool) -> Self {
        self.retryable = retryable;
        self
    }

    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Arc::new(source));
        self
    }

    pub fn is_retryable(&self) -> bool {
        self.retryable
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Error");
        d.field("kind", &self.kind)
            .field("message", &self.message)
            .field("retryable", &self.retryable);
        if let Some(bot) = &self.bot {
            d.field("bot", bot);
        }
        if let Some(source) = &self.source {
            d.field("source", &source.to_string());
        }
        d.finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.bot {
            Some(bot) => write!(f, "{} (bot {bot}): {}", self.kind.code(), self.message),
            None => write!(f, "{}: {}", self.kind.code(), self.message),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|e| e as &(dyn std::error::Error + 'static))
    }
}

/// A configuration problem: the key at fault (`bots[1].client_secret`) and
/// what to do. Defined here, not in `crate::config`, so that each vendor's
/// config (`sources/<vendor>/config.rs`) can report its own keys without
/// depending on the global config.
#[derive(Debug, thiserror::Error)]
#[error("config error at `{key}`: {message}")]
pub struct ConfigError {
    pub key: String,
    pub message: String,
}

impl ConfigError {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError {
            key: key.into(),
            message: message.into(),
        }
    }
}

/// Serializes any secret as `"[redacted]"` (`check-config`, `demo --print-config`).
pub fn redacted<T, S: serde::Serializer>(_: &T, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str("[redacted]")
}

impl ConfigError {
    /// `Ok` when `u` is an http(s) URL.
    pub fn check_url(key: &str, u: &str) -> std::result::Result<(), ConfigError> {
        match url::Url::parse(u) {
            Ok(url) if matches!(url.scheme(), "http" | "https") => Ok(()),
            _ => Err(ConfigError::new(
                key,
                format!("{u:?} is not an http(s) URL"),
            )),
        }
    }

    /// `Ok` when `d` is more than zero.
    pub fn check_positive(
        key: &str,
        d: std::time::Duration,
    ) -> std::result::Result<(), ConfigError> {
        if d.is_zero() {
            return Err(ConfigError::new(key, "must be more than zero"));
        }
        Ok(())
    }
}
