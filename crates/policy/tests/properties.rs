//! Properties over generated requests, records and files: no combination
//! panics; a refused caller never gets sections; the withheld count is
//! exactly what was removed; nothing sensitive is left for a role not
//! cleared; the parsers never panic.

mod common;

use common::*;
use icr_merge::{Conflict, ConflictValue, MergedItem, MergedRecord};
use icr_model::{
    CodeSystem, Coding, Concept, Condition, Entry, Medication, NhsNumber, Section, SectionSet,
    SourceId, TestResult,
};
use icr_policy::{Caller, Objection, Objections, Policy};
use proptest::prelude::*;

const POLICY: &str = r#"
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
[classes.pharmacist]
roles = ["TESTPHARM"]
sections = ["demographics", "medications", "allergies", "conditions"]
break_glass = true
[patient]
sections = ["demographics", "conditions", "medications", "results", "appointments"]
[[relationship.self_declare]]
setting = "Out-of-hours"
organisations = ["Y9U01"]
[sensitive]
cleared_roles = ["R8000"]
[sensitive.codes]
hiv = ["86406008", "111880001"]
sexual_health = ["8098009"]
"#;

/// The listed ids, checked below by text search rather than by the crate.
const SENSITIVE: &[&str] = &["86406008", "111880001", "8098009"];
const ORDINARY: &[&str] = &[
    "195967001",
    "38341003",
    "22298006",
    "44054006",
    "86406009",
    "1118800010",
];
const ROLES: &[&str] = &[
    "R8000",
    "R8001",
    "R8014",
    "R8008",
    "TESTPHARM",
    "R9999",
    "patient",
];
const ORGS: &[&str] = &["RN3", "RD1", "RVN", "Y9U01", "X26"];
const REASONS: &[&str] = &[
    "",
    "Emergency",
    "aaaaaaaaaaaaaaaaaaaaaaaaa",
    "Patient unconscious in resus, no GP record available",
    "Collapsed at home, family report diabetes",
];

fn policy_() -> Policy {
    policy(POLICY)
}

#[derive(Debug, Clone)]
struct Request {
    role: usize,
    org: usize,
    own: bool,
    reason: Option<String>,
    requested: u16,
    objection: u8,
    objected: Vec<bool>,
    allow_own: bool,
    holders: Vec<bool>,
}

fn request() -> impl Strategy<Value = Request> {
    (
        0..ROLES.len(),
        0..ORGS.len(),
        any::<bool>(),
        prop_oneof![
            Just(None),
            (0..REASONS.len()).prop_map(|i| Some(REASONS[i].to_string())),
            any::<String>().prop_map(Some),
        ],
        any::<u16>(),
        0u8..3,
        proptest::collection::vec(any::<bool>(), ORGS.len()),
        any::<bool>(),
        proptest::collection::vec(any::<bool>(), ORGS.len()),
    )
        .prop_map(
            |(role, org, own, reason, requested, objection, objected, allow_own, holders)| {
                Request {
                    role,
                    org,
                    own,
                    reason,
                    requested,
                    objection,
                    objected,
                    allow_own,
                    holders,
                }
            },
        )
}

fn code() -> impl Strategy<Value = Coding> {
    (
        prop_oneof![
            (0..SENSITIVE.len()).prop_map(|i| SENSITIVE[i].to_string()),
            (0..ORDINARY.len()).prop_map(|i| ORDINARY[i].to_string()),
            "[0-9 ]{0,12}",
        ],
        prop_oneof![
            Just(CodeSystem::Snomed),
            Just(CodeSystem::Dmd),
            Just(CodeSystem::Loinc)
        ],
    )
        .prop_map(|(code, system)| Coding {
            system,
            code,
            display: None,
        })
}

fn concept() -> impl Strategy<Value = Concept> {
    proptest::collection::vec(code(), 0..3).prop_map(|codings| Concept {
        codings,
        text: None,
    })
}

