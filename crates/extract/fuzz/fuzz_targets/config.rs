//! Any text as `extract.toml` (parsed and checked; the files it names are
//! not read): must never panic, every error names the file and shows no
//! NHS number, and a spec accepted hashes the same through JSON.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract::fuzz_config(data);
});
