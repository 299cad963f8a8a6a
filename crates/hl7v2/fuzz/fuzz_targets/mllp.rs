//! Any bytes as an MLLP stream, arriving in chunks: the de-framer must
//! never panic, never hand back a frame over its limit or holding a framing
//! byte, and stay refused once it has refused.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_hl7v2::fuzz_mllp(data);
});
