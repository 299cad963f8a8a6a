//! The policy files in config/ parse and say what docs/policy.md says they
//! say; malformed files are refused with every problem named by key.

mod common;

use std::path::PathBuf;

use common::*;
use icr_model::{NhsNumber, Section, SectionSet};
use icr_policy::{Objection, Objections, Policy, RoleCode, SctId};

fn config(path: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../config")
        .join(path);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn load(path: &str) -> Policy {
    Policy::from_toml_str(&config(path), path).unwrap_or_else(|e| panic!("{e}"))
}

fn set(names: &[&str]) -> SectionSet {
    names
        .iter()
        .map(|n| n.parse::<Section>().unwrap())
        .collect()
}

fn class<'a>(p: &'a Policy, role: &str) -> Option<&'a str> {
    p.class_of(&RoleCode::parse(role).unwrap())
        .map(|c| c.name.as_str())
}

#[test]
fn the_default_policy_says_what_the_documentation_says() {
    let p = load("example/policy.toml");
    for r in ["R8000", "R8001", "R8002", "R8003", "R8016", "R8017"] {
        assert_eq!(class(&p, r), Some("clinical"), "{r}");
    }
    assert_eq!(class(&p, "R8014"), Some("social_care"));
    for r in ["R8006", "R8008", "R8009", "R8010", "R8011", "R8013"] {
        assert_eq!(class(&p, r), Some("admin"), "{r}");
    }
    for r in [
        "R8004", "R8005", "R8007", "R8012", "R8015", "R8024", "R0001", "R5105",
    ] {
        assert_eq!(class(&p, r), None, "{r} is deliberately in no class");
    }
    let c = &p.classes()["clinical"];
    assert_eq!(c.sections, SectionSet::all());
    assert!(c.break_glass);
    let s = &p.classes()["social_care"];
    assert_eq!(
        s.sections,
        set(&[
            "demographics",
            "contacts",
            "care_team",
            "alerts",
            "documents",
            "appointments"
        ])
    );
    assert!(!s.break_glass);
    let a = &p.classes()["admin"];
    assert_eq!(
        a.sections,
        set(&["demographics", "appointments", "care_team"])
    );
    assert!(!a.break_glass);
    let ph = &p.classes()["pharmacist"];
    assert!(ph.roles.is_empty());
    assert_eq!(
        ph.sections,
        set(&["demographics", "medications", "allergies", "conditions"])
    );
    let mut patient = SectionSet::all();
    patient = patient.iter().filter(|s| *s != Section::Alerts).collect();
    assert_eq!(p.patient_sections(), patient);
    assert!(p.self_declaring_settings().is_empty());
    let b = p.break_glass_rules();
    assert_eq!(
        (
            b.min_chars,
            b.max_chars,
            b.min_distinct,
            b.min_words,
            b.overrides_objections
        ),
        (20, 500, 8, 3, false)
    );
    assert!(p.may_read_audit(&staff("R0001", "RN3"), nhs("9990000018")));
    assert!(p.may_read_audit(&staff("R5105", "RN3"), nhs("9990000018")));
    let cats: Vec<(&str, usize)> = p
        .sensitive_codes()
        .categories()
        .iter()
        .map(|(k, v)| (k.as_str(), v.len()))
        .collect();
    assert_eq!(
        cats,
        [
            ("assisted_conception", 3),
            ("gender_identity", 3),
            ("hiv", 2),
            ("sexual_health", 6),
            ("termination_of_pregnancy", 2)
        ]
    );
    // No role is cleared for sensitive items by default.
    let g = p
        .after_fetch(
            p.before_fetch(
                &staff("R8000", "RN3"),
                nhs("9990000018"),
                SectionSet::all(),
                &Objections::empty(),
            )
            .unwrap(),
            &[ods("RN3")],
        )
        .unwrap();
    assert!(!g.allowed().sensitive_cleared());
}

