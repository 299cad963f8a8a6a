//! Renders the unified model as FHIR R4 resources.
//!
//! Every resource written here is valid against the official R4 JSON schema
//! and is read by real FHIR clients (Python `fhirclient`, FHIR.js), which
//! treat a required element written as absent as missing. So every element
//! R4 requires has a real value. Where the model lacks one, the rendering
//! uses the value that claims least, and each such fallback is documented
//! on the function that makes it:
//!
//! - a required status whose value set has `unknown` gets `unknown`;
//! - a required status whose value set has none gets the code that claims
//!   least: an alert (Flag) `active`, so that it is heeded rather than
//!   hidden; a document `current`; an appointment `pending`; and each
//!   appointment participant `accepted` only when the appointment is
//!   confirmed (booked or later), otherwise `needs-action`;
//! - a required Coding or CodeableConcept the model has no value for is the
//!   `data-absent-reason#unknown` coding (a real coding that says the value
//!   is unknown);
//! - no string is ever empty, and an absent value is left out, never
//!   written as `""`.
//!
//! Text is made schema-safe without changing what it says: empty strings
//! are left out, whitespace other than space, tab, CR and LF becomes a
//! space, codes lose stray whitespace, and dates the schema cannot hold
//! (years outside 1–9999, offsets beyond ±14:00) are left out or, for
//! offsets, written in UTC.

use icr_model as m;

use crate::bundle::{CONFIDENTIALITY_SYSTEM, NHS_NUMBER_SYSTEM, ODS_ORGANISATION_SYSTEM, Resource};
use crate::datatypes::*;
use crate::from_model::{
    code, coding, concept, concepts, date, date_time, display_ref, dosages, human_name, instant,
    period, text, uri,
};
use crate::types::*;

/// The code system of data-absent reasons.
pub const DATA_ABSENT_REASON_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/data-absent-reason";

/// The extension that says why a primitive value is missing.
pub const DATA_ABSENT_REASON_EXTENSION: &str =
    "http://hl7.org/fhir/StructureDefinition/data-absent-reason";

/// The code system of AllergyIntolerance.clinicalStatus.
pub const ALLERGY_CLINICAL_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical";

/// The code system of AllergyIntolerance.verificationStatus.
pub const ALLERGY_VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification";

/// The code system of Condition.clinicalStatus.
pub const CONDITION_CLINICAL_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-clinical";

/// The code system of Condition.verificationStatus.
pub const CONDITION_VERIFICATION_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/condition-ver-status";

/// The UCUM system, written on every quantity that has a unit code.
pub const UCUM_SYSTEM: &str = "http://unitsofmeasure.org";

/// The UK Core extension that holds an immunisation's vaccination
/// procedure (what was done, beside the vaccine given).
pub const VACCINATION_PROCEDURE_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-VaccinationProcedure";

/// How rendered resources refer to the patient and to each other.
pub struct RenderContext<'a> {
    /// Reference to the Patient resource, e.g. `Patient/9990000018` or `urn:uuid:...`.
    pub patient: &'a str,
    /// Maps a record id (e.g. a report's member observations) to the reference of its rendered resource, if rendered.
    pub resolve: &'a dyn Fn(&m::RecordId) -> Option<String>,
}

impl RenderContext<'_> {
    fn subject(&self) -> Option<Reference> {
        Some(Reference {
            reference: Some(uri(self.patient)?),
            ..Default::default()
        })
    }
}