/// An item with codes only in describing concepts (and conflicts), so that
/// any listed id anywhere in it means it is sensitive.
fn item() -> impl Strategy<Value = MergedItem> {
    let entry = prop_oneof![
        concept().prop_map(|code| Entry::Condition(Condition {
            code,
            ..Default::default()
        })),
        (concept(), proptest::collection::vec(concept(), 0..2)).prop_map(
            |(medication, reasons)| Entry::Medication(Medication {
                medication,
                reasons,
                ..Default::default()
            })
        ),
        concept().prop_map(|code| Entry::Result(TestResult {
            code,
            ..Default::default()
        })),
        proptest::collection::vec(concept(), 0..2).prop_map(|reasons| Entry::Appointment(
            icr_model::Appointment {
                reasons,
                ..Default::default()
            }
        )),
    ];
    (
        entry,
        proptest::collection::vec(any::<bool>(), 1..3),
        proptest::option::of(code()),
        0u32..1000,
    )
        .prop_map(|(entry, restricted, conflict, n)| {
            let provenance = restricted
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let mut p = source(&format!("s{i}"), "RN3").provenance(&format!("Item/{n}"), None).unwrap();
                    p.restricted = *r;
                    p
                })
                .collect();
            let conflicts = conflict
                .map(|c| Conflict {
                    field: "reasons".into(),
                    values: vec![ConflictValue {
                        sources: vec![SourceId::parse("s1").unwrap()],
                        value: Some(serde_json::json!([{ "codings": [{ "system": c.system.uri(), "code": c.code }] }])),
                    }],
                })
                .into_iter()
                .collect();
            MergedItem { entry, provenance, conflicts }
        })
}

/// Items and the patient, as the audit counts what was released.
fn after_count(r: &MergedRecord) -> usize {
    r.sections.values().map(Vec::len).sum::<usize>() + usize::from(r.patient.is_some())
}

fn record() -> impl Strategy<Value = MergedRecord> {
    proptest::collection::vec(item(), 0..12).prop_map(|items| {
        let mut r = MergedRecord::default();
        for i in items {
            r.sections.entry(i.entry.section()).or_default().push(i);
        }
        r
    })
}

/// Independent of the crate: an item is sensitive when any provenance is
/// restricted or its JSON anywhere holds a listed id as a SNOMED CT or
/// dm+d code.
fn looks_sensitive(item: &MergedItem) -> bool {
    if item.provenance.iter().any(|p| p.restricted) {
        return true;
    }
    let json = serde_json::to_value(item).unwrap();
    fn walk(v: &serde_json::Value) -> bool {
        match v {
            serde_json::Value::Array(a) => a.iter().any(walk),
            serde_json::Value::Object(o) => {
                let hit = matches!(
                    (o.get("system").and_then(|s| s.as_str()), o.get("code").and_then(|c| c.as_str())),
                    (Some("http://snomed.info/sct" | "https://dmd.nhs.uk"), Some(c)) if SENSITIVE.contains(&c.trim())
                );
                hit || o.values().any(walk)
            }
            _ => false,
        }
    }
    walk(&json)
}

const PERSON: &str = "9990000018";

