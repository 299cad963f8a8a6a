//! Coded values: a code with its system and display text.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The code system a code belongs to. The well-known UK systems have their
/// own variants; anything else keeps its URI.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CodeSystem {
    /// SNOMED CT (`http://snomed.info/sct`).
    Snomed,
    /// NHS Dictionary of medicines and devices (`https://dmd.nhs.uk`).
    Dmd,
    /// LOINC (`http://loinc.org`).
    Loinc,
    /// ICD-10 (`http://hl7.org/fhir/sid/icd-10`).
    Icd10,
    /// Read codes version 2 (`http://read.info/readv2`).
    ReadV2,
    /// Clinical Terms Version 3 (`http://read.info/ctv3`).
    Ctv3,
    /// UCUM units (`http://unitsofmeasure.org`).
    Ucum,
    /// Any other system, by its URI (or a local name when a source has no URI).
    Other(Box<str>),
}

impl CodeSystem {
    /// The system's canonical URI.
    pub fn uri(&self) -> &str {
        match self {
            CodeSystem::Snomed => "http://snomed.info/sct",
            CodeSystem::Dmd => "https://dmd.nhs.uk",
            CodeSystem::Loinc => "http://loinc.org",
            CodeSystem::Icd10 => "http://hl7.org/fhir/sid/icd-10",
            CodeSystem::ReadV2 => "http://read.info/readv2",
            CodeSystem::Ctv3 => "http://read.info/ctv3",
            CodeSystem::Ucum => "http://unitsofmeasure.org",
            CodeSystem::Other(uri) => uri,
        }
    }

    /// Recognises a system URI, including the older spellings sources still send.
    pub fn from_uri(uri: &str) -> Self {
        match uri.trim_end_matches('/') {
            "http://snomed.info/sct" | "https://snomed.info/sct" | "SNOMED CT" | "SCT" => {
                CodeSystem::Snomed
            }
            "https://dmd.nhs.uk" | "http://dmd.nhs.uk" | "https://fhir.nhs.uk/Id/dmd-code" => {
                CodeSystem::Dmd
            }
            "http://loinc.org" | "https://loinc.org" | "LN" => CodeSystem::Loinc,
            "http://hl7.org/fhir/sid/icd-10" | "http://hl7.org/fhir/sid/icd-10-uk" => {
                CodeSystem::Icd10
            }
            "http://read.info/readv2" => CodeSystem::ReadV2,
            "http://read.info/ctv3" => CodeSystem::Ctv3,
            "http://unitsofmeasure.org" => CodeSystem::Ucum,
            other => CodeSystem::Other(other.into()),
        }
    }

    /// The system of a code whose source named none.
    pub fn unnamed() -> Self {
        CodeSystem::Other("".into())
    }

    /// Whether the source named no system (its URI is blank).
    pub fn is_unnamed(&self) -> bool {
        self.uri().trim().is_empty()
    }

    /// Preference when one concept carries several codings: national
    /// clinical terminologies first, local codes last.
    pub fn rank(&self) -> u8 {
        match self {
            CodeSystem::Snomed => 0,
            CodeSystem::Dmd => 1,
            CodeSystem::Loinc => 2,
            CodeSystem::Icd10 => 3,
            CodeSystem::Ctv3 => 4,
            CodeSystem::ReadV2 => 5,
            CodeSystem::Ucum => 6,
            CodeSystem::Other(_) => 7,
        }
    }
}

impl fmt::Debug for CodeSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.uri())
    }
}

impl Serialize for CodeSystem {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.uri())
    }
}

impl<'de> Deserialize<'de> for CodeSystem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Ok(CodeSystem::from_uri(&s))
    }
}

