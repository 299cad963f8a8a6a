//! Any bytes as an answer from a lab: the checks of an RSP^K11 and the
//! mapping of its result groups must never panic, however hostile the
//! input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_hl7v2::fuzz_answer(data);
});
