//! The population-health extract's decision: the policy's sections only,
//! no sensitive item, and everyone with an objection left out.

use icr_model::{NhsNumber, OdsCode, Section, SectionSet};
use icr_policy::{Basis, Objection, Objections, Policy, RefusalCode};

const BASE: &str = "[classes.clinical]\nroles = [\"R8000\"]\nsections = [\"allergies\"]\n[patient]\nsections = []\n";

fn policy(extra: &str) -> Policy {
    Policy::from_toml_str(&format!("{BASE}{extra}"), "policy.toml").unwrap()
}

fn nhs(s: &str) -> NhsNumber {
    NhsNumber::parse(s).unwrap()
}

fn set(sections: &[Section]) -> SectionSet {
    sections.iter().copied().collect()
}

#[test]
fn without_a_population_health_table_no_extract_may_run() {
    let p = policy("");
    assert_eq!(p.population_health_sections(), None);
    let refusal = p
        .population_health(nhs("9990000018"), SectionSet::all(), &Objections::empty())
        .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::PurposeNotPermitted);
}

#[test]
fn an_extract_gets_only_the_sections_the_policy_allows_and_no_sensitive_items() {
    let p = policy("[population_health]\nsections = [\"conditions\", \"medications\"]\n");
    let granted = p
        .population_health(
            nhs("9990000018"),
            set(&[Section::Conditions, Section::Documents]),
            &Objections::empty(),
        )
        .unwrap();
    assert_eq!(granted.basis(), &Basis::PopulationHealth);
    assert_eq!(granted.basis().code(), "population-health");
    assert_eq!(granted.allowed().sections(), set(&[Section::Conditions]));
    assert!(!granted.allowed().sensitive_cleared());
    assert_eq!(granted.allowed().class(), "population_health");
    let refusal = p
        .population_health(
            nhs("9990000018"),
            set(&[Section::Documents]),
            &Objections::empty(),
        )
        .unwrap_err();
    assert_eq!(refusal.code, RefusalCode::NoSections);
}

#[test]
fn anyone_with_any_objection_is_left_out_of_an_extract() {
    let p = policy("[population_health]\nsections = [\"conditions\"]\n");
    let mut objections = Objections::empty();
    objections.insert(nhs("9990000018"), Objection::All);
    objections.insert(
        nhs("9990000026"),
        Objection::Organisations {
            organisations: [OdsCode::parse("RN3").unwrap()].into_iter().collect(),
            allow_own_organisation: true,
        },
    );
    for who in ["9990000018", "9990000026"] {
        let refusal = p
            .population_health(nhs(who), SectionSet::all(), &objections)
            .unwrap_err();
        assert_eq!(refusal.code, RefusalCode::NoPatientConsent, "{who}");
    }
    assert!(
        p.population_health(nhs("9990000034"), SectionSet::all(), &objections)
            .is_ok()
    );
}

#[test]
fn an_empty_population_health_table_is_a_configuration_error() {
    let err = Policy::from_toml_str(
        &format!("{BASE}[population_health]\nsections = []\n"),
        "policy.toml",
    )
    .unwrap_err();
    assert!(
        err.to_string().contains("population_health.sections"),
        "{err}"
    );
}
