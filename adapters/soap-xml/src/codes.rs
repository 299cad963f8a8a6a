//! The contract's enumerations and the codes they stand for in the model.
//!
//! Where SNOMED CT or an HL7 code system has a real code for a value it is
//! used; the rest use the contract's own code system
//! ([`CONTACT_ROLE_SYSTEM`]), whose URI is kept so a reader can tell a local
//! code from a national one.

use icr_model::{
    AlertStatus, AppointmentStatus, CareTeamStatus, CodeSystem, Coding, Concept, DocumentStatus,
};

/// HL7 v2 table 0131 (contact role): `N` next of kin, `C` emergency contact.
pub const V2_CONTACT_ROLE_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0131";
/// The contract's code system for contact roles that have no national code.
pub const CONTACT_ROLE_SYSTEM: &str = "urn:icr:socialcare:personsummary:1:contact-role";

/// What a contact is to the person, beyond their relationship
/// (`<ps:Role>` of a `<ps:Contact>`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum ContactRole {
    /// Next of kin.
    NextOfKin,
    /// An informal (unpaid) carer.
    Carer,
    /// The main informal carer.
    MainCarer,
    /// The person to call in an emergency.
    EmergencyContact,
    /// Holds a key to the person's home.
    KeyHolder,
    /// Holds a lasting power of attorney for the person.
    LastingPowerOfAttorney,
    /// An advocate.
    Advocate,
}

impl ContactRole {
    /// Every role.
    pub const ALL: [ContactRole; 7] = [
        ContactRole::NextOfKin,
        ContactRole::Carer,
        ContactRole::MainCarer,
        ContactRole::EmergencyContact,
        ContactRole::KeyHolder,
        ContactRole::LastingPowerOfAttorney,
        ContactRole::Advocate,
    ];

    /// The value as the contract spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            ContactRole::NextOfKin => "NextOfKin",
            ContactRole::Carer => "Carer",
            ContactRole::MainCarer => "MainCarer",
            ContactRole::EmergencyContact => "EmergencyContact",
            ContactRole::KeyHolder => "KeyHolder",
            ContactRole::LastingPowerOfAttorney => "LastingPowerOfAttorney",
            ContactRole::Advocate => "Advocate",
        }
    }

    /// The role for a contract value.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// The system, code and display the role is recorded with.
    pub const fn code(self) -> (&'static str, &'static str, &'static str) {
        match self {
            ContactRole::NextOfKin => (V2_CONTACT_ROLE_SYSTEM, "N", "Next-of-Kin"),
            ContactRole::EmergencyContact => (V2_CONTACT_ROLE_SYSTEM, "C", "Emergency Contact"),
            ContactRole::Carer => ("http://snomed.info/sct", "407542009", "Informal carer"),
            ContactRole::MainCarer => ("http://snomed.info/sct", "407543004", "Primary caregiver"),
            ContactRole::KeyHolder => (CONTACT_ROLE_SYSTEM, "key-holder", "Key holder"),
            ContactRole::LastingPowerOfAttorney => (
                CONTACT_ROLE_SYSTEM,
                "lasting-power-of-attorney",
                "Lasting power of attorney",
            ),
            ContactRole::Advocate => (CONTACT_ROLE_SYSTEM, "advocate", "Advocate"),
        }
    }

    /// The role as a model concept.
    pub fn concept(self) -> Concept {
        let (system, code, display) = self.code();
        Concept::coded(Coding::new(CodeSystem::from_uri(system), code, display))
    }

    /// The role a model concept stands for, when it is exactly one of ours.
    pub fn of_concept(concept: &Concept) -> Option<Self> {
        let [coding] = concept.codings.as_slice() else {
            return None;
        };
        if concept.text.is_some() {
            return None;
        }
        Self::ALL.into_iter().find(|r| {
            let (system, code, display) = r.code();
            coding.system.uri() == system
                && coding.code == code
                && coding.display.as_deref() == Some(display)
        })
    }
}

/// Status of an allocation (`<ps:Allocation>/<ps:Status>`).
pub fn allocation_status(s: &str) -> Option<CareTeamStatus> {
    match s {
        "active" => Some(CareTeamStatus::Active),
        "ended" => Some(CareTeamStatus::Inactive),
        _ => None,
    }
}

/// Status of a service (`<ps:Service>/<ps:Status>`).
pub fn service_status(s: &str) -> Option<CareTeamStatus> {
    match s {
        "proposed" => Some(CareTeamStatus::Proposed),
        "active" => Some(CareTeamStatus::Active),
        "suspended" => Some(CareTeamStatus::Suspended),
        "ended" | "cancelled" => Some(CareTeamStatus::Inactive),
        "entered-in-error" => Some(CareTeamStatus::EnteredInError),
        _ => None,
    }
}

/// Status of an alert (`<ps:Alert>/<ps:Status>`).
pub fn alert_status(s: &str) -> Option<AlertStatus> {
    AlertStatus::from_code(s)
}

/// Status of a document, and whether the value is one of the contract's.
/// A draft has no model status: it is shown without one.
pub fn document_status(s: &str) -> Option<Option<DocumentStatus>> {
    match s {
        "draft" => Some(None),
        other => DocumentStatus::from_code(other).map(Some),
    }
}

/// Status of a planned visit (`<ps:Visit>/<ps:Status>`).
pub fn visit_status(s: &str) -> Option<AppointmentStatus> {
    match s {
        "planned" => Some(AppointmentStatus::Booked),
        "completed" => Some(AppointmentStatus::Fulfilled),
        "cancelled" => Some(AppointmentStatus::Cancelled),
        "missed" => Some(AppointmentStatus::Noshow),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip() {
        for r in ContactRole::ALL {
            assert_eq!(ContactRole::parse(r.as_str()), Some(r));
            assert_eq!(ContactRole::of_concept(&r.concept()), Some(r));
        }
        assert_eq!(ContactRole::parse("nextofkin"), None);
        assert_eq!(
            ContactRole::Carer.concept().primary().map(|c| &c.system),
            Some(&CodeSystem::Snomed)
        );
    }
}
