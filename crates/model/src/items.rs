//! The clinical and care items of every section but demographics.

use serde::{Deserialize, Serialize};

use crate::codes::code_enum;
use crate::{Address, Concept, HumanName, PartialDateTime, RecordId, Section, Telecom};

/// One item of the record, of the type its section holds.
#[derive(Clone, PartialEq, Debug, Serialize)]
#[serde(untagged)]
pub enum Entry {
    /// A `contacts` item.
    Contact(Contact),
    /// A `care_team` item.
    CareTeam(CareTeam),
    /// A `medications` item.
    Medication(Medication),
    /// An `allergies` item.
    Allergy(Allergy),
    /// A `conditions` item.
    Condition(Condition),
    /// A `results` item.
    Result(TestResult),
    /// A `documents` item.
    Document(Document),
    /// A `procedures` item.
    Procedure(Procedure),
    /// A `referrals` item.
    Referral(Referral),
    /// An `appointments` item.
    Appointment(Appointment),
    /// An `alerts` item.
    Alert(Alert),
}

impl Entry {
    /// The section this item belongs to.
    pub fn section(&self) -> Section {
        match self {
            Entry::Contact(_) => Section::Contacts,
            Entry::CareTeam(_) => Section::CareTeam,
            Entry::Medication(_) => Section::Medications,
            Entry::Allergy(_) => Section::Allergies,
            Entry::Condition(_) => Section::Conditions,
            Entry::Result(_) => Section::Results,
            Entry::Document(_) => Section::Documents,
            Entry::Procedure(_) => Section::Procedures,
            Entry::Referral(_) => Section::Referrals,
            Entry::Appointment(_) => Section::Appointments,
            Entry::Alert(_) => Section::Alerts,
        }
    }

    /// The date the item is ordered by in its section (most recent first).
    pub fn sort_date(&self) -> Option<&PartialDateTime> {
        match self {
            Entry::Contact(c) => c.period_start.as_ref(),
            Entry::CareTeam(c) => c.period_start.as_ref(),
            Entry::Medication(m) => m.start.as_ref().or(m.recorded.as_ref()),
            Entry::Allergy(a) => a.onset.as_ref().or(a.recorded.as_ref()),
            Entry::Condition(c) => c.onset.as_ref().or(c.recorded.as_ref()),
            Entry::Result(r) => r.effective.as_ref().or(r.issued.as_ref()),
            Entry::Document(d) => d.date.as_ref(),
            Entry::Procedure(p) => p.performed.as_ref(),
            Entry::Referral(r) => r.authored.as_ref(),
            Entry::Appointment(a) => a.start.as_ref(),
            Entry::Alert(a) => a.period_start.as_ref(),
        }
    }

    /// The concept that says what the item is, where it has one.
    pub fn code(&self) -> Option<&Concept> {
        match self {
            Entry::Contact(c) => c.relationship.first(),
            Entry::CareTeam(c) => c.category.first(),
            Entry::Medication(m) => Some(&m.medication),
            Entry::Allergy(a) => Some(&a.code),
            Entry::Condition(c) => Some(&c.code),
            Entry::Result(r) => Some(&r.code),
            Entry::Document(d) => Some(&d.doc_type),
            Entry::Procedure(p) => Some(&p.code),
            Entry::Referral(r) => Some(&r.code),
            Entry::Appointment(a) => a.service_type.first(),
            Entry::Alert(a) => Some(&a.code),
        }
    }
}

/// A person involved in the patient's life: next of kin, carer, emergency contact.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Contact {
    /// The contact's name.
    pub name: HumanName,
    /// Relationship to the patient (e.g. wife, carer, next of kin).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub relationship: Vec<Concept>,
    /// Phone numbers and email addresses.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<Telecom>,
    /// Address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// Whether the source marks the contact as current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active: Option<bool>,
    /// Since when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<PartialDateTime>,
}

code_enum! {
    /// Status of a care team.
    pub enum CareTeamStatus {
        /// Being proposed.
        Proposed = "proposed",
        /// Currently involved.
        Active = "active",
        /// Temporarily not involved.
        Suspended = "suspended",
        /// No longer involved.
        Inactive = "inactive",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
    }
}

