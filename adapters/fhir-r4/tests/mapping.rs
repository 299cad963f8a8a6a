//! Representative resources mapped field by field: UK Core examples from
//! the corpus, and synthetic ones for what the corpus lacks.

use icr_adapter_fhir_r4::map::{Content, MapContext, MapError, Mapped, Medications, map_resource};
use icr_model::*;
use serde_json::value::RawValue;

fn src() -> SourceId {
    SourceId::parse("gwh").unwrap()
}

fn file(name: &str) -> Box<RawValue> {
    let text =
        std::fs::read_to_string(icr_testkit::corpus_path(icr_testkit::Corpus::UkCore).join(name))
            .unwrap();
    RawValue::from_string(text).unwrap()
}

fn map_with(raw: &RawValue, meds: &Medications) -> Mapped {
    let source = src();
    let base = url::Url::parse("https://fhir.gwh.example/R4/").unwrap();
    let ctx = MapContext {
        source: &source,
        base: Some(&base),
        medications: meds,
    };
    map_resource(raw, &ctx).unwrap()
}

fn map_file(name: &str) -> Mapped {
    map_with(&file(name), &Medications::new())
}

fn map_json(v: serde_json::Value) -> Mapped {
    map_with(
        &RawValue::from_string(v.to_string()).unwrap(),
        &Medications::new(),
    )
}

fn entry(m: Mapped) -> Entry {
    match m.content {
        Content::Entry(e) => e,
        Content::Patient { .. } => panic!("a Patient"),
    }
}

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn coding(system: CodeSystem, code: &str, display: &str) -> Coding {
    Coding::new(system, code, display)
}

fn other(uri: &str) -> CodeSystem {
    CodeSystem::Other(uri.into())
}

fn sct(code: &str, display: &str) -> Concept {
    Concept::coded(coding(CodeSystem::Snomed, code, display))
}

fn ucum(value: f64, unit: &str, code: &str) -> Quantity {
    Quantity {
        value: Some(value),
        comparator: None,
        unit: Some(unit.into()),
        code: Some(code.into()),
    }
}

#[test]
fn patient_richard_smith() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Patient-RichardSmith-Example.json");
    assert_eq!(m.id.as_deref(), Some("UKCore-Patient-RichardSmith-Example"));
    assert_eq!(m.subject, None);
    let Content::Patient {
        demographics,
        contacts,
    } = m.content
    else {
        panic!("not a Patient")
    };
    assert_eq!(
        demographics,
        Demographics {
            nhs_number: Some(NhsNumber::parse("9912003888").unwrap()),
            names: vec![HumanName {
                use_: Some(NameUse::Official),
                prefix: vec![],
                given: vec!["Richard".into()],
                family: Some("SMITH".into()),
                text: None,
            }],
            birth_date: Some(d("1970-09-11")),
            gender: Some(Gender::Male),
            addresses: vec![Address {
                use_: None,
                lines: vec!["4 Sandmoor Drive".into()],
                city: Some("LEEDS".into()),
                district: None,
                postcode: Some("LS17 7DF".into()),
                country: None,
            }],
            telecom: vec![Telecom {
                system: TelecomSystem::Phone,
                value: "01131231234".into(),
                use_: None,
            }],
            deceased: None,
            registered_practice: None,
            sensitive: false,
        }
    );
    assert_eq!(
        contacts,
        vec![Contact {
            name: HumanName {
                use_: Some(NameUse::Official),
                prefix: vec!["Miss".into()],
                given: vec!["Jane".into()],
                family: Some("Jackson".into()),
                text: Some("JACKSON Jane (Miss)".into()),
            },
            relationship: vec![Concept::coded(coding(
                other("https://fhir.hl7.org.uk/CodeSystem/UKCore-AdditionalPersonRelationshipRole"),
                "Personal",
                "Personal relationship with the patient",
            ))],
            telecom: vec![Telecom {
                system: TelecomSystem::Phone,
                value: "07777123123".into(),
                use_: Some(ContactUse::Mobile),
            }],
            address: Some(Address {
                use_: Some(ContactUse::Home),
                lines: vec!["5 Alwoodley Road".into()],
                city: Some("LEEDS".into()),
                district: None,
                postcode: Some("LS17 6EH".into()),
                country: None,
            }),
            active: None,
            period_start: None,
        }]
    );
}

