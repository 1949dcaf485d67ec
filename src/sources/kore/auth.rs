//! `KoreAuth`: the `auth` header's JWT (kore.md §4.3).
//!
//! HS256 signed with the client secret. The claims cover both documented
//! shapes: `appId` (the public-API payload, which Kore validates by that exact
//! key) and `iss` (the SDK payload), plus `sub`, `iat`, `exp` ≤ 1 h and a fresh
//! `jti` — with a `jti`, Kore requires `exp` within an hour. A token is reused
//! until five minutes before it expires, then a new one (new `jti`) is minted.

use std::sync::Mutex;

use chrono::Utc;
use jsonwebtoken::{EncodingKey, Header};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;

use crate::error::{Error, Result};

const LIFETIME_S: i64 = 3600;
const RENEW_BEFORE_S: i64 = 300;

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

pub struct KoreAuth {
    client_id: String,
    secret: SecretString,
    /// The current token and its `exp`.
    current: Mutex<Option<(String, i64)>>,
}

impl KoreAuth {
    pub fn new(client_id: String, secret: SecretString) -> Self {
        KoreAuth {
            client_id,
            secret,
            current: Mutex::new(None),
        }
    }

    /// A valid token, minted when none is cached or it is about to expire.
    pub fn token(&self) -> Result<String> {
        let now = Utc::now().timestamp();
        let mut current = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((token, exp)) = current.as_ref()
            && exp - now > RENEW_BEFORE_S
        {
            return Ok(token.clone());
        }
        let claims = Claims {
            app_id: &self.client_id,
            iss: &self.client_id,
            sub: "botscope",
            iat: now,
            exp: now + LIFETIME_S,
            jti: uuid::Uuid::new_v4().to_string(),
        };
        let token = jsonwebtoken::encode(
            &Header::default(),
            &claims,
            &EncodingKey::from_secret(self.secret.expose_secret().as_bytes()),
        )
        .map_err(|e| Error::internal("cannot sign the Kore JWT").with_source(e))?;
        *current = Some((token.clone(), now + LIFETIME_S));
        Ok(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};

    #[test]
    fn token_has_the_claims_kore_checks_and_is_reused() {
        let auth = KoreAuth::new("cs-123".into(), SecretString::from("s3cret"));
        let t = auth.token().unwrap();
        assert_eq!(t, auth.token().unwrap(), "reused until near expiry");
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_aud = false;
        let claims =
            jsonwebtoken::decode::<serde_json::Value>(&t, &DecodingKey::from_secret(b"s3cret"), &v)
                .unwrap()
                .claims;
        assert_eq!(claims["appId"], "cs-123");
        assert_eq!(claims["iss"], "cs-123");
        let ttl = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
        assert!(ttl <= 3600);
        assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    }
}
