//! Any bytes as `checkpoint.json`, the tally being the summary's real
//! `Counts` (the sink's offsets any JSON: `icr-extract-output`'s `Offsets`
//! would pull Parquet into the fuzz build): must never panic; one accepted
//! is the run's, agrees with its position and reads back as written;
//! errors show no NHS number.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_extract::fuzz_checkpoint::<serde_json::Value, icr_extract_summary::Counts>(data);
});
