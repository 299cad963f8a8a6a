//! Reading one patient's accesses back, and rendering them as FHIR R4
//! AuditEvents valid against the official schema.

mod support;

use std::io::Write;

use icr_audit::{
    AuditConfig, AuditLog, Basis, Interaction, LoggedAccess, Observer, ProblemKind, Sequence,
    audit_bundle, audit_event, read_for_patient,
};
use icr_fhir::Resource;
use icr_model::OdsCode;
use serde_json::{Value, json};
use support::{files, nhs, record, refused, temp_dir};

fn observer() -> Observer {
    Observer {
        name: "BSW ICR gateway".into(),
        organisation: Some(OdsCode::parse("QOX").unwrap()),
    }
}

fn event_json(access: &LoggedAccess) -> Value {
    serde_json::to_value(Resource::AuditEvent(audit_event(access, &observer()))).unwrap()
}

/// The accesses read from files, as one page of a searchset (no link to
/// the rest).
fn bundle_json(accesses: &icr_audit::PatientAccesses) -> Value {
    let page = icr_audit::AccessPage::from(accesses.clone());
    serde_json::to_value(Resource::Bundle(audit_bundle(&page, &observer(), None))).unwrap()
}

#[test]
fn an_allowed_access_as_an_audit_event() {
    let mut r = record(3, 1);
    r.calling_system = Some("CN=portal.example.nhs.uk".into());
    r.user.as_mut().unwrap().issuer = Some("https://idp.example.nhs.uk".into());
    let access = LoggedAccess::whole(Sequence::new(42), r);
    let v = event_json(&access);
    icr_testkit::assert_fhir_r4(&v);
    let n = nhs(1).to_string();
    assert_eq!(
        v,
        json!({
            "resourceType": "AuditEvent",
            "id": "icr-audit-42",
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-event-type", "code": "rest", "display": "RESTful Operation"},
            "subtype": [{"system": "http://hl7.org/fhir/restful-interaction", "code": "read", "display": "read"}],
            "action": "R",
            "recorded": "2026-11-26T09:00:03.000021Z",
            "outcome": "0",
            "outcomeDesc": "allowed: involved (HTTP 200)",
            "purposeOfEvent": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT", "display": "treatment"}], "text": "directcare"}],
            "agent": [
                {
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/extra-security-role-type", "code": "humanuser", "display": "human user"}]},
                    "role": [{"text": "R8000"}],
                    "who": {"identifier": {"system": "https://idp.example.nhs.uk", "value": "user-3"}, "display": "Dr Test Clinician 3"},
                    "name": "Dr Test Clinician 3",
                    "requestor": true,
                    "purposeOfUse": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "TREAT", "display": "treatment"}], "text": "directcare"}]
                },
                {
                    "type": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-RoleClass", "code": "PROV", "display": "healthcare provider"}], "text": "the user's organisation"},
                    "who": {"type": "Organization", "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "RN3"}},
                    "requestor": false
                },
                {
                    "type": {"coding": [{"system": "http://dicom.nema.org/resources/ontology/DCM", "code": "110153", "display": "Source Role ID"}], "text": "the calling system (TLS client certificate)"},
                    "who": {"type": "Device", "display": "CN=portal.example.nhs.uk"},
                    "requestor": false
                }
            ],
            "source": {
                "site": "QOX",
                "observer": {"type": "Device", "display": "BSW ICR gateway"},
                "type": [{"system": "http://terminology.hl7.org/CodeSystem/security-source-type", "code": "4", "display": "Application Server"}]
            },
            "entity": [{
                "what": {"type": "Patient", "identifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": n}},
                "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person"},
                "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient"},
                "detail": [
                    {"type": "request-id", "valueString": "req-00000003"},
                    {"type": "basis", "valueString": "involved"},
                    {"type": "sections-requested", "valueString": "medications,allergies,conditions"},
                    {"type": "sections-released", "valueString": "medications,allergies,conditions"},
                    {"type": "items-released", "valueString": "3"},
                    {"type": "items-withheld", "valueString": "0"},
                    {"type": "sources", "valueString": "gwh=ok,ruh=not_found"}
                ]
            }]
        })
    );
}

