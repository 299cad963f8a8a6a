//! Shared test support: CDA documents, registry entries and searchsets as
//! a registry serves them, and the registration of a `cda` source.

#![allow(dead_code)]

use std::net::SocketAddr;

use icr_adapter_sdk::SourceSpec;
use icr_model::NhsNumber;
use serde_json::{Value, json};

pub const NHS_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";

/// A CDA out-of-hours report about `nhs` (or nobody named).
pub fn cda(nhs: Option<NhsNumber>, title: &str, confidentiality: &str, when: &str) -> String {
    let target = match nhs {
        Some(n) => format!(
            r#"<recordTarget><patientRole><id root="2.16.840.1.113883.2.1.4.1" extension="{n}"/><patient><name>Alex Testperson</name></patient></patientRole></recordTarget>"#
        ),
        None => r#"<recordTarget><patientRole><id root="1.2.3" extension="local-9"/></patientRole></recordTarget>"#.into(),
    };
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3">
  <code code="371531000" codeSystem="2.16.840.1.113883.6.96" displayName="Report of clinical encounter"/>
  <title>{title}</title>
  <effectiveTime value="{when}"/>
  <confidentialityCode code="{confidentiality}" codeSystem="2.16.840.1.113883.5.25"/>
  {target}
  <author><assignedAuthor><assignedPerson><name>Dr Amy Clarke</name></assignedPerson></assignedAuthor></author>
  <componentOf><encompassingEncounter>
    <code code="AMB" codeSystem="2.16.840.1.113883.5.4" displayName="ambulatory"/>
    <effectiveTime><low value="{when}"/><high value="{when}"/></effectiveTime>
    <location><healthCareFacility><location><name>Treatment centre</name></location></healthCareFacility></location>
  </encompassingEncounter></componentOf>
  <component><structuredBody><component><section>
    <title>Plan</title><text>Rest and fluids.</text>
  </section></component></structuredBody></component>
</ClinicalDocument>"#
    )
}

pub fn docref(id: &str, url: &str, subject: Value, content_type: &str, date: &str) -> Value {
    json!({
        "fullUrl": format!("urn:uuid:{id}"),
        "search": {"mode": "match"},
        "resource": {
            "resourceType": "DocumentReference",
            "id": id,
            "meta": {"lastUpdated": "2024-03-15T04:00:00Z"},
            "status": "current",
            "type": {"coding": [{"system": "http://snomed.info/sct", "code": "371531000", "display": "Report of clinical encounter"}]},
            "subject": subject,
            "date": date,
            "description": format!("Registry description {id}"),
            "content": [{"attachment": {"contentType": content_type, "url": url}}]
        }
    })
}

pub fn by_nhs(nhs: NhsNumber) -> Value {
    json!({"identifier": {"system": NHS_SYSTEM, "value": nhs.as_str()}})
}

pub fn searchset(entries: Vec<Value>, next: Option<String>) -> Value {
    let mut b = json!({"resourceType": "Bundle", "type": "searchset", "total": entries.len(), "entry": entries});
    if let Some(n) = next {
        b["link"] = json!([{"relation": "next", "url": n}]);
    }
    b
}

/// The registration of the test `cda` source at `addr`, with `[options]`.
pub fn spec(addr: SocketAddr, options: &str) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "medvivo"
organisation = "Medvivo"
ods_code = "NLO"
kind = "cda"
system = "Out-of-hours documents (CDA)"
endpoint = "http://{addr}/fhir"
sections = ["documents", "appointments"]
timeout_ms = 3000
[options]
{options}
"#
    ))
    .unwrap()
}
