//! Renders every kind of model item, fully filled, minimal and awkward,
//! and validates the result against the official FHIR R4 JSON schema.

use icr_fhir::render::{self, RenderContext};
use icr_fhir::{Bundle, BundleEntry, BundleSearch, Resource};
use icr_model::*;
use serde_json::{Value, json};

/// Validates a whole resource, naming the offending element on failure.
fn assert_valid(resource: &Value) {
    icr_testkit::assert_fhir_r4(resource);
}

fn src() -> SourceId {
    SourceId::parse("gwh").unwrap()
}

fn rid(local: &str) -> RecordId {
    RecordId::new(src(), local).unwrap()
}

fn d(s: &str) -> PartialDateTime {
    PartialDateTime::parse(s).unwrap()
}

fn sct(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

fn q(value: f64, unit: &str) -> Quantity {
    Quantity {
        value: Some(value),
        comparator: None,
        unit: Some(unit.into()),
        code: Some(unit.into()),
    }
}

fn name() -> HumanName {
    HumanName {
        use_: Some(NameUse::Official),
        prefix: vec!["Mrs".into()],
        given: vec!["Joy".into(), "Anne".into()],
        family: Some("Smith".into()),
        text: Some("Mrs Joy Anne Smith".into()),
    }
}

fn addr() -> Address {
    Address {
        use_: Some(ContactUse::Home),
        lines: vec!["1 Test Street".into(), "Testville".into()],
        city: Some("Leeds".into()),
        district: Some("West Yorkshire".into()),
        postcode: Some("LS1 1AA".into()),
        country: Some("GB".into()),
    }
}

fn phone() -> Telecom {
    Telecom {
        system: TelecomSystem::Phone,
        value: "0113 496 0000".into(),
        use_: Some(ContactUse::Mobile),
    }
}

fn bp_observation() -> TestResult {
    TestResult {
        kind: Some(ResultKind::Observation),
        category: vec![Concept {
            codings: vec![Coding::new(
                CodeSystem::Other(
                    "http://terminology.hl7.org/CodeSystem/observation-category".into(),
                ),
                "vital-signs",
                "Vital Signs",
            )],
            text: None,
        }],
        code: sct("75367002", "Blood pressure"),
        status: Some(ResultStatus::Final),
        effective: Some(d("2021-02-15T13:50:00Z")),
        issued: Some(d("2021-02-15T14:00:00.5+01:00")),
        value: None,
        absent_reason: None,
        interpretation: vec![],
        reference_range: vec![],
        components: vec![
            ResultComponent {
                code: sct("72313002", "Systolic arterial pressure"),
                value: Some(ResultValue::Quantity(q(120.0, "mm[Hg]"))),
                interpretation: vec![sct("17621005", "Normal")],
                reference_range: vec![ReferenceRange {
                    low: Some(q(90.0, "mm[Hg]")),
                    high: Some(q(140.0, "mm[Hg]")),
                    text: None,
                }],
            },
            ResultComponent {
                code: sct("1091811000000102", "Diastolic arterial pressure"),
                value: Some(ResultValue::Quantity(q(80.0, "mm[Hg]"))),
                interpretation: vec![],
                reference_range: vec![],
            },
        ],
        conclusion: None,
        members: vec![],
        performer: Some("Nurse Jane Test".into()),
        notes: vec!["Seated, left arm".into()],
    }
}

fn full_items() -> Vec<(&'static str, Entry)> {
    let potassium = TestResult {
        kind: None,
        category: vec![sct("4241000179101", "Laboratory report")],
        code: Concept {
            codings: vec![
                Coding::new(CodeSystem::Loinc, "2823-3", "Potassium"),
                Coding::new(
                    CodeSystem::Snomed,
                    "1000651000000109",
                    "Serum potassium level",
                ),
            ],
            text: Some("Potassium".into()),
        },
        status: Some(ResultStatus::Partial),
        effective: Some(d("2021-02-15")),
        issued: Some(d("2021-02-16T09:00:00Z")),
        value: Some(ResultValue::Quantity(Quantity {
            value: Some(5.9),
            comparator: Some(">".into()),
            unit: Some("mmol/L".into()),
            code: Some("mmol/L".into()),
        })),
        absent_reason: None,
        interpretation: vec![sct("281302008", "Above reference range")],
        reference_range: vec![ReferenceRange {
            low: Some(q(3.5, "mmol/L")),
            high: Some(Quantity {
                comparator: Some("<=".into()),
                ..q(5.3, "mmol/L")
            }),
            text: Some("3.5 - 5.3".into()),
        }],
        components: vec![],
        conclusion: None,
        members: vec![],
        performer: Some("Pathology Lab".into()),
        notes: vec!["Haemolysed sample".into()],
    };
    let mut values = Vec::new();
    for (n, v) in [
        ResultValue::Coded(sct("260385009", "Negative")),
        ResultValue::Text("No growth".into()),
        ResultValue::Boolean(true),
        ResultValue::Integer(7),
        ResultValue::Integer(i64::MAX),
        ResultValue::Range {
            low: Some(q(1.0, "h")),
            high: Some(q(2.0, "h")),
        },
        ResultValue::DateTime(d("2020-11")),
    ]
    .into_iter()
    .enumerate()
    {
        values.push((
            [
                "coded",
                "text",
                "boolean",
                "integer",
                "big-integer",
                "range",
                "date-time",
            ][n],
            Entry::Result(TestResult {
                kind: Some(ResultKind::Observation),
                code: sct("1234", "Some test"),
                status: Some(ResultStatus::Appended),
                value: Some(v),
                ..Default::default()
            }),
        ));
    }
    let mut out = vec![
        (
            "contact",
            Entry::Contact(Contact {
                name: name(),
                relationship: vec![sct("127848009", "Spouse")],
                telecom: vec![
                    phone(),
                    Telecom {
                        system: TelecomSystem::Email,
                        value: "joy@example.org".into(),
                        use_: Some(ContactUse::Billing),
                    },
                ],
                address: Some(Address {
                    use_: Some(ContactUse::Mobile),
                    ..addr()
                }),
                active: Some(true),
                period_start: Some(d("2019-04")),
            }),
        ),
        (
            "care-team",
            Entry::CareTeam(CareTeam {
                name: Some("Community Mental Health Team".into()),
                status: Some(CareTeamStatus::Active),
                category: vec![sct("135411000000103", "Multidisciplinary care team")],
                period_start: Some(d("2020-01-01")),
                period_end: Some(d("2022-12-31")),
                participants: vec![
                    CareTeamMember {
                        roles: vec![sct("768832004", "Case manager")],
                        name: Some("Dr Paul Rastall".into()),
                    },
                    CareTeamMember {
                        roles: vec![],
                        name: None,
                    },
                ],
                managing_organisations: vec!["Leeds Teaching Hospitals".into()],
                telecom: vec![phone()],
            }),
        ),
        (
            "medication-statement",
            Entry::Medication(Medication {
                medication: Concept::coded(Coding::new(
                    CodeSystem::Dmd,
                    "39732311000001104",
                    "Amoxicillin 250mg capsules",
                )),
                kind: Some(MedicationKind::Statement),
                status: Some(MedicationStatus::Active),
                dosage: Some("One capsule three times a day".into()),
                start: Some(d("2021-02-01")),
                end: Some(d("2021-02-08")),
                recorded: Some(d("2021-02-01T10:00:00Z")),
                reasons: vec![sct("195662009", "Acute viral pharyngitis")],
                prescriber: Some("Dr Paul Rastall".into()),
                notes: vec!["Patient advised".into()],
            }),
        ),
        (
            "medication-request",
            Entry::Medication(Medication {
                medication: Concept::text("Paracetamol 500mg tablets"),
                kind: Some(MedicationKind::Prescription),
                status: Some(MedicationStatus::Intended),
                dosage: Some("Two tablets four times a day".into()),
                start: Some(d("2021-03-01T09:30:00Z")),
                end: Some(d("2021-03-31")),
                recorded: Some(d("2021-03-01")),
                reasons: vec![sct("22253000", "Pain")],
                prescriber: Some("Dr Sandra Gose".into()),
                notes: vec!["Repeat".into()],
            }),
        ),
        (
            "medication-no-kind",
            Entry::Medication(Medication {
                medication: sct("27658006", "Amoxicillin"),
                status: Some(MedicationStatus::Cancelled),
                start: Some(d("2021-02-01")),
                ..Default::default()
            }),
        ),
        (
            "allergy",
            Entry::Allergy(Allergy {
                code: sct("294505008", "Allergy to amoxicillin"),
                clinical_status: Some(AllergyClinicalStatus::Active),
                verification: Some(Verification::Provisional),
                category: vec![AllergyCategory::Medication, AllergyCategory::Food],
                criticality: Some(Criticality::High),
                reactions: vec![
                    Reaction {
                        manifestations: vec![sct("247472004", "Weal")],
                        severity: Some(Severity::Moderate),
                        description: Some("Hives".into()),
                    },
                    Reaction {
                        manifestations: vec![],
                        severity: None,
                        description: Some("Unspecified reaction".into()),
                    },
                ],
                onset: Some(d("2010")),
                recorded: Some(d("2010-06-01")),
                notes: vec!["Reported by patient".into()],
            }),
        ),
        (
            "condition",
            Entry::Condition(Condition {
                code: sct("44054006", "Diabetes mellitus type 2"),
                clinical_status: Some(ConditionClinicalStatus::Remission),
                verification: Some(Verification::Differential),
                category: vec![sct("55607006", "Problem")],
                severity: Some(sct("24484000", "Severe")),
                onset: Some(d("2015-03-04")),
                abatement: Some(d("2020")),
                recorded: Some(d("2015-03-05T08:00:00Z")),
                notes: vec!["Diet controlled".into()],
            }),
        ),
        ("observation-bp", Entry::Result(bp_observation())),
        ("observation-potassium", Entry::Result(potassium)),
        (
            "observation-group",
            Entry::Result(TestResult {
                kind: Some(ResultKind::Observation),
                code: sct("26604007", "Full blood count"),
                status: Some(ResultStatus::Final),
                members: vec![rid("Observation/hb"), rid("Observation/not-rendered")],
                conclusion: Some("dropped: no home on Observation".into()),
                ..Default::default()
            }),
        ),
        (
            "observation-absent",
            Entry::Result(TestResult {
                code: sct("1234", "Some test"),
                absent_reason: Some(Concept::coded(Coding::new(
                    CodeSystem::Other(
                        "http://terminology.hl7.org/CodeSystem/data-absent-reason".into(),
                    ),
                    "error",
                    "Error",
                ))),
                ..Default::default()
            }),
        ),
        (
            "report",
            Entry::Result(TestResult {
                kind: Some(ResultKind::Report),
                category: vec![sct("394595002", "Pathology")],
                code: sct("26604007", "Full blood count"),
                status: Some(ResultStatus::Appended),
                effective: Some(d("2021-02-15T08:00:00Z")),
                issued: Some(d("2021-02-15T12:00:00Z")),
                conclusion: Some("Normal".into()),
                members: vec![rid("Observation/hb"), rid("Observation/not-rendered")],
                performer: Some("Pathology Lab".into()),
                ..Default::default()
            }),
        ),
        (
            "document",
            Entry::Document(Document {
                doc_type: sct("734163000", "Care plan"),
                category: vec![sct("823691000000103", "Clinical letter")],
                title: Some("Care plan".into()),
                status: Some(DocumentStatus::Current),
                date: Some(d("2021-02-15T10:00:00Z")),
                authors: vec!["Dr Paul Rastall".into()],
                content: vec![Attachment {
                    content_type: Some("application/pdf".into()),
                    url: Some("https://docs.example.org/Binary/1".into()),
                    title: Some("Care plan.pdf".into()),
                    size: Some(12345),
                    inline_content_omitted: true,
                }],
                text: Some("Care plan\nReview in 3 months & re-assess <mobility>.".into()),
                care_plan: None,
            }),
        ),
        (
            "document-partial-date",
            Entry::Document(Document {
                doc_type: sct("734163000", "Care plan"),
                date: Some(d("2021-02-15")),
                content: vec![Attachment {
                    content_type: Some("text/plain".into()),
                    size: Some(u64::MAX),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        (
            "procedure",
            Entry::Procedure(Procedure {
                code: sct("52734007", "Total hip replacement"),
                status: Some(ProcedureStatus::Completed),
                performed: Some(d("2020-05-01T09:00:00Z")),
                performed_end: Some(d("2020-05-01T11:00:00Z")),
                body_site: vec![sct("24136001", "Hip joint")],
                outcome: Some(sct("385669000", "Successful")),
                performers: vec!["Mr Surgeon".into()],
                notes: vec!["Uneventful".into()],
                immunisation: None,
            }),
        ),
        (
            "procedure-instant",
            Entry::Procedure(Procedure {
                code: sct("52734007", "Total hip replacement"),
                performed: Some(d("2020-05")),
                ..Default::default()
            }),
        ),
        (
            "referral",
            Entry::Referral(Referral {
                code: sct("73761001", "Colonoscopy"),
                category: vec![sct("3457005", "Patient referral")],
                status: Some(ReferralStatus::Active),
                priority: Some(Priority::Urgent),
                authored: Some(d("2021-01-10")),
                requester: Some("Dr Paul Rastall".into()),
                performers: vec!["Gastroenterology".into()],
                reasons: vec![sct("62315008", "Diarrhoea")],
                notes: vec!["Two week wait".into()],
            }),
        ),
        (
            "appointment",
            Entry::Appointment(Appointment {
                kind: Some(AppointmentKind::Appointment),
                status: Some(AppointmentStatus::Booked),
                class: Some(sct("1", "dropped")),
                service_type: vec![sct("394801008", "Trauma and orthopaedics")],
                description: Some("Hip review".into()),
                start: Some(d("2021-06-01T09:00:00+01:00")),
                end: Some(d("2021-06-01T09:20:00+01:00")),
                location: Some("Outpatients 3".into()),
                participants: vec!["Mr Surgeon".into()],
                reasons: vec![sct("52734007", "Total hip replacement")],
            }),
        ),
        (
            "appointment-encounter-status",
            Entry::Appointment(Appointment {
                status: Some(AppointmentStatus::InProgress),
                start: Some(d("2021-06-01")),
                ..Default::default()
            }),
        ),
        (
            "encounter",
            Entry::Appointment(Appointment {
                kind: Some(AppointmentKind::Encounter),
                status: Some(AppointmentStatus::Noshow),
                class: Some(Concept::coded(Coding::new(
                    CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
                    "IMP",
                    "inpatient encounter",
                ))),
                service_type: vec![sct("394801008", "Trauma and orthopaedics"), sct("2", "x")],
                description: Some("dropped".into()),
                start: Some(d("2020-05-01")),
                end: Some(d("2020-05-04T12:00:00Z")),
                location: Some("Ward 7".into()),
                participants: vec!["Mr Surgeon".into()],
                reasons: vec![sct("52734007", "Total hip replacement")],
            }),
        ),
        (
            "encounter-text-class",
            Entry::Appointment(Appointment {
                kind: Some(AppointmentKind::Encounter),
                class: Some(Concept::text("Day case")),
                ..Default::default()
            }),
        ),
        (
            "alert",
            Entry::Alert(Alert {
                code: sct("225915006", "At risk of harm"),
                status: Some(AlertStatus::Active),
                category: vec![sct("safeguarding", "Safeguarding")],
                period_start: Some(d("2021-01-01")),
                period_end: Some(d("2022")),
                author: Some("Safeguarding team".into()),
            }),
        ),
    ];
    out.extend(values);
    out
}

fn minimal_items() -> Vec<(&'static str, Entry)> {
    vec![
        ("min-contact", Entry::Contact(Contact::default())),
        ("min-care-team", Entry::CareTeam(CareTeam::default())),
        ("min-medication", Entry::Medication(Medication::default())),
        (
            "min-prescription",
            Entry::Medication(Medication {
                kind: Some(MedicationKind::Prescription),
                ..Default::default()
            }),
        ),
        ("min-allergy", Entry::Allergy(Allergy::default())),
        ("min-condition", Entry::Condition(Condition::default())),
        ("min-observation", Entry::Result(TestResult::default())),
        (
            "min-report",
            Entry::Result(TestResult {
                kind: Some(ResultKind::Report),
                ..Default::default()
            }),
        ),
        ("min-document", Entry::Document(Document::default())),
        ("min-procedure", Entry::Procedure(Procedure::default())),
        ("min-referral", Entry::Referral(Referral::default())),
        (
            "min-appointment",
            Entry::Appointment(Appointment::default()),
        ),
        (
            "min-encounter",
            Entry::Appointment(Appointment {
                kind: Some(AppointmentKind::Encounter),
                ..Default::default()
            }),
        ),
        ("min-alert", Entry::Alert(Alert::default())),
    ]
}

/// Values a hostile or sloppy source could leave in the model: blanks,
/// odd whitespace, numbers and dates the schema cannot hold.
fn awkward_items() -> Vec<(&'static str, Entry)> {
    let blank = Concept {
        codings: vec![Coding {
            system: CodeSystem::Other(" urn:local\tcodes ".into()),
            code: " ".into(),
            display: Some("\u{a0}".into()),
        }],
        text: Some("".into()),
    };
    let spaced = Concept {
        codings: vec![Coding {
            system: CodeSystem::Other("urn:local codes".into()),
            code: " A\u{2003} 1 ".into(),
            display: Some("tab\there\u{a0}nbsp".into()),
        }],
        text: None,
    };
    let nan = Quantity {
        value: Some(f64::NAN),
        comparator: Some("~".into()),
        unit: Some(" ".into()),
        code: Some("".into()),
    };
    let year0 = PartialDateTime::Year(0);
    let far = PartialDateTime::Year(12345);
    let odd_offset = d("2021-02-15T13:50:00+15:00");
    vec![
        (
            "awkward-result",
            Entry::Result(TestResult {
                kind: Some(ResultKind::Observation),
                code: blank.clone(),
                category: vec![blank.clone(), spaced.clone()],
                effective: Some(year0),
                issued: Some(odd_offset),
                value: Some(ResultValue::Quantity(nan.clone())),
                reference_range: vec![ReferenceRange::default()],
                components: vec![ResultComponent {
                    code: blank.clone(),
                    value: Some(ResultValue::Range {
                        low: Some(nan.clone()),
                        high: None,
                    }),
                    ..Default::default()
                }],
                performer: Some(" ".into()),
                notes: vec!["".into(), "\u{a0}".into()],
                members: vec![rid("Observation/hb")],
                ..Default::default()
            }),
        ),
        (
            "awkward-medication",
            Entry::Medication(Medication {
                medication: blank.clone(),
                dosage: Some("".into()),
                start: Some(far),
                end: Some(year0),
                ..Default::default()
            }),
        ),
        (
            "awkward-contact",
            Entry::Contact(Contact {
                name: HumanName {
                    given: vec!["".into()],
                    ..Default::default()
                },
                telecom: vec![Telecom {
                    system: TelecomSystem::Other,
                    value: " ".into(),
                    use_: None,
                }],
                address: Some(Address {
                    lines: vec!["".into()],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        ),
        (
            "awkward-document",
            Entry::Document(Document {
                doc_type: spaced,
                date: Some(far),
                content: vec![Attachment {
                    content_type: Some(" text/plain ".into()),
                    url: Some("https://x.example/a b".into()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        (
            "awkward-appointment",
            Entry::Appointment(Appointment {
                kind: Some(AppointmentKind::Encounter),
                class: Some(blank),
                participants: vec!["".into()],
                location: Some(" ".into()),
                start: Some(odd_offset),
                ..Default::default()
            }),
        ),
    ]
}

fn resolve(id: &RecordId) -> Option<String> {
    (id.local() == "Observation/hb").then(|| "Observation/gwh-hb".to_string())
}

fn ctx() -> RenderContext<'static> {
    RenderContext {
        patient: "Patient/9990000018",
        resolve: &resolve,
    }
}

fn rendered(id: &str, e: &Entry) -> Value {
    serde_json::to_value(render::entry(e, id, &ctx())).unwrap()
}

fn full_demographics() -> Demographics {
    Demographics {
        nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
        names: vec![
            HumanName {
                use_: Some(NameUse::Official),
                prefix: vec!["Mr".into()],
                given: vec!["Richard".into()],
                family: Some("Smith".into()),
                text: None,
            },
            HumanName {
                use_: Some(NameUse::Old),
                given: vec![],
                family: Some("Smyth".into()),
                ..Default::default()
            },
        ],
        birth_date: Some(d("1970-01-02T03:04:05Z")),
        gender: Some(Gender::Male),
        addresses: vec![addr()],
        telecom: vec![phone()],
        deceased: Some(Deceased::At(d("2021-02-15T13:50:00Z"))),
        registered_practice: Some(OdsCode::parse("Y12345").unwrap()),
        sensitive: true,
    }
}

/// Every kind of item (full, minimal, awkward) and three Patients, rendered
/// into one searchset Bundle; each resource is checked against the schema
/// alone on the way, for a precise message.
fn every_item_bundle() -> Value {
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let mut entries = vec![
        BundleEntry {
            full_url: Some("https://icr.example/fhir/Patient/9990000018".into()),
            resource: Resource::Patient(render::patient("9990000018", nhs, &full_demographics())),
            search: Some(BundleSearch {
                mode: Some("match".into()),
            }),
        },
        BundleEntry {
            full_url: None,
            resource: Resource::Patient(render::patient("p2", nhs, &Demographics::default())),
            search: None,
        },
        BundleEntry {
            full_url: None,
            resource: Resource::Patient(render::patient(
                "p3",
                nhs,
                &Demographics {
                    deceased: Some(Deceased::Yes),
                    birth_date: Some(PartialDateTime::Year(0)),
                    ..Default::default()
                },
            )),
            search: None,
        },
    ];
    let all: Vec<_> = full_items()
        .into_iter()
        .chain(minimal_items())
        .chain(awkward_items())
        .collect();
    assert_eq!(all.len(), 29 + 14 + 5);
    let mut types = std::collections::BTreeSet::new();
    for (id, item) in &all {
        let resource = render::entry(item, id, &ctx());
        types.insert(resource.type_name());
        // each resource alone, for a precise message
        let mut alone = serde_json::to_value(&resource).unwrap();
        assert_eq!(alone["id"], json!(id));
        assert_valid(&alone);
        alone["id"] = json!(null);
        entries.push(BundleEntry {
            full_url: Some(format!(
                "https://icr.example/fhir/{}/{id}",
                resource.type_name()
            )),
            resource,
            search: Some(BundleSearch {
                mode: Some("match".into()),
            }),
        });
    }
    assert_eq!(
        types.into_iter().collect::<Vec<_>>(),
        [
            "AllergyIntolerance",
            "Appointment",
            "CareTeam",
            "Condition",
            "DiagnosticReport",
            "DocumentReference",
            "Encounter",
            "Flag",
            "MedicationRequest",
            "MedicationStatement",
            "Observation",
            "Procedure",
            "RelatedPerson",
            "ServiceRequest",
        ]
    );
    let bundle = Resource::Bundle(Bundle {
        id: Some("search-1".into()),
        type_: "searchset".into(),
        total: Some(entries.len() as u64),
        entry: entries,
        ..Default::default()
    });
    serde_json::to_value(&bundle).unwrap()
}

#[test]
fn every_item_renders_valid_r4() {
    let value = every_item_bundle();
    assert_eq!(value["entry"].as_array().map(Vec::len), Some(3 + 48));
    assert_valid(&value);
}

/// Every object key in `v` that starts with `_` (a primitive's extensions,
/// which is how FHIR JSON writes a value as absent), and every empty
/// string, by JSON path.
fn absent_or_empty(v: &Value, path: &str, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.is_empty() => out.push(format!("{path} is \"\"")),
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                absent_or_empty(x, &format!("{path}[{i}]"), out);
            }
        }
        Value::Object(fields) => {
            for (k, x) in fields {
                if k.starts_with('_') {
                    out.push(format!("{path}.{k}"));
                }
                absent_or_empty(x, &format!("{path}.{k}"), out);
            }
        }
        _ => {}
    }
}

#[test]
fn no_required_element_is_written_as_absent_and_no_string_is_empty() {
    // FHIR clients (fhirclient, FHIR.js) treat a required primitive written
    // as `_status` with a data-absent-reason extension as missing: every
    // required code is a real value, and nothing is an empty string.
    let mut found = Vec::new();
    absent_or_empty(&every_item_bundle(), "Bundle", &mut found);
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn every_item_is_read_by_fhirclient_and_fhir_js() {
    let Some(clients) = icr_testkit::fhir_clients::installed("crates/fhir render_schema") else {
        return;
    };
    let file =
        std::env::temp_dir().join(format!("icr-fhir-every-item-{}.json", std::process::id()));
    std::fs::write(&file, every_item_bundle().to_string()).unwrap();
    let files = [file.clone()];
    let read = clients.fhirclient(&files);
    let validated = clients.fhir_js(&files);
    let _ = std::fs::remove_file(&file);
    assert!(read.ok, "fhirclient:\n{}", read.output);
    assert!(validated.ok, "FHIR.js:\n{}", validated.output);
}

#[test]
fn the_validator_rejects_what_r4_forbids() {
    icr_testkit::require_corpora!(R4Schema);
    // Guard against a test that passes because nothing is checked.
    for bad in [
        json!({"resourceType": "Flag", "status": "active", "subject": {"reference": "Patient/1"}}),
        json!({"resourceType": "Flag", "code": {}, "subject": {}, "status": "unknown"}),
        json!({"resourceType": "Observation", "code": {}, "effectiveDateTime": "2021-02-15T13:50Z"}),
        json!({"resourceType": "Observation", "code": {"text": ""}}),
        json!({"resourceType": "Observation", "code": {}, "madeUp": 1}),
        json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Flag", "code": {}, "subject": {}, "_status": {"madeUp": 1}}}
        ]}),
        json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": {"resourceType": "Appointment", "participant": [{"status": "maybe"}]}}
        ]}),
    ] {
        assert!(!icr_testkit::fhir_r4().is_valid(&bad), "{bad}");
    }
}

#[test]
fn patient_fields() {
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let p = serde_json::to_value(Resource::Patient(render::patient(
        "9990000018",
        nhs,
        &full_demographics(),
    )))
    .unwrap();
    assert_eq!(
        p,
        json!({
            "resourceType": "Patient",
            "meta": {"security": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                "code": "R",
                "display": "restricted"
            }]},
            "id": "9990000018",
            "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": "9990000018"}],
            "name": [
                {"use": "official", "family": "Smith", "given": ["Richard"], "prefix": ["Mr"]},
                {"use": "old", "family": "Smyth"}
            ],
            "telecom": [{"system": "phone", "value": "0113 496 0000", "use": "mobile"}],
            "gender": "male",
            "birthDate": "1970-01-02",
            "deceasedDateTime": "2021-02-15T13:50:00Z",
            "address": [{
                "use": "home",
                "line": ["1 Test Street", "Testville"],
                "city": "Leeds",
                "district": "West Yorkshire",
                "postalCode": "LS1 1AA",
                "country": "GB"
            }],
            "generalPractitioner": [{
                "type": "Organization",
                "identifier": {"system": "https://fhir.nhs.uk/Id/ods-organization-code", "value": "Y12345"}
            }]
        })
    );
}

fn item(id: &str) -> Entry {
    full_items()
        .into_iter()
        .chain(minimal_items())
        .find(|(i, _)| *i == id)
        .map(|(_, e)| e)
        .unwrap()
}

#[test]
fn medication_statement_fields() {
    assert_eq!(
        rendered("m1", &item("medication-statement")),
        json!({
            "resourceType": "MedicationStatement",
            "id": "m1",
            "status": "active",
            "medicationCodeableConcept": {"coding": [{
                "system": "https://dmd.nhs.uk",
                "code": "39732311000001104",
                "display": "Amoxicillin 250mg capsules"
            }]},
            "subject": {"reference": "Patient/9990000018"},
            "effectivePeriod": {"start": "2021-02-01", "end": "2021-02-08"},
            "dateAsserted": "2021-02-01T10:00:00Z",
            "informationSource": {"display": "Dr Paul Rastall"},
            "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "195662009", "display": "Acute viral pharyngitis"}]}],
            "note": [{"text": "Patient advised"}],
            "dosage": [{"text": "One capsule three times a day"}]
        })
    );
    let v = rendered("m3", &item("medication-no-kind"));
    assert_eq!(v["resourceType"], "MedicationStatement");
    assert_eq!(v["status"], "stopped");
    assert_eq!(v["effectiveDateTime"], "2021-02-01");
}

#[test]
fn medication_request_fields() {
    assert_eq!(
        rendered("m2", &item("medication-request")),
        json!({
            "resourceType": "MedicationRequest",
            "id": "m2",
            "status": "draft",
            "intent": "order",
            "medicationCodeableConcept": {"text": "Paracetamol 500mg tablets"},
            "subject": {"reference": "Patient/9990000018"},
            "authoredOn": "2021-03-01T09:30:00Z",
            "requester": {"display": "Dr Sandra Gose"},
            "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "22253000", "display": "Pain"}]}],
            "note": [{"text": "Repeat"}],
            "dosageInstruction": [{"text": "Two tablets four times a day"}],
            "dispenseRequest": {"validityPeriod": {"end": "2021-03-31"}}
        })
    );
}

#[test]
fn allergy_and_condition_statuses_use_hl7_code_systems() {
    let a = rendered("a1", &item("allergy"));
    assert_eq!(
        a["clinicalStatus"],
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical", "code": "active"}]})
    );
    assert_eq!(
        a["verificationStatus"],
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification", "code": "unconfirmed"}]})
    );
    assert_eq!(a["category"], json!(["medication", "food"]));
    assert_eq!(a["criticality"], "high");
    assert_eq!(a["onsetDateTime"], "2010");
    assert_eq!(a["recordedDate"], "2010-06-01");
    assert_eq!(a["patient"], json!({"reference": "Patient/9990000018"}));
    assert_eq!(
        a["reaction"],
        json!([
            {
                "manifestation": [{"coding": [{"system": "http://snomed.info/sct", "code": "247472004", "display": "Weal"}]}],
                "description": "Hives",
                "severity": "moderate"
            },
            {
                "manifestation": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown", "display": "Unknown"}]}],
                "description": "Unspecified reaction"
            }
        ])
    );
    let c = rendered("c1", &item("condition"));
    assert_eq!(
        c["clinicalStatus"],
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "remission"}]})
    );
    assert_eq!(
        c["verificationStatus"],
        json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "differential"}]})
    );
    assert_eq!(c["abatementDateTime"], "2020");
    assert_eq!(c["severity"]["coding"][0]["code"], "24484000");
}

