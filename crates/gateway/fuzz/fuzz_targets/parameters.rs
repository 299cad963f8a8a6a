//! Any bytes as a `$everything` POST (the first line its `Content-Type`,
//! the rest its body): must never panic, and a body the gateway reads must
//! ask for the same as the equivalent GET and Parameters resource, with a
//! `self` link that reads back.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_gateway::fuzz_parameters(data);
});
