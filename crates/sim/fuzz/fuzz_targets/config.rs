//! Any text as `sim.toml`: the configuration loader must never panic, and
//! every error names its origin.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = icr_sim::SimConfig::from_toml_str(&text, "fuzz.toml") {
        assert!(e.to_string().starts_with("fuzz.toml: "));
    }
});
