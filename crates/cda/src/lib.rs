//! HL7 CDA R2 clinical documents as bytes: the parts the gateway reads.
//!
//! In the request flow this is the codec under the `cda` adapter (and the
//! simulated out-of-hours and letters services): the adapter reads each
//! fetched document with it; the simulator writes its documents with it.
//! Mapping a document to the model stays in the adapter. Everything here
//! is pure: no I/O, no clock.
//!
//! Reading is in layers: [`xml`] (the shared hardened reader, [`icr_xml`],
//! keeping the HL7 v3 elements under a `ClinicalDocument` root), then
//! [`document`] (the header, the encounter and the body, read into typed
//! values) with [`narrative`] (narrative blocks as safe plain text).
//! Writing is [`writer`]: a report as a `ClinicalDocument`.

#![warn(missing_docs)]

pub mod document;
pub mod narrative;
pub mod writer;
pub mod xml;

pub use document::{ClinicalDocument, ReadLimits, read};

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
