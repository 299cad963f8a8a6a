//! Shared test support: identifiers, callers and items.
#![allow(dead_code)]

use std::sync::Arc;

use icr_merge::MergedRecord;
use icr_model::{
    Appointment, CodeSystem, Coding, Concept, Condition, Entry, Item, NhsNumber, OdsCode,
    PartialDateTime, SourceId, SourceMeta,
};
use icr_policy::{Caller, Policy, RoleCode};

pub fn ods(s: &str) -> OdsCode {
    OdsCode::parse(s).unwrap()
}

pub fn nhs(s: &str) -> NhsNumber {
    NhsNumber::parse(s).unwrap()
}

pub fn policy(text: &str) -> Policy {
    Policy::from_toml_str(text, "test-policy.toml").unwrap_or_else(|e| panic!("{e}"))
}

pub fn staff(role: &str, org: &str) -> Caller {
    Caller::staff(RoleCode::parse(role).unwrap(), ods(org), "directcare").unwrap()
}

pub fn patient(nhs_number: &str) -> Caller {
    Caller::patient(nhs(nhs_number), ods("X26"), "directcare").unwrap()
}

pub fn source(id: &str, org: &str) -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse(id).unwrap(),
        organisation: format!("Organisation {org}"),
        ods_code: ods(org),
        system: "test".into(),
    })
}

pub fn snomed(code: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, "test concept"))
}

pub fn date(y: i32, m: u8, d: u8) -> Option<PartialDateTime> {
    let month = icr_model::time::Month::try_from(m).unwrap();
    Some(PartialDateTime::Date(
        icr_model::time::Date::from_calendar_date(y, month, d).unwrap(),
    ))
}

/// A condition item with `code`, held by `meta` under `local`.
pub fn condition(meta: &Arc<SourceMeta>, local: &str, code: &str, restricted: bool) -> Item {
    let mut provenance = meta.provenance(local, None).unwrap();
    provenance.restricted = restricted;
    Item {
        entry: Entry::Condition(Condition {
            code: snomed(code),
            onset: date(2020, 1, 1 + (local.len() % 27) as u8),
            ..Default::default()
        }),
        provenance,
    }
}

/// An appointment item whose reason is `reason`, held by `meta`.
pub fn appointment(meta: &Arc<SourceMeta>, local: &str, reason: &str, restricted: bool) -> Item {
    let mut provenance = meta.provenance(local, None).unwrap();
    provenance.restricted = restricted;
    Item {
        entry: Entry::Appointment(Appointment {
            reasons: vec![snomed(reason)],
            description: Some("Clinic".into()),
            ..Default::default()
        }),
        provenance,
    }
}

/// Every item left in a merged record.
pub fn item_count(r: &MergedRecord) -> usize {
    r.sections.values().map(Vec::len).sum()
}
