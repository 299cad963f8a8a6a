//! GP Connect Access Record: Structured (1.6) codes and identifiers: the
//! operation, the Spine headers' interaction id, the SNOMED CT codes of the
//! primary lists, the list warning codes and the Spine error codes.

use std::fmt;

/// The identifier system of NHS numbers.
pub const NHS_NUMBER_SYSTEM: &str = icr_fhir::NHS_NUMBER_SYSTEM;
/// The identifier system of ODS organisation codes.
pub const ODS_ORGANIZATION_SYSTEM: &str = icr_fhir::ODS_ORGANISATION_SYSTEM;
/// The identifier system of SDS user ids (smartcard users).
pub const SDS_USER_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-user-id";
/// The identifier system of SDS role profile ids.
pub const SDS_ROLE_PROFILE_ID_SYSTEM: &str = "https://fhir.nhs.uk/Id/sds-role-profile-id";
/// The code system of SDS job role names (`R8000`, …).
pub const SDS_JOB_ROLE_NAME_SYSTEM: &str =
    "https://fhir.hl7.org.uk/STU3/CodeSystem/CareConnect-SDSJobRoleName-1";
/// The identifier system of Spine accredited system ids (ASIDs).
pub const ACCREDITED_SYSTEM_ID: &str = "https://fhir.nhs.uk/Id/accredited-system";
/// SNOMED CT.
pub const SNOMED: &str = "http://snomed.info/sct";
/// The HL7 v3 confidentiality code system (`meta.security`).
pub const CONFIDENTIALITY_SYSTEM: &str = "http://hl7.org/fhir/v3/Confidentiality";

/// The operation, relative to the provider's FHIR service root.
pub const OPERATION_PATH: &str = "Patient/$gpc.getstructuredrecord";
/// `Ssp-InteractionID` of the operation.
pub const INTERACTION_ID: &str =
    "urn:nhs:names:services:gpconnect:fhir:operation:gpc.getstructuredrecord-1";
/// The media type of requests and answers.
pub const FHIR_JSON: &str = "application/fhir+json";

/// The profile of the request's Parameters.
pub const OPERATION_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/OperationDefinition/GPConnect-GetStructuredRecord-Operation-1";
/// The profile of the answer's Bundle.
pub const BUNDLE_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-StructuredRecord-Bundle-1";
/// The profile of a GP Connect List.
pub const LIST_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-List-1";
/// The profile of a GP Connect OperationOutcome.
pub const OPERATION_OUTCOME_PROFILE: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-OperationOutcome-1";

/// The code system of Spine error and warning codes.
pub const SPINE_ERROR_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1";
/// The URL of the List warning code extension.
pub const WARNING_CODE_URL: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-ListWarningCode-1";
/// The last path segment of the warning code extension's URLs (it is also
/// published under `fhir.hl7.org.uk` without `GPC-`).
pub const WARNING_CODE_NAMES: [&str; 2] = [
    "Extension-CareConnect-GPC-ListWarningCode-1",
    "Extension-CareConnect-ListWarningCode-1",
];
/// The URL of the List clinical setting extension.
pub const CLINICAL_SETTING_URL: &str =
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-ClinicalSetting-1";
/// The code system of List empty reasons.
pub const LIST_EMPTY_REASON_SYSTEM: &str =
    "https://fhir.nhs.uk/STU3/CodeSystem/CareConnect-ListEmptyReasonCode-1";
/// The extension holding an immunisation's vaccination procedure.
pub const VACCINATION_PROCEDURE_NAME: &str = "Extension-CareConnect-VaccinationProcedure-1";
/// The URL of the vaccination procedure extension.
pub const VACCINATION_PROCEDURE_URL: &str =
    "https://fhir.hl7.org.uk/STU3/StructureDefinition/Extension-CareConnect-VaccinationProcedure-1";
/// The extension ending an allergy (`endDate`, `reasonEnded`).
pub const ALLERGY_END_NAME: &str = "Extension-CareConnect-GPC-AllergyIntoleranceEnd-1";
/// The extension holding a patient's registration details.
pub const REGISTRATION_DETAILS_URL: &str =
    "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-RegistrationDetails-1";

