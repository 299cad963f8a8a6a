//! Any bytes as a CDA document: the shared hardened reader and the HL7 v3
//! view over it must never panic or hang, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_cda::fuzz_document(data);
});