#[test]
fn every_listed_snomed_id_is_well_formed() {
    // The parser checks them; this names the ones docs/policy.md cites.
    for id in [
        "86406008",
        "111880001",
        "8098009",
        "15628003",
        "105629000",
        "428015005",
        "76272004",
        "33839006",
        "52637005",
        "58533008",
        "265064001",
        "93461009",
        "407376001",
        "407377005",
        "386639001",
        "57797005",
    ] {
        assert!(SctId::parse(id).is_ok(), "{id}");
    }
}

#[test]
fn the_demo_policy_is_the_default_plus_its_settings() {
    let d = load("example/policy.toml");
    let p = load("demo/policy.toml");
    assert_eq!(p.classes(), d.classes());
    assert_eq!(p.patient_sections(), d.patient_sections());
    assert_eq!(p.break_glass_rules(), d.break_glass_rules());
    assert_eq!(p.sensitive_codes(), d.sensitive_codes());
    let names: Vec<&str> = p
        .self_declaring_settings()
        .iter()
        .map(|s| s.setting.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "Medvivo out-of-hours GP service",
            "Emergency department, Great Western Hospital (synthetic site code)",
            "Ambulance service clinicians (synthetic organisation code)"
        ]
    );
    let basis = |role: &str, org: &str| {
        let a = p
            .before_fetch(
                &staff(role, org),
                nhs("9990000018"),
                SectionSet::all(),
                &Objections::empty(),
            )
            .unwrap();
        p.after_fetch(a, &[ods("RN3"), ods("RNZ")])
            .map(|g| g.basis().code())
            .map_err(|r| r.code)
    };
    assert_eq!(basis("R8000", "Y9U01"), Ok("self-declared"), "Medvivo");
    assert_eq!(
        basis("R8001", "Y9E01"),
        Ok("self-declared"),
        "emergency department"
    );
    assert_eq!(
        basis("R8003", "Y9A01"),
        Ok("self-declared"),
        "ambulance clinician"
    );
    assert_eq!(
        basis("R8008", "Y9A01"),
        Err(icr_policy::RefusalCode::NoRelationship),
        "ambulance admin"
    );
    assert_eq!(basis("R8000", "RNZ"), Ok("involved"));
    assert_eq!(
        basis("R8000", "RD1"),
        Err(icr_policy::RefusalCode::NoRelationship)
    );
}

#[test]
fn the_demo_objection_register() {
    let r = Objections::from_toml_str(&config("demo/objections.toml"), "demo/objections.toml")
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(r.len(), 2);
    // Both numbers are in the 999 test range with valid check digits.
    let whole = NhsNumber::parse("9990000115").unwrap();
    let one = NhsNumber::parse("9996391582").unwrap();
    assert_eq!(r.get(&whole), Some(&Objection::All));
    assert_eq!(
        r.get(&one),
        Some(&Objection::Organisations {
            organisations: [ods("RVN")].into_iter().collect(),
            allow_own_organisation: true,
        })
    );
    // Through the demo policy: a GWH clinician is refused the first, and
    // gets the second without AWP's sources; an AWP clinician gets AWP's own.
    let p = load("demo/policy.toml");
    let gwh = staff("R8000", "RN3");
    assert_eq!(
        p.before_fetch(&gwh, whole, SectionSet::all(), &r)
            .unwrap_err()
            .code,
        icr_policy::RefusalCode::NoPatientConsent
    );
    let a = p.before_fetch(&gwh, one, SectionSet::all(), &r).unwrap();
    assert!(!a.sources().permits(&ods("RVN")) && a.sources().permits(&ods("RN3")));
    let a = p
        .before_fetch(&staff("R8000", "RVN"), one, SectionSet::all(), &r)
        .unwrap();
    assert!(a.sources().permits(&ods("RVN")));
}

fn problems(text: &str) -> Vec<String> {
    match Policy::from_toml_str(text, "p.toml") {
        Ok(_) => panic!("expected errors for:\n{text}"),
        Err(e) => e.problems().iter().map(ToString::to_string).collect(),
    }
}

const MINIMAL: &str = "[classes.clinical]\nroles = [\"R8000\"]\nsections = [\"allergies\"]\n[patient]\nsections = []\n";

