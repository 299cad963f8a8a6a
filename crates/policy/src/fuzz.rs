//! Support for fuzzing the decisions: a fixed policy, and a reader that
//! turns bytes into one request. Not part of the policy logic.

use std::sync::{Arc, LazyLock};

use icr_merge::{Conflict, ConflictValue, MergedItem, MergedRecord};
use icr_model::{
    Appointment, CodeSystem, Coding, Concept, Condition, Entry, NhsNumber, OdsCode, Section,
    SectionSet, SourceId, SourceMeta,
};

use crate::{Caller, Objection, Objections, Policy};

/// The policy the decision fuzzer uses: every class and rule exercised.
pub const FUZZ_POLICY: &str = r#"
purposes = ["directcare"]
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
sections = ["demographics", "medications", "allergies", "conditions", "appointments"]
[[relationship.self_declare]]
setting = "Out-of-hours"
organisations = ["Y9U01"]
[[relationship.self_declare]]
setting = "Nurses anywhere"
roles = ["R8001"]
[break_glass]
overrides_objections = true
[audit]
privacy_officer_roles = ["R0001"]
[sensitive]
cleared_roles = ["R8000"]
[sensitive.codes]
hiv = ["86406008"]
"#;

static POLICY: LazyLock<Option<Policy>> =
    LazyLock::new(|| Policy::from_toml_str(FUZZ_POLICY, "fuzz-policy").ok());

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }

    fn pick<'t, T>(&mut self, from: &'t [T]) -> Option<&'t T> {
        let b = usize::from(self.byte());
        from.get(b % from.len().max(1))
    }

    fn text(&mut self) -> String {
        let n = usize::from(self.byte());
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        String::from_utf8_lossy(head).into_owned()
    }
}

const ROLES: &[&str] = &[
    "R8000", "R8001", "R8014", "R8008", "R0001", "R9999", "patient", "x y",
];
const ORGS: &[&str] = &["RN3", "RD1", "RVN", "Y9U01", "X26"];
const CODES: &[&str] = &["86406008", "22298006", "86406009", " 86406008 ", ""];

/// Runs one request read from `data` through every decision.
pub(crate) fn decision(data: &[u8]) {
    let Some(policy) = POLICY.as_ref() else {
        return;
    };
    let mut b = Bytes(data);
    let Some(patient) = NhsNumber::from_first_nine(999_000_001 + u32::from(b.byte() % 4)) else {
        return;
    };
    let Some(other) = NhsNumber::from_first_nine(999_000_002) else {
        return;
    };
    let Ok(rn3) = OdsCode::parse("RN3") else {
        return;
    };
    let org = b
        .pick(ORGS)
        .and_then(|s| OdsCode::parse(s).ok())
        .unwrap_or_else(|| rn3.clone());
    let role = b.pick(ROLES).copied().unwrap_or("R8000");
    let own = if b.byte().is_multiple_of(2) {
        patient
    } else {
        other
    };
    let purpose = if b.byte().is_multiple_of(5) {
        b.text()
    } else {
        "directcare".to_string()
    };
    let Ok(caller) = Caller::from_claims(role, org, &purpose, Some(own)) else {
        return;
    };
    let reason = match b.byte() % 3 {
        0 => None,
        _ => Some(b.text()),
    };
    let caller = caller.with_break_glass(reason.as_deref());
    let requested: SectionSet = Section::ALL
        .iter()
        .copied()
        .filter(|s| (u16::from(b.byte()) >> (*s as u16 % 8)) & 1 == 1)
        .collect();
    let mut objections = Objections::empty();
    match b.byte() % 4 {
        1 => objections.insert(patient, Objection::All),
        2 | 3 => objections.insert(
            patient,
            Objection::Organisations {
                organisations: ORGS
                    .iter()
                    .filter(|_| b.byte().is_multiple_of(2))
                    .filter_map(|s| OdsCode::parse(s).ok())
                    .collect(),
                allow_own_organisation: b.byte().is_multiple_of(2),
            },
        ),
        _ => {}
    }
    let Ok(allowed) = policy.before_fetch(&caller, patient, requested, &objections) else {
        let _ = policy.may_read_audit(&caller, patient);
        return;
    };
    let holders: Vec<OdsCode> = ORGS
        .iter()
        .filter_map(|s| OdsCode::parse(s).ok())
        .filter(|o| allowed.sources().permits(o) && b.byte().is_multiple_of(2))
        .collect();
    let Ok(granted) = policy.after_fetch(allowed, &holders) else {
        return;
    };
    let mut record = record(&mut b, rn3);
    let before: usize = record.sections.values().map(Vec::len).sum();
    let withheld = policy.apply(&granted, &mut record);
    let after: usize = record.sections.values().map(Vec::len).sum();
    assert_eq!(before, after + withheld.count + withheld.outside_sections);
}

fn record(b: &mut Bytes<'_>, ods_code: OdsCode) -> MergedRecord {
    let Ok(id) = SourceId::parse("fuzz") else {
        return MergedRecord::default();
    };
    let meta = Arc::new(SourceMeta {
        id: id.clone(),
        organisation: "Fuzz".into(),
        ods_code,
        system: "fuzz".into(),
    });
    let mut record = MergedRecord::default();
    for i in 0..usize::from(b.byte() % 8) {
        let code = b.pick(CODES).copied().unwrap_or_default().to_string();
        let system = if b.byte().is_multiple_of(3) {
            CodeSystem::Dmd
        } else {
            CodeSystem::Snomed
        };
        let concept = Concept::coded(Coding {
            system,
            code: code.clone(),
            display: None,
        });
        let (section, entry) = if b.byte().is_multiple_of(2) {
            (
                Section::Conditions,
                Entry::Condition(Condition {
                    code: concept,
                    ..Default::default()
                }),
            )
        } else {
            (
                Section::Appointments,
                Entry::Appointment(Appointment {
                    reasons: vec![concept],
                    ..Default::default()
                }),
            )
        };
        let Ok(mut provenance) = meta.provenance(&format!("Item/{i}"), None) else {
            continue;
        };
        provenance.restricted = b.byte().is_multiple_of(5);
        let conflicts = if b.byte().is_multiple_of(4) {
            vec![Conflict {
                field: "reasons".into(),
                values: vec![ConflictValue {
                    sources: vec![id.clone()],
                    value: Some(
                        serde_json::json!([{ "codings": [{ "system": "http://snomed.info/sct", "code": code }] }]),
                    ),
                }],
            }]
        } else {
            Vec::new()
        };
        record
            .sections
            .entry(section)
            .or_default()
            .push(MergedItem {
                entry,
                provenance: vec![provenance],
                conflicts,
            });
    }
    record
}