/// A service or team involved in the person's care.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct CareTeam {
    /// The team's or service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Whether the team is involved now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CareTeamStatus>,
    /// Kind of team (e.g. community mental health, district nursing).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// Involved since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<PartialDateTime>,
    /// Involved until.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<PartialDateTime>,
    /// Members and their roles.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<CareTeamMember>,
    /// Organisations that manage the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub managing_organisations: Vec<String>,
    /// How to reach the team.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub telecom: Vec<Telecom>,
}

/// One member of a care team.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct CareTeamMember {
    /// The member's roles (e.g. care coordinator).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub roles: Vec<Concept>,
    /// The member's name, as the source displays it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

code_enum! {
    /// Where a medication item comes from.
    pub enum MedicationKind {
        /// A statement that the person is or was taking it.
        Statement = "statement",
        /// A prescription or order.
        Prescription = "prescription",
    }
}

code_enum! {
    /// Status of a medication statement or prescription (the FHIR
    /// MedicationStatement and MedicationRequest codes combined).
    pub enum MedicationStatus {
        /// Being taken / the prescription is current.
        Active = "active",
        /// Course finished.
        Completed = "completed",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
        /// Planned.
        Intended = "intended",
        /// Stopped before completion.
        Stopped = "stopped",
        /// Paused.
        OnHold = "on-hold",
        /// Not known.
        Unknown = "unknown",
        /// Not being taken.
        NotTaken = "not-taken",
        /// Prescription cancelled before it started.
        Cancelled = "cancelled",
        /// Prescription not yet issued.
        Draft = "draft",
    }
}

/// A medication the person takes, took, or was prescribed.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Medication {
    /// The medicine (dm+d where the source codes it).
    pub medication: Concept,
    /// Statement or prescription.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<MedicationKind>,
    /// Current status.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<MedicationStatus>,
    /// Dosage instructions as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dosage: Option<String>,
    /// Started, or prescribed on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<PartialDateTime>,
    /// Ended or due to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<PartialDateTime>,
    /// When the source recorded it, if different from the start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<PartialDateTime>,
    /// Why it was prescribed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Concept>,
    /// Who prescribed it, as displayed by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prescriber: Option<String>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

code_enum! {
    /// Clinical status of an allergy.
    pub enum AllergyClinicalStatus {
        /// Current.
        Active = "active",
        /// No longer current.
        Inactive = "inactive",
        /// Resolved.
        Resolved = "resolved",
    }
}

code_enum! {
    /// How certain a recorded allergy or condition is (the FHIR
    /// AllergyIntolerance and Condition verification codes combined).
    pub enum Verification {
        /// Not confirmed.
        Unconfirmed = "unconfirmed",
        /// A working diagnosis.
        Provisional = "provisional",
        /// One of several possible diagnoses.
        Differential = "differential",
        /// Confirmed.
        Confirmed = "confirmed",
        /// Ruled out.
        Refuted = "refuted",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
    }
}

code_enum! {
    /// What an allergy is to.
    pub enum AllergyCategory {
        /// Food.
        Food = "food",
        /// Medication.
        Medication = "medication",
        /// Environmental.
        Environment = "environment",
        /// Biological.
        Biologic = "biologic",
    }
}

code_enum! {
    /// Potential for a serious reaction.
    pub enum Criticality {
        /// Low.
        Low = "low",
        /// High.
        High = "high",
        /// Cannot be assessed.
        UnableToAssess = "unable-to-assess",
    }
}

code_enum! {
    /// Severity of a reaction.
    pub enum Severity {
        /// Mild.
        Mild = "mild",
        /// Moderate.
        Moderate = "moderate",
        /// Severe.
        Severe = "severe",
    }
}