#[test]
fn the_minimal_policy_parses() {
    let p = Policy::from_toml_str(MINIMAL, "p.toml").unwrap();
    assert_eq!(p.origin(), "p.toml");
    assert_eq!(class(&p, "r8000"), Some("clinical"));
}

#[test]
fn syntax_and_type_errors_name_the_line_and_key() {
    let e = problems(&format!(
        "{MINIMAL}[classes.admin]\nroles = [\"R8008\"]\nsections = [\"labs\"]\n"
    ));
    assert_eq!(e.len(), 1);
    assert!(
        e[0].starts_with("p.toml:8: classes.admin.sections[0]: unknown section \"labs\""),
        "{e:?}"
    );
    let e = problems(&format!("{MINIMAL}[breakglass]\nmin_reason_chars = 5\n"));
    assert!(e[0].contains("unknown field `breakglass`"), "{e:?}");
    let e = problems(&format!(
        "{MINIMAL}[break_glass]\nmin_reason_chars = \"x\"\n"
    ));
    assert!(
        e[0].starts_with("p.toml:7: break_glass.min_reason_chars: invalid type"),
        "{e:?}"
    );
    let e = problems("[classes.clinical\n");
    assert!(e[0].starts_with("p.toml:1: "), "{e:?}");
    let e = problems("[classes.clinical]\nroles = []\nsections = []\n");
    assert!(e[0].contains("missing field `patient`"), "{e:?}");
    let e = problems(&format!(
        "{MINIMAL}[[relationship.self_declare]]\nsetting = \"OOH\"\norganisations = [\"Y 9\"]\n"
    ));
    assert!(
        e[0].contains("relationship.self_declare[0].organisations[0]"),
        "{e:?}"
    );
}

#[test]
fn meaning_errors_are_all_reported_with_their_keys() {
    let text = r#"
purposes = []
[classes.clinical]
roles = ["R8000", "R 1", "patient"]
sections = ["allergies"]
[classes.admin]
roles = ["R8000"]
sections = []
[classes.patient]
roles = []
sections = []
[classes.Bad-Name]
roles = []
sections = []
[patient]
sections = []
[[relationship.self_declare]]
setting = ""
[[relationship.self_declare]]
setting = "Nurses"
roles = ["R8001"]
[break_glass]
min_reason_chars = 600
[audit]
privacy_officer_roles = ["R0001", "x y"]
[sensitive]
cleared_roles = ["R8099", "patient"]
[sensitive.codes]
hiv = ["86406009", "86406008", "12345"]
"Bad" = []
"#;
    let e = problems(text);
    let expect = [
        "p.toml: purposes: at least one purpose is needed",
        "p.toml: classes.Bad-Name: a class name is lower-case",
        "p.toml: classes.clinical.roles[0]: R8000 is already in class admin: a role belongs to one class",
        "p.toml: classes.clinical.roles[1]: the role claim is not a role code",
        "p.toml: classes.clinical.roles[2]: \"patient\" is not a staff role code",
        "p.toml: classes.patient: a class name is lower-case",
        "p.toml: relationship.self_declare[0].setting: name the setting",
        "p.toml: relationship.self_declare[0].organisations: a self-declaring setting names organisations, roles, or both",
        "p.toml: relationship.self_declare[1].roles[0]: R8001 is in no class (a typo?)",
        "p.toml: break_glass.min_reason_chars: must be at least 1 and at most max_reason_chars",
        "p.toml: audit.privacy_officer_roles[1]: the role claim is not a role code",
        "p.toml: sensitive.cleared_roles[0]: R8099 is in no class (a typo?)",
        "p.toml: sensitive.codes.Bad: a category name is lower-case",
        "p.toml: sensitive.codes.hiv[0]: not a SNOMED CT concept id: the check digit is wrong (Verhoeff): probably a typo",
        "p.toml: sensitive.codes.hiv[2]: not a SNOMED CT concept id: a SNOMED CT id has 6 to 18 digits",
    ];
    for x in expect {
        assert!(
            e.iter().any(|p| p.starts_with(x)),
            "missing {x:?} in\n{}",
            e.join("\n")
        );
    }
    assert_eq!(e.len(), expect.len(), "{}", e.join("\n"));
}
