//! The security suite (issue 6): every way in without the right token is
//! refused with `UNAUTHENTICATED`, every way at another caller's bots with
//! `FORBIDDEN` or `BAD_USER_INPUT`, and no refused answer carries their data.
//! Keys under `tests/fixtures/` are test-only (see its README).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chrono::Utc;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use botscope::server::auth::{Authenticator, JwksStart, mint_hs256};
use botscope::sources::AnalyticsSource;

use crate::common::{self, Probe};

const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn now() -> u64 {
    Utc::now().timestamp() as u64
}

/// The four demo bots over memory sources, with one call counter for all.
fn sources() -> (Vec<Arc<dyn AnalyticsSource>>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let sources = common::demo_memory_sources(40, 7, 2)
        .into_iter()
        .map(|s| Arc::new(Probe::new(s).counting_into(calls.clone())) as Arc<dyn AnalyticsSource>)
        .collect();
    (sources, calls)
}

struct Gateway {
    url: String,
    calls: Arc<AtomicUsize>,
    client: reqwest::Client,
}

impl Gateway {
    async fn post(&self, token: Option<&str>, body: &Value) -> (u16, Value) {
        let mut req = self.client.post(&self.url).json(body);
        if let Some(t) = token {
            req = req.header("authorization", format!("Bearer {t}"));
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().await.unwrap())
    }
}

async fn spawn(auth: Authenticator) -> Gateway {
    let (sources, calls) = sources();
    let mut settings = crate::support::settings(&crate::support::config("")).await;
    settings.auth = Some(auth);
    let addr = crate::support::spawn_with_settings(settings, sources).await;
    Gateway {
        url: format!("http://{addr}/graphql"),
        calls,
        client: reqwest::Client::new(),
    }
}

use crate::support::codes;

fn bots_query() -> Value {
    json!({ "query": "{ bots { id } }" })
}

fn sessions_query(bot_ids: Option<&[&str]>, after: Option<&str>) -> Value {
    json!({
        "query": "query($b: [ID!], $after: String) { sessions(botIds: $b, range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-04T00:00:00Z\"}, first: 5, after: $after) { nodes { id bot { id } userId } pageInfo { endCursor } } }",
        "variables": { "b": bot_ids, "after": after }
    })
}

/// Asserts an HTTP 401 with only `UNAUTHENTICATED` and no data.
fn assert_unauthenticated(what: &str, (status, body): (u16, Value)) {
    assert_eq!(status, 401, "{what}: {body}");
    assert_eq!(codes(&body), ["UNAUTHENTICATED"], "{what}: {body}");
    assert!(
        body.get("data").is_none_or(Value::is_null),
        "{what}: {body}"
    );
}

fn claims(sub: &str, bots: &[&str]) -> Value {
    json!({ "sub": sub, "bots": bots, "iat": now(), "exp": now() + 600 })
}

fn sign(alg: Algorithm, kid: Option<&str>, key: &EncodingKey, claims: &Value) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, key).unwrap()
}

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(fixture("rsa_private.pem").as_bytes()).unwrap()
}

