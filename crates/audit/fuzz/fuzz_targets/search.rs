//! Any bytes as an audit read's search parameters and as an anchor file:
//! the parsers must never panic, and a query they accept must write back
//! (for `next` links) to the same query.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    assert!(icr_audit::fuzz_search(data), "an accepted query writes back to itself");
});
