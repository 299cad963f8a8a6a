//! Immunizations and CarePlans, asked of a real server on loopback: an
//! immunisation is a procedure marked as one (vaccine, dose, batch, status
//! including not-done), a care plan a document marked as one (status,
//! period, activities), as GP Connect's immunisations are.

mod support;

use icr_model::{
    CarePlan, CarePlanStatus, CodeSystem, Coding, Concept, Entry, Immunisation, PartialDateTime,
    ProcedureStatus, Section,
};
use serde_json::json;
use support::*;

/// A server holding one Procedure, two Immunizations (one given, one not),
/// one DocumentReference and one CarePlan for the patient.
async fn server() -> Server {
    serve(|a, _| match a.what.as_str() {
        "Patient" => ok(bundle(vec![matched(patient("p1", nhs()))], None)),
        "Procedure" => ok(bundle(
            vec![matched(json!({"resourceType": "Procedure", "id": "pr1", "status": "completed",
                "subject": {"reference": "Patient/p1"}, "code": {"text": "Appendicectomy"},
                "performedDateTime": "2019-05-01"}))],
            None,
        )),
        "Immunization" => ok(bundle(
            vec![
                matched(json!({"resourceType": "Immunization", "id": "im1", "status": "completed",
                    "extension": [{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure",
                        "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "1324681000000101",
                            "display": "Administration of first dose of severe acute respiratory syndrome coronavirus 2 vaccine"}]}}],
                    "vaccineCode": {"coding": [{"system": "http://snomed.info/sct", "code": "39114911000001105",
                        "display": "COVID-19 Vaccine Vaxzevria"}]},
                    "patient": {"reference": "Patient/p1"},
                    "occurrenceDateTime": "2021-01-12T10:30:00+00:00",
                    "lotNumber": "4120Z001",
                    "site": {"coding": [{"system": "http://snomed.info/sct", "code": "368208006", "display": "Left upper arm structure"}]},
                    "performer": [{"actor": {"display": "Nurse Example"}}],
                    "protocolApplied": [{"doseNumberPositiveInt": 1}]})),
                matched(json!({"resourceType": "Immunization", "id": "im2", "status": "not-done",
                    "statusReason": {"coding": [{"system": "http://snomed.info/sct", "code": "591000119102", "display": "Vaccine refused by patient"}]},
                    "vaccineCode": {"text": "Influenza vaccine"},
                    "patient": {"reference": "Patient/p1"},
                    "occurrenceDateTime": "2023-10-02",
                    "protocolApplied": [{"doseNumberString": "annual"}]})),
            ],
            None,
        )),
        "DocumentReference" => ok(bundle(
            vec![matched(json!({"resourceType": "DocumentReference", "id": "d1", "status": "current",
                "subject": {"reference": "Patient/p1"}, "type": {"text": "Discharge summary"},
                "content": [{"attachment": {"contentType": "application/pdf", "url": "Binary/1"}}]}))],
            None,
        )),
        "CarePlan" => ok(bundle(
            vec![matched(json!({"resourceType": "CarePlan", "id": "cp1", "status": "active", "intent": "plan",
                "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "736366004", "display": "Advance care plan"}]}],
                "title": "Advance care plan",
                "description": "Wishes to be cared for at home.",
                "subject": {"reference": "Patient/p1"},
                "period": {"start": "2024-02-01", "end": "2025-02-01"},
                "created": "2024-01-28",
                "author": {"display": "Dr Example"},
                "activity": [
                    {"detail": {"status": "in-progress", "description": "Weekly district nurse visit"}},
                    {"detail": {"status": "not-started", "code": {"text": "Review by palliative care team"}}},
                    {"reference": {"display": "Referral to hospice"}}
                ]}))],
            None,
        )),
        _ => ok(bundle(vec![], None)),
    })
    .await
}

const SECTIONS: &[Section] = &[Section::Procedures, Section::Documents];

#[tokio::test]
async fn immunizations_and_care_plans_are_asked_for_and_shown() {
    let server = server().await;
    let record = adapter(&spec(server.addr, SECTIONS, "", ""))
        .fetch(&request(SECTIONS))
        .await
        .unwrap();
    assert_eq!(record.issues, vec![]);
    assert_eq!(server.asked_for("Immunization").len(), 1);
    assert_eq!(server.asked_for("CarePlan").len(), 1);
    let ids: Vec<&str> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local())
        .collect();
    assert_eq!(
        ids,
        [
            "DocumentReference/d1",
            "CarePlan/cp1",
            "Procedure/pr1",
            "Immunization/im1",
            "Immunization/im2",
        ]
    );
    let sct =
        |code: &str, display: &str| Concept::coded(Coding::new(CodeSystem::Snomed, code, display));
    let date = |s: &str| PartialDateTime::parse(s).ok();

    let Entry::Procedure(given) = &record.items[3].entry else {
        panic!("{:?}", record.items[3].entry)
    };
    assert_eq!(
        given.code,
        sct(
            "1324681000000101",
            "Administration of first dose of severe acute respiratory syndrome coronavirus 2 vaccine"
        )
    );
    assert_eq!(given.status, Some(ProcedureStatus::Completed));
    assert_eq!(given.performed, date("2021-01-12T10:30:00+00:00"));
    assert_eq!(
        given.body_site,
        [sct("368208006", "Left upper arm structure")]
    );
    assert_eq!(given.performers, ["Nurse Example"]);
    assert_eq!(
        given.immunisation,
        Some(Immunisation {
            vaccine: sct("39114911000001105", "COVID-19 Vaccine Vaxzevria"),
            dose: Some("1".into()),
            lot_number: Some("4120Z001".into()),
            reason_not_given: None,
        })
    );

    let Entry::Procedure(declined) = &record.items[4].entry else {
        panic!()
    };
    assert_eq!(declined.status, Some(ProcedureStatus::NotDone));
    assert_eq!(declined.code, Concept::text("Influenza vaccine"));
    assert_eq!(
        declined.immunisation,
        Some(Immunisation {
            vaccine: Concept::text("Influenza vaccine"),
            dose: Some("annual".into()),
            lot_number: None,
            reason_not_given: Some(sct("591000119102", "Vaccine refused by patient")),
        })
    );

    let Entry::Procedure(operation) = &record.items[2].entry else {
        panic!()
    };
    assert_eq!(operation.immunisation, None);

    let Entry::Document(plan) = &record.items[1].entry else {
        panic!()
    };
    assert_eq!(plan.doc_type, sct("734163000", "Care plan"));
    assert_eq!(plan.category, [sct("736366004", "Advance care plan")]);
    assert_eq!(plan.title.as_deref(), Some("Advance care plan"));
    assert_eq!(
        plan.text.as_deref(),
        Some("Wishes to be cared for at home.")
    );
    assert_eq!(plan.date, date("2024-01-28"));
    assert_eq!(plan.authors, ["Dr Example"]);
    assert_eq!(plan.status, None);
    assert_eq!(
        plan.care_plan,
        Some(CarePlan {
            status: Some(CarePlanStatus::Active),
            period_start: date("2024-02-01"),
            period_end: date("2025-02-01"),
            activities: vec![
                "Weekly district nurse visit (in-progress)".into(),
                "Review by palliative care team (not-started)".into(),
                "Referral to hospice".into(),
            ],
        })
    );
    let Entry::Document(letter) = &record.items[0].entry else {
        panic!()
    };
    assert_eq!(letter.care_plan, None);
}
