//! The transform end to end: exact output for a small record, and a
//! property that nothing identifying placed anywhere in a record reaches
//! the serialised output.

use std::collections::BTreeMap;
use std::sync::Arc;

use icr_merge::{Conflict, ConflictValue, MergedItem, MergedPatient, MergedRecord, Warning};
use icr_model::time::{Date, Month, OffsetDateTime};
use icr_model::*;
use icr_pseudonymise::{
    AreaLookup, PostcodeLevel, ProjectKey, Pseudonym, Pseudonymiser, SetupError, Spec,
};
use proptest::prelude::*;

fn day(y: i32, m: u8, d: u8) -> Date {
    Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap()
}

fn key() -> ProjectKey {
    ProjectKey::from_bytes(&[0x42; 32]).unwrap()
}

fn spec(text: &str) -> Spec {
    Spec::from_toml(text).unwrap()
}

fn all_sections(dob: &str, postcode: &str) -> Spec {
    spec(&format!(
        "sections = [\"demographics\", \"contacts\", \"care_team\", \"medications\", \"allergies\", \"conditions\", \"results\", \"documents\", \"procedures\", \"referrals\", \"appointments\", \"alerts\"]\ndate_of_birth = \"{dob}\"\npostcode = \"{postcode}\"\n"
    ))
}

fn meta(id: &str, organisation: &str) -> Arc<SourceMeta> {
    Arc::new(SourceMeta {
        id: SourceId::parse(id).unwrap(),
        organisation: organisation.into(),
        ods_code: OdsCode::parse("RN3").unwrap(),
        system: "EPR".into(),
    })
}