#[test]
fn patient_practice_deceased_and_last_updated() {
    let m = map_json(serde_json::json!({
        "resourceType": "Patient",
        "id": "p1",
        "meta": {"lastUpdated": "2024-01-02T03:04:05+00:00"},
        "identifier": [
            {"system": "https://example.org/mrn", "value": "X1"},
            {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "999 000 0018"}
        ],
        "deceasedDateTime": "2023-12-01",
        "birthDate": "1950-13-01",
        "generalPractitioner": [
            {"reference": "Organization/1", "display": "Some practice"},
            {"identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}}
        ]
    }));
    assert_eq!(
        m.last_updated,
        Some(
            time::OffsetDateTime::parse(
                "2024-01-02T03:04:05Z",
                &time::format_description::well_known::Rfc3339
            )
            .unwrap()
        )
    );
    assert_eq!(m.bad_dates, 1, "birthDate 1950-13-01");
    let Content::Patient { demographics, .. } = m.content else {
        panic!()
    };
    assert_eq!(
        demographics.nhs_number,
        Some(NhsNumber::parse("9990000018").unwrap())
    );
    assert_eq!(demographics.birth_date, None);
    assert_eq!(demographics.deceased, Some(Deceased::At(d("2023-12-01"))));
    assert_eq!(
        demographics.registered_practice,
        Some(OdsCode::parse("Y12345").unwrap())
    );
}

#[test]
fn restricted_confidentiality_marks_the_record_sensitive() {
    let patient = |code: &str| {
        map_json(serde_json::json!({
            "resourceType": "Patient",
            "id": "p1",
            "meta": {"security": [
                {"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": code}
            ]}
        }))
    };
    for (code, sensitive) in [("R", true), ("V", true), ("U", false), ("N", false)] {
        // As the Personal Demographics Service labels it.
        let Content::Patient { demographics, .. } = map_json(serde_json::json!({
            "resourceType": "Patient",
            "meta": {"security": [{"system": "https://www.hl7.org/fhir/valueset-security-labels.html", "code": code, "display": "x"}]}
        }))
        .content
        else {
            panic!()
        };
        assert_eq!(demographics.sensitive, sensitive, "PDS system, {code}");
        let Content::Patient { demographics, .. } = patient(code).content else {
            panic!()
        };
        assert_eq!(demographics.sensitive, sensitive, "{code}");
    }
    let Content::Patient { demographics, .. } = map_json(serde_json::json!({
        "resourceType": "Patient",
        "meta": {"security": [{"system": "urn:other", "code": "R"}]}
    }))
    .content
    else {
        panic!()
    };
    assert!(
        !demographics.sensitive,
        "R in another system is not a confidentiality label"
    );
}

#[test]
fn allergy_amoxicillin() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-AllergyIntolerance-Amoxicillin-Example.json");
    assert_eq!(
        m.subject.as_deref(),
        Some("Patient/UKCore-Patient-RichardSmith-Example")
    );
    assert_eq!(
        entry(m),
        Entry::Allergy(Allergy {
            code: sct("372687004", "Amoxicillin"),
            clinical_status: Some(AllergyClinicalStatus::Active),
            verification: Some(Verification::Confirmed),
            category: vec![],
            criticality: None,
            reactions: vec![Reaction {
                manifestations: vec![sct("247472004", "Urticarial rash")],
                severity: Some(Severity::Mild),
                description: None,
            }],
            onset: None,
            recorded: Some(d("2019-12-10T13:00:00+00:00")),
            notes: vec![],
        })
    );
}

