//! Bearer-token authentication: JWTs whose `bots` claim decides what the
//! caller may see.
//!
//! Two key sources, one per deployment: an HS256 shared secret, or the public
//! keys of an identity provider from a JWKS file or URL (RS256/384/512,
//! PS256/384/512, ES256/384, EdDSA). The accepted `alg` is pinned to the
//! configured family: with a secret only HS256 passes; with a JWKS only the
//! asymmetric algorithms its keys are for, looked up by `kid` (an HS token,
//! even one "signed" with a public key's bytes, is refused; `alg: none` is
//! never accepted). `exp` is required; `nbf` and `iat` are honoured with a
//! small leeway; `iss`/`aud` are checked when configured.
//!
//! A JWKS URL is fetched at startup (failure is a startup error) — or, with
//! [`JwksStart::InBackground`], retried until it loads while
//! `/readyz` answers 503 — refreshed in the background every `refresh` interval, and once more — at most every
//! [`MIN_UNKNOWN_KID_REFRESH`] — when a token names a `kid` it does not know
//! (the provider rotated its keys). Error messages say what was wrong without
//! echoing the token.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::engine::BotScope;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;

/// A token with an unknown `kid` refreshes a JWKS URL at most this often.
pub const MIN_UNKNOWN_KID_REFRESH: Duration = Duration::from_secs(30);

/// The claims botscope reads and mints.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Gateway bot ids, or `["*"]` for every bot. Absent means no bots.
    #[serde(default)]
    pub bots: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// A string or a list of strings (RFC 7519 §4.1.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
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

/// One public key of a JWKS and the algorithms it may verify.
struct PublicKey {
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

/// The keys of a JWKS, by `kid` (keys without one are kept apart).
#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<PublicKey>>,
    without_kid: Vec<Arc<PublicKey>>,
}

impl KeySet {
    fn parse(json: &str) -> Result<KeySet, String> {
        #[derive(Deserialize)]
        struct Raw {
            keys: Vec<serde_json::Value>,
        }
        let raw: Raw = serde_json::from_str(json)
            .map_err(|e| format!("not a JWKS (a JSON object with `keys`): {e}"))?;
        let mut set = KeySet::default();
        for value in raw.keys {
            // Keys botscope cannot use (encryption keys, symmetric keys, unknown
            // types) are skipped, not fatal: providers publish all sorts.
            let Ok(jwk) = serde_json::from_value::<Jwk>(value) else {
                continue;
            };
            let Some(key) = public_key(&jwk) else {
                continue;
            };
            let key = Arc::new(key);
            match &jwk.common.key_id {
                Some(kid) => {
                    set.by_kid.insert(kid.clone(), key);
                }
                None => set.without_kid.push(key),
            }
        }
        if set.by_kid.is_empty() && set.without_kid.is_empty() {
            return Err("the JWKS holds no RSA, EC or Ed25519 signing key".into());
        }
        Ok(set)
    }

    fn find(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<PublicKey>> {
        match kid {
            Some(kid) => self
                .by_kid
                .get(kid)
                .filter(|k| k.algorithms.contains(&alg))
                .cloned(),
            // Without a `kid` a token can only name a key when exactly one fits.
            None => {
                let mut fits = self
                    .by_kid
                    .values()
                    .chain(&self.without_kid)
                    .filter(|k| k.algorithms.contains(&alg));
                match (fits.next(), fits.next()) {
                    (Some(k), None) => Some(k.clone()),
                    _ => None,
                }
            }
        }
    }

    fn knows(&self, kid: &str) -> bool {
        self.by_kid.contains_key(kid)
    }

    fn is_empty(&self) -> bool {
        self.by_kid.is_empty() && self.without_kid.is_empty()
    }
}

/// The asymmetric signing key of a JWK and the algorithms it may verify; `None`
/// for symmetric (`oct`) keys and keys meant for encryption.
fn public_key(jwk: &Jwk) -> Option<PublicKey> {
    use jsonwebtoken::jwk::PublicKeyUse;
    if matches!(jwk.common.public_key_use, Some(ref u) if *u != PublicKeyUse::Signature) {
        return None;
    }
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![Algorithm::ES256],
            EllipticCurve::P384 => vec![Algorithm::ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            vec![Algorithm::EdDSA]
        }
        _ => return None,
    };
    let algorithms = match &jwk.common.key_algorithm {
        None => by_type,
        Some(declared) => {
            let declared = signing_algorithm(declared)?;
            if !by_type.contains(&declared) {
                return None;
            }
            vec![declared]
        }
    };
    let key = DecodingKey::from_jwk(jwk).ok()?;
    Some(PublicKey { key, algorithms })
}

