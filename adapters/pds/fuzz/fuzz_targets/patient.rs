//! Any bytes as a PDS Patient read answer: reading them must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_pds::fuzz_patient(data);
});
