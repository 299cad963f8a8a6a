//! One test per rule, each failing if its rule were removed. The decision
//! table (tests/decision_table.rs) covers the combinations; these cover the
//! rules' edges and the settings the table holds fixed.

mod common;

use std::collections::BTreeSet;

use common::*;
use icr_merge::{Conflict, ConflictValue, MergedItem, MergedRecord, Warning};
use icr_model::{
    Alert, Allergy, CareTeam, CareTeamMember, CodeSystem, Coding, Concept, Condition, Contact,
    Document, Entry, Item, Medication, Procedure, Reaction, Referral, ResultComponent, ResultValue,
    Section, SectionSet, SourceId, SourceRecord, TestResult,
};
use icr_policy::{
    Basis, Caller, Granted, Objection, ObjectionEffect, Objections, Policy, RefusalCode, RoleCode,
    SourceFilter,
};

const BASE: &str = r#"
[classes.clinical]
roles = ["R8000", "R8001"]
sections = ["demographics", "contacts", "care_team", "medications", "allergies", "conditions",
            "results", "documents", "procedures", "referrals", "appointments", "alerts"]
break_glass = true
[classes.social_care]
roles = ["R8014"]
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
[classes.admin]
roles = ["R8008"]
sections = ["demographics", "appointments", "care_team"]
[patient]
sections = ["demographics", "conditions", "appointments"]
[[relationship.self_declare]]
setting = "Out-of-hours GP service"
organisations = ["Y9U01"]
[[relationship.self_declare]]
setting = "Ambulance clinicians"
organisations = ["Y9A01"]
roles = ["R8000"]
[[relationship.self_declare]]
setting = "Any nurse"
roles = ["R8001"]
[audit]
privacy_officer_roles = ["R0001"]
[sensitive]
cleared_roles = ["R8000"]
[sensitive.codes]
hiv = ["86406008"]
"#;

const PERSON: &str = "9990000018";
const REASON: &str = "Patient unconscious in resus, no GP record available";

fn base() -> Policy {
    policy(BASE)
}

fn with(extra: &str) -> Policy {
    policy(&format!("{BASE}\n{extra}"))
}

fn all() -> SectionSet {
    SectionSet::all()
}

fn none() -> Objections {
    Objections::empty()
}

fn refused(p: &Policy, c: &Caller, sections: SectionSet, o: &Objections) -> RefusalCode {
    p.before_fetch(c, nhs(PERSON), sections, o)
        .map(|_| ())
        .expect_err("expected a refusal")
        .code
}

fn grant(p: &Policy, c: &Caller, o: &Objections, holders: &[&str]) -> Result<Granted, RefusalCode> {
    let a = p
        .before_fetch(c, nhs(PERSON), all(), o)
        .map_err(|r| r.code)?;
    let holders: Vec<_> = holders.iter().map(|h| ods(h)).collect();
    p.after_fetch(a, &holders).map_err(|r| r.code)
}

fn per_org(orgs: &[&str], allow_own: bool) -> Objections {
    let mut o = Objections::empty();
    o.insert(
        nhs(PERSON),
        Objection::Organisations {
            organisations: orgs.iter().map(|s| ods(s)).collect(),
            allow_own_organisation: allow_own,
        },
    );
    o
}

fn whole() -> Objections {
    let mut o = Objections::empty();
    o.insert(nhs(PERSON), Objection::All);
    o
}

// ---- who may ask -----------------------------------------------------------

#[test]
fn a_role_in_no_class_is_refused() {
    let p = base();
    assert_eq!(
        refused(&p, &staff("R8004", "RN3"), all(), &none()),
        RefusalCode::UnknownRole
    );
    // Privacy officers read the audit, not records.
    assert_eq!(
        refused(&p, &staff("R0001", "RN3"), all(), &none()),
        RefusalCode::UnknownRole
    );
    let r = p
        .before_fetch(&staff("R8004", "RN3"), nhs(PERSON), all(), &none())
        .unwrap_err();
    assert_eq!(r.message, "role R8004 is not one this ICR gives access to");
}

#[test]
fn only_the_configured_purposes_are_served() {
    let p = base();
    let c = Caller::staff(
        RoleCode::parse("R8000").unwrap(),
        ods("RN3"),
        "secondaryuses",
    )
    .unwrap();
    assert_eq!(
        refused(&p, &c, all(), &none()),
        RefusalCode::PurposeNotPermitted
    );
    let p = policy(&format!(
        "purposes = [\"directcare\", \"secondaryuses\"]\n{BASE}"
    ));
    assert!(p.before_fetch(&c, nhs(PERSON), all(), &none()).is_ok());
}

#[test]
fn a_patient_reads_only_their_own_record_and_without_objections() {
    let p = base();
    assert_eq!(
        refused(&p, &patient("9990000026"), all(), &none()),
        RefusalCode::NotOwnRecord
    );
    let g = grant(&p, &patient(PERSON), &whole(), &[]).unwrap();
    assert_eq!(g.basis(), &Basis::OwnRecord);
    assert_eq!(g.allowed().objection(), &ObjectionEffect::None);
    assert_eq!(g.allowed().class(), "patient");
    assert_eq!(
        g.allowed().sections(),
        [
            Section::Demographics,
            Section::Conditions,
            Section::Appointments
        ]
        .into_iter()
        .collect()
    );
    // A patient does not break glass.
    let c = patient(PERSON).with_break_glass(Some(REASON));
    assert_eq!(
        refused(&p, &c, all(), &none()),
        RefusalCode::BreakGlassNotPermitted
    );
}

