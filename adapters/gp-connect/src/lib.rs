//! Source adapter for GP practices through GP Connect Access Record:
//! Structured 1.6 (kind `gp-connect`), the FHIR STU3 interface every
//! English GP system offers.
//!
//! In the request flow it is one of the gateway's fan-out targets, asked
//! only for people registered at its practice: for one person it sends one
//! `POST {endpoint}/Patient/$gpc.getstructuredrecord` whose `Parameters`
//! body asks for the clinical areas of the wanted sections, with the Spine
//! headers (`Ssp-TraceID` from the request's trace id, `Ssp-From`/`Ssp-To`
//! ASIDs, `Ssp-InteractionID`) and the audit JWT built from the request's
//! requester ([`jwt`]), and maps the structured Bundle it gets back:
//!
//! | section | parameter | what is read |
//! |---|---|---|
//! | demographics | (always returned) | the Patient |
//! | allergies | `includeAllergies` (+ `includeResolvedAllergies`) | AllergyIntolerance, current and ended |
//! | medications | `includeMedication` (+ `includePrescriptionIssues`) | MedicationStatement with its authorisation and Medication; issues as prescriptions when asked for |
//! | conditions | `includeProblems` | Condition (problems) |
//! | appointments | `includeConsultations` (+ `includeNumberOfMostRecent`) | Encounter (consultations; their topic and heading Lists are not items) |
//! | results | `includeInvestigations` | DiagnosticReport with its Observations (and the Specimen's collection date) |
//! | procedures | `includeImmunisations` | Immunization, as procedures marked as immunisations (vaccine, batch, reason not given), as the FHIR R4 adapter reads them |
//! | referrals | `includeReferrals` | ReferralRequest |
//!
//! Contacts, care teams, documents and alerts are not in the structured
//! record: a registration offering them is refused at build time.
//!
//! A List's `confidential-items` warning is a `withheld` issue; other
//! warnings are notes with their meaning; an empty List with
//! `emptyReason` is simply nothing recorded; a requested area without its
//! List is a failed section.
//!
//! A practice that failed never looks like one with nothing recorded
//! ([`answer`]; every shape tested in `tests/failure_shapes.rs`):
//!
//! | the practice answers | source status |
//! |---|---|
//! | an OperationOutcome (any HTTP status) whose only error code is `PATIENT_NOT_FOUND`, not with a 5xx | `not_found` |
//! | the same with only `NO_PATIENT_CONSENT` (the patient's dissent) | `withheld` |
//! | an OperationOutcome with any other, several or no error code, in a 2xx (alone, or in a Bundle with no Patient) | `error` (`Refused`) |
//! | an OperationOutcome with a 4xx or 5xx (a 5xx whatever its code), or a 4xx/5xx without one | `error` (`HttpStatus`) |
//! | the structured record with an error OperationOutcome beside it | `partial`: the record, and a `section-failed` issue |
//! | anything unreadable | `error` (`Malformed`) |
//!
//! Messages name the Spine codes and quote the practice's own words
//! (`diagnostics`, else `details.text`) through
//! [`icr_adapter_sdk::source_said`]: they go to the caller who asked about
//! this person and are never logged.
//!
//! The reading is pure and lives in [`record`] (one answer) and [`map`]
//! (one resource), so that it can be tested and fuzzed without I/O;
//! [`fuzz_structured_record`] and [`fuzz_request`] are the fuzzing entry
//! points. The adapter's settings are [`GpConnectOptions`]; the STU3 types
//! are the `icr-fhir-stu3` crate's.

#![warn(missing_docs)]

pub mod answer;
pub mod jwt;
pub mod map;
mod options;
pub mod record;
mod source;

use std::sync::Arc;

use icr_adapter_sdk::{AdapterKind, BuildError, Endpoint, Kind, Offers, SourceAdapter, SourceSpec};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId, SourceMeta};

pub use options::GpConnectOptions;
pub use source::GpConnectSource;

/// The adapter kind: `kind = "gp-connect"`, an http(s) provider endpoint,
/// the sections Access Record: Structured holds.
pub static KIND: Kind<GpConnectOptions> = Kind::new(
    "gp-connect",
    Endpoint::HTTP,
    Offers::Only {
        sections: &[
            Section::Demographics,
            Section::Allergies,
            Section::Medications,
            Section::Conditions,
            Section::Appointments,
            Section::Results,
            Section::Procedures,
            Section::Referrals,
        ],
        refusal: |others| {
            let others: Vec<&str> = others.iter().map(Section::as_str).collect();
            format!(
                "GP Connect Access Record: Structured cannot provide {}; it provides demographics, allergies, medications, conditions, appointments (consultations), results (investigations), procedures (immunisations) and referrals",
                others.join(", ")
            )
        },
    },
    |spec, options| Ok(Arc::new(GpConnectSource::new(spec, options)?)),
);

/// Checks a `gp-connect` registration and builds its adapter ([`KIND`]).
pub fn build(spec: &SourceSpec) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    KIND.build(spec)
}

/// Reads `data` as a practice's answer, both as a structured record and as
/// an error answer, ignoring the results: the entry point for fuzzing the
/// answer parser. It must never panic.
pub fn fuzz_structured_record(data: &[u8]) {
    let (Ok(id), Ok(ods)) = (SourceId::parse("fuzz"), OdsCode::parse("Y90001")) else {
        return;
    };
    // 9990000026 (a synthetic test number): 9999999999, the examples' number, is never issued.
    let Some(nhs) = NhsNumber::from_first_nine(999_000_002) else {
        return;
    };
    let meta = Arc::new(SourceMeta {
        id,
        organisation: "Fuzz practice".into(),
        ods_code: ods,
        system: KIND.name.into(),
    });
    for (resolved, issues) in [(true, true), (false, false)] {
        let ctx = record::RecordContext {
            meta: &meta,
            nhs_number: nhs,
            wanted: SectionSet::all(),
            include_resolved_allergies: resolved,
            include_prescription_issues: issues,
            max_entries: 10_000,
        };
        let _ = record::read_record(data, &ctx);
    }
    let _ = answer::status_error(403, data);
}

/// Reads `data` as a request body and as an audit token, as the GP Connect
/// simulator does, ignoring the results: the entry point for fuzzing the
/// request parsers. It must never panic.
pub fn fuzz_request(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok((p, _)) = icr_fhir_stu3::read::<icr_fhir_stu3::Parameters>("Parameters", text) {
            let _ = icr_fhir_stu3::StructuredRequest::from_parameters(&p);
        }
        if let Ok(claims) = icr_fhir_stu3::jwt::decode(text) {
            let _ = icr_fhir_stu3::jwt::check(&claims, "https://fuzz.example/", 0, 60);
        }
    }
}