#[test]
fn each_source_record_shown_is_an_entity_and_those_not_listed_are_counted() {
    let mut r = record(3, 1);
    let ids: Vec<icr_model::RecordId> = ["ruh:Condition/2", "gwh:AllergyIntolerance/12"]
        .iter()
        .map(|s| icr_model::RecordId::parse(s).unwrap())
        .collect();
    r.shown = icr_audit::ReleasedRecords::of(&ids);
    let v = event_json(&LoggedAccess::whole(Sequence::new(42), r.clone()));
    icr_testkit::assert_fhir_r4(&v);
    let entity = |system: &str, value: &str| {
        json!({
            "what": {"identifier": {"system": system, "value": value}},
            "type": {"system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object"},
            "role": {"system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "4", "display": "Domain Resource"}
        })
    };
    let entities = v["entity"].as_array().unwrap();
    assert_eq!(
        entities[1..],
        [
            entity("urn:icr:source:gwh", "AllergyIntolerance/12"),
            entity("urn:icr:source:ruh", "Condition/2"),
        ]
    );
    assert!(
        !entities[0]["detail"]
            .to_string()
            .contains("shown-not-listed")
    );

    // A list the log had to cap: what is listed is an entity each, and
    // the patient's entity counts the rest per source.
    let line = serde_json::to_string(&r).unwrap().replace(
        r#""shown":[{"source":"gwh","ids":["AllergyIntolerance/12"]}"#,
        r#""shown":[{"source":"gwh","ids":["AllergyIntolerance/12"],"omitted":40}"#,
    );
    let capped: icr_audit::AuditRecord = serde_json::from_str(&line).unwrap();
    assert_eq!(capped.shown.omitted(), 40);
    let v = event_json(&LoggedAccess::whole(Sequence::new(43), capped));
    icr_testkit::assert_fhir_r4(&v);
    assert_eq!(v["entity"].as_array().unwrap().len(), 3);
    assert_eq!(
        v["entity"][0]["detail"].as_array().unwrap().last().unwrap(),
        &json!({"type": "shown-not-listed", "valueString": "gwh=40"})
    );
}

#[test]
fn break_glass_refusals_and_unidentified_callers_are_valid_too() {
    let mut glass = record(5, 2);
    glass.basis = Basis::BreakGlass;
    glass.break_glass_reason = Some("Unconscious in ED, no other history".into());
    glass.interaction = Interaction::FhirEverything;
    let v = event_json(&LoggedAccess::whole(Sequence::new(1), glass));
    icr_testkit::assert_fhir_r4(&v);
    assert_eq!(v["subtype"][0]["code"], "operation");
    assert_eq!(
        v["purposeOfEvent"][1],
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ActReason", "code": "BTG", "display": "break the glass"}], "text": "Unconscious in ED, no other history"})
    );
    let details = v["entity"][0]["detail"].as_array().unwrap();
    assert!(details.contains(
        &json!({"type": "break-glass-reason", "valueString": "Unconscious in ED, no other history"})
    ));
    assert!(details.contains(&json!({"type": "basis", "valueString": "break-glass"})));

    let no = refused(6, 2);
    let v = event_json(&LoggedAccess::whole(Sequence::new(2), no));
    icr_testkit::assert_fhir_r4(&v);
    assert_eq!(v["outcome"], "4");
    assert_eq!(v["outcomeDesc"], "refused: not-involved (HTTP 403)");
    let details = v["entity"][0]["detail"].as_array().unwrap();
    assert!(details.contains(&json!({"type": "sections-released", "valueString": "-"})));

    let mut anonymous = refused(7, 2);
    anonymous.user = None;
    anonymous.nhs_number = None;
    anonymous.http_status = 401;
    anonymous.purpose = String::new();
    anonymous.interaction = Interaction::AuditRead;
    let v = event_json(&LoggedAccess::whole(Sequence::new(3), anonymous));
    icr_testkit::assert_fhir_r4(&v);
    assert_eq!(v["agent"].as_array().unwrap().len(), 1);
    assert_eq!(v["agent"][0]["who"]["display"], "caller not identified");
    assert_eq!(
        v["entity"][0]["what"]["display"],
        "no valid NHS number given"
    );
    assert!(v.get("purposeOfEvent").is_none());
    assert_eq!(v["subtype"][0]["code"], "search-type");

    // Free text the schema's string pattern would refuse is made valid.
    let mut odd = record(9, 2);
    let user = odd.user.as_mut().unwrap();
    user.name = "Dr\u{a0}Odd\u{2028}Name".into();
    user.sub = String::new();
    user.role = " ".into();
    user.issuer = Some("not a uri".into());
    odd.calling_system = Some(String::new());
    odd.purpose = "\u{feff}".into();
    let v = event_json(&LoggedAccess::whole(Sequence::new(5), odd));
    icr_testkit::assert_fhir_r4(&v);
    assert_eq!(v["agent"][0]["name"], "Dr Odd Name");
    assert!(v["agent"][0]["who"].get("identifier").is_none());
    assert!(v["agent"][0].get("role").is_none());
    assert_eq!(v["agent"][2]["who"]["display"], "unnamed calling system");
    assert!(v.get("purposeOfEvent").is_none());

    let mut failed = record(8, 2);
    failed.http_status = 502;
    let v = event_json(&LoggedAccess::whole(Sequence::new(4), failed));
    assert_eq!(v["outcome"], "8");
}

#[tokio::test]
async fn a_patients_accesses_are_read_back_most_recent_kept() {
    let dir = temp_dir("read");
    let log = AuditLog::open(&AuditConfig {
        max_file_bytes: 4096,
        ..AuditConfig::new(&dir)
    })
    .unwrap();
    for i in 0..30u32 {
        let patient = i % 3;
        let r = if i.is_multiple_of(5) {
            refused(i, patient)
        } else {
            record(i, patient)
        };
        log.append(&r).await.unwrap();
    }
    log.close().await.unwrap();
    let fs = files(&dir);
    assert!(fs.len() > 2);

    let all = read_for_patient(&fs, &nhs(1), 100).unwrap();
    assert!(all.is_complete());
    let seqs: Vec<u64> = all.records.iter().map(|a| a.seq.get()).collect();
    assert_eq!(
        seqs,
        (0..30)
            .filter(|i| i % 3 == 1)
            .map(|i| i + 1)
            .collect::<Vec<_>>()
    );
    for a in &all.records {
        let i = a.seq.get() as u32 - 1;
        let mut expected = if i.is_multiple_of(5) {
            refused(i, 1)
        } else {
            record(i, 1)
        };
        // The log's time, when it wrote the entry.
        expected.time = a.record().unwrap().time;
        assert_eq!(a.record().unwrap(), &expected);
    }

    let recent = read_for_patient(&fs, &nhs(1), 3).unwrap();
    assert_eq!(recent.omitted, 7);
    assert_eq!(
        recent
            .records
            .iter()
            .map(|a| a.seq.get())
            .collect::<Vec<_>>(),
        [23, 26, 29]
    );
    assert!(!recent.is_complete());
    let none = read_for_patient(&fs, &nhs(1), 0).unwrap();
    assert_eq!((none.records.len(), none.omitted), (0, 10));
    let nobody = read_for_patient(&fs, &nhs(99), 10).unwrap();
    assert!(nobody.records.is_empty() && nobody.is_complete());

    // As a searchset, most recent first, with an OperationOutcome saying
    // that older accesses were left out.
    let bundle = bundle_json(&recent);
    icr_testkit::assert_fhir_r4(&bundle);
    assert_eq!(bundle["resourceType"], "Bundle");
    assert_eq!(bundle["type"], "searchset");
    assert_eq!(bundle["total"], 10);
    let entries = bundle["entry"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[0]["resource"]["id"], "icr-audit-29");
    assert_eq!(entries[2]["resource"]["id"], "icr-audit-23");
    assert_eq!(entries[3]["search"]["mode"], "outcome");
    assert_eq!(
        entries[3]["resource"]["issue"][0]["diagnostics"],
        "7 older accesses are not shown: only the most recent 3 are returned."
    );
    let complete = bundle_json(&all);
    icr_testkit::assert_fhir_r4(&complete);
    assert!(
        complete["entry"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["resource"]["resourceType"] == "AuditEvent")
    );
}

#[tokio::test]
async fn a_live_tail_is_left_out_and_damage_is_reported_not_hidden() {
    let dir = temp_dir("read-damaged");
    let log = AuditLog::open(&AuditConfig::new(&dir)).unwrap();
    for i in 0..6 {
        log.append(&record(i, 4)).await.unwrap();
    }
    log.close().await.unwrap();
    let path = dir.join("audit-000001.jsonl");
    let good = std::fs::read(&path).unwrap();

    // A line being written right now: not a problem for reading.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap()
        .write_all(b"{\"seq\":7,\"prev\"")
        .unwrap();
    let live = read_for_patient(&files(&dir), &nhs(4), 100).unwrap();
    assert_eq!(live.records.len(), 6);
    assert!(live.is_complete());

    // The fourth line altered: what came before is returned, the problem
    // is reported, and the bundle says the trail is incomplete.
    let mut bad = good.clone();
    let starts: Vec<usize> = good
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == b'\n')
        .map(|(i, _)| i + 1)
        .collect();
    bad[starts[2] + 200] ^= 0x04;
    std::fs::write(&path, &bad).unwrap();
    let read = read_for_patient(&files(&dir), &nhs(4), 100).unwrap();
    assert_eq!(read.records.len(), 3);
    let problem = read.problem.clone().unwrap();
    assert_eq!(problem.line, 4);
    assert!(matches!(problem.kind, ProblemKind::Line(_)));
    let bundle = bundle_json(&read);
    icr_testkit::assert_fhir_r4(&bundle);
    let outcome = bundle["entry"].as_array().unwrap().last().unwrap();
    let text = outcome["resource"]["issue"][0]["diagnostics"]
        .as_str()
        .unwrap();
    assert!(
        text.starts_with("The audit log fails verification at audit-000001.jsonl line 4:"),
        "{text}"
    );
    assert!(!text.contains(&nhs(4).to_string()));
    assert!(!text.contains(dir.to_str().unwrap()));
    assert!(matches!(
        read_for_patient(&[], &nhs(4), 1),
        Err(icr_audit::ReadError::NoFiles)
    ));
}
