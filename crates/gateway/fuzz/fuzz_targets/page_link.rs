//! Any bytes as a page read's query, and as a page token: the `next` link
//! the gateway writes must read back to the same position. Must never
//! panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_gateway::fuzz_page_link(data);
});
