//! Small constructors for model entries, shared by the story patients and
//! the generator so that both build records the same way.

use icr_model::{
    Address, Alert, AlertStatus, Allergy, AllergyCategory, AllergyClinicalStatus, Appointment,
    AppointmentKind, AppointmentStatus, Attachment, CarePlan, CarePlanStatus, CareTeam,
    CareTeamMember, CareTeamStatus, Concept, Condition, ConditionClinicalStatus, Contact,
    Criticality, Document, DocumentStatus, HumanName, Immunisation, Medication, MedicationKind,
    MedicationStatus, PartialDateTime, Priority, Procedure, ProcedureStatus, Quantity, Reaction,
    RecordId, ReferenceRange, Referral, ReferralStatus, ResultKind, ResultStatus, ResultValue,
    Severity, Telecom, TestResult, Verification,
};
use time::{Date, Duration, OffsetDateTime};

use super::codes::{self, Code, Lab};
use crate::org::Org;

/// A calendar date as a model date.
pub(crate) fn day(d: Date) -> PartialDateTime {
    PartialDateTime::Date(d)
}

/// An instant as a model date-time.
pub(crate) fn instant(t: OffsetDateTime) -> PartialDateTime {
    PartialDateTime::DateTime(t)
}

/// A problem-list condition.
pub(crate) fn condition(
    code: Code,
    onset: Date,
    status: ConditionClinicalStatus,
    abatement: Option<Date>,
) -> Condition {
    let category = if abatement.is_some() {
        codes::ENCOUNTER_DIAGNOSIS
    } else {
        codes::PROBLEM_LIST_ITEM
    };
    Condition {
        code: code.concept(),
        clinical_status: Some(status),
        verification: Some(Verification::Confirmed),
        category: vec![category.concept()],
        severity: None,
        onset: Some(day(onset)),
        abatement: abatement.map(day),
        recorded: Some(day(onset)),
        notes: Vec::new(),
    }
}

/// A medication statement: the person takes (or took) this medicine.
pub(crate) fn statement(
    code: Code,
    dosage: &str,
    start: Date,
    status: MedicationStatus,
    reason: Option<Code>,
) -> Medication {
    Medication {
        medication: code.concept(),
        kind: Some(MedicationKind::Statement),
        status: Some(status),
        dosage: Some(dosage.to_string()),
        start: Some(day(start)),
        end: None,
        recorded: None,
        reasons: reason.map(|r| r.concept()).into_iter().collect(),
        prescriber: None,
        notes: Vec::new(),
    }
}

/// A prescription issued by the organisation.
pub(crate) fn prescription(
    code: Code,
    dosage: &str,
    start: Date,
    end: Option<Date>,
    status: MedicationStatus,
    prescriber: &str,
    reason: Option<Code>,
) -> Medication {
    Medication {
        medication: code.concept(),
        kind: Some(MedicationKind::Prescription),
        status: Some(status),
        dosage: Some(dosage.to_string()),
        start: Some(day(start)),
        end: end.map(day),
        recorded: None,
        reasons: reason.map(|r| r.concept()).into_iter().collect(),
        prescriber: Some(prescriber.to_string()),
        notes: Vec::new(),
    }
}

/// An active, confirmed allergy with one reaction.
pub(crate) fn allergy(
    code: Code,
    category: AllergyCategory,
    onset: Date,
    manifestation: Code,
) -> Allergy {
    let severe = manifestation == codes::ANAPHYLAXIS || manifestation == codes::ANGIOEDEMA;
    Allergy {
        code: code.concept(),
        clinical_status: Some(AllergyClinicalStatus::Active),
        verification: Some(Verification::Confirmed),
        category: vec![category],
        criticality: Some(if severe {
            Criticality::High
        } else {
            Criticality::Low
        }),
        reactions: vec![Reaction {
            manifestations: vec![manifestation.concept()],
            severity: Some(if severe {
                Severity::Severe
            } else {
                Severity::Moderate
            }),
            description: None,
        }],
        onset: Some(day(onset)),
        recorded: Some(day(onset)),
        notes: Vec::new(),
    }
}

/// A next of kin.
pub(crate) fn contact(
    name: HumanName,
    relationship: Code,
    telecom: Vec<Telecom>,
    address: Option<Address>,
) -> Contact {
    Contact {
        name,
        relationship: vec![Concept {
            codings: vec![relationship.coding(), codes::NEXT_OF_KIN.coding()],
            text: None,
        }],
        telecom,
        address,
        active: Some(true),
        period_start: None,
    }
}

/// What a laboratory reports a value as: rounded to the test's decimals.
pub(crate) fn round(lab: &Lab, v: f64) -> f64 {
    let f = 10f64.powi(i32::from(lab.decimals));
    (v * f).round() / f
}

fn quantity(lab: &Lab, v: f64) -> Quantity {
    Quantity {
        value: Some(v),
        comparator: None,
        unit: Some(lab.unit.to_string()),
        code: Some(lab.unit.to_string()),
    }
}

