//! Any bytes as a whole audit log (split into two files): reading lines,
//! parsing, the chain and file checks, and the report must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_audit::fuzz_log(data);
});
