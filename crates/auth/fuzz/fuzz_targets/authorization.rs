//! Any bytes as an `Authorization` header value: must never panic, never
//! be accepted (no trusted key signed them), be refused as not Bearer
//! exactly when the scheme is not `Bearer` in some case, and an ECDSA
//! signature and its twin must be one token to the memo.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_auth::fuzz_authorization(data);
});
