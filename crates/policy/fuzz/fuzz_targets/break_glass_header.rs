//! Any bytes as an `X-Break-Glass-Reason` value, raw and as an RFC 8187
//! `X-Break-Glass-Reason*` value, and what decodes judged: must never
//! panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_policy::fuzz_break_glass_header(data);
});
