//! Any bytes as the claims of a token whose signature verified: must never
//! panic, and what is accepted keeps every rule on `exp`, `nbf`, `iat`,
//! the lifetime, the role and a patient's NHS number.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_auth::fuzz_claims(data);
});
