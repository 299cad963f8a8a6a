//! The twelve sections of the record, and sets of them.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! sections {
    ($($var:ident = $name:literal, $doc:literal;)+) => {
        /// One section of the shared record.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
        pub enum Section {
            $(#[doc = $doc] $var,)+
        }

        impl Section {
            /// Every section, in display order.
            pub const ALL: &'static [Section] = &[$(Section::$var,)+];

            /// The section's name as used in URLs, config and JSON.
            pub const fn as_str(self) -> &'static str {
                match self { $(Section::$var => $name,)+ }
            }
        }

        impl FromStr for Section {
            type Err = UnknownSection;
            fn from_str(s: &str) -> Result<Self, UnknownSection> {
                match s {
                    $($name => Ok(Section::$var),)+
                    _ => Err(UnknownSection(s.chars().take(64).collect())),
                }
            }
        }
    };
}

sections! {
    Demographics = "demographics", "Name, date of birth, sex, address and contact details.";
    Contacts = "contacts", "Next of kin, carers and others involved in the person's life.";
    CareTeam = "care_team", "The services and teams involved in the person's care.";
    Medications = "medications", "Prescriptions, medication statements and their changes.";
    Allergies = "allergies", "Allergies and adverse reactions.";
    Conditions = "conditions", "Problems, diagnoses and conditions.";
    Results = "results", "Laboratory results, imaging and other investigation reports.";
    Documents = "documents", "Care plans, letters, discharge summaries and other documents.";
    Procedures = "procedures", "Operations and procedures.";
    Referrals = "referrals", "Referrals to and from services.";
    Appointments = "appointments", "Appointments and attendances.";
    Alerts = "alerts", "Safeguarding and other alerts.";
}

/// A section name that is not one of the twelve.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown section {0:?}; known sections are: demographics, contacts, care_team, medications, allergies, conditions, results, documents, procedures, referrals, appointments, alerts"
)]
pub struct UnknownSection(pub String);

impl fmt::Display for Section {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Section {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Section {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// A set of sections, cheap to copy and compare.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SectionSet(u16);

impl SectionSet {
    /// No sections.
    pub const EMPTY: SectionSet = SectionSet(0);

    /// Every section.
    pub fn all() -> Self {
        Section::ALL.iter().copied().collect()
    }

    /// Whether `s` is in the set.
    pub fn contains(self, s: Section) -> bool {
        self.0 & (1 << s as u16) != 0
    }

    /// Adds `s`.
    pub fn insert(&mut self, s: Section) {
        self.0 |= 1 << s as u16;
    }

    /// Sections in both sets.
    pub fn intersection(self, other: Self) -> Self {
        Self(self.0 & other.0)
    }

    /// Sections in either set.
    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// True when the set has no sections.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Number of sections in the set.
    pub fn len(self) -> usize {
        self.0.count_ones() as usize
    }

    /// The sections, in display order.
    pub fn iter(self) -> impl Iterator<Item = Section> {
        Section::ALL
            .iter()
            .copied()
            .filter(move |s| self.contains(*s))
    }

    /// Parses a comma-separated list (`allergies,medications`); an empty
    /// string is an empty set.
    pub fn parse_list(s: &str) -> Result<Self, UnknownSection> {
        s.split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::parse)
            .collect()
    }
}

impl FromIterator<Section> for SectionSet {
    fn from_iter<I: IntoIterator<Item = Section>>(iter: I) -> Self {
        let mut set = SectionSet::EMPTY;
        for s in iter {
            set.insert(s);
        }
        set
    }
}

impl fmt::Debug for SectionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl fmt::Display for SectionSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for s in self.iter() {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            f.write_str(s.as_str())?;
        }
        Ok(())
    }
}

impl Serialize for SectionSet {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for SectionSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<Section>::deserialize(d)?.into_iter().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Section::ALL.len(), 12);
        for s in Section::ALL {
            assert_eq!(s.as_str().parse::<Section>(), Ok(*s));
        }
        let err = "labs".parse::<Section>().unwrap_err();
        assert!(err.to_string().contains("\"labs\""));
        assert!(err.to_string().contains("care_team"));
    }

    #[test]
    fn sets() {
        let s = SectionSet::parse_list("allergies, medications,,").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s.to_string(), "medications,allergies");
        assert!(SectionSet::parse_list("allergies,x").is_err());
        assert_eq!(SectionSet::all().len(), 12);
        assert!(SectionSet::parse_list("").unwrap().is_empty());
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"["medications","allergies"]"#);
        assert_eq!(serde_json::from_str::<SectionSet>(&json).unwrap(), s);
    }
}
