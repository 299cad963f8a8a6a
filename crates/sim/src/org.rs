//! The region's organisations whose systems are simulated.

use std::fmt;

/// One of the four simulated organisations.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Debug)]
pub enum Org {
    /// Great Western Hospitals NHS Foundation Trust (Swindon).
    Gwh,
    /// Royal United Hospitals Bath NHS Foundation Trust.
    Ruh,
    /// Avon and Wiltshire Mental Health Partnership NHS Trust.
    Awp,
    /// Salisbury NHS Foundation Trust.
    Sft,
}

impl Org {
    /// Every organisation, in a fixed order.
    pub const ALL: [Org; 4] = [Org::Gwh, Org::Ruh, Org::Awp, Org::Sft];

    /// The source id the organisation's system is registered under.
    pub const fn id(self) -> &'static str {
        match self {
            Org::Gwh => "gwh",
            Org::Ruh => "ruh",
            Org::Awp => "awp",
            Org::Sft => "sft",
        }
    }

    /// The organisation's name.
    pub const fn name(self) -> &'static str {
        match self {
            Org::Gwh => "Great Western Hospitals NHS Foundation Trust",
            Org::Ruh => "Royal United Hospitals Bath NHS Foundation Trust",
            Org::Awp => "Avon and Wiltshire Mental Health Partnership NHS Trust",
            Org::Sft => "Salisbury NHS Foundation Trust",
        }
    }

    /// The organisation's ODS code.
    pub const fn ods_code(self) -> &'static str {
        match self {
            Org::Gwh => "RN3",
            Org::Ruh => "RD1",
            Org::Awp => "RVN",
            Org::Sft => "RNZ",
        }
    }

    /// The organisation with this source id.
    pub fn from_id(id: &str) -> Option<Org> {
        Org::ALL.into_iter().find(|o| o.id() == id)
    }

    /// Position in [`Org::ALL`].
    pub(crate) const fn index(self) -> usize {
        match self {
            Org::Gwh => 0,
            Org::Ruh => 1,
            Org::Awp => 2,
            Org::Sft => 3,
        }
    }

    /// True for the acute hospital trusts.
    pub const fn is_acute(self) -> bool {
        !matches!(self, Org::Awp)
    }
}

impl fmt::Display for Org {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_and_codes_are_ods() {
        for o in Org::ALL {
            assert_eq!(Org::from_id(o.id()), Some(o));
            assert_eq!(Org::ALL[o.index()], o);
            assert!(icr_model::OdsCode::parse(o.ods_code()).is_ok());
            assert!(icr_model::SourceId::parse(o.id()).is_ok());
        }
        assert_eq!(Org::from_id("gp"), None);
    }
}
