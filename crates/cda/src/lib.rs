//! HL7 CDA R2 clinical documents as bytes: the parts the gateway reads.
//!
//! In the request flow this is the codec under the `cda` adapter (and the
//! simulated out-of-hours and letters services): the adapter reads each
//! fetched document with it; the simulator writes its documents with it.
//! Mapping a document to the model stays in the adapter. Everything here
//! is pure: no I/O, no clock.
//!
//! Reading goes through the shared hardened reader ([`icr_xml`]): [`xml`]
//! keeps the HL7 v3 elements and requires a `ClinicalDocument` root.

#![warn(missing_docs)]

pub mod xml;

/// Reads `data` as a CDA document and walks every HL7 v3 element's text
/// and attributes: the entry point for fuzzing. It must never panic.
pub fn fuzz_document(data: &[u8]) {
    if let Ok(tree) = xml::parse(data, &xml::default_limits()) {
        let mut stack = vec![tree.root()];
        while let Some(e) = stack.pop() {
            let _ = (e.text(), e.attr_text("code"), e.find(&["text"]));
            stack.extend(e.elements());
        }
    }
}
