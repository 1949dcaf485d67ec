//! `KoreAuth`: the `auth` header's JWT (kore.md §4.3, §8).
//!
//! HS256 signed with the client secret. The claims cover both documented
//! shapes: `appId` (the public-API payload, which Kore validates by that exact
//! key) and `iss` (the SDK payload), plus `sub`, `iat`, `exp` and `jti`.
//!
//! **One token per call.** Kore refuses a second use of a `jti` ("error
//! verifying the jwt: possibly a replay") and, with a `jti`, an `exp` more than
//! an hour after `iat` (kore.md §8, sdk-security "JTI validations"). A token
//! is therefore never cached: every attempt signs a fresh one with a fresh
//! `jti` and a 5-minute lifetime. We keep the `jti` rather than omitting it
//! because an app with "Enforce JTI" on refuses tokens without one (§4.2);
//! a fresh `jti` per call satisfies both settings. Signing HS256 costs
//! microseconds, nothing next to the call it authorises.

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::error::{Error, Result};

/// A token's lifetime: far inside Kore's one-hour rule, long enough for a
/// call (and clock skew) to complete.
const LIFETIME_S: i64 = 300;

#[derive(Serialize)]
struct Claims<'a> {
    #[serde(rename = "appId")]
    app_id: &'a str,
    iss: &'a str,
    sub: &'a str,
    iat: i64,
    exp: i64,
    jti: String,
}

#[derive(Clone)]
pub struct KoreAuth {
    client_id: String,
    key: EncodingKey,
}

impl KoreAuth {
    pub fn new(client_id: String, secret: SecretString) -> Self {
        KoreAuth {
            client_id,
            key: EncodingKey::from_secret(secret.expose_secret().as_bytes()),
        }
    }

    /// A fresh token for one call: new `jti`, `exp` 5 minutes after `iat`.
    pub fn token(&self) -> Result<String> {
        let now = Utc::now().timestamp();
        let claims = Claims {
            app_id: &self.client_id,
            iss: &self.client_id,
            sub: "botscope",
            iat: now,
            exp: now + LIFETIME_S,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        jsonwebtoken::encode(&Header::default(), &claims, &self.key)
            .map_err(|e| Error::internal("cannot sign the Kore JWT").with_source(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    fn claims(t: &str) -> serde_json::Value {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_aud = false;
        jsonwebtoken::decode::<serde_json::Value>(t, &DecodingKey::from_secret(b"s3cret"), &v)
            .unwrap()
            .claims
    }

    #[test]
    fn every_token_is_fresh_and_has_the_claims_kore_checks() {
        let auth = KoreAuth::new("cs-123".into(), SecretString::from("s3cret"));
        let (a, b) = (
            claims(&auth.token().unwrap()),
            claims(&auth.token().unwrap()),
        );
        assert_ne!(a["jti"], b["jti"], "a jti is never used twice");
        for c in [a, b] {
            assert_eq!(c["appId"], "cs-123");
            assert_eq!(c["iss"], "cs-123");
            let ttl = c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap();
            assert!(
                (1..=3600).contains(&ttl),
                "Kore's rule: exp within 1 h of iat ({ttl})"
            );
            assert!(c["jti"].as_str().is_some_and(|j| !j.is_empty()));
        }
    }
}