/// Renders one source's (or the merged) demographics as a Patient with the
/// given logical id. The identifier is `nhs` (the number the request is
/// about) under [`NHS_NUMBER_SYSTEM`]; the registered practice becomes a
/// `generalPractitioner` reference by ODS identifier. A `date-time` birth
/// date is written as its calendar date (`birthDate` is a FHIR `date`); an
/// address use of `mobile` and a telecom use of `billing`, which FHIR does
/// not have there, are left out.
pub fn patient(id: &str, nhs: m::NhsNumber, d: &m::Demographics) -> Patient {
    let (deceased_boolean, deceased_date_time) = match &d.deceased {
        None => (None, None),
        Some(m::Deceased::Yes) => (Some(true), None),
        Some(m::Deceased::At(when)) => match date_time(when) {
            Some(t) => (None, Some(t)),
            None => (Some(true), None),
        },
    };
    Patient {
        id: Some(id.to_string()),
        // A sensitive record says so, as PDS does.
        meta: d.sensitive.then(|| Meta {
            security: vec![Coding {
                system: Some(CONFIDENTIALITY_SYSTEM.to_string()),
                code: Some("R".to_string()),
                display: Some("restricted".to_string()),
                ..Default::default()
            }],
            ..Default::default()
        }),
        identifier: vec![Identifier {
            system: Some(NHS_NUMBER_SYSTEM.to_string()),
            value: Some(nhs.as_str().to_string()),
            ..Default::default()
        }],
        name: d.names.iter().filter_map(human_name).collect(),
        telecom: d.telecom.iter().filter_map(contact_point).collect(),
        gender: d.gender.map(|g| g.as_code().to_string()),
        birth_date: d.birth_date.as_ref().and_then(date),
        deceased_boolean,
        deceased_date_time,
        address: d.addresses.iter().filter_map(address).collect(),
        general_practitioner: d
            .registered_practice
            .iter()
            .map(|ods| Reference {
                type_: Some("Organization".to_string()),
                identifier: Some(Identifier {
                    system: Some(ODS_ORGANISATION_SYSTEM.to_string()),
                    value: Some(ods.as_str().to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// Renders one item as the R4 resource that holds its kind, with logical id
/// `id` (the caller ensures it matches `[A-Za-z0-9\-\.]{1,64}`).
///
/// Contact → RelatedPerson; CareTeam → CareTeam; Medication →
/// MedicationStatement or (prescriptions) MedicationRequest; Allergy →
/// AllergyIntolerance; Condition → Condition; TestResult → Observation or
/// (reports) DiagnosticReport; Document → DocumentReference or (care plans)
/// CarePlan; Procedure → Procedure or (immunisations) Immunization;
/// Referral → ServiceRequest; Appointment → Appointment or (encounters)
/// Encounter; Alert → Flag.
pub fn entry(entry: &m::Entry, id: &str, ctx: &RenderContext<'_>) -> Resource {
    let id = Some(id.to_string());
    match entry {
        m::Entry::Contact(c) => Resource::RelatedPerson(related_person(c, id, ctx)),
        m::Entry::CareTeam(c) => Resource::CareTeam(care_team(c, id, ctx)),
        m::Entry::Medication(x) => match x.kind {
            Some(m::MedicationKind::Prescription) => {
                Resource::MedicationRequest(medication_request(x, id, ctx))
            }
            Some(m::MedicationKind::Statement) | None => {
                Resource::MedicationStatement(medication_statement(x, id, ctx))
            }
        },
        m::Entry::Allergy(a) => Resource::AllergyIntolerance(allergy(a, id, ctx)),
        m::Entry::Condition(c) => Resource::Condition(condition(c, id, ctx)),
        m::Entry::Result(r) => match r.kind {
            Some(m::ResultKind::Report) => {
                Resource::DiagnosticReport(diagnostic_report(r, id, ctx))
            }
            Some(m::ResultKind::Observation) | None => {
                Resource::Observation(observation(r, id, ctx))
            }
        },
        m::Entry::Document(d) => match &d.care_plan {
            Some(plan) => Resource::CarePlan(care_plan(d, plan, id, ctx)),
            None => Resource::DocumentReference(document_reference(d, id, ctx)),
        },
        m::Entry::Procedure(p) => match &p.immunisation {
            Some(imm) => Resource::Immunization(immunization(p, imm, id, ctx)),
            None => Resource::Procedure(procedure(p, id, ctx)),
        },
        m::Entry::Referral(r) => Resource::ServiceRequest(service_request(r, id, ctx)),
        m::Entry::Appointment(a) => match a.kind {
            Some(m::AppointmentKind::Encounter) => Resource::Encounter(encounter(a, id, ctx)),
            Some(m::AppointmentKind::Appointment) | None => {
                Resource::Appointment(appointment(a, id, ctx))
            }
        },
        m::Entry::Alert(a) => Resource::Flag(flag(a, id, ctx)),
    }
}

/// A contact as a RelatedPerson of the patient. `period_start` is
/// `period.start`.
fn related_person(c: &m::Contact, id: Option<String>, ctx: &RenderContext<'_>) -> RelatedPerson {
    RelatedPerson {
        id,
        active: c.active,
        patient: ctx.subject(),
        relationship: concepts(&c.relationship),
        name: human_name(&c.name).into_iter().collect(),
        telecom: c.telecom.iter().filter_map(contact_point).collect(),
        address: c.address.iter().filter_map(address).collect(),
        period: period(c.period_start.as_ref(), None),
        ..Default::default()
    }
}

/// A care team. Members and managing organisations are known by their
/// display names only, so they are references with `display`.
fn care_team(c: &m::CareTeam, id: Option<String>, ctx: &RenderContext<'_>) -> CareTeam {
    CareTeam {
        id,
        status: c.status.map(|s| s.as_code().to_string()),
        category: concepts(&c.category),
        name: c.name.as_deref().and_then(text),
        subject: ctx.subject(),
        period: period(c.period_start.as_ref(), c.period_end.as_ref()),
        participant: c
            .participants
            .iter()
            .filter_map(|p| {
                let role = concepts(&p.roles);
                let member = p.name.as_deref().and_then(display_ref);
                (!role.is_empty() || member.is_some()).then_some(CareTeamParticipant {
                    role,
                    member,
                    ..Default::default()
                })
            })
            .collect(),
        managing_organization: c
            .managing_organisations
            .iter()
            .filter_map(|o| display_ref(o))
            .collect(),
        telecom: c.telecom.iter().filter_map(contact_point).collect(),
        ..Default::default()
    }
}

/// A medication statement. Fallbacks and approximations:
/// - no status → `unknown`; the prescription-only codes `cancelled` →
///   `stopped` and `draft` → `intended`;
/// - no medication → the `data-absent-reason#unknown` coding;
/// - `start`/`end` → `effectivePeriod` (or `effectiveDateTime` when only
///   `start` is known); `recorded` → `dateAsserted`;
/// - `prescriber` → `informationSource` (by display), R4 having no
///   prescriber on a statement.
fn medication_statement(
    x: &m::Medication,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> MedicationStatement {
    use m::MedicationStatus as S;
    let status = match x.status {
        None => "unknown",
        Some(S::Cancelled) => "stopped",
        Some(S::Draft) => "intended",
        Some(s) => s.as_code(),
    };
    let (effective_date_time, effective_period) = match (&x.start, &x.end) {
        (Some(s), None) => (date_time(s), None),
        (s, e) => (None, period(s.as_ref(), e.as_ref())),
    };
    MedicationStatement {
        id,
        status: Some(status.to_string()),
        medication_codeable_concept: Some(concept_required(&x.medication)),
        subject: ctx.subject(),
        effective_date_time,
        effective_period,
        date_asserted: x.recorded.as_ref().and_then(date_time),
        information_source: x.prescriber.as_deref().and_then(display_ref),
        reason_code: concepts(&x.reasons),
        note: annotations(&x.notes),
        dosage: dosages(x.dosage.as_deref()),
        ..Default::default()
    }
}

/// A prescription as a MedicationRequest with intent `order`. Fallbacks
/// and approximations:
/// - no status → `unknown`; the statement-only codes `intended` → `draft`,
///   `not-taken` → `unknown`;
/// - no medication → the `data-absent-reason#unknown` coding;
/// - `start` → `authoredOn`; `end` → `dispenseRequest.validityPeriod.end`;
///   `recorded` has no home and is left out;
/// - `prescriber` → `requester` (by display).
fn medication_request(
    x: &m::Medication,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> MedicationRequest {
    use m::MedicationStatus as S;
    let status = match x.status {
        None | Some(S::NotTaken) => "unknown",
        Some(S::Intended) => "draft",
        Some(s) => s.as_code(),
    };
    MedicationRequest {
        id,
        status: Some(status.to_string()),
        intent: Some("order".to_string()),
        medication_codeable_concept: Some(concept_required(&x.medication)),
        subject: ctx.subject(),
        authored_on: x.start.as_ref().and_then(date_time),
        requester: x.prescriber.as_deref().and_then(display_ref),
        reason_code: concepts(&x.reasons),
        note: annotations(&x.notes),
        dosage_instruction: dosages(x.dosage.as_deref()),
        dispense_request: period(None, x.end.as_ref()).map(|p| DispenseRequest {
            validity_period: Some(p),
        }),
        ..Default::default()
    }
}

/// An allergy. The Condition-only verification codes `provisional` and
/// `differential` are written as `unconfirmed`. A reaction without
/// manifestations gets the `data-absent-reason#unknown` manifestation
/// (FHIR requires one). `onset` → `onsetDateTime`, `recorded` →
/// `recordedDate`.
fn allergy(a: &m::Allergy, id: Option<String>, ctx: &RenderContext<'_>) -> AllergyIntolerance {
    use m::Verification as V;
    AllergyIntolerance {
        id,
        clinical_status: a
            .clinical_status
            .map(|s| status_concept(ALLERGY_CLINICAL_SYSTEM, s.as_code())),
        verification_status: a.verification.map(|v| {
            let code = match v {
                V::Provisional | V::Differential => "unconfirmed",
                other => other.as_code(),
            };
            status_concept(ALLERGY_VERIFICATION_SYSTEM, code)
        }),
        category: a.category.iter().map(|c| c.as_code().to_string()).collect(),
        criticality: a.criticality.map(|c| c.as_code().to_string()),
        code: concept(&a.code),
        patient: ctx.subject(),
        onset_date_time: a.onset.as_ref().and_then(date_time),
        recorded_date: a.recorded.as_ref().and_then(date_time),
        note: annotations(&a.notes),
        reaction: a
            .reactions
            .iter()
            .map(|r| {
                let mut manifestation = concepts(&r.manifestations);
                if manifestation.is_empty() {
                    manifestation.push(data_absent_concept());
                }
                AllergyReaction {
                    manifestation,
                    description: r.description.as_deref().and_then(text),
                    severity: r.severity.map(|s| s.as_code().to_string()),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// A condition. `onset` → `onsetDateTime`, `abatement` →
/// `abatementDateTime`, `recorded` → `recordedDate`.
fn condition(c: &m::Condition, id: Option<String>, ctx: &RenderContext<'_>) -> Condition {
    Condition {
        id,
        clinical_status: c
            .clinical_status
            .map(|s| status_concept(CONDITION_CLINICAL_SYSTEM, s.as_code())),
        verification_status: c
            .verification
            .map(|v| status_concept(CONDITION_VERIFICATION_SYSTEM, v.as_code())),
        category: concepts(&c.category),
        severity: c.severity.as_ref().and_then(concept),
        code: concept(&c.code),
        subject: ctx.subject(),
        onset_date_time: c.onset.as_ref().and_then(date_time),
        abatement_date_time: c.abatement.as_ref().and_then(date_time),
        recorded_date: c.recorded.as_ref().and_then(date_time),
        note: annotations(&c.notes),
        ..Default::default()
    }
}

/// An observation. Fallbacks and approximations:
/// - no status → `unknown`; the report-only codes `partial` →
///   `preliminary` and `appended` → `amended`;
/// - no code → the `data-absent-reason#unknown` coding (also for components);
/// - `issued` is a FHIR `instant`: written only when the model has a full
///   date-time;
/// - `members` → `hasMember`, for those `ctx.resolve` knows;
/// - `performer` → `performer` (by display);
/// - `conclusion` has no home on an Observation and is left out;
/// - `absent_reason` is written only when there is no value (FHIR obs-6);
/// - a reference range's bounds are SimpleQuantities: comparators are
///   dropped; a range with neither bound nor text is left out;
/// - an integer value outside the FHIR `integer` range is written as
///   `valueString`.
fn observation(r: &m::TestResult, id: Option<String>, ctx: &RenderContext<'_>) -> Observation {
    use m::ResultStatus as S;
    let status = match r.status {
        None => "unknown",
        Some(S::Partial) => "preliminary",
        Some(S::Appended) => "amended",
        Some(s) => s.as_code(),
    };
    let v = ValueX::from(r.value.as_ref());
    let v_has_value = v.is_some();
    Observation {
        id,
        status: Some(status.to_string()),
        category: concepts(&r.category),
        code: Some(concept_required(&r.code)),
        subject: ctx.subject(),
        effective_date_time: r.effective.as_ref().and_then(date_time),
        issued: r.issued.as_ref().and_then(instant),
        performer: r
            .performer
            .as_deref()
            .and_then(display_ref)
            .into_iter()
            .collect(),
        value_quantity: v.quantity,
        value_codeable_concept: v.codeable_concept,
        value_string: v.string,
        value_boolean: v.boolean,
        value_integer: v.integer,
        value_range: v.range,
        value_date_time: v.date_time,
        data_absent_reason: if v_has_value {
            None
        } else {
            r.absent_reason.as_ref().and_then(concept)
        },
        interpretation: concepts(&r.interpretation),
        note: annotations(&r.notes),
        reference_range: reference_ranges(&r.reference_range),
        has_member: members(&r.members, ctx),
        component: r
            .components
            .iter()
            .map(|c| {
                let v = ValueX::from(c.value.as_ref());
                ObservationComponent {
                    code: Some(concept_required(&c.code)),
                    value_quantity: v.quantity,
                    value_codeable_concept: v.codeable_concept,
                    value_string: v.string,
                    value_boolean: v.boolean,
                    value_integer: v.integer,
                    value_range: v.range,
                    value_date_time: v.date_time,
                    interpretation: concepts(&c.interpretation),
                    reference_range: reference_ranges(&c.reference_range),
                    ..Default::default()
                }
            })
            .collect(),
        ..Default::default()
    }
}

/// A report. Fallbacks and approximations:
/// - no status → `unknown`; no code → the `data-absent-reason#unknown` coding;
/// - `issued` is a FHIR `instant`: written only when the model has a full
///   date-time;
/// - `members` → `result`, for those `ctx.resolve` knows;
/// - a report's `value`, `absent_reason`, `interpretation`,
///   `reference_range`, `components` and `notes` have no home on an R4
///   DiagnosticReport and are left out.
fn diagnostic_report(
    r: &m::TestResult,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> DiagnosticReport {
    DiagnosticReport {
        id,
        status: Some(r.status.map_or("unknown", |s| s.as_code()).to_string()),
        category: concepts(&r.category),
        code: Some(concept_required(&r.code)),
        subject: ctx.subject(),
        effective_date_time: r.effective.as_ref().and_then(date_time),
        issued: r.issued.as_ref().and_then(instant),
        performer: r
            .performer
            .as_deref()
            .and_then(display_ref)
            .into_iter()
            .collect(),
        result: members(&r.members, ctx),
        conclusion: r.conclusion.as_deref().and_then(text),
        ..Default::default()
    }
}

/// A document. Fallbacks and approximations:
/// - no status → `current` (`current | superseded | entered-in-error` has
///   no `unknown`; a document a source lists without saying it was
///   replaced or recorded in error is its current version as far as anyone
///   can tell);
/// - no content → one attachment carrying only the `data-absent-reason`
///   extension (FHIR requires one);
/// - `title` → `description`; `authors` → `author` (by display);
/// - `date` → `date` when it is a full date-time (`date` is an `instant`);
///   a partial date goes to each attachment's `creation` instead;
/// - an attachment's `url` is the source's own address for the content
///   and is never written: a source's address is not passed on (a reader
///   asks the organisation in the Provenance); an attachment with nothing
///   else known is left out;
/// - `inline_content_omitted` has no R4 home: the attachment simply has
///   no `data`; a size over the FHIR `unsignedInt` range is left out;
/// - `text` (a plain-text rendition) → one more attachment, `text/plain`,
///   inline (`data`, base64), titled "Plain-text rendition".
fn document_reference(
    d: &m::Document,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> DocumentReference {
    let status = d.status.map_or("current", |s| s.as_code()).to_string();
    let full_date = d.date.as_ref().and_then(instant);
    let creation = if full_date.is_none() {
        d.date.as_ref().and_then(date_time)
    } else {
        None
    };
    let mut content: Vec<DocumentReferenceContent> = d
        .content
        .iter()
        .map(|a| Attachment {
            content_type: a.content_type.as_deref().and_then(code),
            size: a.size.filter(|s| *s <= i32::MAX as u64),
            title: a.title.as_deref().and_then(text),
            ..Default::default()
        })
        .filter(|a| a.content_type.is_some() || a.size.is_some() || a.title.is_some())
        .map(|a| DocumentReferenceContent {
            attachment: Some(Attachment {
                creation: creation.clone(),
                ..a
            }),
            format: None,
        })
        .collect();
    if let Some(t) = d.text.as_deref().filter(|t| !t.is_empty()) {
        use base64::Engine as _;
        content.push(DocumentReferenceContent {
            attachment: Some(Attachment {
                content_type: Some("text/plain; charset=utf-8".into()),
                data: Some(base64::engine::general_purpose::STANDARD.encode(t)),
                title: Some("Plain-text rendition".into()),
                creation: creation.clone(),
                ..Default::default()
            }),
            format: None,
        });
    }
    if content.is_empty() {
        content.push(DocumentReferenceContent {
            attachment: Some(Attachment {
                extension: vec![data_absent_extension()],
                creation,
                ..Default::default()
            }),
            format: None,
        });
    }
    DocumentReference {
        id,
        status: Some(status),
        type_: concept(&d.doc_type),
        category: concepts(&d.category),
        subject: ctx.subject(),
        date: full_date,
        author: d.authors.iter().filter_map(|a| display_ref(a)).collect(),
        description: d.title.as_deref().and_then(text),
        content,
        ..Default::default()
    }
}

/// A procedure. No status → `unknown`. `performed` alone →
/// `performedDateTime`; with `performed_end` → `performedPeriod`.
/// `performers` → `performer.actor` (by display).
fn procedure(p: &m::Procedure, id: Option<String>, ctx: &RenderContext<'_>) -> Procedure {
    let (performed_date_time, performed_period) = match (&p.performed, &p.performed_end) {
        (Some(s), None) => (date_time(s), None),
        (s, e) => (None, period(s.as_ref(), e.as_ref())),
    };
    Procedure {
        id,
        status: Some(p.status.map_or("unknown", |s| s.as_code()).to_string()),
        code: concept(&p.code),
        subject: ctx.subject(),
        performed_date_time,
        performed_period,
        performer: p
            .performers
            .iter()
            .filter_map(|n| display_ref(n))
            .map(|actor| ProcedurePerformer {
                function: None,
                actor: Some(actor),
            })
            .collect(),
        body_site: concepts(&p.body_site),
        outcome: p.outcome.as_ref().and_then(concept),
        note: annotations(&p.notes),
        ..Default::default()
    }
}

/// An immunisation as an Immunization. Fallbacks and approximations:
/// - status `not-done` and `entered-in-error` as they are; any other, or
///   none, is `completed` (an R4 Immunization records a vaccination, and
///   its status has no `unknown`);
/// - the vaccine → `vaccineCode`, the `data-absent-reason#unknown` coding
///   when the model has none; the procedure's code, when it says more than
///   the vaccine, → the UK Core vaccination-procedure extension;
/// - `performed` → `occurrenceDateTime`; no date → `occurrenceString`
///   `unknown` (FHIR requires an occurrence); `performed_end` and
///   `outcome` have no home and are left out;
/// - the first body site → `site` (R4 has one); performers → `performer`
///   (by display); `reason_not_given` → `statusReason`;
/// - the dose → `protocolApplied.doseNumberPositiveInt` when it is a whole
///   number from 1, else `doseNumberString`.
fn immunization(
    p: &m::Procedure,
    imm: &m::Immunisation,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> Immunization {
    use m::ProcedureStatus as S;
    let status = match p.status {
        Some(S::NotDone) => "not-done",
        Some(S::EnteredInError) => "entered-in-error",
        _ => "completed",
    };
    let procedure = concept(&p.code).filter(|c| concept(&imm.vaccine).as_ref() != Some(c));
    let occurrence_date_time = p.performed.as_ref().and_then(date_time);
    Immunization {
        id,
        extension: procedure
            .map(|c| Extension {
                url: Some(VACCINATION_PROCEDURE_EXTENSION.to_string()),
                value_codeable_concept: Some(c),
                ..Default::default()
            })
            .into_iter()
            .collect(),
        status: Some(status.to_string()),
        status_reason: imm.reason_not_given.as_ref().and_then(concept),
        vaccine_code: Some(concept_required(&imm.vaccine)),
        patient: ctx.subject(),
        occurrence_string: occurrence_date_time
            .is_none()
            .then(|| "unknown".to_string()),
        occurrence_date_time,
        lot_number: imm.lot_number.as_deref().and_then(text),
        site: p.body_site.iter().find_map(concept),
        performer: p
            .performers
            .iter()
            .filter_map(|n| display_ref(n))
            .map(|actor| ImmunizationPerformer {
                function: None,
                actor: Some(actor),
            })
            .collect(),
        note: annotations(&p.notes),
        protocol_applied: imm
            .dose
            .as_deref()
            .and_then(text)
            .map(|dose| match dose.trim().parse::<u32>() {
                Ok(n) if n >= 1 && i32::try_from(n).is_ok() => ImmunizationProtocolApplied {
                    dose_number_positive_int: Some(n),
                    ..Default::default()
                },
                _ => ImmunizationProtocolApplied {
                    dose_number_string: Some(dose),
                    ..Default::default()
                },
            })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// A care plan as a CarePlan. Fallbacks and approximations:
/// - no status → `unknown`; `intent` (required, not in the model) is
///   `plan`;
/// - `title` → `title`, `text` → `description`, `category` → `category`,
///   `date` → `created`; the first author → `author` and the others →
///   `contributor` (by display);
/// - each activity → `activity.detail.description`, with `detail.status`
///   `unknown` (required; the model keeps an activity as text only);
/// - `doc_type`, `status` and `content` have no home on a CarePlan and are
///   left out.
fn care_plan(
    d: &m::Document,
    plan: &m::CarePlan,
    id: Option<String>,
    ctx: &RenderContext<'_>,
) -> CarePlan {
    let mut authors = d.authors.iter().filter_map(|a| display_ref(a));
    CarePlan {
        id,
        status: Some(plan.status.map_or("unknown", |s| s.as_code()).to_string()),
        intent: Some("plan".to_string()),
        category: concepts(&d.category),
        title: d.title.as_deref().and_then(text),
        description: d.text.as_deref().and_then(text),
        subject: ctx.subject(),
        period: period(plan.period_start.as_ref(), plan.period_end.as_ref()),
        created: d.date.as_ref().and_then(date_time),
        author: authors.next(),
        contributor: authors.collect(),
        activity: plan
            .activities
            .iter()
            .filter_map(|a| text(a))
            .map(|description| CarePlanActivity {
                detail: Some(CarePlanActivityDetail {
                    status: Some("unknown".to_string()),
                    description: Some(description),
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

/// A referral as a ServiceRequest with intent `order`. No status →
/// `unknown`. `requester` and `performers` are references by display.
fn service_request(r: &m::Referral, id: Option<String>, ctx: &RenderContext<'_>) -> ServiceRequest {
    ServiceRequest {
        id,
        status: Some(r.status.map_or("unknown", |s| s.as_code()).to_string()),
        intent: Some("order".to_string()),
        category: concepts(&r.category),
        priority: r.priority.map(|p| p.as_code().to_string()),
        code: concept(&r.code),
        subject: ctx.subject(),
        authored_on: r.authored.as_ref().and_then(date_time),
        requester: r.requester.as_deref().and_then(display_ref),
        performer: r.performers.iter().filter_map(|n| display_ref(n)).collect(),
        reason_code: concepts(&r.reasons),
        note: annotations(&r.notes),
        ..Default::default()
    }
}

/// A booked appointment. Fallbacks and approximations:
/// - no status (or `unknown`) → `pending` (the Appointment value set has no
///   `unknown`; `pending`, "not every participant has confirmed", is the
///   least it can claim); the Encounter-only codes are written as their
///   nearest Appointment code: `planned` → `booked`,
///   `triaged`/`in-progress`/`onleave` → `arrived`, `finished` →
///   `fulfilled`;
/// - the patient is always a participant (FHIR requires at least one, and
///   the appointment is theirs); `participants` follow as actors by
///   display, and `location` as a Location actor by display. The model does
///   not record who accepted, so each participant's required status is
///   derived from the appointment's: `accepted` when it is confirmed
///   (`booked`, `arrived`, `checked-in`, `fulfilled`, `noshow`: FHIR's
///   `booked` means every participant has accepted), otherwise
///   (`proposed`, `pending`, `waitlist`, `cancelled`, `entered-in-error`)
///   `needs-action`, "has not said";
/// - `start`/`end` are FHIR `instant`s: written only when the model has a
///   full date-time;
/// - `class` has no home on an Appointment and is left out.
fn appointment(a: &m::Appointment, id: Option<String>, ctx: &RenderContext<'_>) -> Appointment {
    use m::AppointmentStatus as S;
    let status = match a.status {
        None | Some(S::Unknown) => "pending",
        Some(S::Planned) => "booked",
        Some(S::Triaged | S::InProgress | S::Onleave) => "arrived",
        Some(S::Finished) => "fulfilled",
        Some(s) => s.as_code(),
    };
    let participant_status = match status {
        "booked" | "arrived" | "checked-in" | "fulfilled" | "noshow" => "accepted",
        _ => "needs-action",
    };
    let with_status = |actor: Reference| AppointmentParticipant {
        actor: Some(actor),
        status: Some(participant_status.to_string()),
        ..Default::default()
    };
    let mut participant = vec![with_status(Reference {
        reference: uri(ctx.patient),
        type_: Some("Patient".to_string()),
        ..Default::default()
    })];
    participant.extend(
        a.participants
            .iter()
            .filter_map(|n| display_ref(n))
            .map(with_status),
    );
    participant.extend(
        a.location
            .as_deref()
            .and_then(display_ref)
            .map(|r| Reference {
                type_: Some("Location".to_string()),
                ..r
            })
            .map(with_status),
    );
    Appointment {
        id,
        status: Some(status.to_string()),
        service_type: concepts(&a.service_type),
        reason_code: concepts(&a.reasons),
        description: a.description.as_deref().and_then(text),
        start: a.start.as_ref().and_then(instant),
        end: a.end.as_ref().and_then(instant),
        participant,
        ..Default::default()
    }
}

/// An attendance or stay as an Encounter. Fallbacks and approximations:
/// - no status → `unknown`; the Appointment-only codes are written as their
///   nearest Encounter code: `proposed`/`pending`/`booked`/`waitlist` →
///   `planned`, `checked-in` → `arrived`, `fulfilled` → `finished`,
///   `noshow` → `cancelled`;
/// - `class` → `class` (a single Coding: the concept's primary coding, or
///   its text as a display); no class → the `data-absent-reason#unknown`
///   coding (FHIR requires one);
/// - the first `service_type` → `serviceType` (R4 allows one; the rest are
///   left out); `description` has no home on an Encounter and is left out;
/// - `participants` → `participant.individual` and `location` →
///   `location.location`, by display.
fn encounter(a: &m::Appointment, id: Option<String>, ctx: &RenderContext<'_>) -> Encounter {
    use m::AppointmentStatus as S;
    let status = match a.status {
        None => "unknown",
        Some(S::Proposed | S::Pending | S::Booked | S::Waitlist) => "planned",
        Some(S::CheckedIn) => "arrived",
        Some(S::Fulfilled) => "finished",
        Some(S::Noshow) => "cancelled",
        Some(s) => s.as_code(),
    };
    Encounter {
        id,
        status: Some(status.to_string()),
        class_: Some(
            a.class
                .as_ref()
                .and_then(single_coding)
                .unwrap_or_else(data_absent_coding),
        ),
        service_type: a.service_type.iter().find_map(concept),
        subject: ctx.subject(),
        participant: a
            .participants
            .iter()
            .filter_map(|n| display_ref(n))
            .map(|individual| EncounterParticipant {
                type_: Vec::new(),
                individual: Some(individual),
            })
            .collect(),
        period: period(a.start.as_ref(), a.end.as_ref()),
        reason_code: concepts(&a.reasons),
        location: a
            .location
            .as_deref()
            .and_then(display_ref)
            .map(|l| EncounterLocation { location: Some(l) })
            .into_iter()
            .collect(),
        ..Default::default()
    }
}

/// An alert as a Flag. No status → `active` (`active | inactive |
/// entered-in-error` has no `unknown`, and an alert whose state the source
/// did not give is one to heed: a client that hides inactive flags must not
/// hide it; its period, when known, is written beside it); no code → the
/// `data-absent-reason#unknown` coding. `author` is a reference by display.
fn flag(a: &m::Alert, id: Option<String>, ctx: &RenderContext<'_>) -> Flag {
    Flag {
        id,
        status: Some(a.status.map_or("active", |s| s.as_code()).to_string()),
        category: concepts(&a.category),
        code: Some(concept_required(&a.code)),
        subject: ctx.subject(),
        period: period(a.period_start.as_ref(), a.period_end.as_ref()),
        author: a.author.as_deref().and_then(display_ref),
        ..Default::default()
    }
}

/// The value[x] of an observation or component, one field filled.
#[derive(Default)]
struct ValueX {
    quantity: Option<Quantity>,
    codeable_concept: Option<CodeableConcept>,
    string: Option<String>,
    boolean: Option<bool>,
    integer: Option<i64>,
    range: Option<Range>,
    date_time: Option<String>,
}

impl ValueX {
    fn is_some(&self) -> bool {
        self.quantity.is_some()
            || self.codeable_concept.is_some()
            || self.string.is_some()
            || self.boolean.is_some()
            || self.integer.is_some()
            || self.range.is_some()
            || self.date_time.is_some()
    }
}

impl From<Option<&m::ResultValue>> for ValueX {
    fn from(v: Option<&m::ResultValue>) -> Self {
        let mut out = ValueX::default();
        match v {
            None => {}
            Some(m::ResultValue::Quantity(q)) => out.quantity = quantity(q, false),
            Some(m::ResultValue::Coded(c)) => out.codeable_concept = concept(c),
            Some(m::ResultValue::Text(t)) => out.string = text(t),
            Some(m::ResultValue::Boolean(b)) => out.boolean = Some(*b),
            Some(m::ResultValue::Integer(i)) => {
                if i32::try_from(*i).is_ok() {
                    out.integer = Some(*i);
                } else {
                    out.string = Some(i.to_string());
                }
            }
            Some(m::ResultValue::Range { low, high }) => {
                let low = low.as_ref().and_then(|q| quantity(q, true));
                let high = high.as_ref().and_then(|q| quantity(q, true));
                if low.is_some() || high.is_some() {
                    out.range = Some(Range { low, high });
                }
            }
            Some(m::ResultValue::DateTime(d)) => out.date_time = date_time(d),
        }
        out
    }
}

fn members(ids: &[m::RecordId], ctx: &RenderContext<'_>) -> Vec<Reference> {
    ids.iter()
        .filter_map(|id| (ctx.resolve)(id))
        .filter_map(|r| uri(&r))
        .map(|r| Reference {
            reference: Some(r),
            ..Default::default()
        })
        .collect()
}

fn reference_ranges(ranges: &[m::ReferenceRange]) -> Vec<ReferenceRange> {
    ranges
        .iter()
        .filter_map(|r| {
            let out = ReferenceRange {
                low: r.low.as_ref().and_then(|q| quantity(q, true)),
                high: r.high.as_ref().and_then(|q| quantity(q, true)),
                type_: None,
                text: r.text.as_deref().and_then(text),
            };
            (out.low.is_some() || out.high.is_some() || out.text.is_some()).then_some(out)
        })
        .collect()
}

/// A quantity; `simple` drops the comparator (SimpleQuantity). A value that
/// is not finite is left out; a unit code is written with the UCUM system.
fn quantity(q: &m::Quantity, simple: bool) -> Option<Quantity> {
    let unit_code = q.code.as_deref().and_then(code);
    let out = Quantity {
        value: q.value.filter(|v| v.is_finite()),
        comparator: if simple {
            None
        } else {
            q.comparator
                .as_deref()
                .map(str::trim)
                .filter(|c| matches!(*c, "<" | "<=" | ">=" | ">"))
                .map(str::to_string)
        },
        unit: q.unit.as_deref().and_then(text),
        system: unit_code.as_ref().map(|_| UCUM_SYSTEM.to_string()),
        code: unit_code,
    };
    (out.value.is_some() || out.unit.is_some() || out.code.is_some()).then_some(out)
}

fn address(a: &m::Address) -> Option<Address> {
    let out = Address {
        use_: a
            .use_
            .filter(|u| *u != m::ContactUse::Mobile)
            .map(|u| u.as_code().to_string()),
        line: a.lines.iter().filter_map(|l| text(l)).collect(),
        city: a.city.as_deref().and_then(text),
        district: a.district.as_deref().and_then(text),
        postal_code: a.postcode.as_deref().and_then(text),
        country: a.country.as_deref().and_then(text),
        ..Default::default()
    };
    (!out.line.is_empty()
        || out.city.is_some()
        || out.district.is_some()
        || out.postal_code.is_some()
        || out.country.is_some())
    .then_some(out)
}

fn contact_point(t: &m::Telecom) -> Option<ContactPoint> {
    Some(ContactPoint {
        system: Some(t.system.as_code().to_string()),
        value: Some(text(&t.value)?),
        use_: t
            .use_
            .filter(|u| *u != m::ContactUse::Billing)
            .map(|u| u.as_code().to_string()),
        ..Default::default()
    })
}

fn annotations(notes: &[String]) -> Vec<Annotation> {
    notes
        .iter()
        .filter_map(|n| text(n))
        .map(|t| Annotation {
            text: Some(t),
            ..Default::default()
        })
        .collect()
}

/// A concept FHIR requires: the `data-absent-reason#unknown` coding when the
/// model has none.
fn concept_required(c: &m::Concept) -> CodeableConcept {
    concept(c).unwrap_or_else(data_absent_concept)
}

/// A concept as one Coding: its primary coding, else any coding, else its
/// text as a display.
fn single_coding(c: &m::Concept) -> Option<Coding> {
    c.primary()
        .and_then(coding)
        .or_else(|| c.codings.iter().find_map(coding))
        .or_else(|| {
            Some(Coding {
                display: Some(text(c.text.as_deref()?)?),
                ..Default::default()
            })
        })
}

fn status_concept(system: &str, code: &str) -> CodeableConcept {
    CodeableConcept {
        coding: vec![Coding {
            system: Some(system.to_string()),
            code: Some(code.to_string()),
            ..Default::default()
        }],
        text: None,
    }
}

fn data_absent_coding() -> Coding {
    Coding {
        system: Some(DATA_ABSENT_REASON_SYSTEM.to_string()),
        code: Some("unknown".to_string()),
        display: Some("Unknown".to_string()),
        ..Default::default()
    }
}

fn data_absent_concept() -> CodeableConcept {
    CodeableConcept {
        coding: vec![data_absent_coding()],
        text: None,
    }
}

fn data_absent_extension() -> Extension {
    Extension {
        url: Some(DATA_ABSENT_REASON_EXTENSION.to_string()),
        value_code: Some("unknown".to_string()),
        ..Default::default()
    }
}