fn signing_algorithm(k: &KeyAlgorithm) -> Option<Algorithm> {
    Some(match k {
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A JWKS fetched from a URL, refreshed in the background.
struct RemoteJwks {
    url: String,
    client: reqwest::Client,
    keys: RwLock<Arc<KeySet>>,
    /// When a token with an unknown `kid` last caused a refresh.
    last_unknown_kid_refresh: Mutex<Option<Instant>>,
    /// Serialises refreshes so a burst of unknown kids makes one fetch.
    refreshing: tokio::sync::Mutex<()>,
}

impl RemoteJwks {
    fn new(url: &str) -> Result<Arc<Self>, String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("cannot build an HTTP client: {e}"))?;
        Ok(Arc::new(RemoteJwks {
            url: url.to_owned(),
            client,
            keys: RwLock::new(Arc::new(KeySet::default())),
            last_unknown_kid_refresh: Mutex::new(None),
            refreshing: tokio::sync::Mutex::new(()),
        }))
    }

    async fn fetch(&self) -> Result<KeySet, String> {
        let resp = self
            .client
            .get(&self.url)
            .send()
            .await
            .map_err(|e| format!("cannot fetch the JWKS from {}: {e}", self.url))?;
        if !resp.status().is_success() {
            return Err(format!(
                "the JWKS at {} answered HTTP {}",
                self.url,
                resp.status()
            ));
        }
        let text = resp
            .text()
            .await
            .map_err(|e| format!("cannot read the JWKS from {}: {e}", self.url))?;
        KeySet::parse(&text)
    }

    async fn refresh(&self) -> Result<(), String> {
        let set = self.fetch().await?;
        *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(set);
        Ok(())
    }

    fn current(&self) -> Arc<KeySet> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Refreshes because a token named `kid`, unless another refresh for an
    /// unknown kid happened within [`MIN_UNKNOWN_KID_REFRESH`].
    async fn refresh_for_unknown_kid(&self, kid: &str) {
        let _one_at_a_time = self.refreshing.lock().await;
        if self.current().knows(kid) {
            return; // a concurrent refresh brought it
        }
        {
            let mut last = self
                .last_unknown_kid_refresh
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| t.elapsed() < MIN_UNKNOWN_KID_REFRESH) {
                return;
            }
            *last = Some(Instant::now());
        }
        if let Err(e) = self.refresh().await {
            tracing::warn!(error = %e, "JWKS refresh for an unknown kid failed");
        }
    }
}

/// Refreshes `remote` every `refresh` (at least a second) while it lives;
/// until its first successful fetch (`loaded` false), every second.
fn spawn_refresher(remote: &Arc<RemoteJwks>, refresh: Duration, mut loaded: bool) {
    let weak: Weak<RemoteJwks> = Arc::downgrade(remote);
    let period = refresh.max(Duration::from_secs(1));
    tokio::spawn(async move {
        while !loaded {
            let Some(remote) = weak.upgrade() else { return };
            match remote.refresh().await {
                Ok(()) => loaded = true,
                Err(e) => {
                    tracing::warn!(error = %e, "JWKS not loaded yet; retrying in 1 s");
                    drop(remote);
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
            }
        }
        let mut tick = tokio::time::interval(period);
        tick.tick().await; // the first tick is immediate; we just fetched
        loop {
            tick.tick().await;
            let Some(remote) = weak.upgrade() else { break };
            if let Err(e) = remote.refresh().await {
                tracing::warn!(error = %e, "periodic JWKS refresh failed; keeping the previous keys");
            }
        }
    });
}

#[derive(Clone)]
enum Keys {
    Hs256(DecodingKey),
    Static(Arc<KeySet>),
    Remote(Arc<RemoteJwks>),
}

/// Verifies tokens.
#[derive(Clone)]
pub struct Authenticator {
    keys: Keys,
    issuer: Option<String>,
    audience: Option<String>,
}

/// When a JWKS URL's keys are first fetched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JwksStart {
    /// Before the gateway starts: a URL that does not answer stops startup.
    Fetched,
    /// In the background: the gateway starts not ready and refuses every
    /// token until the keys load.
    InBackground,
}

impl Authenticator {
    /// HS256 with a shared secret; only HS256 tokens pass.
    pub fn hs256(secret: &[u8], issuer: Option<&str>, audience: Option<&str>) -> Self {
        let keys = Keys::Hs256(DecodingKey::from_secret(secret));
        Authenticator::new(keys, issuer, audience)
    }

    /// Public keys from a JWKS document (the text of a `jwks_file`).
    pub fn jwks(json: &str, issuer: Option<&str>, audience: Option<&str>) -> Result<Self, String> {
        let keys = Keys::Static(Arc::new(KeySet::parse(json)?));
        Ok(Authenticator::new(keys, issuer, audience))
    }