#[test]
fn observation_with_components() {
    assert_eq!(
        rendered("bp", &item("observation-bp")),
        json!({
            "resourceType": "Observation",
            "id": "bp",
            "status": "final",
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs", "display": "Vital Signs"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "75367002", "display": "Blood pressure"}]},
            "subject": {"reference": "Patient/9990000018"},
            "effectiveDateTime": "2021-02-15T13:50:00Z",
            "issued": "2021-02-15T14:00:00.5+01:00",
            "performer": [{"display": "Nurse Jane Test"}],
            "note": [{"text": "Seated, left arm"}],
            "component": [
                {
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "72313002", "display": "Systolic arterial pressure"}]},
                    "valueQuantity": {"value": 120.0, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
                    "interpretation": [{"coding": [{"system": "http://snomed.info/sct", "code": "17621005", "display": "Normal"}]}],
                    "referenceRange": [{
                        "low": {"value": 90.0, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
                        "high": {"value": 140.0, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
                    }]
                },
                {
                    "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1091811000000102", "display": "Diastolic arterial pressure"}]},
                    "valueQuantity": {"value": 80.0, "unit": "mm[Hg]", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"}
                }
            ]
        })
    );
    let k = rendered("k", &item("observation-potassium"));
    assert_eq!(k["status"], "preliminary");
    assert_eq!(
        k["valueQuantity"],
        json!({"value": 5.9, "comparator": ">", "unit": "mmol/L", "system": "http://unitsofmeasure.org", "code": "mmol/L"})
    );
    // reference range bounds are SimpleQuantities: no comparator
    assert_eq!(k["referenceRange"][0]["high"]["comparator"], json!(null));
    assert_eq!(k["referenceRange"][0]["text"], "3.5 - 5.3");
    // a reason for a missing value only when the value is missing (obs-6)
    let both = Entry::Result(TestResult {
        code: sct("1234", "Some test"),
        value: Some(ResultValue::Text("Positive".into())),
        absent_reason: Some(sct("5678", "Not done")),
        ..Default::default()
    });
    let both = rendered("b", &both);
    assert_eq!(both["valueString"], "Positive");
    assert_eq!(both.get("dataAbsentReason"), None);
    assert_eq!(
        rendered("a", &item("observation-absent"))["dataAbsentReason"]["coding"][0]["code"],
        "error"
    );
    let g = rendered("g", &item("observation-group"));
    assert_eq!(g["hasMember"], json!([{"reference": "Observation/gwh-hb"}]));
}

