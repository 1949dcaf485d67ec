//! Bearer-token authentication: HS256 JWTs whose `bots` claim decides what the
//! caller may see. `exp` is required; `alg` is pinned to HS256 (a `none` or RS
//! token is refused).

use std::collections::BTreeSet;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::engine::BotScope;

/// The claims botscope reads and mints.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub iat: Option<u64>,
    /// Gateway bot ids, or `["*"]` for every bot. Absent means no bots.
    #[serde(default)]
    pub bots: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    pub fn scope(&self) -> BotScope {
        match &self.bots {
            Some(ids) if ids.iter().any(|b| b == "*") => BotScope::All,
            Some(ids) => BotScope::Only(ids.iter().cloned().collect()),
            None => BotScope::Only(BTreeSet::new()),
        }
    }
}

/// Verifies tokens.
#[derive(Clone)]
pub struct Authenticator {
    key: DecodingKey,
    validation: Validation,
}

impl Authenticator {
    pub fn hs256(secret: &[u8], issuer: Option<&str>, audience: Option<&str>) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = 30;
        match issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        Authenticator {
            key: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// Checks an `Authorization` header value; the error says what was wrong
    /// without echoing the token.
    pub fn authenticate(&self, header: Option<&str>) -> Result<Claims, String> {
        let Some(value) = header else {
            return Err("missing bearer token: send `Authorization: Bearer <JWT>`".into());
        };
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
            return Err("the Authorization header must be `Bearer <JWT>`".into());
        };
        jsonwebtoken::decode::<Claims>(token, &self.key, &self.validation)
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature => "token expired".into(),
                    K::InvalidSignature => "token signature is invalid".into(),
                    K::InvalidAlgorithm => "token algorithm is not accepted (HS256 only)".into(),
                    K::InvalidIssuer => "token issuer is not accepted".into(),
                    K::InvalidAudience => "token audience is not accepted".into(),
                    K::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
                    K::ImmatureSignature => "token is not valid yet (nbf)".into(),
                    _ => "token is malformed".into(),
                }
            })
    }
}

/// Mints an HS256 token (`botscope token`, the demo's printed token).
pub fn mint_hs256(secret: &[u8], sub: &str, bots: &[String], ttl: std::time::Duration) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let claims = Claims {
        sub: sub.to_owned(),
        iat: Some(now),
        exp: now + ttl.as_secs(),
        bots: Some(bots.to_vec()),
        iss: None,
        aud: None,
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap_or_default()
}
