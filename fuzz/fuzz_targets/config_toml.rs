#![no_main]
//! Config parsing (durations, sizes, addresses, bot entries) on arbitrary TOML.
use botscope::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = Config::from_toml_str(s, &|_| None);
    }
});
