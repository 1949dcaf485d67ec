//! Relay cursors: opaque, HMAC-SHA256-signed, bound to the query that made them.
//!
//! A cursor is `base64url(payload ‖ mac)`, where `payload` is a small JSON object
//! `{v, q, k}`: the format version, a fingerprint of the query (bots, range,
//! filter, order), and the key of the session it points at. `mac` is the first
//! 16 bytes of HMAC-SHA256(`cursor_secret`, payload). Replicas sharing the
//! secret accept each other's cursors; a cursor from another query, a tampered
//! or truncated one, or one in an older format is `BAD_USER_INPUT`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

#[cfg(test)]
use crate::domain::SessionKey;
use crate::error::{Error, Result};

const VERSION: u8 = 1;
const MAC_LEN: usize = 16;
/// Cursors longer than this are refused before decoding.
const MAX_CURSOR_LEN: usize = 2048;

/// The HMAC key cursors are signed with.
#[derive(Clone)]
pub struct CursorKey {
    key: Vec<u8>,
}

/// Never the key itself.
impl std::fmt::Debug for CursorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorKey([redacted])")
    }
}

#[derive(Serialize, Deserialize)]
struct Payload<K> {
    v: u8,
    q: String,
    k: K,
}

/// A fingerprint of everything that defines a result sequence.
pub fn fingerprint(query: &impl Serialize) -> String {
    let bytes = serde_json::to_vec(query).unwrap_or_default();
    let digest = Sha256::digest(&bytes);
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

fn bad(message: &str) -> Error {
    Error::bad_input("after", message)
}

impl CursorKey {
    pub fn new(secret: &[u8]) -> Self {
        CursorKey {
            key: secret.to_vec(),
        }
    }

    fn mac(&self, payload: &[u8]) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC accepts keys of any length");
        mac.update(payload);
        mac
    }

    /// A cursor for `key` (a session or an utterance key) in the
    /// sequence `query_fingerprint` names.
    pub fn encode<K: Serialize>(&self, query_fingerprint: &str, key: &K) -> String {
        let payload = serde_json::to_vec(&Payload {
            v: VERSION,
            q: query_fingerprint.to_owned(),
            k: key,
        })
        .unwrap_or_default();
        let tag = self.mac(&payload).finalize().into_bytes();
        let mut bytes = payload;
        bytes.extend_from_slice(&tag[..MAC_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// Checks signature, format and query binding; returns the session key.
    pub fn decode<K: serde::de::DeserializeOwned>(
        &self,
        query_fingerprint: &str,
        cursor: &str,
    ) -> Result<K> {
        if cursor.is_empty() || cursor.len() > MAX_CURSOR_LEN {
            return Err(bad("malformed cursor: use a cursor returned by this query"));
        }
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor.trim_end_matches('='))
            .map_err(|_| bad("malformed cursor: use a cursor returned by this query"))?;
        if bytes.len() <= MAC_LEN {
            return Err(bad("malformed cursor: too short"));
        }
        let (payload, tag) = bytes.split_at(bytes.len() - MAC_LEN);
        self.mac(payload)
            .verify_truncated_left(tag)
            .map_err(|_| bad("invalid cursor: signature does not match (tampered, truncated or from another deployment)"))?;
        let payload: Payload<K> = serde_json::from_slice(payload).map_err(|_| {
            bad("cursor format is no longer supported; restart paging without `after`")
        })?;
        if payload.v != VERSION {
            return Err(bad(
                "cursor format is no longer supported; restart paging without `after`",
            ));
        }
        if payload.q != query_fingerprint {
            return Err(bad(
                "cursor belongs to a different query (bots, range, filter or order changed)",
            ));
        }
        Ok(payload.k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SessionKey {
        SessionKey {
            value: 1_700_000_000_000,
            bot_id: "support-lex".into(),
            session_id: "s-1".into(),
            originating_request_id: Some("r-1".into()),
        }
    }

    #[test]
    fn round_trips() {
        let k = CursorKey::new(b"secret");
        let c = k.encode("q1", &key());
        assert_eq!(k.decode::<SessionKey>("q1", &c).unwrap(), key());
    }

    #[test]
    fn refuses_every_kind_of_bad_cursor() {
        let k = CursorKey::new(b"secret");
        let c = k.encode("q1", &key());
        let check = |cursor: &str, fp: &str, needle: &str| {
            let e = k.decode::<SessionKey>(fp, cursor).unwrap_err();
            assert_eq!(e.kind, crate::error::ErrorKind::BadUserInput);
            assert_eq!(e.argument.as_deref(), Some("after"));
            assert!(e.message.contains(needle), "{cursor}: {}", e.message);
        };
        check(&c, "q2", "different query");
        // Truncation breaks either the encoding or the signature; both are refused.
        check(&c[..c.len() - 4], "q1", "");
        check(&c[..c.len() - 3], "q1", "");
        check("!!!not-base64", "q1", "malformed");
        check("", "q1", "malformed");
        check("YQ", "q1", "too short");
        let mut tampered = URL_SAFE_NO_PAD.decode(&c).unwrap();
        tampered[10] ^= 1;
        check(&URL_SAFE_NO_PAD.encode(&tampered), "q1", "signature");
        let other = CursorKey::new(b"other").encode("q1", &key());
        check(&other, "q1", "signature");
        // An older format, correctly signed: refused by version, not by signature.
        let payload = br#"{"v":0,"q":"q1","k":{}}"#.to_vec();
        let tag = k.mac(&payload).finalize().into_bytes();
        let mut old = payload;
        old.extend_from_slice(&tag[..MAC_LEN]);
        check(&URL_SAFE_NO_PAD.encode(old), "q1", "no longer supported");
    }
}
