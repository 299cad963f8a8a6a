//! Merge behaviour on hand-built records, and its properties on generated ones.

use std::sync::Arc;

use icr_merge::{merge, testdata::meta};
use icr_model::time::{Date, Month, OffsetDateTime};
use icr_model::*;
use proptest::prelude::*;
use serde_json::json;

fn snomed(code: &str, display: &str) -> Concept {
    Concept::coded(Coding::new(CodeSystem::Snomed, code, display))
}

fn day(y: i32, m: u8, d: u8) -> PartialDateTime {
    PartialDateTime::Date(Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap())
}

fn item(meta: &Arc<SourceMeta>, id: &str, updated: Option<i64>, entry: Entry) -> Item {
    Item {
        entry,
        provenance: meta
            .provenance(
                id,
                updated.map(|t| OffsetDateTime::from_unix_timestamp(t).unwrap()),
            )
            .unwrap(),
    }
}

fn allergy(status: AllergyClinicalStatus, recorded: PartialDateTime) -> Entry {
    Entry::Allergy(Allergy {
        code: snomed("91936005", "Allergy to penicillin"),
        clinical_status: Some(status),
        recorded: Some(recorded),
        ..Default::default()
    })
}

#[test]
fn same_fact_from_three_sources_is_one_item_with_three_provenances() {
    let (a, b, c) = (meta("gwh"), meta("ruh"), meta("sft"));
    let d = day(2019, 4, 2);
    let records = [
        SourceRecord {
            items: vec![item(
                &a,
                "AllergyIntolerance/1",
                Some(100),
                allergy(AllergyClinicalStatus::Active, d),
            )],
            ..Default::default()
        },
        SourceRecord {
            items: vec![item(
                &b,
                "AllergyIntolerance/9",
                Some(300),
                allergy(AllergyClinicalStatus::Active, d),
            )],
            ..Default::default()
        },
        SourceRecord {
            items: vec![item(
                &c,
                "AllergyIntolerance/x",
                None,
                allergy(AllergyClinicalStatus::Active, d),
            )],
            ..Default::default()
        },
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = merge(&refs, SectionSet::all());
    let allergies = &view.sections[&Section::Allergies];
    assert_eq!(allergies.len(), 1);
    let ids: Vec<String> = allergies[0]
        .provenance
        .iter()
        .map(|p| p.record.to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "gwh:AllergyIntolerance/1",
            "ruh:AllergyIntolerance/9",
            "sft:AllergyIntolerance/x"
        ]
    );
    assert!(allergies[0].conflicts.is_empty());
    // Every requested section is present, even when empty.
    assert_eq!(
        view.sections.len(),
        11,
        "demographics is the patient, not a section"
    );
    assert!(view.sections[&Section::Medications].is_empty());
}

