//! The resource types of a patient's record and their sections.

use icr_model::Section;

/// The FHIR resource types that hold a patient's record, and the section
/// each belongs to: what the FHIR adapter reads, the gateway serves and the
/// simulators search.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, PartialOrd, Ord)]
pub enum RecordType {
    /// Demographics, and the contacts listed on the Patient.
    Patient,
    /// `contacts`.
    RelatedPerson,
    /// `care_team`.
    CareTeam,
    /// `medications` (statements).
    MedicationStatement,
    /// `medications` (prescriptions).
    MedicationRequest,
    /// `allergies`.
    AllergyIntolerance,
    /// `conditions`.
    Condition,
    /// `results` (observations).
    Observation,
    /// `results` (reports).
    DiagnosticReport,
    /// `documents`.
    DocumentReference,
    /// `procedures`.
    Procedure,
    /// `referrals`.
    ServiceRequest,
    /// `appointments` (booked).
    Appointment,
    /// `appointments` (attendances and stays).
    Encounter,
    /// `alerts`.
    Flag,
    /// `procedures` (immunisations).
    Immunization,
    /// `documents` (care plans).
    CarePlan,
}

impl RecordType {
    /// Every such type.
    pub const ALL: &'static [RecordType] = &[
        RecordType::Patient,
        RecordType::RelatedPerson,
        RecordType::CareTeam,
        RecordType::MedicationStatement,
        RecordType::MedicationRequest,
        RecordType::AllergyIntolerance,
        RecordType::Condition,
        RecordType::Observation,
        RecordType::DiagnosticReport,
        RecordType::DocumentReference,
        RecordType::Procedure,
        RecordType::ServiceRequest,
        RecordType::Appointment,
        RecordType::Encounter,
        RecordType::Flag,
        RecordType::Immunization,
        RecordType::CarePlan,
    ];

    /// The FHIR resource type name.
    pub const fn name(self) -> &'static str {
        match self {
            RecordType::Patient => "Patient",
            RecordType::RelatedPerson => "RelatedPerson",
            RecordType::CareTeam => "CareTeam",
            RecordType::MedicationStatement => "MedicationStatement",
            RecordType::MedicationRequest => "MedicationRequest",
            RecordType::AllergyIntolerance => "AllergyIntolerance",
            RecordType::Condition => "Condition",
            RecordType::Observation => "Observation",
            RecordType::DiagnosticReport => "DiagnosticReport",
            RecordType::DocumentReference => "DocumentReference",
            RecordType::Procedure => "Procedure",
            RecordType::ServiceRequest => "ServiceRequest",
            RecordType::Appointment => "Appointment",
            RecordType::Encounter => "Encounter",
            RecordType::Flag => "Flag",
            RecordType::Immunization => "Immunization",
            RecordType::CarePlan => "CarePlan",
        }
    }

    /// The type named `name`, if it is one of these.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|t| t.name() == name)
    }

    /// The R4 search parameter of the type's clinically relevant date, by
    /// which a search can ask for the most recent first
    /// (`_sort=-{param}`): `effective` for MedicationStatement,
    /// `authoredon` for MedicationRequest, `recorded-date` for Condition,
    /// `authored` for ServiceRequest, `date` for the others that have one.
    pub const fn date_param(self) -> Option<&'static str> {
        match self {
            RecordType::Patient | RecordType::RelatedPerson => None,
            RecordType::MedicationStatement => Some("effective"),
            RecordType::MedicationRequest => Some("authoredon"),
            RecordType::Condition => Some("recorded-date"),
            RecordType::ServiceRequest => Some("authored"),
            RecordType::CareTeam
            | RecordType::AllergyIntolerance
            | RecordType::Observation
            | RecordType::DiagnosticReport
            | RecordType::DocumentReference
            | RecordType::Procedure
            | RecordType::Appointment
            | RecordType::Encounter
            | RecordType::Flag
            | RecordType::Immunization
            | RecordType::CarePlan => Some("date"),
        }
    }

    /// The R4 search (parameter and value) that finds the type's current
    /// items — active medications, allergies, problems and alerts — for
    /// the types that have them (and care plans in force).
    pub const fn current_items(self) -> Option<(&'static str, &'static str)> {
        match self {
            RecordType::MedicationStatement
            | RecordType::MedicationRequest
            | RecordType::Flag
            | RecordType::CarePlan => Some(("status", "active")),
            RecordType::AllergyIntolerance | RecordType::Condition => {
                Some(("clinical-status", "active"))
            }
            _ => None,
        }
    }

    /// The section the type's items belong to.
    pub const fn section(self) -> Section {
        match self {
            RecordType::Patient => Section::Demographics,
            RecordType::RelatedPerson => Section::Contacts,
            RecordType::CareTeam => Section::CareTeam,
            RecordType::MedicationStatement | RecordType::MedicationRequest => Section::Medications,
            RecordType::AllergyIntolerance => Section::Allergies,
            RecordType::Condition => Section::Conditions,
            RecordType::Observation | RecordType::DiagnosticReport => Section::Results,
            RecordType::DocumentReference | RecordType::CarePlan => Section::Documents,
            RecordType::Procedure | RecordType::Immunization => Section::Procedures,
            RecordType::ServiceRequest => Section::Referrals,
            RecordType::Appointment | RecordType::Encounter => Section::Appointments,
            RecordType::Flag => Section::Alerts,
        }
    }
}