#[test]
fn medication_statement_amoxicillin() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-MedicationStatement-Amoxicillin-Example.json");
    assert_eq!(
        entry(m),
        Entry::Medication(Medication {
            medication: Concept::coded(coding(
                CodeSystem::Dmd,
                "39732311000001104",
                "Amoxicillin 250mg capsules"
            )),
            kind: Some(MedicationKind::Statement),
            status: Some(MedicationStatus::Active),
            dosage: Some("2 capsules 4 times a day.".into()),
            start: Some(d("2021-02-15T13:50:00+00:00")),
            end: Some(d("2021-05-15T13:50:00+00:00")),
            recorded: Some(d("2017-02-22")),
            reasons: vec![sct("65363002", "Otitis media")],
            prescriber: None,
            notes: vec![],
        })
    );
}

#[test]
fn medication_request_with_medication_reference() {
    icr_testkit::require_corpora!(UkCore);
    let timoptol = Concept::coded(coding(
        CodeSystem::Dmd,
        "18616211000001106",
        "Timoptol 0.5% eye drops (DE Pharmaceuticals)",
    ));
    let expected = |medication: Concept| {
        Entry::Medication(Medication {
            medication,
            kind: Some(MedicationKind::Prescription),
            status: Some(MedicationStatus::Completed),
            dosage: Some("1 drop in left eye, every 12 hours, until finished.".into()),
            start: Some(d("2022-09-10T15:00:00+00:00")),
            end: None,
            recorded: None,
            reasons: vec![],
            prescriber: None,
            notes: vec![],
        })
    };
    // resolved from an included Medication
    let mut meds = Medications::new();
    meds.add(
        &file("UKCore-Medication-TimoptolEyeDrops-Example.json"),
        None,
        None,
    )
    .unwrap();
    let m = map_with(
        &file("UKCore-MedicationRequest-EyeDrops-Example.json"),
        &meds,
    );
    assert!(!m.unresolved_medication);
    assert_eq!(entry(m), expected(timoptol.clone()));

    // not resolvable and no display: an empty medicine, flagged
    let m = map_file("UKCore-MedicationRequest-EyeDrops-Example.json");
    assert!(m.unresolved_medication);
    assert_eq!(entry(m), expected(Concept::default()));

    // resolved from a contained Medication; absolute references to the
    // server and display text
    let contained = map_json(serde_json::json!({
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "contained": [{"resourceType": "Medication", "id": "med1", "code": {"text": "Timolol 0.25% eye drops"}}],
        "status": "active",
        "intent": "order",
        "medicationReference": {"reference": "#med1"},
        "requester": {"reference": "Practitioner/1", "display": "Dr Sandra Gose"},
        "authoredOn": "2022-09-10",
        "dispenseRequest": {"validityPeriod": {"start": "2022-09-11", "end": "2022-10-10"}},
        "note": [{"text": "Review in a month"}]
    }));
    let Entry::Medication(x) = entry(contained) else {
        panic!()
    };
    assert_eq!(x.medication, Concept::text("Timolol 0.25% eye drops"));
    assert_eq!(x.prescriber.as_deref(), Some("Dr Sandra Gose"));
    assert_eq!(x.start, Some(d("2022-09-10")));
    assert_eq!(x.end, Some(d("2022-10-10")));
    assert_eq!(x.notes, vec!["Review in a month".to_string()]);
    let mut meds = Medications::new();
    meds.add(
        &RawValue::from_string(
            r#"{"resourceType":"Medication","id":"m9","code":{"text":"Included"}}"#.into(),
        )
        .unwrap(),
        Some("https://fhir.gwh.example/R4/Medication/m9"),
        None,
    )
    .unwrap();
    let absolute = map_with(
        &RawValue::from_string(
            r#"{"resourceType":"MedicationRequest","medicationReference":{"reference":"https://fhir.gwh.example/R4/Medication/m9/_history/2"}}"#.into(),
        )
        .unwrap(),
        &meds,
    );
    let Entry::Medication(x) = entry(absolute) else {
        panic!()
    };
    assert_eq!(x.medication, Concept::text("Included"));
    let display_only = map_json(serde_json::json!({
        "resourceType": "MedicationStatement",
        "medicationReference": {"reference": "Medication/unknown", "display": "Paracetamol"}
    }));
    assert!(!display_only.unresolved_medication);
    let Entry::Medication(x) = entry(display_only) else {
        panic!()
    };
    assert_eq!(x.medication, Concept::text("Paracetamol"));
}

