//! Bundles: read lazily (entries kept as raw JSON until dispatched on their
//! `resourceType`), written from typed resources.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::datatypes::*;
use crate::types::*;

/// The identifier system of NHS numbers.
pub const NHS_NUMBER_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// The code system of confidentiality labels (`meta.security`): `R`
/// restricted and `V` very restricted mark a sensitive record.
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// Whether a `meta.security` coding marks a record restricted: code `R`
/// (restricted) or `V` (very restricted) under the v3 Confidentiality code
/// system, or under the security-labels value set URL that the Personal
/// Demographics Service writes as its system.
pub fn is_restricted_label(coding: &crate::Coding) -> bool {
    const PDS_SYSTEMS: [&str; 3] = [
        CONFIDENTIALITY_SYSTEM,
        "https://www.hl7.org/fhir/valueset-security-labels.html",
        "http://hl7.org/fhir/ValueSet/security-labels",
    ];
    coding
        .system
        .as_deref()
        .is_some_and(|s| PDS_SYSTEMS.contains(&s.trim()))
        && matches!(coding.code.as_deref().map(str::trim), Some("R" | "V"))
}

/// The identifier system of ODS organisation codes.
pub const ODS_ORGANISATION_SYSTEM: &str = "https://fhir.nhs.uk/Id/ods-organization-code";

/// A Bundle as read from a source: entries stay raw until dispatched.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleIn<'a> {
    /// `Bundle.resourceType`; must be `Bundle`.
    #[serde(borrow, default)]
    pub resource_type: Option<Cow<'a, str>>,
    /// `Bundle.type`.
    #[serde(rename = "type", default)]
    pub type_: Option<String>,
    /// `Bundle.total`.
    #[serde(default)]
    pub total: Option<u64>,
    /// `Bundle.link`.
    #[serde(default)]
    pub link: Vec<BundleLink>,
    /// `Bundle.entry`.
    #[serde(borrow, default)]
    pub entry: Vec<EntryIn<'a>>,
}

impl BundleIn<'_> {
    /// The URL of the `next` page, if any.
    pub fn next_link(&self) -> Option<&str> {
        self.link
            .iter()
            .find(|l| l.relation.as_deref() == Some("next"))
            .and_then(|l| l.url.as_deref())
    }
}

/// One entry of a Bundle being read.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EntryIn<'a> {
    /// `Bundle.entry.fullUrl`.
    #[serde(default)]
    pub full_url: Option<String>,
    /// `Bundle.entry.resource`, unparsed.
    #[serde(borrow, default)]
    pub resource: Option<&'a RawValue>,
    /// `Bundle.entry.search`.
    #[serde(default)]
    pub search: Option<BundleSearch>,
}

#[derive(Deserialize)]
struct Peek<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
}

/// The `resourceType` of a raw resource, or `None` if it has none or is not
/// a JSON object.
pub fn peek_resource_type(raw: &RawValue) -> Option<Cow<'_, str>> {
    serde_json::from_str::<Peek<'_>>(raw.get())
        .ok()
        .and_then(|p| p.resource_type)
}

/// Any resource the gateway writes.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "resourceType")]
#[allow(clippy::large_enum_variant)]
pub enum Resource {
    /// A Patient.
    Patient(Patient),
    /// An AllergyIntolerance.
    AllergyIntolerance(AllergyIntolerance),
    /// A MedicationStatement.
    MedicationStatement(MedicationStatement),
    /// A MedicationRequest.
    MedicationRequest(MedicationRequest),
    /// A Condition.
    Condition(Condition),
    /// An Observation.
    Observation(Observation),
    /// A DiagnosticReport.
    DiagnosticReport(DiagnosticReport),
    /// A DocumentReference.
    DocumentReference(DocumentReference),
    /// A Procedure.
    Procedure(Procedure),
    /// An Encounter.
    Encounter(Encounter),
    /// An Appointment.
    Appointment(Appointment),
    /// A ServiceRequest.
    ServiceRequest(ServiceRequest),
    /// A Flag.
    Flag(Flag),
    /// A RelatedPerson.
    RelatedPerson(RelatedPerson),
    /// A CareTeam.
    CareTeam(CareTeam),
    /// An OperationOutcome.
    OperationOutcome(OperationOutcome),
    /// A Provenance.
    Provenance(Provenance),
    /// An AuditEvent (an access, from the audit log).
    AuditEvent(AuditEvent),
    /// A Bundle (for example in a batch response).
    Bundle(Bundle),
    /// An Immunization.
    Immunization(Immunization),
    /// A CarePlan.
    CarePlan(CarePlan),
}