// ---- sections ---------------------------------------------------------------

#[test]
fn sections_are_those_requested_that_the_role_may_see() {
    let p = base();
    let asked: SectionSet = [Section::Allergies, Section::Appointments]
        .into_iter()
        .collect();
    let a = p
        .before_fetch(&staff("R8008", "RN3"), nhs(PERSON), asked, &none())
        .unwrap();
    assert_eq!(a.sections(), [Section::Appointments].into_iter().collect());
    assert_eq!(a.class(), "admin");
    let a = p
        .before_fetch(&staff("R8000", "RN3"), nhs(PERSON), asked, &none())
        .unwrap();
    assert_eq!(a.sections(), asked);
}

#[test]
fn nothing_left_to_see_is_a_refusal_not_an_empty_record() {
    let p = base();
    let results: SectionSet = [Section::Results].into_iter().collect();
    assert_eq!(
        refused(&p, &staff("R8008", "RN3"), results, &none()),
        RefusalCode::NoSections
    );
    assert_eq!(
        refused(&p, &staff("R8000", "RN3"), SectionSet::EMPTY, &none()),
        RefusalCode::NoSections
    );
    assert_eq!(
        refused(&p, &patient(PERSON), results, &none()),
        RefusalCode::NoSections
    );
    let r = p
        .before_fetch(&staff("R8008", "RN3"), nhs(PERSON), results, &none())
        .unwrap_err();
    assert_eq!(
        r.message,
        "none of the requested sections (results) may be seen by class admin"
    );
}

// ---- objections -------------------------------------------------------------

#[test]
fn an_objection_to_all_sharing_refuses_staff() {
    let p = base();
    for role in ["R8000", "R8014", "R8008"] {
        assert_eq!(
            refused(&p, &staff(role, "RN3"), all(), &whole()),
            RefusalCode::NoPatientConsent
        );
    }
}

#[test]
fn break_glass_does_not_override_an_objection_by_default() {
    let p = base();
    let c = staff("R8000", "RN3").with_break_glass(Some(REASON));
    assert_eq!(
        refused(&p, &c, all(), &whole()),
        RefusalCode::NoPatientConsent
    );
    let a = p
        .before_fetch(&c, nhs(PERSON), all(), &per_org(&["RVN"], true))
        .unwrap();
    assert_eq!(
        a.sources(),
        &SourceFilter::AllExcept([ods("RVN")].into_iter().collect())
    );
}

#[test]
fn break_glass_overrides_objections_when_the_policy_says_so_and_is_then_the_basis() {
    let p = with("[break_glass]\noverrides_objections = true");
    let c = staff("R8000", "RN3").with_break_glass(Some(REASON));
    // Even an involved caller's access then rests on the break-glass.
    let g = grant(&p, &c, &whole(), &["RN3"]).unwrap();
    assert_eq!(g.allowed().sources(), &SourceFilter::All);
    assert_eq!(
        g.allowed().objection(),
        &ObjectionEffect::OverriddenByBreakGlass { whole: true }
    );
    assert!(matches!(g.basis(), Basis::BreakGlass { reason } if reason.as_str() == REASON));
    let g = grant(&p, &c, &per_org(&["RVN"], true), &["RN3", "RVN"]).unwrap();
    assert_eq!(g.allowed().sources(), &SourceFilter::All);
    assert_eq!(
        g.allowed().objection(),
        &ObjectionEffect::OverriddenByBreakGlass { whole: false }
    );
    // Without break-glass the objection still holds.
    assert_eq!(
        refused(&p, &staff("R8000", "RN3"), all(), &whole()),
        RefusalCode::NoPatientConsent
    );
}

#[test]
fn an_objection_to_named_organisations_excludes_their_sources() {
    let p = base();
    let a = p
        .before_fetch(
            &staff("R8000", "RN3"),
            nhs(PERSON),
            all(),
            &per_org(&["RVN", "RD1"], true),
        )
        .unwrap();
    let out: BTreeSet<_> = [ods("RD1"), ods("RVN")].into_iter().collect();
    assert_eq!(a.sources(), &SourceFilter::AllExcept(out.clone()));
    assert!(!a.sources().permits(&ods("RVN")));
    assert!(a.sources().permits(&ods("RN3")));
    assert_eq!(
        a.objection(),
        &ObjectionEffect::Organisations { excluded: out }
    );
}

