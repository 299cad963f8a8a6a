//! Source adapter for FHIR R4 REST servers (kind `fhir-r4`), as acute,
//! mental-health and community trusts run them (UK Core).
//!
//! For one request it finds the person with
//! `Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|{nhs}` and searches
//! each wanted section's resource types for them (`_count={page_size}`),
//! following `next` links on the same server (its endpoint's origin or its
//! `extra_origins`), and maps what it reads into the unified model. Which
//! types are searched is planned ([`plan`]) from the options and from the
//! server's CapabilityStatement ([`capability`]), read by
//! [`SourceAdapter::prepare`](icr_adapter_sdk::SourceAdapter::prepare) at
//! start and on every reload: a type the server does not declare is not
//! searched, and its section says so in a note rather than failing.
//!
//! How the searches reach the server is planned too
//! ([`plan::round_trip`], `options.search_plan`, [`SearchPlan`]): in
//! `auto`, the cheapest the server supports —
//!
//! | plan | requests for a record that fits the page limits | chosen in `auto` when |
//! |---|---|---|
//! | `batch` | one `POST [base]` of a `batch` Bundle: the Patient search and every search chained on `patient.identifier` ([`batch`]) | the statement declares the `batch` interaction |
//! | `chained` | the Patient search and every chained search, at once: one wave | `chains = true` (R4 cannot declare chains) and every type's `patient` is a reference |
//! | `revinclude` | one `Patient?identifier=…&_revinclude={type}:patient…` | the Patient's `searchRevInclude`s cover every type |
//! | `patient-first` | the Patient search, then every search with `patient={id}` | otherwise |
//!
//! Whatever the plan, the Patient found with the NHS number is read first
//! from the same answer: none, and nothing else is read (`not found`); a
//! failed Patient search fails the source; every resource is then checked
//! to be about that Patient, and one about another refuses the whole
//! answer. Each search of a batch or wave then pages and is bounded as a
//! GET search is; a `_revinclude` answer that is paged, reports problems,
//! or holds more of a type than `page_size` × `max_pages` is read again
//! type by type with the Patient's id; a server refusing the batch (405,
//! 501), or answering it or the `_revinclude` search over the body limit,
//! is read Patient first, and a note says so. The same data reads as the
//! same record whatever the plan.
//!
//! | section | resource types |
//! |---|---|
//! | demographics | the Patient |
//! | contacts | `Patient.contact`, RelatedPerson |
//! | care_team | CareTeam |
//! | medications | MedicationStatement, MedicationRequest (+ their Medications) |
//! | allergies | AllergyIntolerance |
//! | conditions | Condition |
//! | results | Observation, DiagnosticReport |
//! | documents | DocumentReference, CarePlan (a document marked as a care plan: status, period, activities) |
//! | procedures | Procedure, Immunization (a procedure marked as an immunisation: vaccine, dose, batch, reason not given) |
//! | referrals | ServiceRequest |
//! | appointments | Appointment, Encounter |
//! | alerts | Flag |
//!
//! A search that fails is reported as that section's issue and the rest is
//! still returned; resources that cannot be read, dates that cannot be
//! parsed and pages not read are counted in issues. A server that fails
//! inside a successful answer — an OperationOutcome instead of a Bundle, or
//! a Bundle whose error or fatal OperationOutcome stands in for every
//! result — has failed that search (the Patient search: the whole source),
//! never found nothing; error entries beside results make the section
//! partial, warnings are notes. Every such message quotes the server's own
//! diagnostics (bounded, through [`icr_adapter_sdk::source_said`]). Only
//! HTTP 404 with a `not-found` OperationOutcome, or a searchset with no
//! Patient and no error, means the person is not known there.
//!
//! A search cut short by `max_pages` (or by a next page on another server)
//! keeps the most recent where the server sorts (`_sort` by the type's date
//! parameter), then asks separately for the type's current items
//! (`status=active` or `clinical-status=active` for medications, allergies,
//! problems and alerts) and adds those not read; its `truncated` issue says
//! what was read ([`truncated`]): "read 2,000 of 3,412 MedicationStatement
//! (the most recent, and every active one): …". The mapping is pure and
//! lives in [`map`] (and [`page`] for one search answer), so that it can be
//! tested and fuzzed without I/O; [`fuzz_bundle`] is the fuzzing entry point.
//! The adapter's settings are [`FhirR4Options`].

#![warn(missing_docs)]

pub mod batch;
pub mod capability;
pub mod map;
mod options;
pub mod page;
pub mod plan;
mod source;
pub mod truncated;

use std::sync::Arc;

use icr_adapter_sdk::{AdapterKind, BuildError, Endpoint, Kind, Offers, SourceAdapter, SourceSpec};
use icr_model::SourceId;
use serde_json::value::RawValue;

pub use options::{FhirR4Options, SearchPlan, Searches};
pub use source::FhirR4Source;

/// The adapter kind: `kind = "fhir-r4"`, an http(s) endpoint, any section.
pub static KIND: Kind<FhirR4Options> =
    Kind::new("fhir-r4", Endpoint::HTTP, Offers::Any, |spec, options| {
        Ok(Arc::new(FhirR4Source::new(spec, options)?))
    });

/// Checks a `fhir-r4` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// Reads `data` as a search answer or a single resource and maps everything
/// in it, as a `batch-response`, as a Patient search with `_revinclude`, and
/// as a CapabilityStatement, ignoring the results: the entry point for
/// fuzzing. It must never panic.
pub fn fuzz_bundle(data: &[u8]) {
    let _ = capability::Capability::read(data);
    let _ = batch::read_response(&bytes::Bytes::copy_from_slice(data), 3);
    let Ok(source) = SourceId::parse("fuzz") else {
        return;
    };
    let base = url::Url::parse("https://fhir.example.org/R4/").ok();
    let medications = map::Medications::new();
    let ctx = map::MapContext {
        source: &source,
        base: base.as_ref(),
        medications: &medications,
    };
    if let Ok(raw) = serde_json::from_slice::<&RawValue>(data) {
        let _ = map::map_resource(raw, &ctx);
    }
    if let Ok(bundle) = serde_json::from_slice::<icr_fhir::BundleIn<'_>>(data) {
        let mut types: Vec<map::RecordType> = bundle
            .entry
            .iter()
            .filter_map(|e| e.resource)
            .filter_map(icr_fhir::peek_resource_type)
            .filter_map(|t| map::RecordType::from_name(&t))
            .collect();
        types.sort();
        types.dedup();
        let patient = page::PageContext {
            source: &source,
            base: base.as_ref(),
            searched: map::RecordType::Patient,
        };
        let _ = page::read_revinclude(data, &patient, &types);
        for searched in types {
            let page_ctx = page::PageContext {
                source: &source,
                base: base.as_ref(),
                searched,
            };
            let _ = page::read_page(data, &page_ctx);
        }
    }
}