/// A clinical area of the structured record: one primary List each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClinicalArea {
    /// Allergies and adverse reactions (current).
    Allergies,
    /// Allergies that have been ended (resolved); the resources are
    /// contained in the List itself.
    EndedAllergies,
    /// Medications and medical devices.
    Medications,
    /// Problems.
    Problems,
    /// Consultations (Encounters).
    Consultations,
    /// Immunisations.
    Immunisations,
    /// Investigations and results.
    Investigations,
    /// Outbound referrals.
    Referrals,
    /// Uncategorised data.
    Uncategorised,
    /// Diary entries.
    DiaryEntries,
}

impl ClinicalArea {
    /// Every area.
    pub const ALL: [ClinicalArea; 10] = [
        ClinicalArea::Allergies,
        ClinicalArea::EndedAllergies,
        ClinicalArea::Medications,
        ClinicalArea::Problems,
        ClinicalArea::Consultations,
        ClinicalArea::Immunisations,
        ClinicalArea::Investigations,
        ClinicalArea::Referrals,
        ClinicalArea::Uncategorised,
        ClinicalArea::DiaryEntries,
    ];

    /// The SNOMED CT code of the area's primary List.
    pub const fn list_code(self) -> &'static str {
        match self {
            ClinicalArea::Allergies => "886921000000105",
            ClinicalArea::EndedAllergies => "1103671000000101",
            ClinicalArea::Medications => "933361000000108",
            ClinicalArea::Problems => "717711000000103",
            ClinicalArea::Consultations => "1149501000000101",
            ClinicalArea::Immunisations => "1102181000000102",
            ClinicalArea::Investigations => "887191000000108",
            ClinicalArea::Referrals => "792931000000107",
            ClinicalArea::Uncategorised => "826501000000100",
            ClinicalArea::DiaryEntries => "714311000000108",
        }
    }

    /// The SNOMED CT preferred term of the list code.
    pub const fn list_display(self) -> &'static str {
        match self {
            ClinicalArea::Allergies => "Allergies and adverse reactions",
            ClinicalArea::EndedAllergies => "Ended allergies",
            ClinicalArea::Medications => "Medications and medical devices",
            ClinicalArea::Problems => "Problems",
            ClinicalArea::Consultations => "List of consultations",
            ClinicalArea::Immunisations => "Immunisations",
            ClinicalArea::Investigations => "Investigations and results",
            ClinicalArea::Referrals => "Outbound referral",
            ClinicalArea::Uncategorised => "Miscellaneous record",
            ClinicalArea::DiaryEntries => "Patient recall administration",
        }
    }

    /// The List's title.
    pub const fn list_title(self) -> &'static str {
        match self {
            ClinicalArea::Uncategorised => "Uncategorised data",
            other => other.list_display(),
        }
    }

    /// The request parameter that asks for the area.
    pub const fn parameter(self) -> &'static str {
        match self {
            ClinicalArea::Allergies | ClinicalArea::EndedAllergies => "includeAllergies",
            ClinicalArea::Medications => "includeMedication",
            ClinicalArea::Problems => "includeProblems",
            ClinicalArea::Consultations => "includeConsultations",
            ClinicalArea::Immunisations => "includeImmunisations",
            ClinicalArea::Investigations => "includeInvestigations",
            ClinicalArea::Referrals => "includeReferrals",
            ClinicalArea::Uncategorised => "includeUncategorisedData",
            ClinicalArea::DiaryEntries => "includeDiaryEntries",
        }
    }

    /// A name for messages (`allergies`, `ended allergies`, …).
    pub const fn name(self) -> &'static str {
        match self {
            ClinicalArea::Allergies => "allergies",
            ClinicalArea::EndedAllergies => "ended allergies",
            ClinicalArea::Medications => "medications",
            ClinicalArea::Problems => "problems",
            ClinicalArea::Consultations => "consultations",
            ClinicalArea::Immunisations => "immunisations",
            ClinicalArea::Investigations => "investigations",
            ClinicalArea::Referrals => "referrals",
            ClinicalArea::Uncategorised => "uncategorised data",
            ClinicalArea::DiaryEntries => "diary entries",
        }
    }

    /// The area of a primary List, from its `code` (SNOMED CT) and title.
    /// Also recognises two codes from earlier releases that providers and
    /// the specification's examples still send: `886721000000107`
    /// (Referral details) and `TBD` titled "Resolved Allergies".
    pub fn of_list(system: Option<&str>, code: &str, title: Option<&str>) -> Option<Self> {
        let code = code.trim();
        if system.map(str::trim).is_some_and(|s| s != SNOMED) {
            return None;
        }
        if let Some(area) = ClinicalArea::ALL
            .into_iter()
            .find(|a| a.list_code() == code)
        {
            return Some(area);
        }
        match code {
            "886721000000107" => Some(ClinicalArea::Referrals),
            "TBD"
                if title
                    .map(str::trim)
                    .is_some_and(|t| t.eq_ignore_ascii_case("Resolved Allergies")) =>
            {
                Some(ClinicalArea::EndedAllergies)
            }
            _ => None,
        }
    }
}