#[test]
fn condition_hip_replacement() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Condition-HipReplacement-Example.json");
    assert_eq!(
        entry(m),
        Entry::Condition(Condition {
            code: sct("281445000", "Loosening of total hip replacement"),
            clinical_status: Some(ConditionClinicalStatus::Active),
            verification: Some(Verification::Confirmed),
            category: vec![Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/condition-category"),
                "encounter-diagnosis",
                "Encounter Diagnosis"
            ))],
            severity: None,
            onset: None,
            abatement: None,
            recorded: None,
            notes: vec![],
        })
    );
}

#[test]
fn observation_quantity_reference_range_interpretation() {
    icr_testkit::require_corpora!(UkCore);
    // The corpus's albumin example, with an interpretation, a note and an
    // unparseable effective date added.
    let m = map_json(serde_json::json!({
        "resourceType": "Observation",
        "id": "alb",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory", "display": "Laboratory"}]}],
        "code": {"coding": [
            {"system": "http://snomed.info/sct", "code": "1000821000000103", "display": "Serum albumin level"}
        ]},
        "subject": {"reference": "Patient/p1"},
        "effectiveDateTime": "08/03/2022",
        "issued": "2022-03-08T14:23:00+00:00",
        "performer": [{"reference": "urn:uuid:8a6d", "display": "TD008362 PATH LAB 001"}],
        "valueQuantity": {"value": 52, "comparator": ">", "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
        "interpretation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation", "code": "H", "display": "High"}]}],
        "referenceRange": [{
            "low": {"value": 35, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
            "high": {"value": 50, "unit": "g/L", "system": "http://unitsofmeasure.org", "code": "g/L"},
            "text": "35-50"
        }],
        "note": [{"text": "Repeat in 3 months"}]
    }));
    assert_eq!(m.bad_dates, 1);
    assert_eq!(
        entry(m),
        Entry::Result(TestResult {
            kind: Some(ResultKind::Observation),
            category: vec![Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/observation-category"),
                "laboratory",
                "Laboratory"
            ))],
            code: sct("1000821000000103", "Serum albumin level"),
            status: Some(ResultStatus::Final),
            effective: None,
            issued: Some(d("2022-03-08T14:23:00Z")),
            value: Some(ResultValue::Quantity(Quantity {
                comparator: Some(">".into()),
                ..ucum(52.0, "g/L", "g/L")
            })),
            absent_reason: None,
            interpretation: vec![Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/v3-ObservationInterpretation"),
                "H",
                "High"
            ))],
            reference_range: vec![ReferenceRange {
                low: Some(ucum(35.0, "g/L", "g/L")),
                high: Some(ucum(50.0, "g/L", "g/L")),
                text: Some("35-50".into()),
            }],
            components: vec![],
            conclusion: None,
            members: vec![],
            performer: Some("TD008362 PATH LAB 001".into()),
            notes: vec!["Repeat in 3 months".into()],
        })
    );
    // and the corpus's own albumin example
    let Entry::Result(alb) = entry(map_file("UKCore-Observation-Lab-Albumin-Example.json")) else {
        panic!()
    };
    assert_eq!(
        alb.value,
        Some(ResultValue::Quantity(ucum(47.0, "g/L", "g/L")))
    );
    assert_eq!(alb.code.codings.len(), 2);
}