fn build(r: &Request) -> (Caller, NhsNumber, SectionSet, Objections) {
    let person = nhs(PERSON);
    let other = nhs("9990000026");
    let org = ods(ORGS[r.org]);
    let caller = Caller::from_claims(
        ROLES[r.role],
        org,
        "directcare",
        Some(if r.own { person } else { other }),
    )
    .unwrap()
    .with_break_glass(r.reason.as_deref());
    let requested: SectionSet = Section::ALL
        .iter()
        .copied()
        .filter(|s| r.requested & (1 << (*s as u16)) != 0)
        .collect();
    let mut o = Objections::empty();
    match r.objection {
        1 => o.insert(person, Objection::All),
        2 => o.insert(
            person,
            Objection::Organisations {
                organisations: ORGS
                    .iter()
                    .zip(&r.objected)
                    .filter(|(_, y)| **y)
                    .map(|(s, _)| ods(s))
                    .collect(),
                allow_own_organisation: r.allow_own,
            },
        ),
        _ => {}
    }
    (caller, person, requested, o)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn no_combination_panics_and_refused_callers_get_nothing(r in request(), mut rec in record()) {
        let p = policy_();
        let (caller, person, requested, objections) = build(&r);
        match p.before_fetch(&caller, person, requested, &objections) {
            Err(refusal) => {
                // A refusal carries a code and a message, nothing to fetch.
                prop_assert!(!refusal.message.contains(PERSON));
            }
            Ok(allowed) => {
                // Sections: never empty, never beyond the request or the role.
                let role_sections = match caller.role() {
                    Some(role) => p.class_of(role).map(|c| c.sections).unwrap_or_default(),
                    None => p.patient_sections(),
                };
                prop_assert!(!allowed.sections().is_empty());
                prop_assert_eq!(allowed.sections().intersection(requested).intersection(role_sections), allowed.sections());
                let holders: Vec<_> = ORGS.iter().zip(&r.holders).filter(|(_, y)| **y).map(|(s, _)| ods(s))
                    .filter(|o| allowed.sources().permits(o)).collect();
                let sections = allowed.sections();
                let cleared = allowed.sensitive_cleared();
                if let Ok(granted) = p.after_fetch(allowed, &holders) {
                    let before = item_count(&rec);
                    // Marked rather than edited: the same answer as the copy edited below.
                    let original = rec.clone();
                    let sensitivity = p.sensitivity(&original, sections);
                    let (shown, marked) = p.mark(&granted, &original, &sensitivity);
                    let withheld = p.apply(&granted, &mut rec);
                    prop_assert_eq!(&shown.to_record(), &rec);
                    prop_assert_eq!(&marked, &withheld);
                    prop_assert_eq!(marked.outside_sections, withheld.outside_sections);
                    prop_assert_eq!(shown.item_count(), after_count(&rec));
                    let after = item_count(&rec);
                    // The counts are exactly what was removed.
                    prop_assert_eq!(before, after + withheld.count + withheld.outside_sections);
                    prop_assert_eq!(withheld.by_section.values().sum::<usize>(), withheld.count);
                    // Nothing outside the allowed sections is left.
                    prop_assert!(rec.sections.keys().all(|s| sections.contains(*s)));
                    // Nothing sensitive is left for a caller not cleared.
                    if !cleared {
                        for items in rec.sections.values() {
                            for i in items {
                                prop_assert!(!looks_sensitive(i), "left: {:?}", i);
                            }
                        }
                    }
                }
            }
        }
        let _ = p.may_read_audit(&caller, person);
    }

    #[test]
    fn whatever_is_withheld_is_sensitive(mut rec in record()) {
        // The other direction: an uncleared caller loses only sensitive items.
        let p = policy_();
        let c = staff("R8001", "RN3");
        let a = p.before_fetch(&c, nhs(PERSON), SectionSet::all(), &Objections::empty()).unwrap();
        let g = p.after_fetch(a, &[ods("RN3")]).unwrap();
        let expected: usize = rec.sections.values().flatten().filter(|i| looks_sensitive(i)).count();
        let w = p.apply(&g, &mut rec);
        prop_assert_eq!(w.count, expected);
    }

    #[test]
    fn break_glass_accepts_only_what_meets_the_rules(raw in any::<String>()) {
        let rules = icr_policy::BreakGlassRules::default();
        if let Ok(reason) = rules.judge(&raw) {
            let s = reason.as_str();
            let n = s.chars().count();
            prop_assert!((rules.min_chars..=rules.max_chars).contains(&n));
            prop_assert!(!s.chars().any(char::is_control));
            prop_assert_eq!(s, s.trim());
            prop_assert!(!s.contains("  "));
        }
    }

    #[test]
    fn the_policy_parser_never_panics(text in any::<String>()) {
        let _ = Policy::from_toml_str(&text, "p.toml");
    }

    #[test]
    fn the_policy_parser_never_panics_on_near_misses(cut in 0usize..2000, junk in "[\\[\\]\"=a-z0-9 ,\n.#]{0,40}") {
        let mut text = POLICY.to_string();
        let at = cut.min(text.len());
        let at = (0..=at).rev().find(|i| text.is_char_boundary(*i)).unwrap_or(0);
        text.insert_str(at, &junk);
        let _ = Policy::from_toml_str(&text, "p.toml");
    }

    #[test]
    fn the_register_parser_never_panics(text in any::<String>()) {
        let _ = Objections::from_toml_str(&text, "o.toml");
    }

    #[test]
    fn the_register_parser_never_panics_on_near_misses(
        number in "[0-9]{0,12}",
        scope in "(all|organisations|x)",
        orgs in proptest::collection::vec("[A-Z0-9 ]{0,6}", 0..3),
        allow in proptest::option::of(any::<bool>()),
    ) {
        let mut text = format!("[[objection]]\nnhs_number = \"{number}\"\nscope = \"{scope}\"\n");
        if !orgs.is_empty() {
            text.push_str(&format!("organisations = {orgs:?}\n"));
        }
        if let Some(a) = allow {
            text.push_str(&format!("allow_own_organisation = {a}\n"));
        }
        match Objections::from_toml_str(&text, "o.toml") {
            Ok(r) => prop_assert_eq!(r.len(), 1),
            Err(e) => for p in e.problems() {
                // An NHS number never appears in an error.
                prop_assert!(number.len() < 10 || !p.to_string().contains(&number), "{}", p);
            },
        }
    }

    #[test]
    fn the_decision_fuzz_entry_point_never_panics(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        icr_policy::fuzz_decision(&data);
        icr_policy::fuzz_policy_toml(&data);
        icr_policy::fuzz_objections_toml(&data);
        icr_policy::fuzz_break_glass_header(&data);
    }
}
