//! The objection register: people who have opted out of sharing through the
//! ICR, wholly or for the records of particular organisations.
//!
//! ```toml
//! [[objection]]
//! nhs_number = "9990000115"
//! scope = "all"                     # nothing is shared through the ICR
//!
//! [[objection]]
//! nhs_number = "9990000131"
//! scope = "organisations"           # these organisations' records are not shared
//! organisations = ["RVN"]
//! allow_own_organisation = true     # RVN's own staff still see RVN's records (default)
//! ```
//!
//! The register is the current state: an objection withdrawn is removed
//! from the file. It is this ICR's local register, not the National Data
//! Opt-out (which concerns research and planning, not direct care).

use std::collections::{BTreeSet, HashMap};
use std::fmt;

use icr_model::{NhsNumber, OdsCode};
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

use crate::error::{ConfigErrors, Problems, parse_toml};

/// Most objections one register may hold.
pub const MAX_OBJECTIONS: usize = 5_000_000;
/// Most organisations one objection may name.
pub const MAX_ORGANISATIONS_PER_OBJECTION: usize = 1_000;

/// What one person has objected to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Objection {
    /// Nothing is shared through the ICR.
    All,
    /// The records held by these organisations are not shared with other
    /// organisations.
    Organisations {
        /// The organisations whose records are not shared.
        organisations: BTreeSet<OdsCode>,
        /// Whether a caller working for one of these organisations still
        /// sees that organisation's own records through the ICR.
        allow_own_organisation: bool,
    },
}

/// The objection register, by NHS number.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Objections {
    by_person: HashMap<NhsNumber, Objection>,
}

impl Objections {
    /// A register with no objections.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Parses the register from TOML `text`; `origin` (usually the file's
    /// path) names it in errors. Errors name the key and never contain an
    /// NHS number.
    pub fn from_toml_str(text: &str, origin: &str) -> Result<Self, ConfigErrors> {
        let raw: RawRegister = parse_toml(text, origin)?;
        let mut problems = Problems::new(origin);
        if raw.objection.len() > MAX_OBJECTIONS {
            problems.at(
                "objection",
                format!("more than {MAX_OBJECTIONS} objections in one register"),
            );
            return problems.finish(Self::default());
        }
        let mut by_person = HashMap::with_capacity(raw.objection.len());
        let mut first_at: HashMap<NhsNumber, usize> = HashMap::new();
        for (i, o) in raw.objection.into_iter().enumerate() {
            let key = |k: &str| format!("objection[{i}].{k}");
            let nhs = match NhsNumber::parse(&o.nhs_number.0) {
                Ok(n) => n,
                Err(e) => {
                    problems.at(key("nhs_number"), format!("not a valid NHS number: {e}"));
                    continue;
                }
            };
            if let Some(j) = first_at.get(&nhs) {
                problems.at(
                    key("nhs_number"),
                    format!(
                        "the same person is already listed at objection[{j}]; one entry per person"
                    ),
                );
                continue;
            }
            first_at.insert(nhs, i);
            let objection = match (o.scope, o.organisations, o.allow_own_organisation) {
                (Scope::All, None, None) => Objection::All,
                (Scope::All, _, _) => {
                    problems.at(
                        key("scope"),
                        "scope \"all\" objects to all sharing: organisations and allow_own_organisation belong to scope \"organisations\"",
                    );
                    continue;
                }
                (Scope::Organisations, None, _) => {
                    problems.at(
                        key("organisations"),
                        "scope \"organisations\" needs the list of organisations whose records are not shared",
                    );
                    continue;
                }
                (Scope::Organisations, Some(list), allow_own) => {
                    if list.is_empty() {
                        problems.at(key("organisations"), "the list is empty");
                        continue;
                    }
                    if list.len() > MAX_ORGANISATIONS_PER_OBJECTION {
                        problems.at(
                            key("organisations"),
                            format!("more than {MAX_ORGANISATIONS_PER_OBJECTION} organisations"),
                        );
                        continue;
                    }
                    Objection::Organisations {
                        organisations: list.into_iter().collect(),
                        allow_own_organisation: allow_own.unwrap_or(true),
                    }
                }
            };
            by_person.insert(nhs, objection);
        }
        problems.finish(Self { by_person })
    }

    /// Adds or replaces one person's objection (for tests and tools).
    pub fn insert(&mut self, nhs_number: NhsNumber, objection: Objection) {
        self.by_person.insert(nhs_number, objection);
    }

    /// The person's objection, if they have one.
    pub fn get(&self, nhs_number: &NhsNumber) -> Option<&Objection> {
        self.by_person.get(nhs_number)
    }

    /// Number of people in the register.
    pub fn len(&self) -> usize {
        self.by_person.len()
    }