#[test]
fn observation_blood_pressure_components() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Observation-VitalSigns-BloodPressure-Example.json");
    let Entry::Result(r) = entry(m) else { panic!() };
    assert_eq!(r.kind, Some(ResultKind::Observation));
    assert_eq!(
        r.code,
        Concept {
            codings: vec![
                coding(CodeSystem::Snomed, "75367002", "Blood pressure"),
                coding(
                    CodeSystem::Loinc,
                    "85354-9",
                    "Blood pressure panel with all children optional"
                ),
            ],
            text: Some("Blood pressure".into()),
        }
    );
    assert_eq!(r.effective, Some(d("2023-08-10")));
    assert_eq!(r.value, None);
    assert_eq!(r.performer, None, "a reference without display");
    let mmhg = |v: f64| {
        Some(ResultValue::Quantity(ucum(
            v,
            "millimeter of mercury",
            "mm[Hg]",
        )))
    };
    assert_eq!(
        r.components,
        vec![
            ResultComponent {
                code: Concept {
                    codings: vec![
                        coding(CodeSystem::Snomed, "72313002", "Systolic arterial pressure"),
                        coding(CodeSystem::Loinc, "8480-6", "Systolic blood pressure"),
                    ],
                    text: Some("Systolic blood pressure".into()),
                },
                value: mmhg(142.0),
                interpretation: vec![],
                reference_range: vec![],
            },
            ResultComponent {
                code: Concept {
                    codings: vec![
                        coding(
                            CodeSystem::Snomed,
                            "1091811000000102",
                            "Diastolic arterial pressure"
                        ),
                        coding(CodeSystem::Loinc, "8462-4", "Diastolic blood pressure"),
                    ],
                    text: Some("Diastolic blood pressure".into()),
                },
                value: mmhg(94.0),
                interpretation: vec![],
                reference_range: vec![],
            },
        ]
    );
}

#[test]
fn observation_group_and_report_results() {
    icr_testkit::require_corpora!(UkCore);
    let Entry::Result(g) = entry(map_file(
        "UKCore-Observation-Group-FullBloodCount-Example.json",
    )) else {
        panic!()
    };
    assert_eq!(
        g.members,
        vec![
            RecordId::new(
                src(),
                "Observation/UKCore-Observation-Lab-WhiteCellCount-Example"
            )
            .unwrap(),
            RecordId::new(
                src(),
                "Observation/UKCore-Observation-Lab-RedCellCount-Example"
            )
            .unwrap(),
        ]
    );
    let m = map_file("UKCore-DiagnosticReport-Lab-DiagnosticStudiesReport-Example.json");
    assert_eq!(
        entry(m),
        Entry::Result(TestResult {
            kind: Some(ResultKind::Report),
            category: vec![Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/v2-0074"),
                "LAB",
                "Laboratory"
            ))],
            code: sct("721981007", "Diagnostic studies report"),
            status: Some(ResultStatus::Final),
            effective: Some(d("2023-01-13T14:53:23+00:00")),
            issued: None,
            value: None,
            absent_reason: None,
            interpretation: vec![],
            reference_range: vec![],
            components: vec![],
            conclusion: None,
            members: vec![
                RecordId::new(
                    src(),
                    "Observation/UKCore-Observation-Group-FullBloodCount-Example"
                )
                .unwrap()
            ],
            performer: Some("LEEDS TEACHING HOSPITALS NHS TRUST".into()),
            notes: vec![],
        })
    );
}