#[test]
fn differing_copies_show_a_conflict_and_the_latest_copy() {
    let (a, b) = (meta("gwh"), meta("ruh"));
    let d = day(2019, 4, 2);
    let records = [
        SourceRecord {
            items: vec![item(
                &a,
                "A/1",
                Some(100),
                allergy(AllergyClinicalStatus::Active, d),
            )],
            ..Default::default()
        },
        SourceRecord {
            items: vec![item(
                &b,
                "A/2",
                Some(200),
                allergy(AllergyClinicalStatus::Resolved, d),
            )],
            ..Default::default()
        },
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = merge(&refs, SectionSet::parse_list("allergies").unwrap());
    let merged = &view.sections[&Section::Allergies][0];
    let json = serde_json::to_value(merged).unwrap();
    assert_eq!(
        json["clinical_status"], "resolved",
        "the most recently updated copy is shown"
    );
    assert_eq!(
        json["conflicts"],
        json!([{"field": "clinical_status", "values": [
            {"sources": ["gwh"], "value": "active"},
            {"sources": ["ruh"], "value": "resolved"}
        ]}])
    );
    assert_eq!(json["provenance"][0]["source"], "gwh");
    assert_eq!(json["provenance"][0]["organisation"], "Organisation gwh");
    assert_eq!(json["provenance"][0]["ods_code"], "RN3");
    assert_eq!(json["provenance"][0]["system"], "test");
    assert_eq!(json["provenance"][0]["source_id"], "gwh:A/1");
    assert_eq!(
        json["provenance"][0]["last_updated"],
        "1970-01-01T00:01:40Z"
    );
}

#[test]
fn different_dates_or_codes_or_precision_stay_apart() {
    let a = meta("gwh");
    let entries = [
        allergy(AllergyClinicalStatus::Active, day(2019, 4, 2)),
        allergy(AllergyClinicalStatus::Active, day(2019, 4, 3)),
        allergy(
            AllergyClinicalStatus::Active,
            PartialDateTime::YearMonth(2019, Month::April),
        ),
        Entry::Allergy(Allergy {
            code: snomed("300913006", "Shellfish allergy"),
            recorded: Some(day(2019, 4, 2)),
            ..Default::default()
        }),
        // text only: never merged with anything
        Entry::Allergy(Allergy {
            code: Concept::text("penicillin"),
            recorded: Some(day(2019, 4, 2)),
            ..Default::default()
        }),
        Entry::Allergy(Allergy {
            code: Concept::text("penicillin"),
            recorded: Some(day(2019, 4, 2)),
            ..Default::default()
        }),
    ];
    let record = SourceRecord {
        items: entries
            .iter()
            .enumerate()
            .map(|(i, e)| item(&a, &format!("A/{i}"), None, e.clone()))
            .collect(),
        ..Default::default()
    };
    let view = merge(&[&record], SectionSet::all());
    assert_eq!(view.sections[&Section::Allergies].len(), 6);
}

#[test]
fn sections_are_most_recent_first_undated_last() {
    let a = meta("gwh");
    let cond = |code: &str, onset: Option<PartialDateTime>| {
        Entry::Condition(Condition {
            code: snomed(code, code),
            onset,
            ..Default::default()
        })
    };
    let record = SourceRecord {
        items: vec![
            item(&a, "C/1", None, cond("1", Some(day(2010, 1, 1)))),
            item(&a, "C/2", None, cond("2", None)),
            item(&a, "C/3", None, cond("3", Some(day(2020, 1, 1)))),
            item(
                &a,
                "C/4",
                None,
                cond("4", Some(PartialDateTime::Year(2015))),
            ),
        ],
        ..Default::default()
    };
    let view = merge(&[&record], SectionSet::parse_list("conditions").unwrap());
    let order: Vec<&str> = view.sections[&Section::Conditions]
        .iter()
        .map(|m| m.provenance[0].record.local())
        .collect();
    assert_eq!(order, ["C/3", "C/4", "C/1", "C/2"]);
    assert_eq!(view.sections.len(), 1, "only requested sections");
}

#[test]
fn demographics_disagreements_become_warnings() {
    let (a, b) = (meta("gwh"), meta("ruh"));
    let person = |dob: PartialDateTime, postcode: &str, family: &str| Demographics {
        nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
        names: vec![HumanName {
            given: vec!["Ada".into()],
            family: Some(family.into()),
            ..Default::default()
        }],
        birth_date: Some(dob),
        addresses: vec![Address {
            postcode: Some(postcode.into()),
            ..Default::default()
        }],
        ..Default::default()
    };
    let records = [
        SourceRecord {
            patient: Some(PatientRecord {
                demographics: person(day(1950, 3, 2), "SN1 1AA", "Lovelace"),
                provenance: a
                    .provenance(
                        "Patient/1",
                        Some(OffsetDateTime::from_unix_timestamp(200).unwrap()),
                    )
                    .unwrap(),
            }),
            ..Default::default()
        },
        SourceRecord {
            patient: Some(PatientRecord {
                demographics: person(day(1950, 3, 20), "sn11aa", "LOVELACE"),
                provenance: b
                    .provenance(
                        "Patient/2",
                        Some(OffsetDateTime::from_unix_timestamp(100).unwrap()),
                    )
                    .unwrap(),
            }),
            ..Default::default()
        },
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = merge(&refs, SectionSet::all());
    let patient = view.patient.unwrap();
    assert_eq!(
        patient.demographics.birth_date,
        Some(day(1950, 3, 2)),
        "most recently updated copy shown"
    );
    assert_eq!(patient.provenance.len(), 2);
    assert_eq!(view.warnings.len(), 1, "{:?}", view.warnings);
    assert_eq!(view.warnings[0].code, "demographics-differ");
    assert_eq!(
        view.warnings[0].message,
        "Date of birth differs between sources: Organisation gwh (gwh) has 1950-03-02; Organisation ruh (ruh) has 1950-03-20"
    );
}

// ---- properties ----

fn arb_record_set() -> impl Strategy<Value = Vec<SourceRecord>> {
    // Small pools of codes, dates and statuses, so that duplicates and
    // conflicts happen often.
    let entry = (0u8..4, 0u8..3, 0u8..3, 0u8..3).prop_map(|(code, date, status, kind)| {
        let code = snomed(&format!("1{code}"), "x");
        let date = match date {
            0 => None,
            1 => Some(day(2020, 1, 1)),
            _ => Some(PartialDateTime::Year(2020)),
        };
        match kind {
            0 => Entry::Condition(Condition {
                code,
                onset: date,
                clinical_status: ConditionClinicalStatus::ALL.get(status as usize).copied(),
                ..Default::default()
            }),
            1 => Entry::Medication(Medication {
                medication: code,
                start: date,
                status: MedicationStatus::ALL.get(status as usize).copied(),
                ..Default::default()
            }),
            _ => Entry::CareTeam(CareTeam {
                name: Some(format!("team {status}")),
                ..Default::default()
            }),
        }
    });
    let source_items = proptest::collection::vec((entry, proptest::option::of(0i64..3)), 0..12);
    proptest::collection::vec(source_items, 1..4).prop_map(|sources| {
        sources
            .into_iter()
            .enumerate()
            .map(|(s, items)| {
                let m = meta(&format!("s{s}"));
                SourceRecord {
                    items: items
                        .into_iter()
                        .enumerate()
                        .map(|(i, (entry, updated))| item(&m, &format!("R/{i}"), updated, entry))
                        .collect(),
                    ..Default::default()
                }
            })
            .collect()
    })
}

fn view_json(records: &[SourceRecord]) -> serde_json::Value {
    let refs: Vec<_> = records.iter().collect();
    serde_json::to_value(merge(&refs, SectionSet::all())).unwrap()
}

proptest! {
    #[test]
    fn order_of_sources_and_items_does_not_matter(records in arb_record_set(), seed in any::<u64>()) {
        let mut shuffled = records.clone();
        shuffled.reverse();
        for (i, r) in shuffled.iter_mut().enumerate() {
            let n = r.items.len();
            if n > 1 {
                r.items.rotate_left((seed as usize + i) % n);
                r.items.reverse();
            }
        }
        prop_assert_eq!(view_json(&records), view_json(&shuffled));
    }

    #[test]
    fn merging_twice_the_same_input_changes_nothing(records in arb_record_set()) {
        let mut doubled = records.clone();
        doubled.extend(records.iter().cloned());
        prop_assert_eq!(view_json(&records), view_json(&doubled));
    }

    #[test]
    fn no_item_is_lost_and_merged_items_share_a_key(records in arb_record_set()) {
        let refs: Vec<_> = records.iter().collect();
        let view = merge(&refs, SectionSet::all());
        let mut input: Vec<String> = records.iter().flat_map(|r| r.items.iter().map(|i| i.provenance.record.to_string())).collect();
        let mut output: Vec<String> = view.sections.values().flatten().flat_map(|m| m.provenance.iter().map(|p| p.record.to_string())).collect();
        input.sort();
        output.sort();
        prop_assert_eq!(input, output);
        let all_items: Vec<&Item> = records.iter().flat_map(|r| r.items.iter()).collect();
        for merged in view.sections.values().flatten() {
            let keys: Vec<_> = merged.provenance.iter().map(|p| {
                let it = all_items.iter().find(|i| i.provenance.record == p.record).unwrap();
                icr_merge::key(&it.entry)
            }).collect();
            if keys.len() > 1 {
                prop_assert!(keys[0].is_some());
                prop_assert!(keys.iter().all(|k| *k == keys[0]));
            }
            // One record per source: a source's own records are distinct.
            let mut sources: Vec<&SourceId> = merged.provenance.iter().map(|p| &p.origin.id).collect();
            let n = sources.len();
            sources.sort();
            sources.dedup();
            prop_assert_eq!(sources.len(), n, "two records of one source merged");
        }
    }

    #[test]
    fn sections_are_sorted_most_recent_first(records in arb_record_set()) {
        let refs: Vec<_> = records.iter().collect();
        let view = merge(&refs, SectionSet::all());
        for list in view.sections.values() {
            for w in list.windows(2) {
                match (w[0].entry.sort_date(), w[1].entry.sort_date()) {
                    (Some(a), Some(b)) => prop_assert!(a >= b),
                    (None, Some(_)) => prop_assert!(false, "undated before dated"),
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn the_reference_source_is_shown_and_a_sensitive_record_hides_address_and_contacts() {
    let (pds, gwh) = (meta("pds"), meta("gwh"));
    let person = |dob: PartialDateTime, postcode: &str, sensitive: bool| Demographics {
        nhs_number: Some(NhsNumber::parse("9990000018").unwrap()),
        names: vec![HumanName {
            given: vec!["Ada".into()],
            family: Some("Example".into()),
            ..Default::default()
        }],
        birth_date: Some(dob),
        addresses: vec![Address {
            postcode: Some(postcode.into()),
            ..Default::default()
        }],
        telecom: vec![Telecom {
            system: TelecomSystem::Phone,
            value: "01632 960001".into(),
            use_: None,
        }],
        sensitive,
        ..Default::default()
    };
    let at = |t| Some(OffsetDateTime::from_unix_timestamp(t).unwrap());
    let record = |m: &Arc<SourceMeta>, d: Demographics, t| SourceRecord {
        patient: Some(PatientRecord {
            demographics: d,
            provenance: m.provenance("Patient/1", at(t)).unwrap(),
        }),
        ..Default::default()
    };
    // PDS older than gwh's copy, yet shown: it is the reference.
    let records = [
        record(&gwh, person(day(1950, 3, 2), "SN1 1AA", false), 500),
        record(&pds, person(day(1950, 3, 2), "SN2 2BB", false), 100),
    ];
    let refs: Vec<_> = records.iter().collect();
    let reference = SourceId::parse("pds").unwrap();
    let view = icr_merge::merge_with(&refs, SectionSet::all(), Some(&reference));
    let patient = view.patient.unwrap();
    assert_eq!(patient.provenance[0].origin.id.as_str(), "pds");
    assert_eq!(
        patient.demographics.addresses[0].postcode.as_deref(),
        Some("SN2 2BB")
    );
    assert_eq!(view.warnings.len(), 1);
    assert!(
        view.warnings[0]
            .message
            .starts_with("Home postcode differs")
    );

    // Marked sensitive by PDS: no address, no phone, no postcode warning
    // (it would reveal them), the flag shown; other disagreements still are.
    let records = [
        record(&gwh, person(day(1950, 3, 20), "SN1 1AA", false), 500),
        record(&pds, person(day(1950, 3, 2), "SN2 2BB", true), 100),
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = icr_merge::merge_with(&refs, SectionSet::all(), Some(&reference));
    let patient = view.patient.unwrap();
    assert!(patient.demographics.sensitive);
    assert!(patient.demographics.addresses.is_empty());
    assert!(patient.demographics.telecom.is_empty());
    let json = serde_json::to_string(&view.warnings).unwrap();
    assert!(!json.contains("SN1") && !json.contains("SN2"), "{json}");
    assert_eq!(view.warnings.len(), 1);
    assert!(
        view.warnings[0]
            .message
            .starts_with("Date of birth differs")
    );
}

#[test]
fn a_report_from_two_sources_is_not_a_conflict_because_its_member_ids_differ() {
    let (a, b) = (meta("gwh"), meta("pathology"));
    let report = |m: &Arc<SourceMeta>, member: &str| {
        Entry::Result(TestResult {
            kind: Some(ResultKind::Report),
            code: snomed("26604007", "Full blood count"),
            effective: Some(day(2026, 9, 3)),
            members: vec![m.provenance(member, None).unwrap().record],
            ..Default::default()
        })
    };
    let records = [
        SourceRecord {
            items: vec![item(
                &a,
                "DiagnosticReport/1",
                None,
                report(&a, "Observation/9"),
            )],
            ..Default::default()
        },
        SourceRecord {
            items: vec![item(&b, "report/77", None, report(&b, "report/77/obx/1"))],
            ..Default::default()
        },
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = merge(&refs, SectionSet::parse_list("results").unwrap());
    let merged = &view.sections[&Section::Results];
    assert_eq!(merged.len(), 1);
    assert_eq!(merged[0].provenance.len(), 2);
    assert!(merged[0].conflicts.is_empty(), "{:?}", merged[0].conflicts);
}

fn report(text: &str) -> Entry {
    Entry::Document(Document {
        doc_type: snomed("371531000", "Report of clinical encounter"),
        title: Some("Out-of-hours report".into()),
        date: Some(day(2026, 3, 1)),
        text: Some(text.into()),
        ..Default::default()
    })
}

/// Two records one source keeps apart are two facts, whatever they share:
/// two out-of-hours reports of the same day and title are never shown as
/// one report with the other's text as a "conflict". Across sources, each
/// copy joins the record it matches.
#[test]
fn two_records_of_one_source_are_never_merged_into_one_item() {
    let (ooh, gp) = (meta("medvivo"), meta("gp"));
    let records = [
        SourceRecord {
            items: vec![
                item(&ooh, "DocumentReference/1", None, report("Chest clear.")),
                item(&ooh, "DocumentReference/2", None, report("Ankle sprain.")),
                item(&ooh, "DocumentReference/3", None, report("Rash, no fever.")),
            ],
            ..Default::default()
        },
        SourceRecord {
            items: vec![item(&gp, "Document/9", None, report("Ankle sprain."))],
            ..Default::default()
        },
    ];
    let refs: Vec<_> = records.iter().collect();
    let view = merge(&refs, SectionSet::all());
    let documents = &view.sections[&Section::Documents];
    let shown: Vec<(Vec<String>, usize)> = documents
        .iter()
        .map(|d| {
            (
                d.provenance.iter().map(|p| p.record.to_string()).collect(),
                d.conflicts.len(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            (
                vec![
                    "gp:Document/9".to_string(),
                    "medvivo:DocumentReference/2".to_string()
                ],
                0
            ),
            (vec!["medvivo:DocumentReference/1".to_string()], 0),
            (vec!["medvivo:DocumentReference/3".to_string()], 0),
        ]
    );
}