/// An allergy or intolerance.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Allergy {
    /// The substance or the allergy (SNOMED CT where coded).
    pub code: Concept,
    /// Active, inactive, resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_status: Option<AllergyClinicalStatus>,
    /// How certain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Food, medication, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<AllergyCategory>,
    /// Potential for a serious reaction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criticality: Option<Criticality>,
    /// Reactions seen.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reactions: Vec<Reaction>,
    /// When it began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<PartialDateTime>,
    /// When it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<PartialDateTime>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// One reaction to an allergen.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Reaction {
    /// Signs and symptoms (e.g. urticaria, anaphylaxis).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub manifestations: Vec<Concept>,
    /// How bad.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// Description as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

code_enum! {
    /// Clinical status of a condition.
    pub enum ConditionClinicalStatus {
        /// Current.
        Active = "active",
        /// Returned after resolving.
        Recurrence = "recurrence",
        /// Returned after remission.
        Relapse = "relapse",
        /// Not current.
        Inactive = "inactive",
        /// In remission.
        Remission = "remission",
        /// Resolved.
        Resolved = "resolved",
    }
}

/// A problem, diagnosis or condition.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Condition {
    /// The condition (SNOMED CT where coded).
    pub code: Concept,
    /// Active, resolved, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clinical_status: Option<ConditionClinicalStatus>,
    /// How certain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<Verification>,
    /// Problem-list item, encounter diagnosis, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// Severity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Concept>,
    /// When it began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub onset: Option<PartialDateTime>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub abatement: Option<PartialDateTime>,
    /// When it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded: Option<PartialDateTime>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

code_enum! {
    /// Whether a result is a single observation or a report.
    pub enum ResultKind {
        /// One measured or observed value (or a panel of them).
        Observation = "observation",
        /// A report: a lab report grouping results, or an imaging report.
        Report = "report",
    }
}

code_enum! {
    /// Status of a result or report (FHIR Observation and DiagnosticReport codes).
    pub enum ResultStatus {
        /// Ordered, nothing yet.
        Registered = "registered",
        /// Some results available.
        Partial = "partial",
        /// Early, unverified.
        Preliminary = "preliminary",
        /// Complete and verified.
        Final = "final",
        /// Changed after final.
        Amended = "amended",
        /// Corrected after final.
        Corrected = "corrected",
        /// Appended to after final.
        Appended = "appended",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
        /// Not known.
        Unknown = "unknown",
    }
}

/// A measured amount.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Quantity {
    /// The number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    /// `<`, `<=`, `>=` or `>` when the value is a bound.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comparator: Option<String>,
    /// Unit as displayed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// Coded unit (UCUM where the source codes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
}

/// The value of a result.
#[derive(Clone, PartialEq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ResultValue {
    /// A measured amount.
    Quantity(Quantity),
    /// A coded answer.
    Coded(Concept),
    /// Text.
    Text(String),
    /// Yes or no.
    Boolean(bool),
    /// A whole number.
    Integer(i64),
    /// A range of amounts.
    Range {
        /// Lower bound.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        low: Option<Quantity>,
        /// Upper bound.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        high: Option<Quantity>,
    },
    /// A date or time.
    DateTime(PartialDateTime),
}

/// The range a result is expected in.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct ReferenceRange {
    /// Lower limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub low: Option<Quantity>,
    /// Upper limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub high: Option<Quantity>,
    /// The range as text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// One part of a multi-part result (e.g. systolic and diastolic pressure).
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct ResultComponent {
    /// What the part measures.
    pub code: Concept,
    /// The part's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ResultValue>,
    /// Abnormal flags for the part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<Concept>,
    /// Expected range for the part.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_range: Vec<ReferenceRange>,
}

/// A laboratory result, an observation, or an investigation report.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct TestResult {
    /// Observation or report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<ResultKind>,
    /// Laboratory, imaging, vital signs, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// What was tested (LOINC or SNOMED CT where coded).
    pub code: Concept,
    /// Final, preliminary, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ResultStatus>,
    /// When the sample was taken or the observation made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective: Option<PartialDateTime>,
    /// When the result was released.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<PartialDateTime>,
    /// The value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<ResultValue>,
    /// Why there is no value, when the source says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub absent_reason: Option<Concept>,
    /// Abnormal flags (high, low, critical, …).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub interpretation: Vec<Concept>,
    /// Expected range.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reference_range: Vec<ReferenceRange>,
    /// Parts of a multi-part result.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<ResultComponent>,
    /// A report's conclusion, or the text of an imaging report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub conclusion: Option<String>,
    /// The results a report groups, by their record ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub members: Vec<RecordId>,
    /// Who produced the result, as displayed by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performer: Option<String>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

