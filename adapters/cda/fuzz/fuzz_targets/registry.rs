//! Any bytes as the document registry's searchset: reading the
//! DocumentReferences and resolving their URLs must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_cda::fuzz_registry(data);
});
