//! Any bytes as the area lookup (`district,area` lines): must never panic,
//! and an error names a line by its number, never shows it.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract::fuzz_area_lookup(data);
});