#[test]
fn document_reference_care_plan() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-DocumentReference-CarePlanReportPDF-Example.json");
    assert_eq!(
        entry(m),
        Entry::Document(Document {
            doc_type: sct("734163000", "Care plan"),
            category: vec![],
            title: None,
            status: Some(DocumentStatus::Current),
            date: Some(d("2016-03-08T15:26:00+01:00")),
            authors: vec![],
            content: vec![Attachment {
                content_type: Some("application/pdf".into()),
                url: Some("https://health.trust.uk/CarePlanReport_44301kfgd.pdf".into()),
                title: Some("Care Plan Report".into()),
                size: None,
                inline_content_omitted: false,
            }],
            text: None,
            care_plan: None,
        })
    );
    let inline = map_json(serde_json::json!({
        "resourceType": "DocumentReference",
        "status": "superseded",
        "description": "Discharge summary",
        "author": [{"display": "Ward 7"}],
        "content": [{"attachment": {"contentType": "text/plain", "data": "SGVsbG8=", "creation": "2021-02"}}]
    }));
    let Entry::Document(doc) = entry(inline) else {
        panic!()
    };
    assert_eq!(
        doc.date,
        Some(d("2021-02")),
        "from the attachment's creation"
    );
    assert_eq!(doc.title.as_deref(), Some("Discharge summary"));
    assert_eq!(doc.authors, vec!["Ward 7".to_string()]);
    assert_eq!(
        doc.content,
        vec![Attachment {
            content_type: Some("text/plain".into()),
            inline_content_omitted: true,
            ..Default::default()
        }]
    );
}

#[test]
fn procedure_examination_of_skin() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Procedure-ExaminationOfSkin-Example.json");
    assert_eq!(
        entry(m),
        Entry::Procedure(Procedure {
            code: sct("128004", "Hand microscope examination of skin"),
            status: Some(ProcedureStatus::Completed),
            performed: Some(d("2019-12-10T13:00:00+00:00")),
            performed_end: None,
            body_site: vec![],
            outcome: None,
            performers: vec![],
            notes: vec![],
            immunisation: None,
        })
    );
}

#[test]
fn encounter_inpatient() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Encounter-InpatientEncounter-Example.json");
    assert_eq!(
        entry(m),
        Entry::Appointment(Appointment {
            kind: Some(AppointmentKind::Encounter),
            status: Some(AppointmentStatus::Finished),
            class: Some(Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/v3-ActCode"),
                "IMP",
                "inpatient encounter"
            ))),
            service_type: vec![sct("185212007", "Seen in hospital ward")],
            description: None,
            start: Some(d("2019-12-10T13:00:00+00:00")),
            end: Some(d("2019-12-11T13:00:00+00:00")),
            location: None,
            participants: vec![],
            reasons: vec![sct("7922000", "General treatment")],
        })
    );
}

#[test]
fn appointment_orthopaedic_surgery() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Appointment-OrthopaedicSurgery-Example.json");
    assert_eq!(
        m.subject.as_deref(),
        Some("Patient/UKCore-Patient-RichardSmith-Example")
    );
    assert_eq!(
        entry(m),
        Entry::Appointment(Appointment {
            kind: Some(AppointmentKind::Appointment),
            status: Some(AppointmentStatus::Booked),
            class: None,
            service_type: vec![
                Concept::coded(coding(
                    other("http://terminology.hl7.org/CodeSystem/service-type"),
                    "218",
                    "Orthopaedic Surgery"
                )),
                Concept::coded(coding(
                    other("https://fhir.hl7.org.uk/CodeSystem/UKCore-PracticeSettingCode"),
                    "110",
                    "Trauma and Orthopaedics"
                )),
            ],
            description: Some("Appointment to investigate the pain in both hips".into()),
            start: Some(d("2022-03-11T10:46:00+00:00")),
            end: Some(d("2022-03-11T13:20:00+00:00")),
            location: Some(
                "Orthopaedic Trauma Department, St James' University Hospital, Leeds".into()
            ),
            participants: vec!["Dr Sandra Gose".into()],
            reasons: vec![Concept::text("Pain in both hips")],
        })
    );
}