/// One code from one system, with the display text the source gave it.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub struct Coding {
    /// The code system; a source that names none leaves it unnamed, and it
    /// is then left out when written (never written as `""`).
    #[serde(
        default = "CodeSystem::unnamed",
        skip_serializing_if = "CodeSystem::is_unnamed"
    )]
    pub system: CodeSystem,
    /// The code.
    pub code: String,
    /// The source's display text for the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display: Option<String>,
}

impl Coding {
    /// A coding with display text.
    pub fn new(system: CodeSystem, code: impl Into<String>, display: impl Into<String>) -> Self {
        Self {
            system,
            code: code.into(),
            display: Some(display.into()),
        }
    }
}

/// A clinical concept as one or more codings and/or free text.
#[derive(Clone, PartialEq, Eq, Hash, Debug, Default, Serialize, Deserialize)]
pub struct Concept {
    /// The codings, in the order the source gave them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub codings: Vec<Coding>,
    /// Free text, when the source gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

impl Concept {
    /// A concept with a single coding.
    pub fn coded(coding: Coding) -> Self {
        Self {
            codings: vec![coding],
            text: None,
        }
    }

    /// A concept that is free text only.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            codings: Vec::new(),
            text: Some(text.into()),
        }
    }

    /// The coding from the most preferred system (SNOMED CT, then dm+d,
    /// LOINC, …), used to recognise the same concept across sources.
    pub fn primary(&self) -> Option<&Coding> {
        self.codings
            .iter()
            .filter(|c| !c.code.is_empty())
            .min_by_key(|c| c.system.rank())
    }

    /// Text for a reader: the free text, else the primary coding's display,
    /// else any display, else the primary code.
    pub fn label(&self) -> Option<&str> {
        self.text
            .as_deref()
            .or_else(|| self.primary().and_then(|c| c.display.as_deref()))
            .or_else(|| self.codings.iter().find_map(|c| c.display.as_deref()))
            .or_else(|| self.primary().map(|c| c.code.as_str()))
    }

    /// True when there is neither a coding nor text.
    pub fn is_empty(&self) -> bool {
        self.codings.is_empty() && self.text.is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn primary_prefers_national_codes() {
        let c = Concept {
            codings: vec![
                Coding::new(CodeSystem::Other("urn:local".into()), "X1", "Local"),
                Coding::new(CodeSystem::Loinc, "2823-3", "Potassium"),
                Coding::new(
                    CodeSystem::Snomed,
                    "1000651000000109",
                    "Serum potassium level",
                ),
            ],
            text: None,
        };
        assert_eq!(c.primary().unwrap().system, CodeSystem::Snomed);
        assert_eq!(c.label(), Some("Serum potassium level"));
    }

    #[test]
    fn a_coding_without_a_system_is_written_without_one() {
        for blank in ["", " ", "\t"] {
            let c = Coding::new(CodeSystem::from_uri(blank), "X1", "Local");
            assert!(c.system.is_unnamed());
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(json, r#"{"code":"X1","display":"Local"}"#);
            let back: Coding = serde_json::from_str(&json).unwrap();
            assert!(back.system.is_unnamed());
        }
        let named = Coding::new(CodeSystem::Loinc, "2823-3", "Potassium");
        assert!(!named.system.is_unnamed());
        assert!(
            serde_json::to_string(&named)
                .unwrap()
                .contains(r#""system":"http://loinc.org""#)
        );
    }

    #[test]
    fn systems_round_trip() {
        for s in [
            CodeSystem::Snomed,
            CodeSystem::Dmd,
            CodeSystem::Loinc,
            CodeSystem::Icd10,
            CodeSystem::ReadV2,
            CodeSystem::Ctv3,
            CodeSystem::Ucum,
        ] {
            assert_eq!(CodeSystem::from_uri(s.uri()), s);
        }
        assert_eq!(
            CodeSystem::from_uri("http://snomed.info/sct/"),
            CodeSystem::Snomed
        );
        assert_eq!(CodeSystem::from_uri("urn:oid:1.2.3").uri(), "urn:oid:1.2.3");
    }
}
