//! The policy's answers: what may be fetched ([`Allowed`]), on what basis
//! it may be released ([`Granted`], [`Basis`]), and why not ([`Refusal`]).

use std::collections::BTreeSet;
use std::fmt;

use icr_model::{NhsNumber, OdsCode, SectionSet};
use serde::Serialize;

use crate::break_glass::BreakGlassReason;
use crate::caller::RoleCode;

/// Why a request was refused: a stable code for the response and the audit,
/// and a message for the reader. Messages never contain patient data.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Refusal {
    /// The reason, as a stable code.
    pub code: RefusalCode,
    /// What it means, for a person.
    pub message: String,
}

impl Refusal {
    pub(crate) fn new(code: RefusalCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A caller whose claims name no role the policy knows is refused as
/// [`RefusalCode::UnknownRole`], saying which claim is wrong.
impl From<crate::caller::CallerError> for Refusal {
    fn from(e: crate::caller::CallerError) -> Self {
        Refusal::new(RefusalCode::UnknownRole, e.to_string())
    }
}

/// Every reason the policy refuses: each is a refusal of the caller
/// (`403 Forbidden`) except [`RefusalCode::RelationshipUndecided`], a
/// refusal of the moment (`503`, try again); the gateway's HTTP edge
/// writes the statuses.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub enum RefusalCode {
    /// The caller's role is not in any class of the policy.
    #[serde(rename = "UNKNOWN_ROLE")]
    UnknownRole,
    /// The caller's purpose is not one the ICR serves (direct care).
    #[serde(rename = "PURPOSE_NOT_PERMITTED")]
    PurposeNotPermitted,
    /// A patient asked for someone else's record.
    #[serde(rename = "NOT_OWN_RECORD")]
    NotOwnRecord,
    /// None of the requested sections is one the caller's role may see.
    #[serde(rename = "NO_SECTIONS")]
    NoSections,
    /// The person has objected to sharing through the ICR.
    #[serde(rename = "NO_PATIENT_CONSENT")]
    NoPatientConsent,
    /// The caller may not break glass (patients, and roles whose class does
    /// not allow it).
    #[serde(rename = "BREAK_GLASS_NOT_PERMITTED")]
    BreakGlassNotPermitted,
    /// A break-glass reason was given but does not meet the policy's rules.
    #[serde(rename = "BREAK_GLASS_REASON_INVALID")]
    BreakGlassReasonInvalid,
    /// No legitimate relationship: not involved, not a self-declaring
    /// setting, and no break-glass.
    #[serde(rename = "NO_RELATIONSHIP")]
    NoRelationship,
    /// Whether the caller is involved cannot be told now: their own
    /// organisation's system did not answer. Not a refusal of the caller
    /// but of the moment: the gateway answers 503 and the caller may try
    /// again.
    #[serde(rename = "RELATIONSHIP_UNDECIDED")]
    RelationshipUndecided,
}

impl RefusalCode {
    /// The code as it appears in responses and the audit.
    pub fn as_str(self) -> &'static str {
        match self {
            RefusalCode::UnknownRole => "UNKNOWN_ROLE",
            RefusalCode::PurposeNotPermitted => "PURPOSE_NOT_PERMITTED",
            RefusalCode::NotOwnRecord => "NOT_OWN_RECORD",
            RefusalCode::NoSections => "NO_SECTIONS",
            RefusalCode::NoPatientConsent => "NO_PATIENT_CONSENT",
            RefusalCode::BreakGlassNotPermitted => "BREAK_GLASS_NOT_PERMITTED",
            RefusalCode::BreakGlassReasonInvalid => "BREAK_GLASS_REASON_INVALID",
            RefusalCode::NoRelationship => "NO_RELATIONSHIP",
            RefusalCode::RelationshipUndecided => "RELATIONSHIP_UNDECIDED",
        }
    }
}

impl fmt::Display for RefusalCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which sources the gateway may ask, by their organisation's ODS code.
/// The gateway applies it when planning, before any request leaves; a
/// source left out should be reported with status `withheld` (the person's
/// objection), never silently omitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "organisations", rename_all = "snake_case")]
pub enum SourceFilter {
    /// Every source.
    All,
    /// Every source except those of these organisations.
    AllExcept(BTreeSet<OdsCode>),
}

impl SourceFilter {
    /// Whether a source of organisation `ods` may be asked.
    pub fn permits(&self, ods: &OdsCode) -> bool {
        match self {
            SourceFilter::All => true,
            SourceFilter::AllExcept(out) => !out.contains(ods),
        }
    }
}

