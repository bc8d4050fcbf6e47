//! rvsadm's command-line parser on any argument vector (the input split at NUL, newline or
//! space), with no name lookups. Never a panic; what parses converts to a change.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rvs_tools::rvsadm::{cli, names::NoNames};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let argv: Vec<&str> = std::iter::once("rvsadm")
        .chain(text.split(['\0', '\n', ' ']).filter(|s| !s.is_empty()))
        .collect();
    if let Ok(cmd) = cli::parse(&argv, &NoNames) {
        let _ = cmd.into_change();
    }
});
