//! rvsd's config check on any text: parsed as TOML and checked into typed config, or refused
//! with an error. Never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = rvs::config::Config::from_toml_str(text);
    }
});
