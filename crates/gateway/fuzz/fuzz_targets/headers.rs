//! Any bytes as a request target and header lines: `Authorization` and
//! the break-glass reason read once or refused as duplicates, `Accept`,
//! `Host` and `Prefer` read within bounds, page links on the named base
//! URL read back. Must never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_gateway::fuzz_headers(data);
});
