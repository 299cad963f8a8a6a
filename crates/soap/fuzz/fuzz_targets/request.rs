//! Any bytes as a `GetPersonSummary` request (what a simulated council
//! reads): reading must never panic, and a request read is written and
//! read back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_soap::fuzz_request(data);
});
