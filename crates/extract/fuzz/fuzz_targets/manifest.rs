//! Any bytes as up to four shards' `manifest.json` (split at NUL bytes):
//! each accepted reads back as written, errors show no NHS number, and
//! their merge (`icr extract merge`) never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract::fuzz_manifest(data);
});
