//! The GraphQL boundary for errors: `Error` → `extensions { code, botId, vendor, argument, retryable }`.
//! Internal causes are logged here and never sent to clients.

use async_graphql::ErrorExtensions;

use crate::error::{Error, ErrorKind};

pub fn to_graphql(e: &Error) -> async_graphql::Error {
    let message = if e.kind == ErrorKind::Internal {
        tracing::error!(error = ?e, "internal error");
        "internal error; the operator's logs have the details".to_owned()
    } else {
        if let Some(source) = &e.source {
            tracing::warn!(code = e.kind.code(), bot = ?e.bot, cause = %source, "{}", e.message);
        }
        e.message.clone()
    };
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", e.kind.code());
        if let Some(bot) = &e.bot {
            ext.set("botId", bot.as_str());
        }
        if let Some(vendor) = e.vendor {
            ext.set("vendor", vendor.as_str());
        }
        if let Some(arg) = &e.argument {
            ext.set("argument", arg.as_str());
        }
        if matches!(
            e.kind,
            ErrorKind::UpstreamThrottled
                | ErrorKind::UpstreamUnavailable
                | ErrorKind::UpstreamBadResponse
        ) {
            ext.set("retryable", e.retryable);
        }
    })
}

/// `result.gql()?` in resolvers: converts the crate error at the boundary.
pub trait GqlResult<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> GqlResult<T> for Result<T, Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| to_graphql(&e))
    }
}
