//! Immunisations (procedures marked as such) render as R4 Immunization,
//! care plans (documents marked as such) as R4 CarePlan: fully filled,
//! minimal and awkward, each valid against the official R4 JSON schema and
//! with the fields exactly where they belong.

use icr_fhir::render::{self, RenderContext};
use icr_model::*;
use serde_json::{Value, json};

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn sct(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

fn rendered(id: &str, entry: &Entry) -> Value {
    let resolve = |_: &RecordId| None;
    let ctx = RenderContext {
        patient: "Patient/9990000018",
        resolve: &resolve,
    };
    let v = serde_json::to_value(render::entry(entry, id, &ctx)).unwrap();
    icr_testkit::assert_fhir_r4(&v);
    v
}

fn covid_first_dose() -> Procedure {
    Procedure {
        code: sct(
            "1324681000000101",
            "Administration of first dose of severe acute respiratory syndrome coronavirus 2 vaccine",
        ),
        status: Some(ProcedureStatus::Completed),
        performed: Some(d("2021-01-12T10:30:00+00:00")),
        body_site: vec![sct("368208006", "Left upper arm structure")],
        performers: vec!["Nurse Example".into()],
        notes: vec!["No reaction after 15 minutes".into()],
        immunisation: Some(Immunisation {
            vaccine: sct("39114911000001105", "COVID-19 Vaccine Vaxzevria"),
            dose: Some("1".into()),
            lot_number: Some("4120Z001".into()),
            reason_not_given: None,
        }),
        ..Default::default()
    }
}

#[test]
fn an_immunisation_renders_as_an_immunization_with_its_vaccine_dose_and_batch() {
    let v = rendered("im1", &Entry::Procedure(covid_first_dose()));
    assert_eq!(
        v,
        json!({
            "resourceType": "Immunization", "id": "im1",
            "extension": [{
                "url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure",
                "valueCodeableConcept": {"coding": [{"system": "http://snomed.info/sct", "code": "1324681000000101",
                    "display": "Administration of first dose of severe acute respiratory syndrome coronavirus 2 vaccine"}]}
            }],
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://snomed.info/sct", "code": "39114911000001105", "display": "COVID-19 Vaccine Vaxzevria"}]},
            "patient": {"reference": "Patient/9990000018"},
            "occurrenceDateTime": "2021-01-12T10:30:00Z",
            "lotNumber": "4120Z001",
            "site": {"coding": [{"system": "http://snomed.info/sct", "code": "368208006", "display": "Left upper arm structure"}]},
            "performer": [{"actor": {"display": "Nurse Example"}}],
            "note": [{"text": "No reaction after 15 minutes"}],
            "protocolApplied": [{"doseNumberPositiveInt": 1}]
        })
    );
}

#[test]
fn an_immunisation_not_given_says_why_and_keeps_a_dose_written_as_text() {
    let declined = Procedure {
        code: sct("822851000000102", "Seasonal influenza vaccination"),
        status: Some(ProcedureStatus::NotDone),
        performed: Some(d("2023-10-02")),
        immunisation: Some(Immunisation {
            vaccine: sct(
                "1181000221105",
                "Influenza virus antigen only vaccine product",
            ),
            dose: Some("annual booster".into()),
            lot_number: None,
            reason_not_given: Some(Concept::text("Declined by the patient")),
        }),
        ..Default::default()
    };
    let v = rendered("im2", &Entry::Procedure(declined));
    assert_eq!(v["status"], "not-done");
    assert_eq!(
        v["statusReason"],
        json!({"text": "Declined by the patient"})
    );
    assert_eq!(v["occurrenceDateTime"], "2023-10-02");
    assert_eq!(
        v["protocolApplied"],
        json!([{"doseNumberString": "annual booster"}])
    );
}

#[test]
fn a_minimal_immunisation_still_has_what_r4_requires() {
    let minimal = Entry::Procedure(Procedure {
        immunisation: Some(Immunisation::default()),
        ..Default::default()
    });
    let v = rendered("im3", &minimal);
    assert_eq!(
        v,
        json!({
            "resourceType": "Immunization", "id": "im3",
            "status": "completed",
            "vaccineCode": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown", "display": "Unknown"}]},
            "patient": {"reference": "Patient/9990000018"},
            "occurrenceString": "unknown"
        })
    );
    // Awkward values: a dose of 0 or past the FHIR positiveInt is text, a
    // blank batch is left out, a year the schema cannot hold is no date.
    for (dose, written) in [
        ("0", json!({"doseNumberString": "0"})),
        ("3000000000", json!({"doseNumberString": "3000000000"})),
        (" 2 ", json!({"doseNumberPositiveInt": 2})),
    ] {
        let awkward = Entry::Procedure(Procedure {
            performed: Some(PartialDateTime::Year(0)),
            status: Some(ProcedureStatus::EnteredInError),
            immunisation: Some(Immunisation {
                dose: Some(dose.into()),
                lot_number: Some(" ".into()),
                ..Default::default()
            }),
            ..Default::default()
        });
        let v = rendered("im4", &awkward);
        assert_eq!(v["protocolApplied"], json!([written]), "{dose}");
        assert_eq!(v["status"], "entered-in-error");
        assert_eq!(v["occurrenceString"], "unknown");
        assert!(v.get("lotNumber").is_none());
    }
}

#[test]
fn a_care_plan_renders_as_a_care_plan_with_its_activities() {
    let plan = Entry::Document(Document {
        doc_type: sct("734163000", "Care plan"),
        category: vec![sct("736366004", "Advance care plan")],
        title: Some("Advance care plan".into()),
        status: None,
        date: Some(d("2024-01-28")),
        authors: vec!["Dr Example".into(), "Nurse Example".into()],
        content: Vec::new(),
        text: Some("Wishes to be cared for at home.".into()),
        care_plan: Some(CarePlan {
            status: Some(CarePlanStatus::Active),
            period_start: Some(d("2024-02-01")),
            period_end: Some(d("2025-02-01")),
            activities: vec![
                "Weekly district nurse visit (in-progress)".into(),
                " ".into(),
            ],
        }),
    });
    assert_eq!(
        rendered("cp1", &plan),
        json!({
            "resourceType": "CarePlan", "id": "cp1",
            "status": "active",
            "intent": "plan",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "736366004", "display": "Advance care plan"}]}],
            "title": "Advance care plan",
            "description": "Wishes to be cared for at home.",
            "subject": {"reference": "Patient/9990000018"},
            "period": {"start": "2024-02-01", "end": "2025-02-01"},
            "created": "2024-01-28",
            "author": {"display": "Dr Example"},
            "contributor": [{"display": "Nurse Example"}],
            "activity": [{"detail": {"status": "unknown", "description": "Weekly district nurse visit (in-progress)"}}]
        })
    );
    let minimal = Entry::Document(Document {
        care_plan: Some(CarePlan::default()),
        ..Default::default()
    });
    assert_eq!(
        rendered("cp2", &minimal),
        json!({
            "resourceType": "CarePlan", "id": "cp2",
            "status": "unknown",
            "intent": "plan",
            "subject": {"reference": "Patient/9990000018"}
        })
    );
}

#[test]
fn procedures_and_documents_without_the_marker_are_unchanged() {
    let v = rendered(
        "p1",
        &Entry::Procedure(Procedure {
            code: sct("80146002", "Appendicectomy"),
            ..Default::default()
        }),
    );
    assert_eq!(v["resourceType"], "Procedure");
    let v = rendered("d1", &Entry::Document(Document::default()));
    assert_eq!(v["resourceType"], "DocumentReference");
}