#[test]
fn the_callers_own_organisation_keeps_its_own_records_when_allowed() {
    let p = base();
    // Caller at RVN, the person objects to RVN's and RD1's records being shared.
    let a = p
        .before_fetch(
            &staff("R8000", "RVN"),
            nhs(PERSON),
            all(),
            &per_org(&["RVN", "RD1"], true),
        )
        .unwrap();
    assert_eq!(
        a.sources(),
        &SourceFilter::AllExcept([ods("RD1")].into_iter().collect())
    );
    let g = p.after_fetch(a, &[ods("RVN"), ods("RN3")]).unwrap();
    assert_eq!(g.basis(), &Basis::Involved);
    // Only the caller's own organisation named: nothing excluded, and the
    // other organisations' records are shared as usual.
    let a = p
        .before_fetch(
            &staff("R8000", "RVN"),
            nhs(PERSON),
            all(),
            &per_org(&["RVN"], true),
        )
        .unwrap();
    assert_eq!(a.sources(), &SourceFilter::All);
    assert_eq!(
        a.objection(),
        &ObjectionEffect::Organisations {
            excluded: BTreeSet::new()
        }
    );
}

#[test]
fn allow_own_organisation_false_excludes_the_callers_own_records_too() {
    let p = base();
    let o = per_org(&["RVN"], false);
    let a = p
        .before_fetch(&staff("R8000", "RVN"), nhs(PERSON), all(), &o)
        .unwrap();
    assert_eq!(
        a.sources(),
        &SourceFilter::AllExcept([ods("RVN")].into_iter().collect())
    );
    // RVN was not asked, so it is not a holder: no relationship shown.
    assert_eq!(
        grant(&p, &staff("R8000", "RVN"), &o, &["RN3"]).unwrap_err(),
        RefusalCode::NoRelationship
    );
}

// ---- relationship -----------------------------------------------------------

#[test]
fn an_organisation_holding_a_record_is_involved() {
    let p = base();
    assert_eq!(
        grant(&p, &staff("R8014", "Y9L01"), &none(), &["Y9L01"])
            .unwrap()
            .basis(),
        &Basis::Involved
    );
    assert_eq!(
        grant(&p, &staff("R8014", "Y9L01"), &none(), &["RN3"]).unwrap_err(),
        RefusalCode::NoRelationship
    );
    let r = p
        .after_fetch(
            p.before_fetch(&staff("R8014", "Y9L01"), nhs(PERSON), all(), &none())
                .unwrap(),
            &[],
        )
        .unwrap_err();
    assert!(r.message.contains("did not answer"), "{}", r.message);
}

#[test]
fn self_declaring_settings_match_by_organisation_role_or_both() {
    let p = base();
    let basis = |role: &str, org: &str| {
        grant(&p, &staff(role, org), &none(), &["RN3"]).map(|g| g.basis().clone())
    };
    let sd = |s: &str| {
        Ok(Basis::SelfDeclared {
            setting: s.to_string(),
        })
    };
    // By organisation: any role of the policy.
    assert_eq!(basis("R8008", "Y9U01"), sd("Out-of-hours GP service"));
    // By organisation and role: both must match.
    assert_eq!(basis("R8000", "Y9A01"), sd("Ambulance clinicians"));
    assert_eq!(basis("R8014", "Y9A01"), Err(RefusalCode::NoRelationship));
    // By role: anywhere.
    assert_eq!(basis("R8001", "RD1"), sd("Any nurse"));
    // Involvement comes first.
    assert_eq!(basis("R8008", "RN3"), Ok(Basis::Involved));
}

#[test]
fn break_glass_is_a_basis_only_with_a_valid_reason_and_a_permitted_class() {
    let p = base();
    let c = staff("R8000", "RD1").with_break_glass(Some(REASON));
    let g = grant(&p, &c, &none(), &["RN3"]).unwrap();
    assert!(matches!(g.basis(), Basis::BreakGlass { reason } if reason.as_str() == REASON));
    assert_eq!(g.basis().code(), "break-glass");
    for role in ["R8014", "R8008"] {
        let c = staff(role, "RD1").with_break_glass(Some(REASON));
        assert_eq!(
            refused(&p, &c, all(), &none()),
            RefusalCode::BreakGlassNotPermitted
        );
    }
    for bad in [
        "",
        "   ",
        "Emergency",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "1234567890 1234567890 123",
        "no record\u{0} at all here today",
    ] {
        let c = staff("R8000", "RD1").with_break_glass(Some(bad));
        let r = p.before_fetch(&c, nhs(PERSON), all(), &none()).unwrap_err();
        assert_eq!(r.code, RefusalCode::BreakGlassReasonInvalid, "{bad:?}");
    }
}

#[test]
fn break_glass_alongside_a_relationship_is_kept_for_the_audit() {
    let p = base();
    let c = staff("R8000", "RN3").with_break_glass(Some(REASON));
    let g = grant(&p, &c, &none(), &["RN3"]).unwrap();
    assert_eq!(g.basis(), &Basis::Involved);
    assert_eq!(g.allowed().break_glass().map(|r| r.as_str()), Some(REASON));
}

#[test]
fn the_break_glass_rules_come_from_the_policy() {
    let p = with("[break_glass]\nmin_reason_chars = 60");
    let c = staff("R8000", "RD1").with_break_glass(Some(REASON));
    let r = p.before_fetch(&c, nhs(PERSON), all(), &none()).unwrap_err();
    assert_eq!(r.code, RefusalCode::BreakGlassReasonInvalid);
    assert_eq!(
        r.message,
        "the break-glass reason is shorter than 60 characters"
    );
}

// ---- sensitive items ----------------------------------------------------------

