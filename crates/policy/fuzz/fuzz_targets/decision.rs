//! Any bytes as one request — role, organisation, purpose, break-glass
//! text, sections, objection, holders and record contents — through
//! before_fetch, after_fetch and apply: must never panic, and the withheld
//! count must always equal the items removed.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_policy::fuzz_decision(data);
});
