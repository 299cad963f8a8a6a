//! Any bytes as a shard's `counts.json` (the first byte picks the
//! threshold), read back and reported as `icr extract merge` does: must
//! never panic; an error quotes none of the file; a report publishes no
//! count below the threshold; counts read write back the same.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract_summary::fuzz_counts(data);
});