impl Resource {
    /// The resource type name.
    pub fn type_name(&self) -> &'static str {
        match self {
            Resource::Patient(_) => "Patient",
            Resource::AllergyIntolerance(_) => "AllergyIntolerance",
            Resource::MedicationStatement(_) => "MedicationStatement",
            Resource::MedicationRequest(_) => "MedicationRequest",
            Resource::Condition(_) => "Condition",
            Resource::Observation(_) => "Observation",
            Resource::DiagnosticReport(_) => "DiagnosticReport",
            Resource::DocumentReference(_) => "DocumentReference",
            Resource::Procedure(_) => "Procedure",
            Resource::Encounter(_) => "Encounter",
            Resource::Appointment(_) => "Appointment",
            Resource::ServiceRequest(_) => "ServiceRequest",
            Resource::Flag(_) => "Flag",
            Resource::RelatedPerson(_) => "RelatedPerson",
            Resource::CareTeam(_) => "CareTeam",
            Resource::OperationOutcome(_) => "OperationOutcome",
            Resource::Provenance(_) => "Provenance",
            Resource::AuditEvent(_) => "AuditEvent",
            Resource::Bundle(_) => "Bundle",
            Resource::Immunization(_) => "Immunization",
            Resource::CarePlan(_) => "CarePlan",
        }
    }
}

/// A Bundle the gateway or a simulator writes. Serialize it inside
/// [`Resource::Bundle`] so that it carries its `resourceType`.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Bundle {
    /// `Bundle.id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `Bundle.meta`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meta: Option<Meta>,
    /// `Bundle.type` (searchset, collection, …).
    #[serde(rename = "type")]
    pub type_: String,
    /// `Bundle.timestamp`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    /// `Bundle.total` (searchset only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// `Bundle.link`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub link: Vec<BundleLink>,
    /// `Bundle.entry`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub entry: Vec<BundleEntry>,
}

/// One entry of a Bundle being written.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BundleEntry {
    /// `Bundle.entry.fullUrl`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub full_url: Option<String>,
    /// `Bundle.entry.resource`.
    pub resource: Resource,
    /// `Bundle.entry.search`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub search: Option<BundleSearch>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_entries_lazily_and_writes_tagged() {
        let text = r#"{"resourceType":"Bundle","type":"searchset","total":1,
            "link":[{"relation":"next","url":"http://x/next"}],
            "entry":[{"fullUrl":"urn:uuid:1","resource":{"resourceType":"Flag","id":"f1","status":"active","unknownThing":{"a":[1,2]}},"search":{"mode":"match"}}]}"#;
        let b: BundleIn<'_> = serde_json::from_str(text).unwrap();
        assert_eq!(b.next_link(), Some("http://x/next"));
        let raw = b.entry[0].resource.unwrap();
        assert_eq!(peek_resource_type(raw).as_deref(), Some("Flag"));
        let flag: Flag = serde_json::from_str(raw.get()).unwrap();
        assert_eq!(flag.status.as_deref(), Some("active"));

        let out = Bundle {
            type_: "searchset".into(),
            entry: vec![BundleEntry {
                full_url: None,
                resource: Resource::Flag(flag),
                search: None,
            }],
            ..Default::default()
        };
        let json = serde_json::to_string(&Resource::Bundle(out)).unwrap();
        assert_eq!(
            json,
            r#"{"resourceType":"Bundle","type":"searchset","entry":[{"resource":{"resourceType":"Flag","id":"f1","status":"active"}}]}"#
        );
    }
}
