//! Any bytes as an HL7 v2 message: tokenizing, decoding every value and
//! reading it as a date must never panic, and what is read must survive
//! being written out and read again unchanged.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_hl7v2::fuzz_message(data);
});