/// How the objection register affected this request, for the audit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ObjectionEffect {
    /// No objection applies (none recorded, or a patient reading their own
    /// record: the register is not consulted for them).
    None,
    /// An objection to sharing particular organisations' records: these
    /// were excluded (possibly none, when the only organisation named is
    /// the caller's own and its own staff may see its records).
    Organisations {
        /// The organisations whose sources are not asked.
        excluded: BTreeSet<OdsCode>,
    },
    /// An objection (whole or per-organisation) overridden by break-glass,
    /// which the policy allows.
    OverriddenByBreakGlass {
        /// Whether the person objects to all sharing.
        whole: bool,
    },
}

/// Whom the access is for, as the decisions need it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    Patient,
    /// A population-health extract ([`crate::Policy::population_health`]).
    PopulationHealth,
    Staff {
        role: RoleCode,
        class: String,
        organisation: OdsCode,
    },
}

/// What may be fetched: the policy's answer before fetching. Only
/// [`crate::Policy::before_fetch`] makes one, and it is turned into a
/// [`Granted`] (or refused) by [`crate::Policy::after_fetch`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Allowed {
    pub(crate) nhs_number: NhsNumber,
    pub(crate) access: Access,
    pub(crate) sections: SectionSet,
    pub(crate) sources: SourceFilter,
    pub(crate) objection: ObjectionEffect,
    pub(crate) sensitive_cleared: bool,
    pub(crate) break_glass: Option<BreakGlassReason>,
}

impl Allowed {
    /// The person whose record this is.
    pub fn nhs_number(&self) -> NhsNumber {
        self.nhs_number
    }

    /// The sections to fetch: those requested that the role may see.
    pub fn sections(&self) -> SectionSet {
        self.sections
    }

    /// Which sources may be asked.
    pub fn sources(&self) -> &SourceFilter {
        &self.sources
    }

    /// How the objection register affected the request.
    pub fn objection(&self) -> &ObjectionEffect {
        &self.objection
    }

    /// Whether the caller may see sensitive items.
    pub fn sensitive_cleared(&self) -> bool {
        self.sensitive_cleared
    }

    /// The accepted break-glass reason, if the caller gave one.
    pub fn break_glass(&self) -> Option<&BreakGlassReason> {
        self.break_glass.as_ref()
    }

    /// The policy class the caller's role belongs to (`patient` for a
    /// patient), for the audit.
    pub fn class(&self) -> &str {
        match &self.access {
            Access::Patient => crate::caller::PATIENT,
            Access::Staff { class, .. } => class,
            Access::PopulationHealth => POPULATION_HEALTH,
        }
    }
}

/// The legitimate basis on which a record is released, recorded in the
/// audit.
#[derive(Clone, PartialEq, Eq, Debug)]
pub enum Basis {
    /// A patient reading their own record.
    OwnRecord,
    /// The caller's organisation holds a record for the person.
    Involved,
    /// The caller works in a care setting allowed to self-declare a
    /// relationship (out-of-hours, ambulance, emergency department).
    SelfDeclared {
        /// The setting, as named in the policy.
        setting: String,
    },
    /// The caller broke glass with this reason.
    BreakGlass {
        /// The reason, as accepted.
        reason: BreakGlassReason,
    },
    /// A population-health extract, under the policy's
    /// `[population_health]` (pseudonymised before anything is written).
    PopulationHealth,
}

/// The class name of a population-health extract's access, for the audit.
pub const POPULATION_HEALTH: &str = "population_health";

impl Basis {
    /// The basis as a stable code: `own-record`, `involved`,
    /// `self-declared`, `break-glass` or `population-health`.
    pub fn code(&self) -> &'static str {
        match self {
            Basis::PopulationHealth => "population-health",
            Basis::OwnRecord => "own-record",
            Basis::Involved => "involved",
            Basis::SelfDeclared { .. } => "self-declared",
            Basis::BreakGlass { .. } => "break-glass",
        }
    }
}

/// A record may be released: what was allowed, and on what basis.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Granted {
    pub(crate) allowed: Allowed,
    pub(crate) basis: Basis,
}

impl Granted {
    /// What was allowed before fetching.
    pub fn allowed(&self) -> &Allowed {
        &self.allowed
    }

    /// The basis of the access.
    pub fn basis(&self) -> &Basis {
        &self.basis
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caller_with_no_known_role_is_refused_as_unknown_role_naming_the_claim() {
        let refusal = Refusal::from(crate::caller::CallerError::Role);
        assert_eq!(refusal.code, RefusalCode::UnknownRole);
        assert_eq!(
            refusal.message,
            "the role claim is not a role code: expected 1 to 32 letters, digits, '-' or '_'"
        );
        assert_eq!(refusal.code.as_str(), "UNKNOWN_ROLE");
    }
}