#[test]
fn report_results_are_resolved_references() {
    assert_eq!(
        rendered("r1", &item("report")),
        json!({
            "resourceType": "DiagnosticReport",
            "id": "r1",
            "status": "appended",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "394595002", "display": "Pathology"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "26604007", "display": "Full blood count"}]},
            "subject": {"reference": "Patient/9990000018"},
            "effectiveDateTime": "2021-02-15T08:00:00Z",
            "issued": "2021-02-15T12:00:00Z",
            "performer": [{"display": "Pathology Lab"}],
            "result": [{"reference": "Observation/gwh-hb"}],
            "conclusion": "Normal"
        })
    );
}

#[test]
fn required_values_fall_back_the_fhir_way() {
    let dar_coding = json!({"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown", "display": "Unknown"});
    let dar_ext = json!({"extension": [{"url": "http://hl7.org/fhir/StructureDefinition/data-absent-reason", "valueCode": "unknown"}]});
    let subject = json!({"reference": "Patient/9990000018"});
    assert_eq!(
        rendered("f", &item("min-alert")),
        json!({"resourceType": "Flag", "id": "f", "status": "active", "code": {"coding": [dar_coding]}, "subject": subject})
    );
    assert_eq!(
        rendered("a", &item("min-appointment")),
        json!({
            "resourceType": "Appointment", "id": "a", "status": "pending",
            "participant": [{"actor": {"reference": "Patient/9990000018", "type": "Patient"}, "status": "needs-action"}]
        })
    );
    assert_eq!(
        rendered("e", &item("min-encounter")),
        json!({"resourceType": "Encounter", "id": "e", "status": "unknown", "class": dar_coding, "subject": subject})
    );
    assert_eq!(
        rendered("d", &item("min-document")),
        json!({
            "resourceType": "DocumentReference", "id": "d", "status": "current", "subject": subject,
            "content": [{"attachment": dar_ext}]
        })
    );
    assert_eq!(
        rendered("m", &item("min-medication")),
        json!({"resourceType": "MedicationStatement", "id": "m", "status": "unknown", "medicationCodeableConcept": {"coding": [dar_coding]}, "subject": subject})
    );
    assert_eq!(
        rendered("m", &item("min-prescription")),
        json!({"resourceType": "MedicationRequest", "id": "m", "status": "unknown", "intent": "order", "medicationCodeableConcept": {"coding": [dar_coding]}, "subject": subject})
    );
    assert_eq!(
        rendered("s", &item("min-referral")),
        json!({"resourceType": "ServiceRequest", "id": "s", "status": "unknown", "intent": "order", "subject": subject})
    );
    assert_eq!(
        rendered("o", &item("min-observation")),
        json!({"resourceType": "Observation", "id": "o", "status": "unknown", "code": {"coding": [dar_coding]}, "subject": subject})
    );
    assert_eq!(
        rendered("r", &item("min-report")),
        json!({"resourceType": "DiagnosticReport", "id": "r", "status": "unknown", "code": {"coding": [dar_coding]}, "subject": subject})
    );
    assert_eq!(
        rendered("p", &item("min-procedure")),
        json!({"resourceType": "Procedure", "id": "p", "status": "unknown", "subject": subject})
    );
    assert_eq!(
        rendered("c", &item("min-contact")),
        json!({"resourceType": "RelatedPerson", "id": "c", "patient": subject})
    );
}