/// The abnormal flag of a value against the test's reference range.
pub(crate) fn flag(lab: &Lab, v: f64) -> Code {
    match (lab.low, lab.high) {
        (Some(lo), _) if v < lo => codes::LOW,
        (_, Some(hi)) if v > hi => codes::HIGH,
        _ => codes::NORMAL,
    }
}

/// A final laboratory result with its range and abnormal flag.
pub(crate) fn observation(
    lab: &Lab,
    value: f64,
    effective: OffsetDateTime,
    performer: &str,
) -> TestResult {
    let value = round(lab, value);
    let text = match (lab.low, lab.high) {
        (Some(lo), Some(hi)) => format!("{lo}-{hi} {}", lab.unit),
        (Some(lo), None) => format!(">{lo} {}", lab.unit),
        (None, Some(hi)) => format!("<{hi} {}", lab.unit),
        (None, None) => String::new(),
    };
    TestResult {
        kind: Some(ResultKind::Observation),
        category: vec![codes::OBS_LABORATORY.concept()],
        code: lab.code.concept(),
        status: Some(ResultStatus::Final),
        effective: Some(instant(effective)),
        issued: Some(instant(effective + Duration::hours(3))),
        value: Some(ResultValue::Quantity(quantity(lab, value))),
        absent_reason: None,
        interpretation: vec![flag(lab, value).concept()],
        reference_range: vec![ReferenceRange {
            low: lab.low.map(|v| quantity(lab, v)),
            high: lab.high.map(|v| quantity(lab, v)),
            text: Some(text),
        }],
        components: Vec::new(),
        conclusion: None,
        members: Vec::new(),
        performer: Some(performer.to_string()),
        notes: Vec::new(),
    }
}

/// A report grouping results (a panel), or an imaging report with a conclusion.
pub(crate) fn report(
    code: Code,
    category: Code,
    members: Vec<RecordId>,
    effective: OffsetDateTime,
    performer: &str,
    conclusion: Option<&str>,
) -> TestResult {
    TestResult {
        kind: Some(ResultKind::Report),
        category: vec![category.concept()],
        code: code.concept(),
        status: Some(ResultStatus::Final),
        effective: Some(instant(effective)),
        issued: Some(instant(effective + Duration::hours(4))),
        value: None,
        absent_reason: None,
        interpretation: Vec::new(),
        reference_range: Vec::new(),
        components: Vec::new(),
        conclusion: conclusion.map(str::to_string),
        members,
        performer: Some(performer.to_string()),
        notes: Vec::new(),
    }
}

/// The laboratory service of an organisation, as results name it.
pub(crate) fn laboratory(org: Org) -> &'static str {
    match org {
        Org::GWH => "Great Western Hospital Pathology",
        Org::RUH => "Royal United Hospital Pathology",
        Org::AWP => "AWP Phlebotomy Service",
        _ => "Salisbury District Hospital Pathology",
    }
}

/// The imaging department of an organisation.
pub(crate) fn radiology(org: Org) -> &'static str {
    match org {
        Org::GWH => "Great Western Hospital Radiology",
        Org::RUH => "Royal United Hospital Radiology",
        _ => "Salisbury District Hospital Radiology",
    }
}

/// A past attendance, admission or contact.
pub(crate) fn encounter(
    class: Code,
    specialty: Code,
    start: OffsetDateTime,
    end: OffsetDateTime,
    location: &str,
    clinician: &str,
    reason: Option<Code>,
) -> Appointment {
    Appointment {
        kind: Some(AppointmentKind::Encounter),
        status: Some(AppointmentStatus::Finished),
        class: Some(class.concept()),
        service_type: vec![specialty.concept()],
        description: None,
        start: Some(instant(start)),
        end: Some(instant(end)),
        location: Some(location.to_string()),
        participants: vec![clinician.to_string()],
        reasons: reason.map(|r| r.concept()).into_iter().collect(),
    }
}

/// A booked appointment.
pub(crate) fn appointment(
    specialty: Code,
    start: OffsetDateTime,
    minutes: i64,
    description: &str,
    location: &str,
    clinician: &str,
) -> Appointment {
    Appointment {
        kind: Some(AppointmentKind::Appointment),
        status: Some(AppointmentStatus::Booked),
        class: None,
        service_type: vec![specialty.concept()],
        description: Some(description.to_string()),
        start: Some(instant(start)),
        end: Some(instant(start + Duration::minutes(minutes))),
        location: Some(location.to_string()),
        participants: vec![clinician.to_string()],
        reasons: Vec::new(),
    }
}

/// A document held by reference: a PDF at the source's document store.
pub(crate) fn document(
    org: Org,
    doc_type: Code,
    title: &str,
    date: OffsetDateTime,
    author: &str,
    doc_number: u64,
    size: u64,
) -> Document {
    Document {
        doc_type: doc_type.concept(),
        category: Vec::new(),
        title: Some(title.to_string()),
        status: Some(DocumentStatus::Current),
        date: Some(instant(date)),
        authors: vec![author.to_string()],
        content: vec![Attachment {
            content_type: Some("application/pdf".to_string()),
            url: Some(format!(
                "https://documents.{}.sim.invalid/{doc_number:08}.pdf",
                org.id()
            )),
            title: Some(format!("{title}.pdf")),
            size: Some(size),
            inline_content_omitted: false,
        }],
        text: None,
        care_plan: None,
    }
}

