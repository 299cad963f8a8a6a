//! Any bytes as a CDA document from a source: reading the XML, the header,
//! the encounter and the narrative, mapping to the model and checking the
//! identity must never panic or hang, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_cda::fuzz_document(data);
});
