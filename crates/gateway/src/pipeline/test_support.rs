//! Small builders for the pipeline's unit tests: registered sources and
//! source answers about synthetic people (NHS numbers 999 xxx xxxx).

use std::sync::Arc;

use icr_adapter_sdk::Routing;
use icr_model::{
    NhsNumber, OdsCode, PartialDateTime, PatientRecord, SectionSet, SourceId, SourceMeta,
    SourceRecord,
};

use super::plan::Registered;

/// A registered source as planning sees it.
pub(crate) struct Reg {
    pub routing: Routing,
    pub sections: SectionSet,
    pub ods: OdsCode,
}

impl Registered for Reg {
    fn routing(&self) -> Routing {
        self.routing
    }
    fn sections(&self) -> SectionSet {
        self.sections
    }
    fn ods_code(&self) -> &OdsCode {
        &self.ods
    }
}

/// A source of `ods` routed so, offering `sections` (a comma list).
pub(crate) fn reg(routing: Routing, sections: &str, ods: &str) -> Reg {
    Reg {
        routing,
        sections: SectionSet::parse_list(sections).unwrap(),
        ods: OdsCode::parse(ods).unwrap(),
    }
}

/// Sections from a comma list.
pub(crate) fn sections(list: &str) -> SectionSet {
    SectionSet::parse_list(list).unwrap()
}

/// An answer whose demographics hold this NHS number, date of birth and
/// registered practice (each if given).
pub(crate) fn answer(
    nhs: Option<&str>,
    birth: Option<&str>,
    practice: Option<&str>,
) -> SourceRecord {
    let meta = Arc::new(SourceMeta {
        id: SourceId::parse("test-source").unwrap(),
        organisation: "Test".into(),
        ods_code: OdsCode::parse("RX1").unwrap(),
        system: "test".into(),
    });
    let mut record = SourceRecord::default();
    let mut patient = PatientRecord {
        demographics: Default::default(),
        provenance: meta.provenance("p1", None).unwrap(),
    };
    patient.demographics.nhs_number = nhs.map(|n| NhsNumber::parse(n).unwrap());
    patient.demographics.birth_date = birth.map(|b| PartialDateTime::parse(b).unwrap());
    patient.demographics.registered_practice = practice.map(|p| OdsCode::parse(p).unwrap());
    record.patient = Some(patient);
    record
}