    /// True when nobody has objected.
    pub fn is_empty(&self) -> bool {
        self.by_person.is_empty()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRegister {
    #[serde(default)]
    objection: Vec<RawObjection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawObjection {
    nhs_number: QuotedNhsNumber,
    scope: Scope,
    #[serde(default)]
    organisations: Option<Vec<OdsCode>>,
    #[serde(default)]
    allow_own_organisation: Option<bool>,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum Scope {
    All,
    Organisations,
}

/// The NHS number as written; deserialising it never puts its value in an
/// error message (serde's own "invalid type" messages would).
struct QuotedNhsNumber(String);

impl<'de> Deserialize<'de> for QuotedNhsNumber {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = QuotedNhsNumber;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("the NHS number as a quoted string of 10 digits")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                if v.len() > 64 {
                    return Err(E::custom("not a valid NHS number: far too long"));
                }
                Ok(QuotedNhsNumber(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
                Err(E::custom(
                    "write the NHS number as a quoted string (\"999…\"), not a number",
                ))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
                Err(E::custom(
                    "write the NHS number as a quoted string (\"999…\"), not a number",
                ))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Err(E::custom(
                    "write the NHS number as a quoted string of 10 digits",
                ))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Err(E::custom(
                    "write the NHS number as a quoted string of 10 digits",
                ))
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nhs(s: &str) -> NhsNumber {
        NhsNumber::parse(s).unwrap()
    }

    #[test]
    fn parses_both_scopes() {
        let text = r#"
[[objection]]
nhs_number = "9990000115"
scope = "all"

[[objection]]
nhs_number = "9990000018"
scope = "organisations"
organisations = ["rvn", "RN3"]

[[objection]]
nhs_number = "9990000026"
scope = "organisations"
organisations = ["RVN"]
allow_own_organisation = false
"#;
        let r = Objections::from_toml_str(text, "objections.toml").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r.get(&nhs("9990000115")), Some(&Objection::All));
        let orgs: BTreeSet<OdsCode> = ["RN3", "RVN"]
            .iter()
            .map(|s| OdsCode::parse(s).unwrap())
            .collect();
        assert_eq!(
            r.get(&nhs("9990000018")),
            Some(&Objection::Organisations {
                organisations: orgs,
                allow_own_organisation: true
            })
        );
        assert!(matches!(
            r.get(&nhs("9990000026")),
            Some(Objection::Organisations {
                allow_own_organisation: false,
                ..
            })
        ));
        assert_eq!(r.get(&nhs("9990000034")), None);
        assert!(Objections::from_toml_str("", "x").unwrap().is_empty());
    }

    fn errors(text: &str) -> Vec<String> {
        Objections::from_toml_str(text, "obj.toml")
            .unwrap_err()
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn errors_name_the_key_and_never_the_number() {
        let e = errors("[[objection]]\nnhs_number = \"9990000116\"\nscope = \"all\"\n");
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("obj.toml: objection[0].nhs_number: not a valid NHS number"),
            "{e:?}"
        );
        assert!(!e[0].contains("9990000116"), "{e:?}");

        let e = errors("[[objection]]\nnhs_number = 9990000115\nscope = \"all\"\n");
        assert!(e[0].contains("objection[0].nhs_number"), "{e:?}");
        assert!(
            e[0].contains("quoted string") && !e[0].contains("9990000115"),
            "{e:?}"
        );

        let e = errors(
            "[[objection]]\nnhs_number = \"9990000115\"\nscope = \"all\"\n[[objection]]\nnhs_number = \"9990000115\"\nscope = \"all\"\n",
        );
        assert!(e[0].starts_with("obj.toml: objection[1].nhs_number: the same person is already listed at objection[0]"), "{e:?}");
        assert!(!e[0].contains("9990000115"));

        let e = errors(
            "[[objection]]\nnhs_number = \"9990000115\"\nscope = \"all\"\norganisations = [\"RVN\"]\n",
        );
        assert!(e[0].contains("objection[0].scope"), "{e:?}");
        let e = errors("[[objection]]\nnhs_number = \"9990000115\"\nscope = \"organisations\"\n");
        assert!(e[0].contains("objection[0].organisations: scope"), "{e:?}");
        let e = errors(
            "[[objection]]\nnhs_number = \"9990000115\"\nscope = \"organisations\"\norganisations = []\n",
        );
        assert!(
            e[0].contains("objection[0].organisations: the list is empty"),
            "{e:?}"
        );
        let e = errors("[[objection]]\nnhs_number = \"9990000115\"\nscope = \"some\"\n");
        assert!(e[0].contains("obj.toml:3: objection[0].scope"), "{e:?}");
        let e =
            errors("[[objection]]\nnhs_number = \"9990000115\"\nscope = \"all\"\nreason = \"x\"\n");
        assert!(e[0].contains("unknown field `reason`"), "{e:?}");
        let e = errors(
            "[[objection]]\nnhs_number = \"9990000115\"\nscope = \"organisations\"\norganisations = [\"R 1\"]\n",
        );
        assert!(e[0].contains("objection[0].organisations[0]"), "{e:?}");
        // Every problem is reported, not only the first.
        let e = errors(
            "[[objection]]\nnhs_number = \"1\"\nscope = \"all\"\n[[objection]]\nnhs_number = \"2\"\nscope = \"all\"\n",
        );
        assert_eq!(e.len(), 2, "{e:?}");
    }
}