fn ec_key() -> EncodingKey {
    EncodingKey::from_ec_pem(fixture("ec_private.pem").as_bytes()).unwrap()
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A token with `alg: none` and an empty signature.
fn alg_none(claims: &Value) -> String {
    let header = b64(br#"{"alg":"none","typ":"JWT"}"#);
    format!("{header}.{}.", b64(claims.to_string().as_bytes()))
}

#[tokio::test]
async fn hs256_refuses_every_bad_token() {
    let gw = spawn(Authenticator::hs256(
        SECRET,
        Some("https://idp.test/"),
        Some("botscope"),
    ))
    .await;
    let good_claims = |c: Value| {
        let mut c = c;
        c["iss"] = json!("https://idp.test/");
        c["aud"] = json!("botscope");
        c
    };
    let hs = |c: &Value| sign(Algorithm::HS256, None, &EncodingKey::from_secret(SECRET), c);
    let base = good_claims(claims("svc", &["*"]));

    // The good token works, so every refusal below is about what was changed.
    let (status, body) = gw.post(Some(&hs(&base)), &bots_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["bots"].as_array().unwrap().len(), 4);

    assert_unauthenticated("no token", gw.post(None, &bots_query()).await);
    let resp = gw
        .client
        .post(&gw.url)
        .header("authorization", format!("Basic {}", hs(&base)))
        .json(&bots_query())
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 401, "not a bearer header");
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    for (what, token) in [
        ("malformed", "not.a.jwt".to_owned()),
        ("garbage", "x".repeat(300)),
        (
            "wrong signature",
            sign(
                Algorithm::HS256,
                None,
                &EncodingKey::from_secret(b"another-secret-another-secret-xx"),
                &base,
            ),
        ),
        ("alg none", alg_none(&base)),
        (
            "RS256 token on an HS256 gateway",
            sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &base),
        ),
        (
            "ES256 token on an HS256 gateway",
            sign(Algorithm::ES256, Some("ec-1"), &ec_key(), &base),
        ),
        (
            "HS512 with the same secret",
            sign(
                Algorithm::HS512,
                None,
                &EncodingKey::from_secret(SECRET),
                &base,
            ),
        ),
        ("expired", {
            let mut c = base.clone();
            c["exp"] = json!(now() - 120);
            hs(&c)
        }),
        ("no exp", {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove("exp");
            hs(&c)
        }),
        ("nbf in the future", {
            let mut c = base.clone();
            c["nbf"] = json!(now() + 600);
            hs(&c)
        }),
        ("iat in the future", {
            let mut c = base.clone();
            c["iat"] = json!(now() + 600);
            hs(&c)
        }),
        ("wrong iss", {
            let mut c = base.clone();
            c["iss"] = json!("https://evil.test/");
            hs(&c)
        }),
        ("no iss", {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove("iss");
            hs(&c)
        }),
        ("wrong aud", {
            let mut c = base.clone();
            c["aud"] = json!("someone-else");
            hs(&c)
        }),
        ("no aud", {
            let mut c = base.clone();
            c.as_object_mut().unwrap().remove("aud");
            hs(&c)
        }),
    ] {
        assert_unauthenticated(what, gw.post(Some(&token), &bots_query()).await);
    }
    // Small clock skew is tolerated: expired 5 s ago, nbf 5 s ahead.
    let mut skewed = base.clone();
    skewed["exp"] = json!(now() - 5);
    skewed["nbf"] = json!(now() + 5);
    assert_eq!(gw.post(Some(&hs(&skewed)), &bots_query()).await.0, 200);
    // An audience list that includes botscope is accepted.
    let mut listed = base.clone();
    listed["aud"] = json!(["other", "botscope"]);
    assert_eq!(gw.post(Some(&hs(&listed)), &bots_query()).await.0, 200);
    assert_eq!(
        gw.calls.load(Ordering::SeqCst),
        0,
        "no refused request reached a source"
    );
}

#[tokio::test]
async fn jwks_file_accepts_rs256_and_es256_and_refuses_confusion() {
    let auth = Authenticator::jwks(&fixture("jwks.json"), None, None).unwrap();
    let gw = spawn(auth).await;
    let c = claims("svc", &["*"]);
    for (what, token) in [
        (
            "RS256 by kid",
            sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &c),
        ),
        (
            "ES256 by kid",
            sign(Algorithm::ES256, Some("ec-1"), &ec_key(), &c),
        ),
        (
            "ES256 without kid (one EC key)",
            sign(Algorithm::ES256, None, &ec_key(), &c),
        ),
    ] {
        let (status, body) = gw.post(Some(&token), &bots_query()).await;
        assert_eq!(status, 200, "{what}: {body}");
    }
    let public_pem = fixture("rsa_public.pem");
    let other_rsa = EncodingKey::from_rsa_pem(fixture("rsa2_private.pem").as_bytes()).unwrap();
    for (what, token) in [
        // The classic confusion: HMAC "signed" with the RSA public key's bytes.
        (
            "HS256 with the public key as secret",
            sign(
                Algorithm::HS256,
                Some("rsa-1"),
                &EncodingKey::from_secret(public_pem.as_bytes()),
                &c,
            ),
        ),
        (
            "HS256 with the JWKS's oct key",
            sign(
                Algorithm::HS256,
                Some("sym"),
                &EncodingKey::from_secret(b"secret"),
                &c,
            ),
        ),
        ("alg none", alg_none(&c)),
        (
            "signed by another RSA key",
            sign(Algorithm::RS256, Some("rsa-1"), &other_rsa, &c),
        ),
        (
            "unknown kid",
            sign(Algorithm::RS256, Some("rsa-2"), &other_rsa, &c),
        ),
        (
            "RS384 where the JWK pins RS256",
            sign(Algorithm::RS384, Some("rsa-1"), &rsa_key(), &c),
        ),
        (
            "ES256 claiming the RSA kid",
            sign(Algorithm::ES256, Some("rsa-1"), &ec_key(), &c),
        ),
        ("expired", {
            let mut e = c.clone();
            e["exp"] = json!(now() - 120);
            sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &e)
        }),
    ] {
        assert_unauthenticated(what, gw.post(Some(&token), &bots_query()).await);
    }
}

