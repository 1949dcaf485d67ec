#![no_main]
//! `CursorKey::decode` on arbitrary text: an error or a key, never a panic.
use botscope::engine::CursorKey;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let key = CursorKey::new(b"fuzz-cursor-secret-0123456789");
        let _ = key.decode::<botscope::domain::SessionKey>("fingerprint", s);
    }
});
