//! Any bytes as a `$gpc.getstructuredrecord` request body and as an audit
//! token, read and checked as the GP Connect simulator (a provider) does:
//! it must never panic, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_gp_connect::fuzz_request(data);
});