impl fmt::Display for ClinicalArea {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A List warning code: why a list may be incomplete.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum WarningCode {
    /// Items excluded due to confidentiality and/or patient preferences.
    ConfidentialItems,
    /// The record's transfer from the previous practice is not complete.
    DataInTransit,
    /// Items in the practice's workflow have not been filed yet.
    DataAwaitingFiling,
    /// A code this release does not define (kept only when it is a plain
    /// lower-case code, so that it can be named without echoing content).
    Other(String),
}

impl WarningCode {
    /// Reads a warning code; `None` for anything that is not a plain code.
    pub fn parse(code: &str) -> Option<Self> {
        let c = code.trim();
        Some(match c {
            "confidential-items" => WarningCode::ConfidentialItems,
            "data-in-transit" => WarningCode::DataInTransit,
            "data-awaiting-filing" => WarningCode::DataAwaitingFiling,
            _ if (1..=40).contains(&c.len())
                && c.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') =>
            {
                WarningCode::Other(c.to_string())
            }
            _ => return None,
        })
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        match self {
            WarningCode::ConfidentialItems => "confidential-items",
            WarningCode::DataInTransit => "data-in-transit",
            WarningCode::DataAwaitingFiling => "data-awaiting-filing",
            WarningCode::Other(c) => c,
        }
    }

    /// The text GP Connect puts in the List's note with the code.
    pub fn note_text(&self) -> &str {
        match self {
            WarningCode::ConfidentialItems => {
                "Items excluded due to confidentiality and/or patient preferences."
            }
            WarningCode::DataInTransit => {
                "Patient record transfer from previous GP practice not yet complete; information recorded before the registration date may be missing."
            }
            WarningCode::DataAwaitingFiling => {
                "Patient record contains some items in the GP practice workflow that have not been reviewed for inclusion in this message."
            }
            WarningCode::Other(_) => "",
        }
    }
}

/// A Spine error or warning code of an OperationOutcome
/// (`Spine-ErrorOrWarningCode-1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpineCode {
    /// The patient has dissented from sharing their record.
    NoPatientConsent,
    /// No record for the patient (or inactive, deceased, sensitive, not
    /// registered here).
    PatientNotFound,
    /// The NHS number fails its format or check digit.
    InvalidNhsNumber,
    /// An identifier's system is not one the provider accepts.
    InvalidIdentifierSystem,
    /// An identifier's value is invalid.
    InvalidIdentifierValue,
    /// The request body does not conform to the operation.
    InvalidResource,
    /// A parameter is invalid or a combination is not permitted.
    InvalidParameter,
    /// The request is malformed.
    BadRequest,
    /// GP Connect or the capability is not enabled at the practice.
    AccessDenied,
    /// The provider does not implement what was asked.
    NotImplemented,
    /// An unexpected error at the provider.
    InternalServerError,
    /// The provider is not authoritative for the patient.
    NonAuthoritative,
}

