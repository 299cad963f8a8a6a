//! Any bytes as a GP practice's answer to `$gpc.getstructuredrecord`:
//! reading it as a structured record (every List, entry and resource) and
//! as an error answer must never panic, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_gp_connect::fuzz_structured_record(data);
});
