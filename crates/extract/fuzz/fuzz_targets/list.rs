//! Any bytes as a list of NHS numbers (a cohort, a practice's registered
//! list, the national data opt-out list; the first byte picks plain or CSV
//! and the most people): must never panic, read no more people or longer
//! lines than allowed, and never show an NHS number in an error.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract::fuzz_list(data);
});
