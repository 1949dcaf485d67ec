//! How cached values are stored in Redis: MessagePack (compact, positional
//! fields), LZ4-compressed past [`COMPRESS_FROM`] bytes, behind one header byte.
//!
//! Positional fields make the encoding depend on the Rust types, so keys carry
//! [`FORMAT`]: bump it when a cached domain type changes, and replicas of two
//! versions then simply miss each other's entries instead of misreading them.
//! A value that does not decode is treated as a miss.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Part of every cache key; bump when the encoded types change.
pub const FORMAT: &str = "v1";

/// Values at least this large are compressed (sessions compress ~4×).
pub const COMPRESS_FROM: usize = 4096;

const RAW: u8 = 0;
const LZ4: u8 = 1;

pub fn encode<T: Serialize>(value: &T) -> Option<Vec<u8>> {
    let packed = rmp_serde::to_vec(value).ok()?;
    if packed.len() < COMPRESS_FROM {
        let mut out = Vec::with_capacity(packed.len() + 1);
        out.push(RAW);
        out.extend_from_slice(&packed);
        return Some(out);
    }
    let mut out = vec![LZ4];
    out.extend_from_slice(&lz4_flex::compress_prepend_size(&packed));
    Some(out)
}

pub fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Option<T> {
    let (&header, body) = bytes.split_first()?;
    match header {
        RAW => rmp_serde::from_slice(body).ok(),
        LZ4 => {
            let packed = lz4_flex::decompress_size_prepended(body).ok()?;
            rmp_serde::from_slice(&packed).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_small_and_large_and_refuses_garbage() {
        let small = vec!["a".to_owned(); 3];
        let e = encode(&small).unwrap();
        assert_eq!(e[0], RAW);
        assert_eq!(decode::<Vec<String>>(&e).unwrap(), small);
        let large: Vec<String> = (0..2000).map(|i| format!("session-{}", i % 10)).collect();
        let e = encode(&large).unwrap();
        assert_eq!(e[0], LZ4);
        assert!(e.len() < rmp_serde::to_vec(&large).unwrap().len() / 2);
        assert_eq!(decode::<Vec<String>>(&e).unwrap(), large);
        assert!(decode::<Vec<String>>(&[]).is_none());
        assert!(decode::<Vec<String>>(&[7, 1, 2]).is_none());
        assert!(decode::<Vec<String>>(&[LZ4, 9, 9, 9]).is_none());
    }
}