code_enum! {
    /// Status of a document.
    pub enum DocumentStatus {
        /// The current version.
        Current = "current",
        /// Replaced by a later version.
        Superseded = "superseded",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
    }
}

/// Where a document's content is, and what it is.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Attachment {
    /// MIME type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// Where the source keeps the content: the source's own address (an
    /// internal host, a link that only works with the source's
    /// credentials). For the gateway's use only: it is never serialised,
    /// so no view of the model passes a source's address on, and the FHIR
    /// renderer does not write it. A reader asks the organisation named in
    /// the item's provenance for the content.
    #[serde(skip)]
    pub url: Option<String>,
    /// Title of this content.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Size in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// The source sent the content inline; it is not copied into the view.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inline_content_omitted: bool,
}

/// A letter, care plan, discharge summary or other document.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Document {
    /// The type of document.
    pub doc_type: Concept,
    /// Broader category.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// Title or description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Current or superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<DocumentStatus>,
    /// When the document was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<PartialDateTime>,
    /// Authors, as displayed by the source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub authors: Vec<String>,
    /// The content, by reference.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub content: Vec<Attachment>,
    /// The document's text as plain text (never markup), when the source's
    /// format carries it; the adapter bounds its length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Set when the document is a care plan (a FHIR CarePlan): its status,
    /// period and activities. Its title, description (as `text`),
    /// categories, creation date and author are the document's own fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub care_plan: Option<CarePlan>,
}

/// Status of a care plan: FHIR's CarePlan status is the request status
/// a referral has too.
pub type CarePlanStatus = RequestStatus;

/// What makes a document a care plan: a plan of care, with its own status,
/// the period it covers and what it plans.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct CarePlan {
    /// Whether the plan is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<CarePlanStatus>,
    /// From when it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<PartialDateTime>,
    /// Until when it applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<PartialDateTime>,
    /// What it plans, one activity each, as plain text.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activities: Vec<String>,
}

code_enum! {
    /// Status of a procedure.
    pub enum ProcedureStatus {
        /// Being prepared.
        Preparation = "preparation",
        /// Under way.
        InProgress = "in-progress",
        /// Not done.
        NotDone = "not-done",
        /// Paused.
        OnHold = "on-hold",
        /// Stopped before completion.
        Stopped = "stopped",
        /// Done.
        Completed = "completed",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
        /// Not known.
        Unknown = "unknown",
    }
}

/// An operation or procedure.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Procedure {
    /// The procedure (SNOMED CT or OPCS-4 where coded).
    pub code: Concept,
    /// Completed, in progress, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ProcedureStatus>,
    /// When it was performed (or began).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performed: Option<PartialDateTime>,
    /// When it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub performed_end: Option<PartialDateTime>,
    /// Where on the body.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_site: Vec<Concept>,
    /// The outcome.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Concept>,
    /// Who performed it, as displayed by the source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performers: Vec<String>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Set when the procedure is an immunisation (a vaccination given or
    /// recorded as not given, `status` `not-done`): the vaccine and the
    /// dose. Its date is `performed`, where it was given `body_site`, who
    /// gave it `performers`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub immunisation: Option<Immunisation>,
}

/// What makes a procedure an immunisation.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Immunisation {
    /// The vaccine (dm+d or SNOMED CT where coded); empty when the source
    /// codes only the vaccination procedure (the procedure's `code`).
    pub vaccine: Concept,
    /// Which dose of the course, as the source writes it (`1`, `booster`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dose: Option<String>,
    /// The batch (lot) number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lot_number: Option<String>,
    /// Why it was not given, for one recorded as not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason_not_given: Option<Concept>,
}

