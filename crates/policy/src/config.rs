//! Reading `policy.toml` into a [`Policy`]: every key checked, every
//! problem reported with its key.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use icr_model::{OdsCode, Section, SectionSet};
use serde::Deserialize;

use crate::break_glass::BreakGlassRules;
use crate::caller::{PATIENT, RoleCode};
use crate::error::{ConfigErrors, Problems, parse_toml};
use crate::policy::{Policy, RoleClass, SelfDeclare};
use crate::sensitive::SensitiveCodes;
use crate::snomed::SctId;
use crate::terms::Term;

const MAX_CLASSES: usize = 64;
const MAX_ROLES: usize = 1_000;
const MAX_SETTINGS: usize = 1_000;
const MAX_CODES: usize = 100_000;
/// The most sensitive terms a policy may list, in all categories.
const MAX_TERMS: usize = 10_000;
/// The largest `max_reason_chars` a policy may set.
const MAX_REASON_CHARS: usize = 2_000;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPolicy {
    #[serde(default = "default_purposes")]
    purposes: Vec<String>,
    classes: BTreeMap<String, RawClass>,
    patient: RawPatient,
    #[serde(default)]
    relationship: RawRelationship,
    #[serde(default)]
    break_glass: RawBreakGlass,
    #[serde(default)]
    audit: RawAudit,
    #[serde(default)]
    sensitive: RawSensitive,
    #[serde(default)]
    population_health: Option<RawPopulationHealth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPopulationHealth {
    sections: Vec<Section>,
}

fn default_purposes() -> Vec<String> {
    vec!["directcare".to_string()]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClass {
    #[serde(default)]
    description: String,
    roles: Vec<String>,
    sections: Vec<Section>,
    #[serde(default)]
    break_glass: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPatient {
    sections: Vec<Section>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawRelationship {
    #[serde(default)]
    self_declare: Vec<RawSelfDeclare>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawSelfDeclare {
    setting: String,
    #[serde(default)]
    organisations: Vec<OdsCode>,
    #[serde(default)]
    roles: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawBreakGlass {
    min_reason_chars: usize,
    max_reason_chars: usize,
    min_distinct_chars: usize,
    min_words: usize,
    overrides_objections: bool,
}

impl Default for RawBreakGlass {
    fn default() -> Self {
        let d = BreakGlassRules::default();
        Self {
            min_reason_chars: d.min_chars,
            max_reason_chars: d.max_chars,
            min_distinct_chars: d.min_distinct,
            min_words: d.min_words,
            overrides_objections: d.overrides_objections,
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawAudit {
    #[serde(default)]
    privacy_officer_roles: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawSensitive {
    #[serde(default)]
    cleared_roles: Vec<String>,
    #[serde(default)]
    codes: BTreeMap<String, Vec<String>>,
    #[serde(default)]
    terms: BTreeMap<String, Vec<String>>,
}

fn is_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_lowercase())
        && s.len() <= 32
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_')
}

fn printable(s: &str, max: usize) -> bool {
    let n = s.trim().chars().count();
    (1..=max).contains(&n) && !s.chars().any(char::is_control)
}

pub(crate) fn parse(text: &str, origin: &str) -> Result<Policy, ConfigErrors> {
    let raw: RawPolicy = parse_toml(text, origin)?;
    let mut p = Problems::new(origin);

    // purposes
    if raw.purposes.is_empty() {
        p.at(
            "purposes",
            "at least one purpose is needed (the ICR serves \"directcare\")",
        );
    }
    let mut purposes = BTreeSet::new();
    for (i, s) in raw.purposes.iter().enumerate() {
        if printable(s, 64) {
            purposes.insert(s.trim().to_string());
        } else {
            p.at(
                format!("purposes[{i}]"),
                "a purpose is 1 to 64 printable characters",
            );
        }
    }

    // classes and their roles
    if raw.classes.is_empty() {
        p.at(
            "classes",
            "no role classes: every staff request would be refused",
        );
    }
    if raw.classes.len() > MAX_CLASSES {
        p.at("classes", format!("more than {MAX_CLASSES} classes"));
    }
    let mut classes = BTreeMap::new();
    let mut roles: HashMap<RoleCode, String> = HashMap::new();
    for (name, c) in raw.classes.into_iter().take(MAX_CLASSES) {
        let key = |k: &str| format!("classes.{name}.{k}");
        if !is_name(&name) || name == PATIENT {
            p.at(
                format!("classes.{}", name.chars().take(40).collect::<String>()),
                "a class name is lower-case letters, digits and '_' (up to 32, starting with a letter), and not \"patient\" (patients are configured under [patient])",
            );
            continue;
        }
        if c.description.chars().count() > 200 || c.description.chars().any(char::is_control) {
            p.at(key("description"), "at most 200 printable characters");
        }
        if c.roles.len() > MAX_ROLES {
            p.at(key("roles"), format!("more than {MAX_ROLES} roles"));
        }
        let mut own = BTreeSet::new();
        for (i, r) in c.roles.iter().enumerate().take(MAX_ROLES) {
            match RoleCode::parse(r) {
                Ok(code) => {
                    if let Some(other) = roles.get(&code) {
                        p.at(
                            format!("classes.{name}.roles[{i}]"),
                            format!(
                                "{code} is already in class {other}: a role belongs to one class"
                            ),
                        );
                    } else {
                        roles.insert(code.clone(), name.clone());
                        own.insert(code);
                    }
                }
                Err(e) => p.at(format!("classes.{name}.roles[{i}]"), e.to_string()),
            }
        }
        let sections: SectionSet = c.sections.iter().copied().collect();
        classes.insert(
            name.clone(),
            RoleClass {
                name,
                description: c.description,
                roles: own,
                sections,
                break_glass: c.break_glass,
            },
        );
    }
    let known_role = |s: &str| -> Result<RoleCode, String> {
        let code = RoleCode::parse(s).map_err(|e| e.to_string())?;
        if roles.contains_key(&code) {
            Ok(code)
        } else {
            Err(format!("{code} is in no class (a typo?)"))
        }
    };

    // patient
    let patient_sections: SectionSet = raw.patient.sections.iter().copied().collect();

    // population_health: the sections an extract may hold (none: no extract)
    let population_health = raw.population_health.map(|ph| {
        if ph.sections.is_empty() {
            p.at(
                "population_health.sections",
                "lists no section: leave [population_health] out to allow no extract",
            );
        }
        ph.sections.iter().copied().collect::<SectionSet>()
    });

    // relationship.self_declare
    if raw.relationship.self_declare.len() > MAX_SETTINGS {
        p.at(
            "relationship.self_declare",
            format!("more than {MAX_SETTINGS} settings"),
        );
    }
    let mut self_declare = Vec::new();
    for (i, s) in raw
        .relationship
        .self_declare
        .into_iter()
        .enumerate()
        .take(MAX_SETTINGS)
    {
        let key = |k: &str| format!("relationship.self_declare[{i}].{k}");
        if !printable(&s.setting, 120) {
            p.at(
                key("setting"),
                "name the setting in 1 to 120 printable characters",
            );
        }
        if s.organisations.is_empty() && s.roles.is_empty() {
            p.at(
                key("organisations"),
                "a self-declaring setting names organisations, roles, or both (neither would let everyone self-declare)",
            );
        }
        let mut setting_roles = BTreeSet::new();
        for (j, r) in s.roles.iter().enumerate().take(MAX_ROLES) {
            match known_role(r) {
                Ok(code) => {
                    setting_roles.insert(code);
                }
                Err(e) => p.at(format!("relationship.self_declare[{i}].roles[{j}]"), e),
            }
        }
        self_declare.push(SelfDeclare {
            setting: s.setting.trim().to_string(),
            organisations: s.organisations.into_iter().collect(),
            roles: setting_roles,
        });
    }

    // break_glass
    let b = raw.break_glass;
    if !(1..=MAX_REASON_CHARS).contains(&b.max_reason_chars) {
        p.at(
            "break_glass.max_reason_chars",
            format!("must be 1 to {MAX_REASON_CHARS}"),
        );
    }
    if b.min_reason_chars == 0 || b.min_reason_chars > b.max_reason_chars {
        p.at(
            "break_glass.min_reason_chars",
            "must be at least 1 and at most max_reason_chars",
        );
    }
    if b.min_distinct_chars > b.max_reason_chars || b.min_words > b.max_reason_chars {
        p.at(
            "break_glass",
            "min_distinct_chars and min_words cannot exceed max_reason_chars",
        );
    }
    let break_glass = BreakGlassRules {
        min_chars: b.min_reason_chars,
        max_chars: b.max_reason_chars,
        min_distinct: b.min_distinct_chars,
        min_words: b.min_words,
        overrides_objections: b.overrides_objections,
    };

    // audit
    let mut privacy_officers = BTreeSet::new();
    for (i, r) in raw
        .audit
        .privacy_officer_roles
        .iter()
        .enumerate()
        .take(MAX_ROLES)
    {
        match RoleCode::parse(r) {
            Ok(code) => {
                privacy_officers.insert(code);
            }
            Err(e) => p.at(format!("audit.privacy_officer_roles[{i}]"), e.to_string()),
        }
    }

    // sensitive
    let mut cleared_roles = BTreeSet::new();
    let mut patient_cleared = false;
    for (i, r) in raw
        .sensitive
        .cleared_roles
        .iter()
        .enumerate()
        .take(MAX_ROLES)
    {
        if r.trim() == PATIENT {
            patient_cleared = true;
            continue;
        }
        match known_role(r) {
            Ok(code) => {
                cleared_roles.insert(code);
            }
            Err(e) => p.at(format!("sensitive.cleared_roles[{i}]"), e),
        }
    }
    let mut categories = BTreeMap::new();
    let mut total = 0usize;
    for (name, list) in raw.sensitive.codes {
        if !is_name(&name) {
            p.at(
                format!("sensitive.codes.{}", name.chars().take(40).collect::<String>()),
                "a category name is lower-case letters, digits and '_' (up to 32, starting with a letter)",
            );
            continue;
        }
        total += list.len();
        if total > MAX_CODES {
            p.at(
                format!("sensitive.codes.{name}"),
                format!("more than {MAX_CODES} codes in all"),
            );
            break;
        }
        let mut ids = Vec::with_capacity(list.len());
        for (i, s) in list.iter().enumerate() {
            match SctId::parse(s.trim()) {
                Ok(id) => ids.push(id),
                Err(e) => p.at(
                    format!("sensitive.codes.{name}[{i}]"),
                    format!("not a SNOMED CT concept id: {e}"),
                ),
            }
        }
        categories.insert(name, ids);
    }

    let mut terms = BTreeMap::new();
    let mut total = 0usize;
    for (name, list) in raw.sensitive.terms {
        if !is_name(&name) {
            p.at(
                format!("sensitive.terms.{}", name.chars().take(40).collect::<String>()),
                "a category name is lower-case letters, digits and '_' (up to 32, starting with a letter)",
            );
            continue;
        }
        total += list.len();
        if total > MAX_TERMS {
            p.at(
                format!("sensitive.terms.{name}"),
                format!("more than {MAX_TERMS} terms in all"),
            );
            break;
        }
        let mut parsed = Vec::with_capacity(list.len());
        for (i, s) in list.iter().enumerate() {
            match Term::parse(s) {
                Ok(t) => parsed.push(t),
                Err(e) => p.at(format!("sensitive.terms.{name}[{i}]"), e.to_string()),
            }
        }
        terms.insert(name, parsed);
    }

    let policy = Policy {
        origin: origin.to_string(),
        purposes,
        classes,
        roles,
        patient_sections,
        self_declare,
        break_glass,
        privacy_officers,
        cleared_roles,
        patient_cleared,
        population_health,
        sensitive: SensitiveCodes::new(categories).with_terms(terms),
    };
    p.finish(policy)
}