#[test]
fn documents_appointments_encounters() {
    assert_eq!(
        rendered("d1", &item("document")),
        json!({
            "resourceType": "DocumentReference",
            "id": "d1",
            "status": "current",
            "type": {"coding": [{"system": "http://snomed.info/sct", "code": "734163000", "display": "Care plan"}]},
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "823691000000103", "display": "Clinical letter"}]}],
            "subject": {"reference": "Patient/9990000018"},
            "date": "2021-02-15T10:00:00Z",
            "author": [{"display": "Dr Paul Rastall"}],
            "description": "Care plan",
            "content": [{"attachment": {
                "contentType": "application/pdf",
                "size": 12345,
                "title": "Care plan.pdf"
            }}, {"attachment": {
                // The plain-text rendition, inline: base64 of
                // "Care plan\nReview in 3 months & re-assess <mobility>."
                "contentType": "text/plain; charset=utf-8",
                "data": "Q2FyZSBwbGFuClJldmlldyBpbiAzIG1vbnRocyAmIHJlLWFzc2VzcyA8bW9iaWxpdHk+Lg==",
                "title": "Plain-text rendition"
            }}]
        })
    );
    let partial = rendered("d2", &item("document-partial-date"));
    assert_eq!(partial["date"], json!(null));
    assert_eq!(
        partial["content"],
        json!([{"attachment": {"contentType": "text/plain", "creation": "2021-02-15"}}])
    );
    let a = rendered("a1", &item("appointment"));
    assert_eq!(a["status"], "booked");
    assert_eq!(a["start"], "2021-06-01T09:00:00+01:00");
    assert_eq!(a["description"], "Hip review");
    assert_eq!(
        a["participant"],
        json!([
            {"actor": {"reference": "Patient/9990000018", "type": "Patient"}, "status": "accepted"},
            {"actor": {"display": "Mr Surgeon"}, "status": "accepted"},
            {"actor": {"type": "Location", "display": "Outpatients 3"}, "status": "accepted"}
        ])
    );
    let a2 = rendered("a2", &item("appointment-encounter-status"));
    assert_eq!(a2["status"], "arrived");
    assert_eq!(a2["start"], json!(null), "a date is not an instant");
    assert_eq!(
        rendered("e1", &item("encounter")),
        json!({
            "resourceType": "Encounter",
            "id": "e1",
            "status": "cancelled",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "IMP", "display": "inpatient encounter"},
            "serviceType": {"coding": [{"system": "http://snomed.info/sct", "code": "394801008", "display": "Trauma and orthopaedics"}]},
            "subject": {"reference": "Patient/9990000018"},
            "participant": [{"individual": {"display": "Mr Surgeon"}}],
            "period": {"start": "2020-05-01", "end": "2020-05-04T12:00:00Z"},
            "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "52734007", "display": "Total hip replacement"}]}],
            "location": [{"location": {"display": "Ward 7"}}]
        })
    );
    assert_eq!(
        rendered("e2", &item("encounter-text-class"))["class"],
        json!({"display": "Day case"})
    );
}

