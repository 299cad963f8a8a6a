//! Identifiers that can only hold valid values: ODS codes, source ids and
//! source-namespaced record ids.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Why an identifier was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    /// An ODS code must be 3 to 10 upper-case letters or digits.
    #[error(
        "{0:?} is not an ODS code: expected 3 to 10 upper-case letters or digits (for example RN3 or J83001)"
    )]
    OdsCode(String),
    /// A source id must be lower-case letters, digits and hyphens.
    #[error(
        "{0:?} is not a source id: expected 1 to 40 lower-case letters, digits or hyphens, starting with a letter or digit"
    )]
    SourceId(String),
    /// A record id must be 1 to 512 printable characters.
    #[error("record id is not usable: expected 1 to 512 characters with no control characters")]
    RecordId,
}

/// An Organisation Data Service code (e.g. `RN3`, `RD1`, `J83001`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OdsCode(Arc<str>);

impl OdsCode {
    /// Parses an ODS code; lower case is accepted and upper-cased.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let t = s.trim();
        if (3..=10).contains(&t.len()) && t.bytes().all(|b| b.is_ascii_alphanumeric()) {
            Ok(Self(t.to_ascii_uppercase().into()))
        } else {
            Err(IdError::OdsCode(s.to_string()))
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id under which a source system is registered (e.g. `gwh`, `ruh-pas`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(Arc<str>);

impl SourceId {
    /// Parses a source id.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let ok = (1..=40).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if ok {
            Ok(Self(s.into()))
        } else {
            Err(IdError::SourceId(s.to_string()))
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A source's own id for one record, namespaced by the source so that two
/// sources' ids never collide. Written `source:local`, e.g.
/// `gwh:AllergyIntolerance/12`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordId {
    source: SourceId,
    local: Arc<str>,
}

impl RecordId {
    /// Builds a record id from the source and the id that source uses.
    pub fn new(source: SourceId, local: &str) -> Result<Self, IdError> {
        if local.is_empty() || local.len() > 512 || local.chars().any(char::is_control) {
            return Err(IdError::RecordId);
        }
        Ok(Self {
            source,
            local: local.into(),
        })
    }

    /// The source that holds the record.
    pub fn source(&self) -> &SourceId {
        &self.source
    }

    /// The id as the source itself knows it.
    pub fn local(&self) -> &str {
        &self.local
    }

    /// Parses the `source:local` form.
    pub fn parse(s: &str) -> Result<Self, IdError> {
        let (source, local) = s.split_once(':').ok_or(IdError::RecordId)?;
        Self::new(SourceId::parse(source)?, local)
    }
}

macro_rules! text_id_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.as_str())
            }
        }
        impl FromStr for $t {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

text_id_impls!(OdsCode);
text_id_impls!(SourceId);

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.source, self.local)
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ods_codes() {
        assert_eq!(OdsCode::parse("rn3").unwrap().as_str(), "RN3");
        assert_eq!(OdsCode::parse("J83001").unwrap().as_str(), "J83001");
        for bad in ["", "R1", "RN 3", "RN3-X", "ABCDEFGHIJK"] {
            assert!(OdsCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn source_ids() {
        assert!(SourceId::parse("gwh").is_ok());
        assert!(SourceId::parse("ruh-pas-2").is_ok());
        for bad in ["", "GWH", "-x", "a b", "a:b", &"a".repeat(41)] {
            assert!(SourceId::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn record_ids_are_namespaced() {
        let a = RecordId::new(SourceId::parse("gwh").unwrap(), "Condition/1").unwrap();
        let b = RecordId::new(SourceId::parse("ruh").unwrap(), "Condition/1").unwrap();
        assert_ne!(a, b);
        assert_eq!(a.to_string(), "gwh:Condition/1");
        assert_eq!(RecordId::parse("gwh:Condition/1").unwrap(), a);
        assert!(RecordId::new(SourceId::parse("gwh").unwrap(), "").is_err());
        assert!(RecordId::new(SourceId::parse("gwh").unwrap(), "a\nb").is_err());
    }
}
