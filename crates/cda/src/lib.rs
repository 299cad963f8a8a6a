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
