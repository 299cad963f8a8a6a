//! Any bytes as an XML document: the shared hardened reader (under the
//! SOAP and CDA codecs) must never panic or hang, and the tree it builds
//! must be walkable however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_xml::fuzz_parse(data);
});