fn granted(p: &Policy, role: &str) -> Granted {
    grant(p, &staff(role, "RN3"), &none(), &["RN3"]).unwrap()
}

fn one(entry: Entry, restricted: &[bool]) -> MergedItem {
    MergedItem {
        entry,
        provenance: restricted
            .iter()
            .enumerate()
            .map(|(i, r)| {
                let mut p = source(&format!("s{i}"), "RN3")
                    .provenance("Item/1", None)
                    .unwrap();
                p.restricted = *r;
                p
            })
            .collect(),
        conflicts: Vec::new(),
    }
}

fn record_of(items: Vec<MergedItem>) -> MergedRecord {
    let mut r = MergedRecord::default();
    for i in items {
        r.sections.entry(i.entry.section()).or_default().push(i);
    }
    r
}

const HIV: &str = "86406008";

fn hiv() -> Concept {
    snomed(HIV)
}

#[test]
fn a_restricted_label_from_any_source_withholds_the_item() {
    let p = base();
    let item = one(
        Entry::Condition(Condition {
            code: snomed("195967001"),
            ..Default::default()
        }),
        &[false, true],
    );
    let mut r = record_of(vec![
        item.clone(),
        one(
            Entry::Condition(Condition {
                code: snomed("38341003"),
                ..Default::default()
            }),
            &[false],
        ),
    ]);
    let w = p.apply(&granted(&p, "R8001"), &mut r);
    assert_eq!(w.count, 1);
    assert_eq!(w.by_section.get(&Section::Conditions), Some(&1));
    assert_eq!(item_count(&r), 1);
    assert!(p.withholds(&granted(&p, "R8001"), &item));
    // Through merge too: two sources hold the same fact, one labels it.
    let a = source("gwh", "RN3");
    let b = source("ruh", "RD1");
    let records = [
        SourceRecord {
            items: vec![condition(&a, "Condition/1", "195967001", false)],
            ..Default::default()
        },
        SourceRecord {
            items: vec![condition(&b, "Condition/1", "195967001", true)],
            ..Default::default()
        },
    ];
    let mut merged = icr_merge::merge(&records.iter().collect::<Vec<_>>(), all());
    assert_eq!(item_count(&merged), 1);
    assert_eq!(p.apply(&granted(&p, "R8001"), &mut merged).count, 1);
}

