//! Source adapter for out-of-hours and letter documents in HL7 CDA R2
//! (kind `cda`), as out-of-hours services (Medvivo) and letter systems
//! publish them.
//!
//! In the request flow it is one of the gateway's fan-out targets. For one
//! person it searches the source's document registry,
//! `GET {endpoint}/DocumentReference?patient.identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}&_count={page_size}`
//! (a FHIR R4 searchset, as the NRL and MHDS serve), fetches the CDA
//! documents its entries point at (on the registry's own server only, at
//! most `max_documents`, `max_concurrent_fetches` at a time), checks that
//! each is about that person, and maps each into the unified model:
//!
//! | section | from |
//! |---|---|
//! | documents | the document: type, title, date, authors, the registry URL, a non-XML body's type and size, and a plain-text rendition of the body |
//! | appointments | `componentOf/encompassingEncounter`, as an encounter |
//!
//! The parts, each pure and tested alone but the last:
//! - [`xml`], [`cda`] and [`narrative`], from the CDA codec crate
//!   `icr-cda`: the shared bounded XML reader (DOCTYPE refused, depth,
//!   element and attribute counts bounded, foreign namespaces dropped), the
//!   `ClinicalDocument` header, encounter and body, and narrative blocks as
//!   safe plain text;
//! - [`registry`]: the registry's searchset, read into documents to fetch;
//! - [`map`]: a read document in the model, and the identity check;
//! - the network side, [`CdaSource`].
//!
//! [`fuzz_document`] and [`fuzz_registry`] are the fuzzing entry points;
//! the adapter's settings are [`CdaOptions`]. The rules (which answers mean
//! "no such patient", which documents are refused) are in the crate README,
//! with the table of failure shapes: a registry or document server that
//! failed — an OperationOutcome instead of the searchset, error entries
//! beside it, a later page failing, a document URL answering anything but
//! CDA — is an error quoting its own words when nothing could be read, and
//! an issue that loses data beside what was.

#![warn(missing_docs)]

pub mod map;
mod options;
pub mod registry;
mod source;
pub use icr_cda::document as cda;
pub use icr_cda::{narrative, xml};

use std::sync::Arc;

use icr_adapter_sdk::{AdapterKind, BuildError, Endpoint, Kind, Offers, SourceAdapter, SourceSpec};
use icr_model::Section;

pub use options::CdaOptions;
pub use source::{CdaSource, provided};

/// The adapter kind: `kind = "cda"`, an http(s) registry, documents and
/// appointments.
pub static KIND: Kind<CdaOptions> = Kind::new(
    "cda",
    Endpoint::HTTP,
    Offers::Only {
        sections: &[Section::Documents, Section::Appointments],
        refusal: |_| "a cda source provides documents and appointments only".into(),
    },
    |spec, options| Ok(Arc::new(CdaSource::new(spec, options)?)),
);

/// Checks a `cda` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// Reads `data` as a CDA document, maps it and checks its identity,
/// ignoring the results: the fuzzing entry point for documents. It must
/// never panic.
pub fn fuzz_document(data: &[u8]) {
    let limits = cda::ReadLimits {
        max_text_chars: 10_000,
        ..cda::ReadLimits::default()
    };
    if let Ok(doc) = cda::read(data, &limits) {
        let mapped = map::map_document(
            &doc,
            &map::Origin {
                url: "https://documents.example.org/fhir/Binary/1",
                size: Some(data.len() as u64),
                listed: None,
            },
        );
        let _ = mapped;
        if let Some(nhs) = icr_model::NhsNumber::from_first_nine(999_000_001) {
            let _ = map::check_identity(&doc, nhs, false);
        }
    }
}

/// Reads `data` as a registry search answer, ignoring the result: the
/// fuzzing entry point for the registry. It must never panic.
pub fn fuzz_registry(data: &[u8]) {
    let Ok(base) = url::Url::parse("https://registry.example.org/fhir/") else {
        return;
    };
    let Some(nhs) = icr_model::NhsNumber::from_first_nine(999_000_001) else {
        return;
    };
    let origins = icr_adapter_sdk::Origins::new(&base, &[]);
    let ctx = registry::RegistryContext {
        origins: &origins,
        nhs_number: nhs,
    };
    let _ = registry::read_registry(data, &ctx);
    let _ = registry::is_not_found_outcome(data);
}
