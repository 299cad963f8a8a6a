//! What an extract's specification allows, read from TOML.

use icr_model::{Section, SectionSet};
use serde::{Deserialize, Serialize};

/// How the date of birth is generalised.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BirthLevel {
    /// Year and month of birth (what OMOP's person table holds).
    MonthYear,
    /// A five-year age band on the extract's date ([`crate::AgeBand`]).
    AgeBand,
}

/// How far the postcode is reduced.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PostcodeLevel {
    /// Left out.
    None,
    /// The postcode district (outward code).
    District,
    /// The area code the supplied lookup gives the district (none when the
    /// lookup lacks it: never the district instead, which is finer).
    Area,
}

/// An extract's specification: the sections it may hold and how coarse
/// the person's details are made. Every setting must be given: nothing is
/// extracted by default.
#[derive(Clone, PartialEq, Eq, Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// The sections extracted; `demographics` allows the person's
    /// generalised details (birth, gender, area, practice, death). Any
    /// section not listed is dropped.
    pub sections: SectionSet,
    /// How the date of birth is generalised.
    pub date_of_birth: BirthLevel,
    /// How far the postcode is reduced.
    pub postcode: PostcodeLevel,
    /// Whether items a source labels restricted are extracted (the
    /// default, when absent, is no).
    #[serde(default)]
    pub restricted_items: bool,
}

/// Why a specification was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpecError {
    /// Not valid TOML, an unknown key, a missing setting, or a value
    /// outside its choices.
    #[error("extract specification: {0}")]
    Invalid(String),
    /// No section is allowed, so the extract would hold nothing.
    #[error("extract specification: `sections` lists no section")]
    NoSections,
}

impl Spec {
    /// Parses a specification from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, SpecError> {
        let spec: Spec =
            toml::from_str(text).map_err(|e| SpecError::Invalid(e.message().into()))?;
        if spec.sections.is_empty() {
            return Err(SpecError::NoSections);
        }
        Ok(spec)
    }

    /// Whether the spec allows `section`.
    pub fn allows(&self, section: Section) -> bool {
        self.sections.contains(section)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_spec() {
        let s = Spec::from_toml(
            r#"
            sections = ["demographics", "conditions", "medications"]
            date_of_birth = "age_band"
            postcode = "district"
            "#,
        )
        .unwrap();
        assert_eq!(
            s.sections.to_string(),
            "demographics,medications,conditions"
        );
        assert_eq!(s.date_of_birth, BirthLevel::AgeBand);
        assert_eq!(s.postcode, PostcodeLevel::District);
        assert!(!s.restricted_items);
        assert!(s.allows(Section::Conditions));
        assert!(!s.allows(Section::Alerts));
        let t = Spec::from_toml(
            "sections = [\"results\"]\ndate_of_birth = \"month_year\"\npostcode = \"area\"\nrestricted_items = true\n",
        )
        .unwrap();
        assert_eq!(t.date_of_birth, BirthLevel::MonthYear);
        assert_eq!(t.postcode, PostcodeLevel::Area);
        assert!(t.restricted_items);
    }

    #[test]
    fn refuses_what_it_does_not_know() {
        let base = "date_of_birth = \"month_year\"\npostcode = \"none\"\n";
        let err = |extra: &str| Spec::from_toml(&format!("{base}{extra}")).unwrap_err();
        assert_eq!(err("sections = []\n"), SpecError::NoSections);
        let unknown = err("sections = [\"results\"]\nnames = true\n");
        assert!(
            unknown.to_string().contains("unknown field `names`"),
            "{unknown}"
        );
        let section = err("sections = [\"labs\"]\n");
        assert!(section.to_string().contains("\"labs\""), "{section}");
        let missing = Spec::from_toml("sections = [\"results\"]\n").unwrap_err();
        assert!(missing.to_string().contains("date_of_birth"), "{missing}");
        let level = Spec::from_toml(
            "sections = [\"results\"]\ndate_of_birth = \"day\"\npostcode = \"none\"\n",
        )
        .unwrap_err();
        assert!(level.to_string().contains("day"), "{level}");
        assert!(matches!(
            Spec::from_toml("sections = "),
            Err(SpecError::Invalid(_))
        ));
    }
}
