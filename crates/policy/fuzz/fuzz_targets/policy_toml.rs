//! Any bytes as a policy file: parsing and checking must never panic or
//! hang, however malformed the file.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_policy::fuzz_policy_toml(data);
});