#[test]
fn referral_procedure_flag_contact_careteam() {
    assert_eq!(
        rendered("s1", &item("referral")),
        json!({
            "resourceType": "ServiceRequest",
            "id": "s1",
            "status": "active",
            "intent": "order",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "3457005", "display": "Patient referral"}]}],
            "priority": "urgent",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "73761001", "display": "Colonoscopy"}]},
            "subject": {"reference": "Patient/9990000018"},
            "authoredOn": "2021-01-10",
            "requester": {"display": "Dr Paul Rastall"},
            "performer": [{"display": "Gastroenterology"}],
            "reasonCode": [{"coding": [{"system": "http://snomed.info/sct", "code": "62315008", "display": "Diarrhoea"}]}],
            "note": [{"text": "Two week wait"}]
        })
    );
    let p = rendered("p1", &item("procedure"));
    assert_eq!(p["status"], "completed");
    assert_eq!(
        p["performedPeriod"],
        json!({"start": "2020-05-01T09:00:00Z", "end": "2020-05-01T11:00:00Z"})
    );
    assert_eq!(
        p["performer"],
        json!([{"actor": {"display": "Mr Surgeon"}}])
    );
    assert_eq!(p["outcome"]["coding"][0]["code"], "385669000");
    assert_eq!(
        rendered("p2", &item("procedure-instant"))["performedDateTime"],
        "2020-05"
    );
    assert_eq!(
        rendered("f1", &item("alert")),
        json!({
            "resourceType": "Flag",
            "id": "f1",
            "status": "active",
            "category": [{"coding": [{"system": "http://snomed.info/sct", "code": "safeguarding", "display": "Safeguarding"}]}],
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "225915006", "display": "At risk of harm"}]},
            "subject": {"reference": "Patient/9990000018"},
            "period": {"start": "2021-01-01", "end": "2022"},
            "author": {"display": "Safeguarding team"}
        })
    );
    let c = rendered("rp1", &item("contact"));
    assert_eq!(c["active"], true);
    assert_eq!(c["period"], json!({"start": "2019-04"}));
    assert_eq!(c["name"][0]["text"], "Mrs Joy Anne Smith");
    assert_eq!(c["address"][0].get("use"), None, "mobile is no address use");
    assert_eq!(
        c["telecom"],
        json!([
            {"system": "phone", "value": "0113 496 0000", "use": "mobile"},
            {"system": "email", "value": "joy@example.org"}
        ])
    );
    let t = rendered("ct1", &item("care-team"));
    assert_eq!(t["name"], "Community Mental Health Team");
    assert_eq!(t["status"], "active");
    assert_eq!(
        t["participant"],
        json!([{"role": [{"coding": [{"system": "http://snomed.info/sct", "code": "768832004", "display": "Case manager"}]}], "member": {"display": "Dr Paul Rastall"}}])
    );
    assert_eq!(
        t["managingOrganization"],
        json!([{"display": "Leeds Teaching Hospitals"}])
    );
    assert_eq!(
        t["period"],
        json!({"start": "2020-01-01", "end": "2022-12-31"})
    );
}