fn snomed(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

fn merged(entry: Entry, provenance: Vec<Provenance>) -> MergedItem {
    MergedItem {
        entry,
        provenance,
        conflicts: Vec::new(),
    }
}

fn record(patient: Demographics, source: &Arc<SourceMeta>, items: Vec<MergedItem>) -> MergedRecord {
    let mut sections: BTreeMap<Section, Vec<MergedItem>> = BTreeMap::new();
    for i in items {
        sections.entry(i.entry.section()).or_default().push(i);
    }
    MergedRecord {
        patient: Some(MergedPatient {
            demographics: patient,
            provenance: vec![source.provenance("Patient/1", None).unwrap()],
        }),
        sections,
        warnings: Vec::new(),
    }
}

fn demographics() -> Demographics {
    Demographics {
        nhs_number: Some(NhsNumber::parse("9434765919").unwrap()),
        names: vec![HumanName {
            given: vec!["Ann".into()],
            family: Some("Smith".into()),
            ..Default::default()
        }],
        birth_date: Some(PartialDateTime::Date(day(1950, 3, 4))),
        gender: Some(Gender::Female),
        addresses: vec![Address {
            use_: Some(ContactUse::Home),
            lines: vec!["1 High Street".into()],
            city: Some("Chippenham".into()),
            postcode: Some("SN15 3JD".into()),
            ..Default::default()
        }],
        telecom: vec![Telecom {
            system: TelecomSystem::Phone,
            value: "01249 123456".into(),
            use_: None,
        }],
        registered_practice: Some(OdsCode::parse("J83001").unwrap()),
        ..Default::default()
    }
}

/// The whole output for a small record, byte for byte.
#[test]
fn a_small_record_exactly() {
    let key = key();
    let src = meta("gwh", "Great Western Hospitals");
    let nhs = NhsNumber::parse("9434765919").unwrap();
    let condition = merged(
        Entry::Condition(Condition {
            code: Concept {
                codings: vec![
                    Coding::new(CodeSystem::Snomed, "44054006", "Diabetes mellitus type 2"),
                    Coding::new(CodeSystem::Other("urn:local".into()), "DM2", "Local"),
                ],
                text: Some("T2DM, lives alone".into()),
            },
            clinical_status: Some(ConditionClinicalStatus::Active),
            onset: Some(PartialDateTime::Date(day(2019, 5, 1))),
            notes: vec!["Ann's daughter helps".into()],
            ..Default::default()
        }),
        vec![src.provenance("Condition/7", None).unwrap()],
    );
    let result = merged(
        Entry::Result(TestResult {
            kind: Some(ResultKind::Observation),
            code: Concept::coded(Coding::new(CodeSystem::Loinc, "2823-3", "Potassium")),
            status: Some(ResultStatus::Final),
            effective: Some(PartialDateTime::Date(day(2024, 3, 4))),
            value: Some(ResultValue::Quantity(Quantity {
                value: Some(4.1),
                comparator: None,
                unit: Some("mmol/L".into()),
                code: Some("mmol/L".into()),
            })),
            performer: Some("Dr Jones".into()),
            ..Default::default()
        }),
        vec![src.provenance("Observation/9", None).unwrap()],
    );
    let rec = record(demographics(), &src, vec![condition, result]);
    let spec = all_sections("month_year", "district");
    let p = Pseudonymiser::new(&key, &spec, day(2026, 12, 7), None).unwrap();
    let json = serde_json::to_string(&p.pseudonymise(nhs, &rec)).unwrap();
    let person = Pseudonym::person(&key, nhs);
    let gwh = SourceId::parse("gwh").unwrap();
    let c7 = Pseudonym::record(&key, &gwh, "Condition/7");
    let o9 = Pseudonym::record(&key, &gwh, "Observation/9");
    assert_eq!(
        json,
        format!(
            concat!(
                r#"{{"person":{{"person_id":"{person}","year_of_birth":1950,"month_of_birth":3,"age_band":"75-79","#,
                r#""gender":"female","postcode_district":"SN15","registered_practice":"J83001"}},"#,
                r#""items":[{{"sources":[{{"source":"gwh","ods_code":"RN3","record_id":"{c7}"}}],"#,
                r#""section":"conditions","code":[{{"system":"http://snomed.info/sct","code":"44054006"}}],"#,
                r#""clinical_status":"active","onset":"2019-05-01"}},"#,
                r#"{{"sources":[{{"source":"gwh","ods_code":"RN3","record_id":"{o9}"}}],"#,
                r#""section":"results","kind":"observation","code":[{{"system":"http://loinc.org","code":"2823-3"}}],"#,
                r#""status":"final","effective":"2024-03-04","value":{{"quantity":{{"value":4.1,"unit":"mmol/L","unit_code":"mmol/L"}}}}}}]}}"#
            ),
            person = person,
            c7 = c7,
            o9 = o9
        )
    );
}

#[test]
fn age_bands_areas_and_sensitive_people() {
    let key = key();
    let src = meta("gwh", "GWH");
    let nhs = NhsNumber::parse("9434765919").unwrap();
    let rec = record(demographics(), &src, Vec::new());
    let today = day(2026, 12, 7);

    let banded = all_sections("age_band", "area");
    assert_eq!(
        Pseudonymiser::new(&key, &banded, today, None).unwrap_err(),
        SetupError::NoAreaLookup
    );
    let lookup = AreaLookup::from_pairs([("SN15", "E02006695")]).unwrap();
    let p = Pseudonymiser::new(&key, &banded, today, Some(&lookup)).unwrap();
    let out = p.pseudonymise(nhs, &rec);
    assert_eq!(
        out.person.age_band.map(|b| b.to_string()),
        Some("75-79".into())
    );
    assert_eq!(out.person.year_of_birth, None);
    assert_eq!(out.person.month_of_birth, None);
    assert_eq!(
        out.person.area.as_ref().map(|a| a.as_str()),
        Some("E02006695")
    );
    assert_eq!(out.person.postcode_district, None);

    // A district the lookup lacks gives no area, never the district.
    let other = AreaLookup::from_pairs([("BA1", "E02003012")]).unwrap();
    let p = Pseudonymiser::new(&key, &banded, today, Some(&other)).unwrap();
    let out = p.pseudonymise(nhs, &rec);
    assert_eq!(out.person.area, None);
    assert_eq!(out.person.postcode_district, None);

    // Sensitive: neither area nor practice.
    let mut sensitive = demographics();
    sensitive.sensitive = true;
    let rec = record(sensitive, &src, Vec::new());
    let spec = all_sections("month_year", "district");
    let p = Pseudonymiser::new(&key, &spec, today, None).unwrap();
    let out = p.pseudonymise(nhs, &rec);
    assert_eq!(out.person.postcode_district, None);
    assert_eq!(out.person.registered_practice, None);
    assert_eq!(out.person.year_of_birth, Some(1950));
    // With month and year of birth, the band they imply (no finer).
    assert_eq!(
        out.person.age_band.map(|b| b.to_string()),
        Some("75-79".into())
    );

    // In the month a band changes, month and year imply none: no band.
    let mut boundary = demographics();
    boundary.birth_date = Some(PartialDateTime::Date(day(1951, 12, 20)));
    let rec = record(boundary, &src, Vec::new());
    let out = p.pseudonymise(nhs, &rec);
    assert_eq!(
        (out.person.year_of_birth, out.person.month_of_birth),
        (Some(1951), Some(12))
    );
    assert_eq!(out.person.age_band, None);

    // Postcode level none.
    let none = spec_with(PostcodeLevel::None);
    let p = Pseudonymiser::new(&key, &none, today, None).unwrap();
    let rec = record(demographics(), &src, Vec::new());
    assert_eq!(p.pseudonymise(nhs, &rec).person.postcode_district, None);
}

fn spec_with(postcode: PostcodeLevel) -> Spec {
    let mut s = all_sections("month_year", "district");
    s.postcode = postcode;
    s
}

#[test]
fn sections_not_allowed_and_restricted_items_are_dropped() {
    let key = key();
    let src = meta("gwh", "GWH");
    let nhs = NhsNumber::parse("9434765919").unwrap();
    let mut restricted = src.provenance("Condition/2", None).unwrap();
    restricted.restricted = true;
    let items = vec![
        merged(
            Entry::Condition(Condition {
                code: snomed("44054006", "Diabetes"),
                ..Default::default()
            }),
            vec![src.provenance("Condition/1", None).unwrap()],
        ),
        merged(
            Entry::Condition(Condition {
                code: snomed("35489007", "Depression"),
                ..Default::default()
            }),
            vec![restricted],
        ),
        merged(
            Entry::Alert(Alert {
                code: snomed("225915006", "Safeguarding"),
                ..Default::default()
            }),
            vec![src.provenance("Flag/1", None).unwrap()],
        ),
    ];
    let rec = record(demographics(), &src, items);
    let today = day(2026, 12, 7);
    let only_conditions = spec(
        "sections = [\"conditions\"]\ndate_of_birth = \"month_year\"\npostcode = \"district\"\n",
    );
    let p = Pseudonymiser::new(&key, &only_conditions, today, None).unwrap();
    let out = p.pseudonymise(nhs, &rec);
    let json = serde_json::to_string(&out).unwrap();
    assert_eq!(out.items.len(), 1, "{json}");
    assert!(json.contains("44054006"));
    assert!(!json.contains("35489007"));
    assert!(!json.contains("225915006"));
    // No demographics allowed: the pseudonym alone.
    assert_eq!(
        serde_json::to_value(&out.person).unwrap(),
        serde_json::json!({ "person_id": Pseudonym::person(&key, nhs).as_str() })
    );

    let mut with_restricted = only_conditions.clone();
    with_restricted.restricted_items = true;
    let p = Pseudonymiser::new(&key, &with_restricted, today, None).unwrap();
    assert_eq!(p.pseudonymise(nhs, &rec).items.len(), 2);
}

#[test]
fn events_on_the_birthday_keep_only_their_month() {
    let key = key();
    let src = meta("gwh", "GWH");
    let nhs = NhsNumber::parse("9434765919").unwrap();
    let at_birth: OffsetDateTime =
        day(1948, 3, 4).midnight().assume_utc() + icr_model::time::Duration::hours(1);
    let mut d = demographics();
    d.birth_date = Some(PartialDateTime::Date(day(1948, 3, 4)));
    let items = vec![merged(
        Entry::Procedure(Procedure {
            code: snomed("236973005", "Delivery procedure"),
            performed: Some(PartialDateTime::DateTime(at_birth)),
            performed_end: Some(PartialDateTime::Date(day(1948, 3, 5))),
            ..Default::default()
        }),
        vec![src.provenance("Procedure/1", None).unwrap()],
    )];
    let rec = record(d, &src, items);
    let spec = all_sections("age_band", "none");
    let p = Pseudonymiser::new(&key, &spec, day(2026, 12, 7), None).unwrap();
    let json = serde_json::to_string(&p.pseudonymise(nhs, &rec)).unwrap();
    assert!(json.contains(r#""performed":"1948-03","#), "{json}");
    assert!(json.contains(r#""performed_end":"1948-03-05""#), "{json}");
    assert!(!json.contains("1948-03-04"), "{json}");
}

#[test]
fn report_members_and_merged_sources_are_pseudonyms() {
    let key = key();
    let a = meta("gwh", "GWH");
    let b = meta("ruh", "RUH");
    let nhs = NhsNumber::parse("9434765919").unwrap();
    let gwh = SourceId::parse("gwh").unwrap();
    let mut item = merged(
        Entry::Result(TestResult {
            kind: Some(ResultKind::Report),
            code: snomed("26604007", "Full blood count"),
            members: vec![RecordId::new(gwh.clone(), "Observation/5").unwrap()],
            conclusion: Some("Normal".into()),
            ..Default::default()
        }),
        vec![
            a.provenance("DiagnosticReport/1", None).unwrap(),
            b.provenance("DiagnosticReport/1", None).unwrap(),
        ],
    );
    item.conflicts = vec![Conflict {
        field: "conclusion".into(),
        values: vec![ConflictValue {
            sources: vec![gwh.clone()],
            value: Some(serde_json::json!("Normal")),
        }],
    }];
    let rec = record(demographics(), &a, vec![item]);
    let spec = all_sections("month_year", "district");
    let p = Pseudonymiser::new(&key, &spec, day(2026, 12, 7), None).unwrap();
    let out = p.pseudonymise(nhs, &rec);
    let item = &out.items[0];
    assert!(item.sources_differ);
    let ids: Vec<&str> = item.sources.iter().map(|s| s.record_id.as_str()).collect();
    let ruh = SourceId::parse("ruh").unwrap();
    assert_eq!(
        ids,
        [
            Pseudonym::record(&key, &gwh, "DiagnosticReport/1").as_str(),
            Pseudonym::record(&key, &ruh, "DiagnosticReport/1").as_str()
        ]
    );
    let json = serde_json::to_string(&out).unwrap();
    assert!(json.contains(Pseudonym::record(&key, &gwh, "Observation/5").as_str()));
    assert!(!json.contains("Normal"), "{json}");
    assert!(!json.contains("conclusion"), "{json}");
}

// ---- the property ----

/// Every string a record could identify someone by, placed somewhere.
#[derive(Debug, Clone)]
struct Secrets {
    nhs: NhsNumber,
    dob: Date,
    postcode: String,
    texts: Vec<String>,
    local_ids: Vec<String>,
    phone: String,
    email: String,
    event: Date,
}

fn secrets() -> impl Strategy<Value = Secrets> {
    // Free text always has an upper-case letter before a space, which no
    // part of the output's own vocabulary (keys, codes, statuses, dates,
    // hex, ODS codes, districts) has, so a hit is a leak.
    let text = "[A-Z][\\PC&&\\S]{2,12} \\PC{0,30}";
    (
        (1u32..999_999_999).prop_filter_map("check digit 10", NhsNumber::from_first_nine),
        (1900i32..2026, 1u8..=12, 1u8..=28),
        "[A-Z]{1,2}[0-9]{1,2} [0-9][ABD-HJLNP-UW-Z]{2}",
        prop::collection::vec(text, 12),
        prop::collection::vec("[A-Z][a-z]{2,12}/[0-9a-f\\-]{4,20}", 12),
        "0[0-9]{4} [0-9]{6}",
        "[a-z]{3,8}\\.[a-z]{3,8}@[a-z]{3,8}\\.nhs\\.net",
        (1900i32..2026, 1u8..=12, 1u8..=28),
    )
        .prop_map(
            |(nhs, (y, m, d), postcode, texts, local_ids, phone, email, (ey, em, ed))| Secrets {
                nhs,
                dob: day(y, m, d),
                postcode,
                texts,
                local_ids,
                phone,
                email,
                event: day(ey, em, ed),
            },
        )
}

fn name(s: &Secrets, i: usize) -> HumanName {
    HumanName {
        use_: Some(NameUse::Official),
        prefix: vec![s.texts[i % 12].clone()],
        given: vec![s.texts[(i + 1) % 12].clone()],
        family: Some(s.texts[(i + 2) % 12].clone()),
        text: Some(s.texts[(i + 3) % 12].clone()),
    }
}

fn address(s: &Secrets) -> Address {
    Address {
        use_: Some(ContactUse::Home),
        lines: vec![s.texts[0].clone(), s.texts[1].clone()],
        city: Some(s.texts[2].clone()),
        district: Some(s.texts[3].clone()),
        postcode: Some(s.postcode.clone()),
        country: Some(s.texts[4].clone()),
    }
}

fn telecom(s: &Secrets) -> Vec<Telecom> {
    vec![
        Telecom {
            system: TelecomSystem::Phone,
            value: s.phone.clone(),
            use_: Some(ContactUse::Mobile),
        },
        Telecom {
            system: TelecomSystem::Email,
            value: s.email.clone(),
            use_: None,
        },
    ]
}

/// A concept whose national coding is kept and whose display, text and
/// local coding carry secrets.
fn concept(s: &Secrets, i: usize) -> Concept {
    Concept {
        codings: vec![
            Coding::new(CodeSystem::Snomed, "44054006", s.texts[i % 12].clone()),
            Coding::new(
                CodeSystem::Other("urn:local".into()),
                s.texts[(i + 1) % 12].clone(),
                s.texts[(i + 2) % 12].clone(),
            ),
            // An identifier misfiled as a code.
            Coding::new(CodeSystem::Snomed, s.nhs.as_str(), "NHS number"),
        ],
        text: Some(s.texts[(i + 3) % 12].clone()),
    }
}

fn entries(s: &Secrets) -> Vec<Entry> {
    let t = |i: usize| s.texts[i % 12].clone();
    let when = Some(PartialDateTime::Date(s.event));
    let on_birthday = Some(PartialDateTime::Date(s.dob));
    let qty = Quantity {
        value: Some(1.0),
        comparator: Some(t(5)),
        unit: Some(t(6)),
        code: Some(t(7)),
    };
    vec![
        Entry::Contact(Contact {
            name: name(s, 4),
            relationship: vec![concept(s, 1)],
            telecom: telecom(s),
            address: Some(address(s)),
            active: Some(true),
            period_start: when,
        }),
        Entry::CareTeam(CareTeam {
            name: Some(t(1)),
            status: Some(CareTeamStatus::Active),
            category: vec![concept(s, 2)],
            period_start: when,
            period_end: on_birthday,
            participants: vec![CareTeamMember {
                roles: vec![concept(s, 3)],
                name: Some(t(2)),
            }],
            managing_organisations: vec![t(3)],
            telecom: telecom(s),
        }),
        Entry::Medication(Medication {
            medication: concept(s, 4),
            kind: Some(MedicationKind::Prescription),
            status: Some(MedicationStatus::Active),
            dosage: Some(t(4)),
            start: when,
            end: on_birthday,
            recorded: when,
            reasons: vec![concept(s, 5)],
            prescriber: Some(t(5)),
            notes: vec![t(6)],
        }),
        Entry::Allergy(Allergy {
            code: concept(s, 6),
            reactions: vec![Reaction {
                manifestations: vec![concept(s, 7)],
                severity: Some(Severity::Severe),
                description: Some(t(7)),
            }],
            onset: on_birthday,
            notes: vec![t(8)],
            ..Default::default()
        }),
        Entry::Condition(Condition {
            code: concept(s, 8),
            category: vec![concept(s, 9)],
            severity: Some(concept(s, 10)),
            onset: when,
            abatement: on_birthday,
            notes: vec![t(9)],
            ..Default::default()
        }),
        Entry::Result(TestResult {
            code: concept(s, 9),
            effective: on_birthday,
            value: Some(ResultValue::Text(t(10))),
            absent_reason: Some(concept(s, 10)),
            interpretation: vec![concept(s, 11)],
            reference_range: vec![ReferenceRange {
                low: Some(qty.clone()),
                high: None,
                text: Some(t(11)),
            }],
            components: vec![ResultComponent {
                code: concept(s, 0),
                value: Some(ResultValue::Coded(concept(s, 1))),
                interpretation: Vec::new(),
                reference_range: Vec::new(),
            }],
            conclusion: Some(t(0)),
            members: vec![
                RecordId::new(SourceId::parse("gwh").unwrap(), &s.local_ids[11]).unwrap(),
            ],
            performer: Some(t(1)),
            notes: vec![t(2)],
            ..Default::default()
        }),
        Entry::Result(TestResult {
            code: concept(s, 2),
            effective: Some(PartialDateTime::DateTime(
                s.dob.midnight().assume_utc() + icr_model::time::Duration::hours(9),
            )),
            value: Some(ResultValue::Quantity(qty)),
            components: vec![ResultComponent {
                code: concept(s, 3),
                // An identifier recorded as a number.
                value: Some(ResultValue::Integer(s.nhs.as_str().parse().unwrap())),
                interpretation: Vec::new(),
                reference_range: Vec::new(),
            }],
            ..Default::default()
        }),
        Entry::Document(Document {
            doc_type: concept(s, 3),
            category: vec![concept(s, 4)],
            title: Some(t(3)),
            date: when,
            authors: vec![t(4)],
            content: vec![Attachment {
                content_type: Some(t(5)),
                url: Some(t(6)),
                title: Some(t(7)),
                size: Some(1234),
                inline_content_omitted: true,
            }],
            text: Some(t(8)),
            care_plan: Some(CarePlan {
                status: Some(RequestStatus::Active),
                period_start: on_birthday,
                period_end: when,
                activities: vec![t(9)],
            }),
            ..Default::default()
        }),
        Entry::Procedure(Procedure {
            code: concept(s, 5),
            performed: on_birthday,
            body_site: vec![concept(s, 6)],
            outcome: Some(concept(s, 7)),
            performers: vec![t(10)],
            notes: vec![t(11)],
            immunisation: Some(Immunisation {
                vaccine: concept(s, 8),
                dose: Some(t(0)),
                lot_number: Some(t(1)),
                reason_not_given: Some(concept(s, 9)),
            }),
            ..Default::default()
        }),
        Entry::Referral(Referral {
            code: concept(s, 10),
            category: vec![concept(s, 11)],
            authored: when,
            requester: Some(t(2)),
            performers: vec![t(3)],
            reasons: vec![concept(s, 0)],
            notes: vec![t(4)],
            ..Default::default()
        }),
        Entry::Appointment(Appointment {
            class: Some(concept(s, 1)),
            service_type: vec![concept(s, 2)],
            description: Some(t(5)),
            start: on_birthday,
            end: when,
            location: Some(t(6)),
            participants: vec![t(7)],
            reasons: vec![concept(s, 3)],
            ..Default::default()
        }),
        Entry::Alert(Alert {
            code: concept(s, 4),
            category: vec![concept(s, 5)],
            period_start: when,
            period_end: on_birthday,
            author: Some(t(8)),
            ..Default::default()
        }),
    ]
}

fn secret_record(s: &Secrets) -> MergedRecord {
    let src = meta("gwh", &s.texts[9]);
    let demographics = Demographics {
        nhs_number: Some(s.nhs),
        names: vec![name(s, 0)],
        birth_date: Some(PartialDateTime::Date(s.dob)),
        gender: Some(Gender::Male),
        addresses: vec![address(s)],
        telecom: telecom(s),
        deceased: None,
        registered_practice: Some(OdsCode::parse("J83001").unwrap()),
        sensitive: false,
    };
    let items = entries(s)
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let mut item = merged(entry, vec![src.provenance(&s.local_ids[i], None).unwrap()]);
            item.conflicts = vec![Conflict {
                field: s.texts[i % 12].clone(),
                values: vec![ConflictValue {
                    sources: vec![src.id.clone()],
                    value: Some(serde_json::json!(s.texts[(i + 1) % 12])),
                }],
            }];
            item
        })
        .collect();
    let mut rec = record(demographics, &src, items);
    rec.warnings = vec![Warning {
        code: "demographics-differ",
        message: s.texts[10].clone(),
        sources: Vec::new(),
    }];
    rec
}

/// Every form a secret could be written in: as is, JSON-escaped, and for
/// the postcode and NHS number their other spellings.
fn forbidden(s: &Secrets) -> Vec<String> {
    let mut out: Vec<String> = s.texts.clone();
    out.extend(s.local_ids.iter().cloned());
    out.extend(s.local_ids.iter().map(|l| format!("gwh:{l}")));
    out.push(s.nhs.as_str().to_string());
    out.push(s.nhs.formatted());
    out.push(s.dob.to_string());
    out.push(format!(
        "{:04}-{:02}-{:02}",
        s.dob.year(),
        s.dob.month() as u8,
        s.dob.day()
    ));
    out.push(s.postcode.clone());
    out.push(s.postcode.replace(' ', ""));
    out.push(s.phone.clone());
    out.push(s.email.clone());
    let escaped: Vec<String> = out
        .iter()
        .map(|t| {
            serde_json::to_string(t)
                .unwrap()
                .trim_matches('"')
                .to_string()
        })
        .collect();
    out.extend(escaped);
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nothing_identifying_reaches_the_output(s in secrets(), banded in any::<bool>()) {
        let key = key();
        let spec = all_sections(if banded { "age_band" } else { "month_year" }, "district");
        let p = Pseudonymiser::new(&key, &spec, day(2026, 12, 7), None).unwrap();
        let out = p.pseudonymise(s.nhs, &secret_record(&s));
        // Every section came through (none was silently dropped).
        prop_assert_eq!(out.items.len(), 12);
        let json = serde_json::to_string(&out).unwrap();
        for f in forbidden(&s) {
            prop_assert!(!json.contains(&f), "{:?} leaked into {}", f, json);
        }
    }
}
