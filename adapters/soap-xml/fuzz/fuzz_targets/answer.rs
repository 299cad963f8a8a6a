//! Any bytes as a council's answer to GetPersonSummary, with HTTP 200 and
//! with HTTP 500: the XML reader, the SOAP envelope and fault reading, and
//! the mapping must never panic or hang, however hostile the input.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    icr_adapter_soap_xml::fuzz_answer(data);
});