#[test]
fn awkward_values_are_cleaned_not_invented() {
    let all = awkward_items();
    let r = rendered("x", &all[0].1);
    assert_eq!(
        r["code"]["coding"],
        json!([{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason", "code": "unknown", "display": "Unknown"}])
    );
    assert_eq!(
        r["category"],
        json!([{"coding": [{"system": "urn:local%20codes", "code": "A 1", "display": "tab\there nbsp"}]}])
    );
    assert_eq!(r.get("effectiveDateTime"), None);
    assert_eq!(r["issued"], "2021-02-14T22:50:00Z");
    assert_eq!(r.get("valueQuantity"), None);
    assert_eq!(r.get("referenceRange"), None);
    assert_eq!(r.get("note"), None);
    assert_eq!(r["component"][0].get("valueRange"), None);
}

#[test]
fn appointment_participants_accept_only_a_confirmed_appointment() {
    // (model status, Appointment.status, every participant's status)
    let table = [
        (None, "pending", "needs-action"),
        (Some(AppointmentStatus::Unknown), "pending", "needs-action"),
        (
            Some(AppointmentStatus::Proposed),
            "proposed",
            "needs-action",
        ),
        (Some(AppointmentStatus::Pending), "pending", "needs-action"),
        (
            Some(AppointmentStatus::Waitlist),
            "waitlist",
            "needs-action",
        ),
        (Some(AppointmentStatus::Booked), "booked", "accepted"),
        (Some(AppointmentStatus::Planned), "booked", "accepted"),
        (Some(AppointmentStatus::Arrived), "arrived", "accepted"),
        (Some(AppointmentStatus::InProgress), "arrived", "accepted"),
        (Some(AppointmentStatus::CheckedIn), "checked-in", "accepted"),
        (Some(AppointmentStatus::Fulfilled), "fulfilled", "accepted"),
        (Some(AppointmentStatus::Finished), "fulfilled", "accepted"),
        (Some(AppointmentStatus::Noshow), "noshow", "accepted"),
        (
            Some(AppointmentStatus::Cancelled),
            "cancelled",
            "needs-action",
        ),
        (
            Some(AppointmentStatus::EnteredInError),
            "entered-in-error",
            "needs-action",
        ),
    ];
    for (status, appointment, participant) in table {
        let a = Entry::Appointment(Appointment {
            kind: Some(AppointmentKind::Appointment),
            status,
            participants: vec!["Dr Jones".into()],
            location: Some("Clinic 2".into()),
            ..Default::default()
        });
        let r = rendered("a", &a);
        assert_valid(&r);
        assert_eq!(r["status"], appointment, "{status:?}");
        let statuses: Vec<&Value> = r["participant"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| &p["status"])
            .collect();
        assert_eq!(statuses, [participant; 3], "{status:?}");
    }
}

#[test]
fn a_documents_source_address_is_never_written() {
    let doc = Entry::Document(Document {
        doc_type: sct("734163000", "Care plan"),
        content: vec![
            Attachment {
                content_type: Some("application/hl7-v3+xml".into()),
                url: Some("http://10.1.2.3:8080/fhir/R4/Binary/34000002".into()),
                size: Some(2048),
                ..Default::default()
            },
            // Nothing but a link: nothing left to show.
            Attachment {
                url: Some("https://documents.example.nhs.uk/letter.pdf".into()),
                ..Default::default()
            },
        ],
        ..Default::default()
    });
    let r = rendered("d", &doc);
    assert_valid(&r);
    let text = r.to_string();
    assert!(
        !text.contains("10.1.2.3") && !text.contains("documents.example"),
        "{text}"
    );
    assert_eq!(
        r["content"],
        json!([{"attachment": {"contentType": "application/hl7-v3+xml", "size": 2048}}])
    );
    // The JSON view (the model serialised) leaves it out too.
    let view = serde_json::to_string(&doc).unwrap();
    assert!(
        !view.contains("10.1.2.3") && !view.contains("url"),
        "{view}"
    );
}