/// Status of a referral.
pub type ReferralStatus = RequestStatus;

code_enum! {
    /// Status of a request — a referral or a care plan (FHIR's
    /// RequestStatus, which ServiceRequest and CarePlan share).
    pub enum RequestStatus {
        /// Being written; not yet sent.
        Draft = "draft",
        /// Open.
        Active = "active",
        /// Paused.
        OnHold = "on-hold",
        /// Withdrawn.
        Revoked = "revoked",
        /// Completed.
        Completed = "completed",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
        /// Not known.
        Unknown = "unknown",
    }
}

code_enum! {
    /// Urgency of a referral.
    pub enum Priority {
        /// Routine.
        Routine = "routine",
        /// Urgent.
        Urgent = "urgent",
        /// As soon as possible.
        Asap = "asap",
        /// Immediately.
        Stat = "stat",
    }
}

/// A referral to or from a service.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Referral {
    /// What is requested.
    pub code: Concept,
    /// Kind of referral.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// Open, completed, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<ReferralStatus>,
    /// Urgency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<Priority>,
    /// When it was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authored: Option<PartialDateTime>,
    /// Who referred, as displayed by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requester: Option<String>,
    /// To whom, as displayed by the source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub performers: Vec<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Concept>,
    /// Free-text notes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

code_enum! {
    /// An appointment (booked in advance) or an encounter (an attendance or stay).
    pub enum AppointmentKind {
        /// A booked appointment.
        Appointment = "appointment",
        /// An attendance, admission or contact that took place.
        Encounter = "encounter",
    }
}

code_enum! {
    /// Status of an appointment or encounter (FHIR Appointment and
    /// Encounter codes combined).
    pub enum AppointmentStatus {
        /// Proposed, not yet booked.
        Proposed = "proposed",
        /// Awaiting confirmation.
        Pending = "pending",
        /// Booked.
        Booked = "booked",
        /// Patient has arrived.
        Arrived = "arrived",
        /// Took place.
        Fulfilled = "fulfilled",
        /// Cancelled.
        Cancelled = "cancelled",
        /// Patient did not attend.
        Noshow = "noshow",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
        /// Patient checked in.
        CheckedIn = "checked-in",
        /// On a waiting list.
        Waitlist = "waitlist",
        /// Encounter planned.
        Planned = "planned",
        /// Encounter triaged.
        Triaged = "triaged",
        /// Encounter under way.
        InProgress = "in-progress",
        /// Patient on leave.
        Onleave = "onleave",
        /// Encounter finished.
        Finished = "finished",
        /// Not known.
        Unknown = "unknown",
    }
}

/// An appointment, or an attendance/admission.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Appointment {
    /// Appointment or encounter.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AppointmentKind>,
    /// Booked, fulfilled, finished, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AppointmentStatus>,
    /// Setting of an encounter (inpatient, ambulatory, emergency, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class: Option<Concept>,
    /// The service or specialty.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub service_type: Vec<Concept>,
    /// Description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start: Option<PartialDateTime>,
    /// End.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<PartialDateTime>,
    /// Location, as displayed by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Clinicians and others taking part, as displayed by the source.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub participants: Vec<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<Concept>,
}

code_enum! {
    /// Status of an alert.
    pub enum AlertStatus {
        /// In force.
        Active = "active",
        /// No longer in force.
        Inactive = "inactive",
        /// Recorded in error.
        EnteredInError = "entered-in-error",
    }
}

/// A safeguarding, clinical or other alert.
#[derive(Clone, PartialEq, Debug, Default, Serialize, Deserialize)]
pub struct Alert {
    /// What the alert says.
    pub code: Concept,
    /// Whether it is in force.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<AlertStatus>,
    /// Safeguarding, clinical, behavioural, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub category: Vec<Concept>,
    /// In force from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_start: Option<PartialDateTime>,
    /// In force until.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_end: Option<PartialDateTime>,
    /// Who raised it, as displayed by the source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}
