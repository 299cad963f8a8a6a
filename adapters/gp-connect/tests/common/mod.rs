//! Shared test support: the source, the request context, reading answers.

#![allow(dead_code)]

use std::sync::Arc;

use icr_adapter_gp_connect::record::{RecordContext, read_record};
use icr_adapter_sdk::SourceError;
use icr_fhir_stu3::{Parameters, StructuredRequest};
use icr_model::{NhsNumber, OdsCode, Section, SectionSet, SourceId, SourceMeta, SourceRecord};

pub fn meta() -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse("gp-y90001").unwrap(),
        organisation: "The Trevelyan Practice".into(),
        ods_code: OdsCode::parse("Y90001").unwrap(),
        system: "GP system (GP Connect)".into(),
    })
}

pub fn nhs(s: &str) -> NhsNumber {
    NhsNumber::parse(s).unwrap()
}

/// The sections a request asks for.
pub fn sections_of(r: &StructuredRequest) -> SectionSet {
    let mut s = SectionSet::default();
    s.insert(Section::Demographics);
    if r.allergies.is_some() {
        s.insert(Section::Allergies);
    }
    if r.medication.is_some() {
        s.insert(Section::Medications);
    }
    if r.problems.is_some() {
        s.insert(Section::Conditions);
    }
    if r.consultations.is_some() {
        s.insert(Section::Appointments);
    }
    if r.investigations.is_some() {
        s.insert(Section::Results);
    }
    if r.immunisations.is_some() {
        s.insert(Section::Procedures);
    }
    if r.referrals.is_some() {
        s.insert(Section::Referrals);
    }
    s
}

pub fn read(
    body: &[u8],
    nhs_number: NhsNumber,
    wanted: SectionSet,
    resolved: bool,
    issues: bool,
) -> Result<SourceRecord, SourceError> {
    let meta = meta();
    let ctx = RecordContext {
        meta: &meta,
        nhs_number,
        wanted,
        include_resolved_allergies: resolved,
        include_prescription_issues: issues,
        max_entries: 10_000,
    };
    read_record(body, &ctx)
}

pub fn parameters(json: &[u8]) -> Parameters {
    icr_fhir_stu3::read::<Parameters>("Parameters", std::str::from_utf8(json).unwrap())
        .unwrap()
        .0
}
