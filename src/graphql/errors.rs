//! The GraphQL boundary for errors: `Error` → `extensions { code, botId, vendor, argument, retryable }`.
//! Internal causes are logged here and never sent to clients. Every
//! `extensions.code` a client sees is an [`ErrorKind::code`]: ours through
//! [`to_graphql`], async-graphql's own errors through [`label`].

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

/// async-graphql's messages for its two limits (`validation/mod.rs` of
/// async-graphql 7: `limit_complexity`, `limit_depth`).
const TOO_COMPLEX: &str = "Query is too complex.";
const TOO_DEEP: &str = "Query is nested too deep.";

/// What an error async-graphql raised itself (no `extensions.code`) means.
///
/// async-graphql gives its parse, validation and limit errors no structured
/// kind (a `ServerError` is a message, locations and a path), so this is the
/// one place that classifies them, by the two limit messages above: those are
/// `QUERY_TOO_COMPLEX`; everything else it raises (syntax errors, unknown
/// fields, bad variables or argument values) is the request's fault,
/// `BAD_USER_INPUT`. A test pins both messages, so an upgrade that rewords
/// them fails loudly instead of turning limits into `BAD_USER_INPUT`.
pub fn classify(e: &async_graphql::ServerError) -> ErrorKind {
    match e.message.as_str() {
        TOO_COMPLEX | TOO_DEEP => ErrorKind::QueryTooComplex,
        _ => ErrorKind::BadUserInput,
    }
}

/// Gives an error without `extensions.code` the code of [`classify`].
pub fn label(e: &mut async_graphql::ServerError) {
    if e.extensions
        .as_ref()
        .is_some_and(|x| x.get("code").is_some())
    {
        return;
    }
    let code = classify(e).code();
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", code);
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema};

    struct Q;

    #[Object]
    impl Q {
        async fn a(&self) -> Q {
            Q
        }
        async fn n(&self) -> i32 {
            1
        }
    }

    /// async-graphql's own limit messages are what [`classify`] expects.
    #[tokio::test]
    async fn async_graphql_limit_errors_are_query_too_complex() {
        let deep = Schema::build(Q, EmptyMutation, EmptySubscription)
            .limit_depth(2)
            .finish();
        let complex = Schema::build(Q, EmptyMutation, EmptySubscription)
            .limit_complexity(2)
            .finish();
        for (schema, query) in [
            (&deep, "{ a { a { a { n } } } }"),
            (&complex, "{ a { n } b: a { n } }"),
        ] {
            let resp = schema.execute(query).await;
            assert_eq!(resp.errors.len(), 1, "{query}: {:?}", resp.errors);
            assert_eq!(
                classify(&resp.errors[0]),
                ErrorKind::QueryTooComplex,
                "{:?}",
                resp.errors
            );
        }
        for query in ["{ a { ", "{ nope }", "{ n(x: 1) }"] {
            let resp = deep.execute(query).await;
            let mut e = resp.errors[0].clone();
            assert_eq!(classify(&e), ErrorKind::BadUserInput, "{query}: {e:?}");
            label(&mut e);
            assert_eq!(
                e.extensions.unwrap().get("code"),
                Some(&async_graphql::Value::from("BAD_USER_INPUT"))
            );
        }
    }
}