/// Every describing concept of every kind of item, holding the sensitive code.
fn sensitive_everywhere() -> Vec<(&'static str, Entry)> {
    let coded = |c: Concept| Some(ResultValue::Coded(c));
    vec![
        (
            "care team category",
            Entry::CareTeam(CareTeam {
                category: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "care team member role",
            Entry::CareTeam(CareTeam {
                participants: vec![CareTeamMember {
                    roles: vec![hiv()],
                    name: None,
                }],
                ..Default::default()
            }),
        ),
        (
            "medication",
            Entry::Medication(Medication {
                medication: hiv(),
                ..Default::default()
            }),
        ),
        (
            "medication reason",
            Entry::Medication(Medication {
                medication: snomed("322236009"),
                reasons: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "allergy",
            Entry::Allergy(Allergy {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "condition",
            Entry::Condition(Condition {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "result code",
            Entry::Result(TestResult {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "result coded value",
            Entry::Result(TestResult {
                code: snomed("31676001"),
                value: coded(hiv()),
                ..Default::default()
            }),
        ),
        (
            "result component code",
            Entry::Result(TestResult {
                code: snomed("31676001"),
                components: vec![ResultComponent {
                    code: hiv(),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        (
            "result component value",
            Entry::Result(TestResult {
                code: snomed("31676001"),
                components: vec![ResultComponent {
                    code: snomed("31676001"),
                    value: coded(hiv()),
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        (
            "document type",
            Entry::Document(Document {
                doc_type: hiv(),
                ..Default::default()
            }),
        ),
        (
            "document category",
            Entry::Document(Document {
                doc_type: snomed("371531000"),
                category: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "procedure",
            Entry::Procedure(Procedure {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "referral",
            Entry::Referral(Referral {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "referral category",
            Entry::Referral(Referral {
                code: snomed("3457005"),
                category: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "referral reason",
            Entry::Referral(Referral {
                code: snomed("3457005"),
                reasons: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "appointment service type",
            Entry::Appointment(icr_model::Appointment {
                service_type: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "appointment reason",
            Entry::Appointment(icr_model::Appointment {
                reasons: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "alert",
            Entry::Alert(Alert {
                code: hiv(),
                ..Default::default()
            }),
        ),
        (
            "alert category",
            Entry::Alert(Alert {
                code: snomed("225915006"),
                category: vec![hiv()],
                ..Default::default()
            }),
        ),
    ]
}

#[test]
fn a_sensitive_code_in_any_describing_concept_withholds_the_item() {
    let p = base();
    let nurse = granted(&p, "R8001");
    let doctor = granted(&p, "R8000");
    for (place, entry) in sensitive_everywhere() {
        let item = one(entry, &[false]);
        assert!(p.withholds(&nurse, &item), "{place}");
        assert!(!p.withholds(&doctor, &item), "{place}: R8000 is cleared");
        let mut r = record_of(vec![item.clone()]);
        let w = p.apply(&nurse, &mut r);
        assert_eq!((w.count, item_count(&r)), (1, 0), "{place}");
        let mut r = record_of(vec![item]);
        assert_eq!(p.apply(&doctor, &mut r).count, 0, "{place}");
    }
}

#[test]
fn codes_outside_the_describing_concepts_do_not_count() {
    let p = base();
    let nurse = granted(&p, "R8001");
    let elsewhere = vec![
        (
            "contact relationship",
            Entry::Contact(Contact {
                relationship: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "condition severity",
            Entry::Condition(Condition {
                code: snomed("195967001"),
                severity: Some(hiv()),
                category: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "allergy reaction",
            Entry::Allergy(Allergy {
                code: snomed("91936005"),
                reactions: vec![Reaction {
                    manifestations: vec![hiv()],
                    ..Default::default()
                }],
                ..Default::default()
            }),
        ),
        (
            "result interpretation",
            Entry::Result(TestResult {
                code: snomed("31676001"),
                interpretation: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "procedure body site",
            Entry::Procedure(Procedure {
                code: snomed("80146002"),
                body_site: vec![hiv()],
                ..Default::default()
            }),
        ),
        (
            "free text",
            Entry::Condition(Condition {
                code: Concept::text("HIV 86406008"),
                notes: vec!["86406008".into()],
                ..Default::default()
            }),
        ),
    ];
    for (place, entry) in elsewhere {
        assert!(!p.withholds(&nurse, &one(entry, &[false])), "{place}");
    }
}

#[test]
fn matching_is_exact_on_snomed_and_dmd_ids() {
    let p = base();
    let nurse = granted(&p, "R8001");
    let cond = |c: Coding| {
        one(
            Entry::Condition(Condition {
                code: Concept::coded(c),
                ..Default::default()
            }),
            &[false],
        )
    };
    assert!(p.withholds(&nurse, &cond(Coding::new(CodeSystem::Snomed, HIV, "x"))));
    assert!(p.withholds(&nurse, &cond(Coding::new(CodeSystem::Dmd, HIV, "x"))));
    assert!(p.withholds(
        &nurse,
        &cond(Coding::new(CodeSystem::Snomed, format!(" {HIV} "), "x"))
    ));
    // Another system's code with the same digits is not SNOMED CT.
    assert!(!p.withholds(&nurse, &cond(Coding::new(CodeSystem::ReadV2, HIV, "x"))));
    assert!(!p.withholds(
        &nurse,
        &cond(Coding::new(CodeSystem::Other("urn:local".into()), HIV, "x"))
    ));
    // No subsumption: acute HIV infection (a child concept) is not listed here.
    assert!(!p.withholds(
        &nurse,
        &cond(Coding::new(
            CodeSystem::Snomed,
            "111880001",
            "Acute HIV infection"
        ))
    ));
    // Any coding of the concept counts, not only the primary.
    let two = Concept {
        codings: vec![
            Coding::new(CodeSystem::Icd10, "B24", "HIV"),
            Coding::new(CodeSystem::Snomed, HIV, "x"),
        ],
        text: None,
    };
    assert!(p.withholds(
        &nurse,
        &one(
            Entry::Condition(Condition {
                code: two,
                ..Default::default()
            }),
            &[false]
        )
    ));
}

#[test]
fn a_sensitive_value_held_by_another_source_withholds_the_item() {
    let p = base();
    let nurse = granted(&p, "R8001");
    let mut item = one(
        Entry::Medication(Medication {
            medication: snomed("322236009"),
            ..Default::default()
        }),
        &[false, false],
    );
    item.conflicts = vec![Conflict {
        field: "reasons".into(),
        values: vec![
            ConflictValue {
                sources: vec![SourceId::parse("s0").unwrap()],
                value: None,
            },
            ConflictValue {
                sources: vec![SourceId::parse("s1").unwrap()],
                value: Some(
                    serde_json::json!([{ "codings": [{ "system": "http://snomed.info/sct", "code": HIV, "display": "x" }] }]),
                ),
            },
        ],
    }];
    assert!(p.withholds(&nurse, &item));
    // Through merge: one source gives the reason, the other does not.
    let (a, b) = (source("gwh", "RN3"), source("ruh", "RD1"));
    let med = |reasons: Vec<Concept>| {
        Entry::Medication(Medication {
            medication: snomed("322236009"),
            start: date(2024, 3, 1),
            reasons,
            ..Default::default()
        })
    };
    let mut pa = a.provenance("MedicationStatement/1", None).unwrap();
    pa.last_updated = Some(icr_model::time::OffsetDateTime::UNIX_EPOCH);
    let pb = b
        .provenance(
            "MedicationStatement/9",
            Some(icr_model::time::OffsetDateTime::UNIX_EPOCH + icr_model::time::Duration::days(1)),
        )
        .unwrap();
    let records = [
        SourceRecord {
            items: vec![Item {
                entry: med(vec![hiv()]),
                provenance: pa,
            }],
            ..Default::default()
        },
        SourceRecord {
            items: vec![Item {
                entry: med(vec![]),
                provenance: pb,
            }],
            ..Default::default()
        },
    ];
    let mut merged = icr_merge::merge(&records.iter().collect::<Vec<_>>(), all());
    let shown = &merged.sections[&Section::Medications][0];
    assert!(
        matches!(&shown.entry, Entry::Medication(m) if m.reasons.is_empty()),
        "the later copy, without the reason, is shown"
    );
    assert_eq!(p.apply(&nurse, &mut merged).count, 1);
}

#[test]
fn a_value_too_deep_to_read_is_treated_as_sensitive() {
    let p = base();
    let mut v = serde_json::json!("leaf");
    for _ in 0..40 {
        v = serde_json::json!([v]);
    }
    let mut item = one(
        Entry::Condition(Condition {
            code: snomed("195967001"),
            ..Default::default()
        }),
        &[false],
    );
    item.conflicts = vec![Conflict {
        field: "notes".into(),
        values: vec![ConflictValue {
            sources: vec![],
            value: Some(v),
        }],
    }];
    assert!(p.withholds(&granted(&p, "R8001"), &item));
}

#[test]
fn cleared_roles_and_patients() {
    let p = base();
    let sensitive = || {
        record_of(vec![one(
            Entry::Condition(Condition {
                code: hiv(),
                ..Default::default()
            }),
            &[true],
        )])
    };
    let mut r = sensitive();
    assert_eq!(p.apply(&granted(&p, "R8000"), &mut r).count, 0);
    assert_eq!(item_count(&r), 1);
    let own = grant(&p, &patient(PERSON), &none(), &[]).unwrap();
    assert!(!own.allowed().sensitive_cleared());
    assert_eq!(p.apply(&own, &mut sensitive()).count, 1);
    let p = policy(&BASE.replace(
        "cleared_roles = [\"R8000\"]",
        "cleared_roles = [\"R8000\", \"patient\"]",
    ));
    let own = grant(&p, &patient(PERSON), &none(), &[]).unwrap();
    assert!(own.allowed().sensitive_cleared());
    assert_eq!(p.apply(&own, &mut sensitive()).count, 0);
}

#[test]
fn apply_removes_what_is_outside_the_allowed_sections() {
    let p = base();
    let admin = granted(&p, "R8008");
    let mut r = record_of(vec![
        one(
            Entry::Condition(Condition {
                code: snomed("195967001"),
                ..Default::default()
            }),
            &[false],
        ),
        one(
            Entry::Appointment(icr_model::Appointment::default()),
            &[false],
        ),
    ]);
    r.warnings.push(Warning {
        code: "demographics-differ",
        message: "Home postcode differs".into(),
        sources: vec![],
    });
    let w = p.apply(&admin, &mut r);
    assert_eq!((w.count, w.outside_sections), (0, 1));
    assert_eq!(
        r.sections.keys().copied().collect::<Vec<_>>(),
        [Section::Appointments]
    );
    assert_eq!(
        r.warnings.len(),
        1,
        "admin sees demographics, so its warnings stay"
    );
    // Without demographics, the patient's demographics and their warnings go.
    let asked: SectionSet = [Section::Conditions].into_iter().collect();
    let a = p
        .before_fetch(&staff("R8000", "RN3"), nhs(PERSON), asked, &none())
        .unwrap();
    let g = p.after_fetch(a, &[ods("RN3")]).unwrap();
    let p1 = source("gwh", "RN3").provenance("Patient/1", None).unwrap();
    let mut r = MergedRecord {
        patient: Some(icr_merge::MergedPatient {
            demographics: Default::default(),
            provenance: vec![p1],
        }),
        ..Default::default()
    };
    r.warnings.push(Warning {
        code: "demographics-differ",
        message: "Name differs".into(),
        sources: vec![],
    });
    p.apply(&g, &mut r);
    assert!(r.patient.is_none() && r.warnings.is_empty());
}

#[test]
fn the_response_says_how_many_were_withheld_never_which() {
    let p = base();
    let mut r = record_of(vec![
        one(
            Entry::Condition(Condition {
                code: hiv(),
                ..Default::default()
            }),
            &[false],
        ),
        one(
            Entry::Appointment(icr_model::Appointment {
                reasons: vec![hiv()],
                ..Default::default()
            }),
            &[false],
        ),
        one(
            Entry::Appointment(icr_model::Appointment {
                description: Some("Routine".into()),
                ..Default::default()
            }),
            &[true],
        ),
    ]);
    let w = p.apply(&granted(&p, "R8001"), &mut r);
    let json = serde_json::to_string(&w).unwrap();
    assert_eq!(
        json,
        r#"{"count":3,"by_section":{"conditions":1,"appointments":2}}"#
    );
    assert!(!json.contains(HIV));
}

// ---- audit and refusals -------------------------------------------------------

#[test]
fn privacy_officers_read_any_audit_and_patients_their_own() {
    let p = base();
    assert!(p.may_read_audit(&staff("R0001", "RN3"), nhs(PERSON)));
    assert!(!p.may_read_audit(&staff("R8000", "RN3"), nhs(PERSON)));
    assert!(p.may_read_audit(&patient(PERSON), nhs(PERSON)));
    assert!(!p.may_read_audit(&patient("9990000026"), nhs(PERSON)));
}

#[test]
fn refusals_have_stable_codes_and_no_patient_data() {
    let p = base();
    let cases: Vec<(Caller, Objections)> = vec![
        (staff("R9999", "RN3"), none()),
        (patient("9990000026"), none()),
        (staff("R8000", "RN3"), whole()),
        (
            staff("R8000", "RN3").with_break_glass(Some("Mr Smith 9990000018")),
            none(),
        ),
        (staff("R8014", "RN3").with_break_glass(Some(REASON)), none()),
    ];
    for (c, o) in cases {
        let r = p.before_fetch(&c, nhs(PERSON), all(), &o).unwrap_err();
        let json = serde_json::to_string(&r).unwrap();
        assert!(
            json.starts_with(&format!("{{\"code\":\"{}\"", r.code.as_str())),
            "{json}"
        );
        assert!(
            !json.contains("9990000018") && !json.contains("9990000026") && !json.contains("Smith"),
            "{json}"
        );
    }
    assert_eq!(
        RefusalCode::NoPatientConsent.to_string(),
        "NO_PATIENT_CONSENT"
    );
}

#[test]
fn the_source_filter_serialises_for_the_audit() {
    let f = SourceFilter::AllExcept([ods("RVN")].into_iter().collect());
    assert_eq!(
        serde_json::to_string(&f).unwrap(),
        r#"{"kind":"all_except","organisations":["RVN"]}"#
    );
    assert_eq!(
        serde_json::to_string(&SourceFilter::All).unwrap(),
        r#"{"kind":"all"}"#
    );
}

#[test]
fn a_caller_whose_own_system_did_not_answer_is_undecided_not_refused() {
    let p = base();
    let decide = |caller: &Caller, holders: &[&str], unanswered: &[&str]| {
        let a = p.before_fetch(caller, nhs(PERSON), all(), &none()).unwrap();
        let holders: Vec<_> = holders.iter().map(|h| ods(h)).collect();
        let unanswered: Vec<_> = unanswered.iter().map(|h| ods(h)).collect();
        p.after_fetch_unanswered(a, &holders, &unanswered)
            .map(|g| g.basis().clone())
            .map_err(|r| r.code)
    };
    let rn3 = staff("R8000", "RN3");
    // Their own system failed: unknown, never a refusal.
    assert_eq!(
        decide(&rn3, &["RD1"], &["RN3"]),
        Err(RefusalCode::RelationshipUndecided)
    );
    // Another organisation's system failed: theirs answered without a
    // record, so there is no relationship to find.
    assert_eq!(
        decide(&rn3, &["RD1"], &["RVN"]),
        Err(RefusalCode::NoRelationship)
    );
    // Involved through a system that did answer, whatever else failed.
    assert_eq!(decide(&rn3, &["RN3"], &["RN3", "RVN"]), Ok(Basis::Involved));
    // Break-glass is a basis of its own: the failure does not matter.
    let glass = staff("R8000", "RN3").with_break_glass(Some(
        "Unconscious in the emergency department; no records to hand",
    ));
    assert!(matches!(
        decide(&glass, &[], &["RN3"]),
        Ok(Basis::BreakGlass { .. })
    ));
    // after_fetch knows of no failures.
    assert_eq!(
        grant(&p, &rn3, &none(), &["RD1"]).map(|g| g.basis().clone()),
        Err(RefusalCode::NoRelationship)
    );
}

fn letter(title: &str, text: &str) -> Entry {
    Entry::Document(Document {
        doc_type: snomed("371531000"),
        title: Some(title.into()),
        text: Some(text.into()),
        ..Default::default()
    })
}

#[test]
fn a_document_naming_a_condition_withheld_by_code_is_withheld_too() {
    // No terms configured: only the words the record itself uses for what
    // it withholds.
    let gender = Concept::coded(Coding::new(
        CodeSystem::Snomed,
        "93461009",
        "Gender dysphoria",
    ));
    let p_gender = policy(&BASE.replace(
        "hiv = [\"86406008\"]",
        "hiv = [\"86406008\"]\ngender = [\"93461009\"]",
    ));
    let mut r = record_of(vec![
        one(
            Entry::Condition(Condition {
                code: gender.clone(),
                ..Default::default()
            }),
            &[false],
        ),
        one(
            letter("Clinic letter", "Seen in the gender dysphoria service."),
            &[false],
        ),
        one(
            letter("Clinic letter", "Ankle sprain, improving."),
            &[false],
        ),
    ]);
    let before = r.clone();
    let w = p_gender.apply(&granted(&p_gender, "R8001"), &mut r);
    assert_eq!(w.count, 2);
    assert_eq!(w.by_section.get(&Section::Documents), Some(&1));
    assert_eq!(item_count(&r), 1);
    // A role cleared for sensitive items sees all three.
    let mut cleared = before.clone();
    assert_eq!(
        p_gender
            .apply(&granted(&p_gender, "R8000"), &mut cleared)
            .count,
        0
    );
    assert_eq!(cleared, before);
}

#[test]
fn a_document_naming_a_configured_term_is_withheld_whatever_else_the_record_holds() {
    let p = with(
        "[sensitive.terms]\nhiv = [\"HIV\", \"human immunodeficiency virus\"]\nsexual_health = [\"GUM clinic\"]",
    );
    let kept = |title: &str, text: &str| {
        let mut r = record_of(vec![one(letter(title, text), &[false])]);
        p.apply(&granted(&p, "R8001"), &mut r);
        item_count(&r) == 1
    };
    assert!(!kept("Discharge letter", "Known HIV; CD4 normal."));
    assert!(!kept("Referral to GUM clinic", "Please see."));
    assert!(!kept(
        "Letter",
        "Human   immunodeficiency\nvirus infection, stable."
    ));
    assert!(kept(
        "Letter",
        "Letter filed in the archive; hiv screen declined."
    ));
    assert!(kept(
        "Letter",
        "Referred to the gum specialist (periodontist)."
    ));
    // The text another source holds for the same letter counts too.
    let mut item = one(letter("Letter", "Stable."), &[false]);
    item.conflicts.push(Conflict {
        field: "text".into(),
        values: vec![ConflictValue {
            sources: vec![SourceId::parse("ruh").unwrap()],
            value: Some(serde_json::json!("Stable. Known HIV.")),
        }],
    });
    let mut r = record_of(vec![item]);
    assert_eq!(p.apply(&granted(&p, "R8001"), &mut r).count, 1);
}

#[test]
fn sensitive_terms_are_checked_when_the_policy_loads() {
    for (terms, key) in [
        ("hiv = [\"a\"]", "sensitive.terms.hiv[0]"),
        ("hiv = [\"  \"]", "sensitive.terms.hiv[0]"),
        ("Bad-Name = [\"HIV\"]", "sensitive.terms.Bad-Name"),
    ] {
        let text = format!("{BASE}\n[sensitive.terms]\n{terms}");
        let err = Policy::from_toml_str(&text, "p.toml")
            .unwrap_err()
            .to_string();
        assert!(err.contains(key), "{terms}: {err}");
    }
}

#[test]
fn marks_show_exactly_what_apply_leaves_without_editing_the_record() {
    let p = base();
    let p1 = source("gwh", "RN3").provenance("Patient/1", None).unwrap();
    let mut r = record_of(vec![
        one(
            Entry::Condition(Condition {
                code: hiv(),
                ..Default::default()
            }),
            &[false],
        ),
        one(
            Entry::Appointment(icr_model::Appointment {
                description: Some("Routine".into()),
                ..Default::default()
            }),
            &[false],
        ),
        one(
            Entry::Appointment(icr_model::Appointment {
                reasons: vec![hiv()],
                ..Default::default()
            }),
            &[false],
        ),
    ]);
    r.patient = Some(icr_merge::MergedPatient {
        demographics: Default::default(),
        provenance: vec![p1],
    });
    r.warnings.push(Warning {
        code: "demographics-differ",
        message: "Name differs".into(),
        sources: vec![],
    });
    let nurse = granted(&p, "R8001"); // clinical sections, not cleared
    let cleared = granted(&p, "R8000");
    let asked: SectionSet = [Section::Conditions, Section::Appointments]
        .into_iter()
        .collect();
    let a = p
        .before_fetch(&staff("R8001", "RN3"), nhs(PERSON), asked, &none())
        .unwrap();
    let no_demographics = p.after_fetch(a, &[ods("RN3")]).unwrap();
    for g in [&nurse, &cleared, &no_demographics] {
        let original = r.clone();
        let sensitivity = p.sensitivity(&r, g.allowed().sections());
        let (shown, marked) = p.mark(g, &r, &sensitivity);
        let mut edited = r.clone();
        let withheld = p.apply(g, &mut edited);
        assert_eq!(shown.to_record(), edited);
        assert_eq!(marked, withheld);
        assert_eq!(r, original, "marking never edits the record");
    }
    let sensitivity = p.sensitivity(&r, nurse.allowed().sections());
    assert_eq!(sensitivity.count(), 2);
    let (shown, withheld) = p.mark(&nurse, &r, &sensitivity);
    assert_eq!(withheld.count, 2);
    assert!(shown.patient().is_some() && shown.warnings().count() == 1);
    assert!(!shown.is_shown(Section::Conditions, 0));
    assert!(shown.is_shown(Section::Appointments, 0));
    assert!(!shown.is_shown(Section::Appointments, 1));
    let appointments: Vec<usize> = shown
        .sections()
        .filter(|(s, _)| *s == Section::Appointments)
        .flat_map(|(_, items)| items.indexed().map(|(i, _)| i))
        .collect();
    assert_eq!(appointments, [0]);
    assert_eq!(
        shown.item_count(),
        2,
        "the routine appointment and the patient"
    );
    // Read for other sections than the grant's, or from another record:
    // marks fail closed, and say so.
    let other = p.sensitivity(&r, SectionSet::all());
    let (again, w) = p.mark(&no_demographics, &r, &other);
    assert!(again.patient().is_none() && again.warnings().count() == 0);
    assert_eq!((again.items().count(), w.count), (0, 3));
    assert_eq!(
        p.mark(&cleared, &r, &other).0.items().count(),
        3,
        "cleared: all"
    );
    let empty = MergedRecord::default();
    let wrong = p.sensitivity(&empty, nurse.allowed().sections());
    let (closed, _) = p.mark(&nurse, &r, &wrong);
    assert_eq!(closed.items().count(), 0);
    assert_eq!(p.mark(&nurse, &r, &wrong).1.count, 3, "and say so");
}