/// A completed procedure.
pub(crate) fn procedure(code: Code, performed: Date, performer: &str) -> Procedure {
    Procedure {
        code: code.concept(),
        status: Some(ProcedureStatus::Completed),
        performed: Some(day(performed)),
        performed_end: None,
        body_site: Vec::new(),
        outcome: None,
        performers: vec![performer.to_string()],
        notes: Vec::new(),
        immunisation: None,
    }
}

/// An immunisation given: a procedure marked as one, with the vaccine
/// product where the histories code it, the dose and the batch.
pub(crate) fn immunisation(
    vaccination: Code,
    given: Date,
    performer: &str,
    dose: Option<&str>,
    lot_number: Option<String>,
) -> Procedure {
    Procedure {
        immunisation: Some(Immunisation {
            vaccine: codes::vaccine_for(vaccination)
                .map(|v| v.concept())
                .unwrap_or_default(),
            dose: dose.map(str::to_string),
            lot_number,
            reason_not_given: None,
        }),
        ..procedure(vaccination, given, performer)
    }
}

/// An immunisation offered and declined: `not-done`, with the reason.
pub(crate) fn immunisation_declined(vaccination: Code, offered: Date, by: &str) -> Procedure {
    Procedure {
        status: Some(ProcedureStatus::NotDone),
        notes: Vec::new(),
        immunisation: Some(Immunisation {
            vaccine: codes::vaccine_for(vaccination)
                .map(|v| v.concept())
                .unwrap_or_default(),
            reason_not_given: Some(Concept::text("Declined by the patient")),
            ..Default::default()
        }),
        ..procedure(vaccination, offered, by)
    }
}

/// A care plan in force from `from`, written by `author`: a document marked
/// as a care plan, its activities as text.
pub(crate) fn care_plan(
    category: Concept,
    title: &str,
    description: &str,
    from: OffsetDateTime,
    author: &str,
    activities: &[&str],
) -> Document {
    Document {
        doc_type: codes::DOC_CARE_PLAN.concept(),
        category: vec![category],
        title: Some(title.to_string()),
        status: None,
        date: Some(instant(from)),
        authors: vec![author.to_string()],
        content: Vec::new(),
        text: Some(description.to_string()),
        care_plan: Some(CarePlan {
            status: Some(CarePlanStatus::Active),
            period_start: Some(day(from.date())),
            period_end: None,
            activities: activities.iter().map(|a| a.to_string()).collect(),
        }),
    }
}

/// The batch number a vaccination given on `given` carries: the same
/// vaccine in the same month comes from the same batch.
pub(crate) fn batch(vaccination: Code, given: Date) -> String {
    let prefix: String = vaccination
        .display
        .chars()
        .filter(char::is_ascii_alphabetic)
        .take(2)
        .collect::<String>()
        .to_ascii_uppercase();
    format!(
        "{prefix}{:02}{:02}A",
        given.year() % 100,
        given.month() as u8
    )
}

/// A referral to a service.
#[allow(clippy::too_many_arguments)]
pub(crate) fn referral(
    code: Code,
    to: &str,
    authored: Date,
    status: ReferralStatus,
    priority: Priority,
    requester: &str,
    reason: Option<Code>,
    note: Option<&str>,
) -> Referral {
    Referral {
        code: code.concept(),
        category: vec![codes::REFERRAL_CATEGORY.concept()],
        status: Some(status),
        priority: Some(priority),
        authored: Some(day(authored)),
        requester: Some(requester.to_string()),
        performers: vec![to.to_string()],
        reasons: reason.map(|r| r.concept()).into_iter().collect(),
        notes: note.map(str::to_string).into_iter().collect(),
    }
}

/// An active alert. `code` may be free text only when no code says it.
pub(crate) fn alert(category: Code, code: Concept, start: Date, author: &str) -> Alert {
    Alert {
        code,
        status: Some(AlertStatus::Active),
        category: vec![category.concept()],
        period_start: Some(day(start)),
        period_end: None,
        author: Some(author.to_string()),
    }
}

/// A team involved in the person's care.
pub(crate) fn care_team(
    org: Org,
    name: &str,
    specialty: Code,
    start: Date,
    members: Vec<(Concept, String)>,
    phone: Telecom,
) -> CareTeam {
    CareTeam {
        name: Some(name.to_string()),
        status: Some(CareTeamStatus::Active),
        category: vec![specialty.concept()],
        period_start: Some(day(start)),
        period_end: None,
        participants: members
            .into_iter()
            .map(|(role, name)| CareTeamMember {
                roles: vec![role],
                name: Some(name),
            })
            .collect(),
        managing_organisations: vec![org.name().to_string()],
        telecom: vec![phone],
    }
}
