//! Any bytes as a FHIR R4 searchset Bundle from a source: parsing and
//! mapping every entry must never panic, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_fhir_r4::fuzz_bundle(data);
});