#[test]
fn service_request_hip_replacement() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-ServiceRequest-HipReplacement-Example.json");
    assert_eq!(
        entry(m),
        Entry::Referral(Referral {
            code: sct(
                "858611000000102",
                "Metal-on-metal hip replacement annual review"
            ),
            category: vec![],
            status: Some(ReferralStatus::Active),
            priority: None,
            authored: Some(d("2023-05-18T17:50:00+07:00")),
            requester: None,
            performers: vec![],
            reasons: vec![],
            notes: vec![],
        })
    );
}

#[test]
fn flag_food_allergy() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-Flag-FoodAllergy-Example.json");
    assert_eq!(
        entry(m),
        Entry::Alert(Alert {
            code: Concept {
                codings: vec![coding(CodeSystem::Snomed, "226201008", "Peanut-free diet")],
                text: Some("Patient has a severe peanut allergy.".into()),
            },
            status: Some(AlertStatus::Active),
            category: vec![Concept {
                codings: vec![coding(
                    other("http://terminology.hl7.org/CodeSystem/flag-category"),
                    "diet",
                    "Diet"
                )],
                text: Some("Diet".into()),
            }],
            period_start: Some(d("2019-12-10T13:00:00+00:00")),
            period_end: None,
            author: Some("Dr Paul Rastall".into()),
        })
    );
}

#[test]
fn related_person_joy_smith() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-RelatedPerson-JoySmith-Example.json");
    assert_eq!(
        entry(m),
        Entry::Contact(Contact {
            name: HumanName {
                use_: Some(NameUse::Official),
                prefix: vec![],
                given: vec!["Joy".into()],
                family: Some("SMITH".into()),
                text: None,
            },
            relationship: vec![Concept::coded(coding(
                other("http://terminology.hl7.org/CodeSystem/v3-RoleCode"),
                "WIFE",
                "wife"
            ))],
            telecom: vec![],
            address: None,
            active: None,
            period_start: None,
        })
    );
}

#[test]
fn care_team_weight_management() {
    icr_testkit::require_corpora!(UkCore);
    let m = map_file("UKCore-CareTeam-WeightManagementTeam-Example.json");
    assert_eq!(
        entry(m),
        Entry::CareTeam(CareTeam {
            name: Some("Weight management team".into()),
            status: Some(CareTeamStatus::Inactive),
            category: vec![],
            period_start: None,
            period_end: None,
            participants: vec![],
            managing_organisations: vec![],
            telecom: vec![],
        })
    );
}

#[test]
fn unknown_codes_are_none_not_failures() {
    let m = map_json(serde_json::json!({
        "resourceType": "Flag",
        "status": "sort-of",
        "code": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown"}]},
        "_status": {"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]},
        "unknownElement": {"deep": [1, 2, {"x": null}]},
        "extension": [{"url": "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-Anything", "valueTiming": {}}]
    }));
    assert_eq!(entry(m), Entry::Alert(Alert::default()));
}

#[test]
fn wrong_shapes_are_refused_without_values() {
    let source = src();
    let meds = Medications::new();
    let ctx = MapContext {
        source: &source,
        base: None,
        medications: &meds,
    };
    let raw = RawValue::from_string(
        r#"{"resourceType":"Patient","name":{"family":"Secretname"}}"#.into(),
    )
    .unwrap();
    let err = map_resource(&raw, &ctx).unwrap_err();
    assert_eq!(
        err,
        MapError::Shape("Patient: unexpected JSON structure at line 1 column 33".into())
    );
    assert!(!err.to_string().contains("Secretname"));
    let raw = RawValue::from_string(r#"{"resourceType":"Practitioner"}"#.into()).unwrap();
    assert_eq!(map_resource(&raw, &ctx).unwrap_err(), MapError::Unsupported);
    let raw = RawValue::from_string("[1,2]".into()).unwrap();
    assert_eq!(map_resource(&raw, &ctx).unwrap_err(), MapError::Unsupported);
}