    /// Public keys from a JWKS URL, refreshed every `refresh` in a background
    /// task that ends with the authenticator. With [`JwksStart::Fetched`] the
    /// first fetch happens now (an error if it fails); with
    /// [`JwksStart::InBackground`] it is retried every second until it
    /// succeeds, and meanwhile every token is refused and
    /// [`keys_loaded`](Self::keys_loaded) is false, so `/readyz` answers 503.
    pub async fn jwks_url(
        url: &str,
        refresh: Duration,
        issuer: Option<&str>,
        audience: Option<&str>,
        start: JwksStart,
    ) -> Result<Self, String> {
        let remote = RemoteJwks::new(url)?;
        let fetched = start == JwksStart::Fetched;
        if fetched {
            remote.refresh().await?;
        }
        spawn_refresher(&remote, refresh, fetched);
        Ok(Authenticator::new(Keys::Remote(remote), issuer, audience))
    }

    fn new(keys: Keys, issuer: Option<&str>, audience: Option<&str>) -> Self {
        Authenticator {
            keys,
            issuer: issuer.map(str::to_owned),
            audience: audience.map(str::to_owned),
        }
    }

    /// Whether tokens can be verified: false only for a JWKS URL whose keys
    /// have not been fetched yet.
    pub fn keys_loaded(&self) -> bool {
        match &self.keys {
            Keys::Hs256(_) | Keys::Static(_) => true,
            Keys::Remote(remote) => !remote.current().is_empty(),
        }
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut validation = Validation::new(alg);
        // A configured issuer/audience must be present, not merely "not wrong".
        let mut required = vec!["exp", "sub"];
        if self.issuer.is_some() {
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        match &self.issuer {
            Some(iss) => validation.set_issuer(&[iss]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(aud) => validation.set_audience(&[aud]),
            None => validation.validate_aud = false,
        }
        validation
    }

    /// Checks an `Authorization` header value; the error says what was wrong
    /// without echoing the token.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Claims, String> {
        let Some(value) = header else {
            return Err("missing bearer token: send `Authorization: Bearer <JWT>`".into());
        };
        let Some(token) = value.strip_prefix("Bearer ").map(str::trim) else {
            return Err("the Authorization header must be `Bearer <JWT>`".into());
        };
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            "token is malformed, or its `alg` is not one botscope accepts".to_owned()
        })?;
        let alg = header.alg;
        let key: Arc<PublicKey> = match &self.keys {
            Keys::Hs256(key) => {
                if alg != Algorithm::HS256 {
                    return Err(format!(
                        "token algorithm {alg:?} is not accepted (this gateway takes HS256)"
                    ));
                }
                return self.decode(token, key, alg);
            }
            Keys::Static(set) => find_key(set, header.kid.as_deref(), alg)?,
            Keys::Remote(remote) => match find_key(&remote.current(), header.kid.as_deref(), alg) {
                Ok(k) => k,
                Err(e) => {
                    let Some(kid) = header.kid.as_deref() else {
                        return Err(e);
                    };
                    if !is_asymmetric(alg) || remote.current().knows(kid) {
                        return Err(e);
                    }
                    remote.refresh_for_unknown_kid(kid).await;
                    find_key(&remote.current(), Some(kid), alg)?
                }
            },
        };
        self.decode(token, &key.key, alg)
    }

    fn decode(&self, token: &str, key: &DecodingKey, alg: Algorithm) -> Result<Claims, String> {
        let claims = jsonwebtoken::decode::<Claims>(token, key, &self.validation(alg))
            .map(|d| d.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind as K;
                match e.kind() {
                    K::ExpiredSignature => "token expired".to_owned(),
                    K::InvalidSignature => "token signature is invalid".into(),
                    K::InvalidAlgorithm => "token algorithm is not accepted".into(),
                    K::InvalidIssuer => "token issuer is not accepted".into(),
                    K::InvalidAudience => "token audience is not accepted".into(),
                    K::MissingRequiredClaim(c) => format!("token lacks the `{c}` claim"),
                    K::ImmatureSignature => "token is not valid yet (nbf)".into(),
                    _ => "token is malformed".into(),
                }
            })?;
        if let Some(iat) = claims.iat
            && iat > now_secs() + LEEWAY_SECS
        {
            return Err("token was issued in the future (iat)".into());
        }
        Ok(claims)
    }
}

fn is_asymmetric(alg: Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn find_key(set: &KeySet, kid: Option<&str>, alg: Algorithm) -> Result<Arc<PublicKey>, String> {
    if !is_asymmetric(alg) {
        return Err(format!(
            "token algorithm {alg:?} is not accepted (this gateway takes keys from a JWKS)"
        ));
    }
    set.find(kid, alg).ok_or_else(|| match kid {
        Some(kid) => format!("no key with kid {kid:?} for {alg:?} in the JWKS"),
        None => format!("token has no `kid` and the JWKS has no single key for {alg:?}"),
    })
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Mints an HS256 token (`botscope token`, the demo's printed token).
pub fn mint_hs256(secret: &[u8], sub: &str, bots: &[String], ttl: std::time::Duration) -> String {
    let now = now_secs();
    let claims = Claims {
        sub: sub.to_owned(),
        iat: Some(now),
        nbf: None,
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