impl SpineCode {
    /// Every code.
    pub const ALL: [SpineCode; 12] = [
        SpineCode::NoPatientConsent,
        SpineCode::PatientNotFound,
        SpineCode::InvalidNhsNumber,
        SpineCode::InvalidIdentifierSystem,
        SpineCode::InvalidIdentifierValue,
        SpineCode::InvalidResource,
        SpineCode::InvalidParameter,
        SpineCode::BadRequest,
        SpineCode::AccessDenied,
        SpineCode::NotImplemented,
        SpineCode::InternalServerError,
        SpineCode::NonAuthoritative,
    ];

    /// The code as Spine spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            SpineCode::NoPatientConsent => "NO_PATIENT_CONSENT",
            SpineCode::PatientNotFound => "PATIENT_NOT_FOUND",
            SpineCode::InvalidNhsNumber => "INVALID_NHS_NUMBER",
            SpineCode::InvalidIdentifierSystem => "INVALID_IDENTIFIER_SYSTEM",
            SpineCode::InvalidIdentifierValue => "INVALID_IDENTIFIER_VALUE",
            SpineCode::InvalidResource => "INVALID_RESOURCE",
            SpineCode::InvalidParameter => "INVALID_PARAMETER",
            SpineCode::BadRequest => "BAD_REQUEST",
            SpineCode::AccessDenied => "ACCESS_DENIED",
            SpineCode::NotImplemented => "NOT_IMPLEMENTED",
            SpineCode::InternalServerError => "INTERNAL_SERVER_ERROR",
            SpineCode::NonAuthoritative => "NON_AUTHORITATIVE",
        }
    }

    /// Reads a code (`ACCESS DENIED`, as one table of the specification
    /// spells it, is accepted too).
    pub fn parse(code: &str) -> Option<Self> {
        let c = code.trim();
        if c == "ACCESS DENIED" {
            return Some(SpineCode::AccessDenied);
        }
        SpineCode::ALL.into_iter().find(|s| s.as_str() == c)
    }

    /// The display text of the code.
    pub const fn display(self) -> &'static str {
        match self {
            SpineCode::NoPatientConsent => "No Patient Consent To Share",
            SpineCode::PatientNotFound => "Patient Record Not Found",
            SpineCode::InvalidNhsNumber => "Invalid NHS Number",
            SpineCode::InvalidIdentifierSystem => "Invalid Identifier System",
            SpineCode::InvalidIdentifierValue => "Invalid Identifier Value",
            SpineCode::InvalidResource => "Invalid Resource",
            SpineCode::InvalidParameter => "Invalid Parameter",
            SpineCode::BadRequest => "Bad Request",
            SpineCode::AccessDenied => "Access Denied",
            SpineCode::NotImplemented => "Not Implemented",
            SpineCode::InternalServerError => "Internal Server Error",
            SpineCode::NonAuthoritative => "Non Authoritative",
        }
    }

    /// The HTTP status GP Connect answers the code with.
    pub const fn http_status(self) -> u16 {
        match self {
            SpineCode::NoPatientConsent | SpineCode::AccessDenied | SpineCode::NonAuthoritative => {
                403
            }
            SpineCode::PatientNotFound => 404,
            SpineCode::InvalidNhsNumber
            | SpineCode::InvalidIdentifierSystem
            | SpineCode::InvalidIdentifierValue
            | SpineCode::BadRequest => 400,
            SpineCode::InvalidResource | SpineCode::InvalidParameter => 422,
            SpineCode::NotImplemented => 501,
            SpineCode::InternalServerError => 500,
        }
    }

    /// The FHIR issue type (`OperationOutcome.issue.code`) of the code.
    pub const fn issue_type(self) -> &'static str {
        match self {
            SpineCode::NoPatientConsent | SpineCode::AccessDenied | SpineCode::NonAuthoritative => {
                "forbidden"
            }
            SpineCode::PatientNotFound => "not-found",
            SpineCode::InvalidNhsNumber
            | SpineCode::InvalidIdentifierSystem
            | SpineCode::InvalidIdentifierValue => "value",
            SpineCode::InvalidResource | SpineCode::InvalidParameter | SpineCode::BadRequest => {
                "invalid"
            }
            SpineCode::NotImplemented => "not-supported",
            SpineCode::InternalServerError => "exception",
        }
    }
}

impl fmt::Display for SpineCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