/// A JWKS served by a tiny HTTP server whose key set the test can swap.
async fn jwks_server(initial: String) -> (String, Arc<std::sync::Mutex<String>>, Arc<AtomicUsize>) {
    let doc = Arc::new(std::sync::Mutex::new(initial));
    let hits = Arc::new(AtomicUsize::new(0));
    let (d, h) = (doc.clone(), hits.clone());
    let app = axum::Router::new().route(
        "/jwks",
        axum::routing::get(move || {
            let (d, h) = (d.clone(), h.clone());
            async move {
                h.fetch_add(1, Ordering::SeqCst);
                let body = d.lock().unwrap().clone();
                ([("content-type", "application/json")], body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/jwks"), doc, hits)
}

#[tokio::test]
async fn jwks_url_is_fetched_and_refreshed_for_a_rotated_kid_at_most_once() {
    let (url, doc, hits) = jwks_server(fixture("jwks.json")).await;
    let auth = Authenticator::jwks_url(
        &url,
        Duration::from_secs(3600),
        None,
        None,
        JwksStart::Fetched,
    )
    .await
    .unwrap();
    assert_eq!(hits.load(Ordering::SeqCst), 1, "fetched at startup");
    let gw = spawn(auth).await;
    let c = claims("svc", &["*"]);
    let token = sign(Algorithm::RS256, Some("rsa-1"), &rsa_key(), &c);
    assert_eq!(gw.post(Some(&token), &bots_query()).await.0, 200);
    assert_eq!(hits.load(Ordering::SeqCst), 1, "a known kid needs no fetch");

    // The provider rotates to rsa-2: the first token naming it triggers one refresh.
    *doc.lock().unwrap() = fixture("jwks_rotated.json");
    let rotated_key = EncodingKey::from_rsa_pem(fixture("rsa2_private.pem").as_bytes()).unwrap();
    let rotated = sign(Algorithm::RS256, Some("rsa-2"), &rotated_key, &c);
    let (status, body) = gw.post(Some(&rotated), &bots_query()).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(hits.load(Ordering::SeqCst), 2);
    // The old key is gone now.
    assert_unauthenticated("retired kid", gw.post(Some(&token), &bots_query()).await);
    // Made-up kids cannot make botscope hammer the provider: within the
    // rate-limit window they cause no further fetch.
    for i in 0..5 {
        let t = sign(
            Algorithm::RS256,
            Some(&format!("bogus-{i}")),
            &rotated_key,
            &c,
        );
        assert_unauthenticated("bogus kid", gw.post(Some(&t), &bots_query()).await);
    }
    assert_eq!(
        hits.load(Ordering::SeqCst),
        2,
        "one refresh for unknown kids per window"
    );

    // A JWKS URL that does not answer is a startup error, not an open gateway.
    let err = Authenticator::jwks_url(
        "http://127.0.0.1:1/jwks",
        Duration::from_secs(60),
        None,
        None,
        JwksStart::Fetched,
    )
    .await
    .err()
    .expect("unreachable JWKS refused");
    assert!(err.contains("JWKS"), "{err}");
}

/// `/readyz` says 503 while the JWKS a gateway needs is not loaded (every
/// token is refused meanwhile), and 200 once it is; the body names the check.
#[tokio::test]
async fn readyz_is_503_until_the_jwks_is_loaded() {
    let (url, doc, hits) = jwks_server("the provider is not up yet".into()).await;
    let auth = Authenticator::jwks_url(
        &url,
        Duration::from_secs(3600),
        None,
        None,
        JwksStart::InBackground,
    )
    .await
    .unwrap();
    let gw = spawn(auth).await;
    let readyz = gw.url.replace("/graphql", "/readyz");
    let ready = || async {
        let r = reqwest::get(&readyz).await.unwrap();
        (r.status().as_u16(), r.json::<Value>().await.unwrap())
    };
    let (status, body) = ready().await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["status"], "not ready", "{body}");
    assert!(
        body["not_ready"][0].as_str().unwrap().contains("JWKS"),
        "{body}"
    );
    let token = sign(
        Algorithm::RS256,
        Some("rsa-1"),
        &rsa_key(),
        &claims("svc", &["*"]),
    );
    assert_unauthenticated("no keys yet", gw.post(Some(&token), &bots_query()).await);

    *doc.lock().unwrap() = fixture("jwks.json");
    let started = std::time::Instant::now();
    loop {
        let (status, body) = ready().await;
        if status == 200 {
            assert_eq!(body["status"], "ready", "{body}");
            assert_eq!(body["auth"], "keys loaded", "{body}");
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "never ready: {body} after {} fetches",
            hits.load(Ordering::SeqCst)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(gw.post(Some(&token), &bots_query()).await.0, 200);
}

#[tokio::test]
async fn a_token_for_bot_a_never_reaches_bot_b() {
    let gw = spawn(Authenticator::hs256(SECRET, None, None)).await;
    let token = |sub: &str, bots: &[&str]| {
        let bots: Vec<String> = bots.iter().map(|b| b.to_string()).collect();
        mint_hs256(SECRET, sub, &bots, Duration::from_secs(600))
    };
    let a = token("alice", &["support-lex"]);
    let wide = token("wanda", &["support-lex", "sales-kore"]);
    let none = {
        // A valid token without a `bots` claim sees nothing.
        let c = json!({ "sub": "nobody", "exp": now() + 600 });
        sign(
            Algorithm::HS256,
            None,
            &EncodingKey::from_secret(SECRET),
            &c,
        )
    };
    // Error messages may name B; data never carries it.
    let leaks_b = |v: &Value| v["data"].to_string().contains("sales-kore");

    // `bots` lists only the caller's bots.
    let (_, body) = gw.post(Some(&a), &bots_query()).await;
    assert_eq!(body["data"]["bots"], json!([{ "id": "support-lex" }]));
    let (_, body) = gw.post(Some(&none), &bots_query()).await;
    assert_eq!(body["data"]["bots"], json!([]));
    let (_, body) = gw
        .post(
            Some(&a),
            &json!({ "query": "{ bot(id: \"sales-kore\") { id name } }" }),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert!(body["data"]["bot"].is_null());

    // Warm every cache with B's data through a caller allowed to see it.
    let calls_before = gw.calls.load(Ordering::SeqCst);
    let (_, warm) = gw
        .post(Some(&wide), &sessions_query(Some(&["sales-kore"]), None))
        .await;
    assert!(leaks_b(&warm), "the wide caller sees B: {warm}");
    let (_, warm_all) = gw.post(Some(&wide), &sessions_query(None, None)).await;
    let cursor = warm_all["data"]["sessions"]["pageInfo"]["endCursor"]
        .as_str()
        .unwrap()
        .to_owned();
    let calls_warm = gw.calls.load(Ordering::SeqCst);
    assert!(calls_warm > calls_before);

    // Directly: FORBIDDEN naming B, no data — even with B's answer warm in both caches.
    let (status, body) = gw
        .post(Some(&a), &sessions_query(Some(&["sales-kore"]), None))
        .await;
    assert_eq!(status, 200);
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert!(
        body["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sales-kore")
    );
    assert!(!leaks_b(&body), "{body}");
    assert!(body["data"].is_null(), "{body}");
    // Mixed with an allowed bot: still refused as a whole, nothing of B.
    let (_, body) = gw
        .post(
            Some(&a),
            &sessions_query(Some(&["support-lex", "sales-kore"]), None),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert!(!leaks_b(&body), "{body}");

    // botIds omitted: only A's bots, although the wide caller's identical
    // request is warm in the response cache.
    let (_, body) = gw.post(Some(&a), &sessions_query(None, None)).await;
    assert!(codes(&body).is_empty(), "{body}");
    let nodes = body["data"]["sessions"]["nodes"].as_array().unwrap();
    assert!(!nodes.is_empty());
    assert!(
        nodes.iter().all(|n| n["bot"]["id"] == "support-lex"),
        "{body}"
    );
    assert_ne!(body, warm_all, "not the other scope's cached answer");

    // A cursor made by another caller with another scope: bound to the bots it
    // was made for, so refused — and it cannot be used to name B either.
    let (_, body) = gw
        .post(Some(&a), &sessions_query(None, Some(&cursor)))
        .await;
    assert_eq!(codes(&body), ["BAD_USER_INPUT"], "{body}");
    assert!(!leaks_b(&body), "{body}");
    let (_, body) = gw
        .post(
            Some(&a),
            &sessions_query(Some(&["sales-kore"]), Some(&cursor)),
        )
        .await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");
    assert!(!leaks_b(&body), "{body}");
    // The same cursor still works for the caller who made it.
    let (_, body) = gw
        .post(Some(&wide), &sessions_query(None, Some(&cursor)))
        .await;
    assert!(codes(&body).is_empty(), "{body}");

    // Metrics for B: refused too.
    let metrics = json!({
        "query": "{ sessionMetrics(botIds: [\"sales-kore\"], range: {start: \"2026-03-02T00:00:00Z\", end: \"2026-03-03T00:00:00Z\"}, metrics: [{name: COUNT, statistic: SUM}]) { values { value } } }"
    });
    let (_, body) = gw.post(Some(&a), &metrics).await;
    assert_eq!(codes(&body), ["FORBIDDEN"], "{body}");

    // The nobody-token sees no sessions at all.
    let (_, body) = gw.post(Some(&none), &sessions_query(None, None)).await;
    let nodes = body["data"]["sessions"]["nodes"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(nodes.is_empty(), "{body}");
}
