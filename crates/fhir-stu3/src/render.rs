//! The unified model as a GP Connect structured Bundle: the answer a GP
//! practice's system gives to `$gpc.getstructuredrecord`, for the
//! simulator and for round-trip tests of the adapter.
//!
//! [`structured_record`] writes the Patient, the practice's Organization,
//! one primary List per clinical area the request asks for (coded with its
//! SNOMED CT code, empty with `emptyReason` `no-content-recorded` when
//! nothing is recorded, carrying any warning codes given), and the
//! resources the Lists refer to:
//!
//! | model item | area | resources |
//! |---|---|---|
//! | allergy (active, or no status) | allergies | AllergyIntolerance |
//! | allergy (resolved or inactive) | ended allergies (only with `includeResolvedAllergies`) | AllergyIntolerance contained in the List |
//! | medication (statement) | medications | MedicationStatement + its authorisation (MedicationRequest, `plan`) + Medication |
//! | medication (prescription) | medications (only when issues are wanted) | MedicationRequest (`order`) based on the authorisation of the statement for the same medicine, or on a statement written for it |
//! | condition | problems | Condition |
//! | appointment of kind encounter | consultations | Encounter |
//! | result (report) | investigations | DiagnosticReport (its members as Observations) |
//! | result (observation, not a report's member) | investigations | Observation, listed directly |
//! | procedure | immunisations | Immunization (the code in the vaccination procedure extension) |
//! | referral | referrals | ReferralRequest |
//!
//! Other items (contacts, care teams, documents, alerts, booked
//! appointments) have no place in GP Connect's structured record and are
//! not written. The request's filters are honoured: ended allergies,
//! prescription issues, `medicationSearchFromDate`, the search periods of
//! consultations, investigations and referrals, and
//! `includeNumberOfMostRecent`. People, places and organisations the model
//! names only by display text are written as display-only references.
//!
//! Text is made schema-safe (blank strings left out, control whitespace
//! replaced), dates are written at the model's precision where STU3 allows
//! it (an `instant` only from a full date-time), and codes STU3 lacks are
//! mapped to the nearest STU3 code (documented on each function).

use std::collections::{HashMap, HashSet};

use icr_fhir::from_model::{
    code, coding, concept, concepts, date, date_time, display_ref, dosages, human_name, instant,
    instant_text, period, text,
};
use icr_model as m;
use icr_model::time::{Date, OffsetDateTime};

use crate::bundle::{Bundle, BundleEntry, Resource};
use crate::gpc::*;
use crate::lenient::RawJson;
use crate::outcome;
use crate::params::{DatePeriod, StructuredRequest};
use crate::resources::*;
use crate::types::*;

/// The practice answering.
#[derive(Clone, Copy, Debug)]
pub struct Practice<'a> {
    /// Its ODS code.
    pub ods: &'a m::OdsCode,
    /// Its name.
    pub name: &'a str,
}

/// One item of the practice's record.
#[derive(Clone, Copy, Debug)]
pub struct RecordItem<'a> {
    /// The id of the item's main resource (unique among the items of the
    /// same resource type).
    pub id: &'a str,
    /// The item.
    pub entry: &'a m::Entry,
    /// When the practice last changed it.
    pub last_updated: Option<OffsetDateTime>,
}

/// Everything the practice holds for one patient.
#[derive(Clone, Debug)]
pub struct RecordInput<'a> {
    /// The Patient's logical id at the practice.
    pub patient_id: &'a str,
    /// The patient's demographics (the NHS number is taken from the request).
    pub demographics: &'a m::Demographics,
    /// When the practice last changed the demographics.
    pub patient_last_updated: Option<OffsetDateTime>,
    /// The practice.
    pub practice: Practice<'a>,
    /// The items.
    pub items: Vec<RecordItem<'a>>,
    /// Warning codes to put on the areas' Lists.
    pub warnings: Vec<(ClinicalArea, WarningCode)>,
}

/// The answer to `request` from `input`, as a GP Connect structured Bundle
/// (type `collection`). Parameters the request did not recognise are
/// answered with a `NOT_IMPLEMENTED` warning OperationOutcome in the Bundle.
pub fn structured_record(input: &RecordInput<'_>, request: &StructuredRequest) -> Bundle {
    let mut w = Writer::new(input);
    w.patient(request.nhs_number);
    let areas = requested_areas(request);
    for area in &areas {
        w.area(*area, request);
    }
    if !request.unrecognised.is_empty() {
        let mut oo = outcome::operation_outcome("warning", SpineCode::NotImplemented, None);
        oo.issue = request
            .unrecognised
            .iter()
            .map(|p| outcome::issue("warning", SpineCode::NotImplemented, Some(p)))
            .collect();
        w.push(Resource::OperationOutcome(oo));
    }
    Bundle {
        resource_type: "Bundle",
        id: None,
        meta: Some(Meta {
            profile: vec![BUNDLE_PROFILE.to_string()],
            ..Default::default()
        }),
        type_: "collection",
        entry: w.out,
    }
}

/// The areas a request asks for, in the order their Lists are written.
pub fn requested_areas(r: &StructuredRequest) -> Vec<ClinicalArea> {
    let mut out = Vec::new();
    if let Some(a) = &r.allergies {
        out.push(ClinicalArea::Allergies);
        if a.include_resolved {
            out.push(ClinicalArea::EndedAllergies);
        }
    }
    if r.medication.is_some() {
        out.push(ClinicalArea::Medications);
    }
    if r.problems.is_some() {
        out.push(ClinicalArea::Problems);
    }
    if r.consultations.is_some() {
        out.push(ClinicalArea::Consultations);
    }
    if r.immunisations.is_some() {
        out.push(ClinicalArea::Immunisations);
    }
    if r.investigations.is_some() {
        out.push(ClinicalArea::Investigations);
    }
    if r.referrals.is_some() {
        out.push(ClinicalArea::Referrals);
    }
    if r.uncategorised.is_some() {
        out.push(ClinicalArea::Uncategorised);
    }
    if r.diary_entries.is_some() {
        out.push(ClinicalArea::DiaryEntries);
    }
    out
}

struct Writer<'a> {
    input: &'a RecordInput<'a>,
    out: Vec<BundleEntry>,
    patient_ref: String,
    practice_id: String,
}

impl<'a> Writer<'a> {
    fn new(input: &'a RecordInput<'a>) -> Self {
        Writer {
            input,
            out: Vec::new(),
            patient_ref: format!("Patient/{}", input.patient_id),
            practice_id: input.practice.ods.as_str().to_string(),
        }
    }

    fn push(&mut self, resource: Resource) {
        self.out.push(BundleEntry {
            full_url: None,
            resource,
        });
    }

    fn subject(&self) -> Option<Reference> {
        Some(Reference::to(&self.patient_ref))
    }

    fn patient(&mut self, nhs: m::NhsNumber) {
        let d = self.input.demographics;
        let (deceased_boolean, deceased_date_time) = match &d.deceased {
            None => (None, None),
            Some(m::Deceased::Yes) => (Some(true), None),
            Some(m::Deceased::At(t)) => match date_time(t) {
                Some(s) => (None, Some(s)),
                None => (Some(true), None),
            },
        };
        let patient = Patient {
            id: Some(self.input.patient_id.to_string()),
            meta: Some(meta(
                "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Patient-1",
                self.input.patient_last_updated,
                d.sensitive,
            )),
            extension: Vec::new(),
            identifier: vec![Identifier::new(NHS_NUMBER_SYSTEM, nhs.as_str())],
            active: Some(true),
            name: d.names.iter().filter_map(human_name).collect(),
            telecom: d.telecom.iter().filter_map(contact_point).collect(),
            gender: d.gender.map(|g| g.as_code().to_string()),
            birth_date: d.birth_date.as_ref().and_then(date),
            deceased_boolean,
            deceased_date_time,
            address: d.addresses.iter().filter_map(address).collect(),
            contact: Vec::new(),
            general_practitioner: Vec::new(),
            managing_organization: Some(Reference::to(&format!(
                "Organization/{}",
                self.practice_id
            ))),
        };
        self.push(Resource::Patient(patient));
        let org = Organization {
            id: Some(self.practice_id.clone()),
            meta: Some(meta(
                "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Organization-1",
                None,
                false,
            )),
            identifier: vec![Identifier::new(
                ODS_ORGANIZATION_SYSTEM,
                self.input.practice.ods.as_str(),
            )],
            name: text(self.input.practice.name),
            telecom: Vec::new(),
            address: Vec::new(),
        };
        self.push(Resource::Organization(org));
    }

    fn items(&self) -> impl Iterator<Item = &RecordItem<'a>> {
        self.input.items.iter()
    }

    fn list(&self, area: ClinicalArea, entries: Vec<String>, contained: Vec<RawJson>) -> List {
        let warnings: Vec<&WarningCode> = self
            .input
            .warnings
            .iter()
            .filter(|(a, _)| *a == area)
            .map(|(_, w)| w)
            .collect();
        let mut note: Vec<String> = warnings
            .iter()
            .map(|w| w.note_text())
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect();
        let empty = entries.is_empty();
        if empty {
            note.push("Information not available".to_string());
        }
        let mut extension: Vec<Extension> = warnings
            .iter()
            .map(|w| Extension {
                url: Some(WARNING_CODE_URL.to_string()),
                value_code: Some(w.as_str().to_string()),
                ..Default::default()
            })
            .collect();
        extension.push(Extension {
            url: Some(CLINICAL_SETTING_URL.to_string()),
            value_codeable_concept: Some(CodeableConcept::coded(
                SNOMED,
                "1060971000000108",
                Some("General practice service"),
            )),
            ..Default::default()
        });
        List {
            id: None,
            meta: Some(Meta {
                profile: vec![LIST_PROFILE.to_string()],
                ..Default::default()
            }),
            extension,
            contained,
            status: Some("current".into()),
            mode: Some("snapshot".into()),
            title: Some(area.list_title().into()),
            code: Some(CodeableConcept::coded(
                SNOMED,
                area.list_code(),
                Some(area.list_display()),
            )),
            subject: self.subject(),
            encounter: None,
            date: None,
            ordered_by: None,
            note: if note.is_empty() {
                Vec::new()
            } else {
                vec![Annotation {
                    text: Some(note.join(" ")),
                    time: None,
                }]
            },
            entry: entries
                .into_iter()
                .map(|r| ListEntry {
                    item: Some(Reference::to(&r)),
                    date: None,
                })
                .collect(),
            empty_reason: empty.then(|| {
                CodeableConcept::coded(
                    LIST_EMPTY_REASON_SYSTEM,
                    "no-content-recorded",
                    Some("No Content Recorded"),
                )
            }),
        }
    }

    fn area(&mut self, area: ClinicalArea, request: &StructuredRequest) {
        let mut entries = Vec::new();
        let mut contained = Vec::new();
        let mut resources: Vec<Resource> = Vec::new();
        match area {
            ClinicalArea::Allergies | ClinicalArea::EndedAllergies => {
                for it in self.items() {
                    let m::Entry::Allergy(a) = it.entry else {
                        continue;
                    };
                    let ended = matches!(
                        a.clinical_status,
                        Some(
                            m::AllergyClinicalStatus::Resolved | m::AllergyClinicalStatus::Inactive
                        )
                    );
                    if ended != (area == ClinicalArea::EndedAllergies) {
                        continue;
                    }
                    let res = allergy(a, it, self.subject());
                    if ended {
                        if let Some(raw) = Resource::AllergyIntolerance(res).to_raw() {
                            contained.push(raw);
                            entries.push(format!("#{}", it.id));
                        }
                    } else {
                        entries.push(format!("AllergyIntolerance/{}", it.id));
                        resources.push(Resource::AllergyIntolerance(res));
                    }
                }
            }
            ClinicalArea::Medications => {
                let q = request.medication.unwrap_or_default();
                let (listed, rs) = self.medications(q.search_from, q.issues_wanted());
                entries = listed;
                resources = rs;
            }
            ClinicalArea::Problems => {
                for it in self.items() {
                    let m::Entry::Condition(c) = it.entry else {
                        continue;
                    };
                    entries.push(format!("Condition/{}", it.id));
                    resources.push(Resource::Condition(condition(c, it, self.subject())));
                }
            }
            ClinicalArea::Consultations => {
                let q = request.consultations.unwrap_or_default();
                let mut found: Vec<(&RecordItem<'_>, &m::Appointment)> = self
                    .items()
                    .filter_map(|it| match it.entry {
                        m::Entry::Appointment(a)
                            if a.kind != Some(m::AppointmentKind::Appointment) =>
                        {
                            Some((it, a))
                        }
                        _ => None,
                    })
                    .filter(|(_, a)| in_period(q.period.as_ref(), a.start.as_ref()))
                    .collect();
                // Most recent first, as includeNumberOfMostRecent counts them.
                found.sort_by_key(|x| std::cmp::Reverse(x.1.start));
                if let Some(n) = q.most_recent {
                    found.truncate(n as usize);
                }
                for (it, a) in found {
                    entries.push(format!("Encounter/{}", it.id));
                    resources.push(Resource::Encounter(encounter(a, it, self.subject())));
                }
            }
            ClinicalArea::Immunisations => {
                for it in self.items() {
                    let m::Entry::Procedure(p) = it.entry else {
                        continue;
                    };
                    entries.push(format!("Immunization/{}", it.id));
                    resources.push(Resource::Immunization(immunization(p, it, self.subject())));
                }
            }
            ClinicalArea::Investigations => {
                let period = request.investigations.flatten();
                let (listed, rs) = self.investigations(period.as_ref());
                entries = listed;
                resources = rs;
            }
            ClinicalArea::Referrals => {
                let period = request.referrals.flatten();
                for it in self.items() {
                    let m::Entry::Referral(r) = it.entry else {
                        continue;
                    };
                    if !in_period(period.as_ref(), r.authored.as_ref()) {
                        continue;
                    }
                    entries.push(format!("ReferralRequest/{}", it.id));
                    resources.push(Resource::ReferralRequest(referral(r, it, self.subject())));
                }
            }
            ClinicalArea::Uncategorised | ClinicalArea::DiaryEntries => {}
        }
        let list = self.list(area, entries, contained);
        self.push(Resource::List(list));
        for r in resources {
            self.push(r);
        }
    }

    fn medications(
        &self,
        search_from: Option<Date>,
        issues_wanted: bool,
    ) -> (Vec<String>, Vec<Resource>) {
        let mut listed = Vec::new();
        let mut out = Vec::new();
        // The authorisation of each statement, by medicine, for issues.
        let mut plans: HashMap<&m::Concept, String> = HashMap::new();
        let active_from = |med: &m::Medication| {
            search_from.is_none_or(|from| {
                let end = med.end.as_ref().or(med.start.as_ref());
                end.and_then(m::PartialDateTime::date)
                    .is_none_or(|d| d >= from)
                    || med.status == Some(m::MedicationStatus::Active)
            })
        };
        let mut statements = Vec::new();
        let mut issues = Vec::new();
        for it in self.items() {
            let m::Entry::Medication(med) = it.entry else {
                continue;
            };
            if !active_from(med) {
                continue;
            }
            if med.kind == Some(m::MedicationKind::Prescription) {
                issues.push((it, med));
            } else {
                statements.push((it, med));
            }
        }
        for (it, med) in &statements {
            let plan_id = format!("{}-plan", it.id);
            plans
                .entry(&med.medication)
                .or_insert_with(|| plan_id.clone());
            listed.push(format!("MedicationStatement/{}", it.id));
            out.extend(statement_resources(med, it, &plan_id, self.subject()));
        }
        if issues_wanted {
            for (it, med) in &issues {
                let plan_id = match plans.get(&med.medication) {
                    Some(p) => p.clone(),
                    None => {
                        // No statement for this medicine: write one for it,
                        // as a provider's record always has one.
                        let plan_id = format!("{}-plan", it.id);
                        let statement = m::Medication {
                            kind: Some(m::MedicationKind::Statement),
                            status: Some(match med.status {
                                Some(m::MedicationStatus::Active) => m::MedicationStatus::Active,
                                Some(m::MedicationStatus::Stopped) => m::MedicationStatus::Stopped,
                                _ => m::MedicationStatus::Completed,
                            }),
                            ..(*med).clone()
                        };
                        let stmt_item = RecordItem {
                            id: it.id,
                            entry: it.entry,
                            last_updated: it.last_updated,
                        };
                        listed.push(format!("MedicationStatement/{}-statement", it.id));
                        let mut rs =
                            statement_resources(&statement, &stmt_item, &plan_id, self.subject());
                        if let Some(Resource::MedicationStatement(s)) = rs.first_mut() {
                            s.id = Some(format!("{}-statement", it.id));
                        }
                        out.extend(rs);
                        plans.insert(&med.medication, plan_id.clone());
                        plan_id
                    }
                };
                out.push(Resource::MedicationRequest(issue(
                    med,
                    it,
                    &plan_id,
                    self.subject(),
                )));
            }
        }
        (listed, out)
    }

    fn investigations(&self, period: Option<&DatePeriod>) -> (Vec<String>, Vec<Resource>) {
        let mut listed = Vec::new();
        let mut out = Vec::new();
        let mut members: HashSet<&str> = HashSet::new();
        for it in self.items() {
            if let m::Entry::Result(r) = it.entry
                && r.kind == Some(m::ResultKind::Report)
            {
                members.extend(r.members.iter().map(|id| id.local()));
            }
        }
        let date_of = |r: &m::TestResult| r.effective.or(r.issued);
        for it in self.items() {
            let m::Entry::Result(r) = it.entry else {
                continue;
            };
            let local = if r.kind == Some(m::ResultKind::Report) {
                format!("DiagnosticReport/{}", it.id)
            } else {
                format!("Observation/{}", it.id)
            };
            let is_member = members.contains(local.as_str());
            if !is_member && !in_period(period, date_of(r).as_ref()) {
                continue;
            }
            if !is_member {
                listed.push(local);
            }
            out.push(if r.kind == Some(m::ResultKind::Report) {
                Resource::DiagnosticReport(report(r, it, self.subject()))
            } else {
                Resource::Observation(observation(r, it, self.subject()))
            });
        }
        (listed, out)
    }
}

fn in_period(period: Option<&DatePeriod>, date: Option<&m::PartialDateTime>) -> bool {
    period.is_none_or(|p| p.contains(date.and_then(m::PartialDateTime::date)))
}

fn meta(profile: &str, last_updated: Option<OffsetDateTime>, restricted: bool) -> Meta {
    Meta {
        source: None,
        version_id: None,
        last_updated: last_updated.and_then(instant_text),
        profile: vec![profile.to_string()],
        security: if restricted {
            vec![Coding {
                system: Some(CONFIDENTIALITY_SYSTEM.into()),
                code: Some("R".into()),
                display: Some("restricted".into()),
                version: None,
            }]
        } else {
            Vec::new()
        },
    }
}

fn item_meta(kind: &str, it: &RecordItem<'_>) -> Option<Meta> {
    Some(meta(
        &format!("https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-{kind}-1"),
        it.last_updated,
        false,
    ))
}

/// STU3 AllergyIntolerance. Verification: `provisional` and `differential`
/// (condition codes) are written as `unconfirmed`.
fn allergy(a: &m::Allergy, it: &RecordItem<'_>, subject: Option<Reference>) -> AllergyIntolerance {
    let onset = a.onset.as_ref().and_then(date_time);
    AllergyIntolerance {
        id: Some(it.id.to_string()),
        meta: item_meta("AllergyIntolerance", it),
        extension: Vec::new(),
        identifier: Vec::new(),
        clinical_status: a.clinical_status.map(|s| s.as_code().to_string()),
        verification_status: Some(
            match a.verification {
                None => "unconfirmed",
                Some(m::Verification::Provisional | m::Verification::Differential) => "unconfirmed",
                Some(v) => v.as_code(),
            }
            .to_string(),
        ),
        type_: None,
        category: a.category.iter().map(|c| c.as_code().to_string()).collect(),
        criticality: a.criticality.map(|c| c.as_code().to_string()),
        code: concept(&a.code),
        patient: subject,
        onset_date_time: onset,
        onset_period: None,
        asserted_date: a.recorded.as_ref().and_then(date_time),
        recorder: None,
        asserter: None,
        note: annotations(&a.notes),
        reaction: a
            .reactions
            .iter()
            .map(|r| AllergyReaction {
                manifestation: concepts(&r.manifestations),
                description: r.description.as_deref().and_then(text),
                onset: None,
                severity: r.severity.map(|s| s.as_code().to_string()),
            })
            .collect(),
    }
}

/// STU3 Condition. Clinical status `relapse` (R4 only) is written as
/// `recurrence`; verification `unconfirmed` (an allergy code) as
/// `provisional`.
fn condition(c: &m::Condition, it: &RecordItem<'_>, subject: Option<Reference>) -> Condition {
    Condition {
        id: Some(it.id.to_string()),
        meta: Some(meta(
            "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-ProblemHeader-Condition-1",
            it.last_updated,
            false,
        )),
        extension: Vec::new(),
        identifier: Vec::new(),
        clinical_status: c.clinical_status.map(|s| {
            match s {
                m::ConditionClinicalStatus::Relapse => "recurrence",
                other => other.as_code(),
            }
            .to_string()
        }),
        verification_status: c.verification.map(|v| {
            match v {
                m::Verification::Unconfirmed => "provisional",
                other => other.as_code(),
            }
            .to_string()
        }),
        category: concepts(&c.category),
        severity: c.severity.as_ref().and_then(concept),
        code: concept(&c.code),
        subject,
        context: None,
        onset_date_time: c.onset.as_ref().and_then(date_time),
        onset_period: None,
        abatement_date_time: c.abatement.as_ref().and_then(date_time),
        abatement_period: None,
        asserted_date: c.recorded.as_ref().and_then(date_time),
        asserter: None,
        note: annotations(&c.notes),
    }
}

/// STU3 MedicationStatement status: the codes it lacks are written as the
/// nearest it has (`not-taken` and `cancelled` as `stopped`, `draft` as
/// `intended`, `unknown` and none as `active`: STU3 requires a status).
fn statement_status(s: Option<m::MedicationStatus>) -> &'static str {
    use m::MedicationStatus as S;
    match s {
        Some(S::Active) | Some(S::Unknown) | None => "active",
        Some(S::Completed) => "completed",
        Some(S::EnteredInError) => "entered-in-error",
        Some(S::Intended) | Some(S::Draft) => "intended",
        Some(S::Stopped) | Some(S::NotTaken) | Some(S::Cancelled) => "stopped",
        Some(S::OnHold) => "on-hold",
    }
}

/// STU3 MedicationRequest status: `intended` is written as `draft`,
/// `not-taken` as `stopped`, none as `unknown`.
fn request_status(s: Option<m::MedicationStatus>) -> &'static str {
    use m::MedicationStatus as S;
    match s {
        Some(S::Active) => "active",
        Some(S::Completed) => "completed",
        Some(S::EnteredInError) => "entered-in-error",
        Some(S::Intended) | Some(S::Draft) => "draft",
        Some(S::Stopped) | Some(S::NotTaken) => "stopped",
        Some(S::OnHold) => "on-hold",
        Some(S::Cancelled) => "cancelled",
        Some(S::Unknown) | None => "unknown",
    }
}

fn medication_resource(id: &str, concept_: &m::Concept) -> Medication {
    Medication {
        id: Some(id.to_string()),
        meta: Some(meta(
            "https://fhir.nhs.uk/STU3/StructureDefinition/CareConnect-GPC-Medication-1",
            None,
            false,
        )),
        code: concept(concept_),
    }
}

/// A statement, its authorisation (`plan`) and its Medication.
fn statement_resources(
    med: &m::Medication,
    it: &RecordItem<'_>,
    plan_id: &str,
    subject: Option<Reference>,
) -> Vec<Resource> {
    let med_id = format!("{}-med", it.id);
    let med_ref = Reference::to(&format!("Medication/{med_id}"));
    let statement = MedicationStatement {
        id: Some(it.id.to_string()),
        meta: item_meta("MedicationStatement", it),
        extension: Vec::new(),
        identifier: Vec::new(),
        based_on: vec![Reference::to(&format!("MedicationRequest/{plan_id}"))],
        context: None,
        status: Some(statement_status(med.status).to_string()),
        medication_codeable_concept: None,
        medication_reference: Some(med_ref.clone()),
        effective_date_time: None,
        effective_period: period(med.start.as_ref(), med.end.as_ref()),
        date_asserted: med.recorded.as_ref().and_then(date_time),
        information_source: None,
        subject: subject.clone(),
        taken: Some("unk".into()),
        reason_code: concepts(&med.reasons),
        reason_reference: Vec::new(),
        note: annotations(&med.notes),
        dosage: dosages(med.dosage.as_deref()),
    };
    let plan = MedicationRequest {
        id: Some(plan_id.to_string()),
        meta: item_meta("MedicationRequest", it),
        extension: Vec::new(),
        identifier: Vec::new(),
        based_on: Vec::new(),
        group_identifier: None,
        status: Some(request_status(med.status).to_string()),
        intent: Some("plan".into()),
        medication_codeable_concept: None,
        medication_reference: Some(med_ref),
        subject,
        authored_on: med.start.as_ref().and_then(date_time),
        requester: None,
        recorder: med.prescriber.as_deref().and_then(display_ref),
        reason_code: Vec::new(),
        reason_reference: Vec::new(),
        note: Vec::new(),
        dosage_instruction: dosages(med.dosage.as_deref()),
        dispense_request: Some(DispenseRequest {
            validity_period: period(med.start.as_ref(), med.end.as_ref()),
            ..Default::default()
        }),
    };
    vec![
        Resource::MedicationStatement(statement),
        Resource::MedicationRequest(plan),
        Resource::Medication(medication_resource(&med_id, &med.medication)),
    ]
}

/// A prescription issue (`order`), based on `plan_id`.
fn issue(
    med: &m::Medication,
    it: &RecordItem<'_>,
    plan_id: &str,
    subject: Option<Reference>,
) -> MedicationRequest {
    MedicationRequest {
        id: Some(it.id.to_string()),
        meta: item_meta("MedicationRequest", it),
        extension: Vec::new(),
        identifier: Vec::new(),
        based_on: vec![Reference::to(&format!("MedicationRequest/{plan_id}"))],
        group_identifier: None,
        status: Some(request_status(med.status).to_string()),
        intent: Some("order".into()),
        medication_codeable_concept: concept(&med.medication),
        medication_reference: None,
        subject,
        authored_on: med.start.as_ref().and_then(date_time),
        requester: med
            .prescriber
            .as_deref()
            .and_then(display_ref)
            .map(|agent| Requester {
                agent: Some(agent),
                on_behalf_of: None,
            }),
        recorder: None,
        reason_code: concepts(&med.reasons),
        reason_reference: Vec::new(),
        note: annotations(&med.notes),
        dosage_instruction: dosages(med.dosage.as_deref()),
        dispense_request: Some(DispenseRequest {
            validity_period: period(med.start.as_ref(), med.end.as_ref()),
            ..Default::default()
        }),
    }
}

/// STU3 Encounter status: the appointment codes it lacks are written as
/// the nearest encounter code (`fulfilled` and `checked-in` as `finished`
/// and `arrived`, `noshow` as `cancelled`, the booking codes as `planned`).
fn encounter(a: &m::Appointment, it: &RecordItem<'_>, subject: Option<Reference>) -> Encounter {
    use m::AppointmentStatus as S;
    let status = match a.status {
        Some(S::Planned) | Some(S::Proposed) | Some(S::Pending) | Some(S::Booked)
        | Some(S::Waitlist) => "planned",
        Some(S::Arrived) | Some(S::CheckedIn) => "arrived",
        Some(S::Triaged) => "triaged",
        Some(S::InProgress) => "in-progress",
        Some(S::Onleave) => "onleave",
        Some(S::Finished) | Some(S::Fulfilled) => "finished",
        Some(S::Cancelled) | Some(S::Noshow) => "cancelled",
        Some(S::EnteredInError) => "entered-in-error",
        Some(S::Unknown) | None => "unknown",
    };
    Encounter {
        id: Some(it.id.to_string()),
        meta: item_meta("Encounter", it),
        identifier: Vec::new(),
        status: Some(status.into()),
        class: a.class.as_ref().and_then(single_coding),
        type_: concepts(&a.service_type),
        subject,
        participant: a
            .participants
            .iter()
            .filter_map(|p| display_ref(p))
            .map(|r| EncounterParticipant {
                type_: Vec::new(),
                individual: Some(r),
            })
            .collect(),
        period: period(a.start.as_ref(), a.end.as_ref()),
        reason: concepts(&a.reasons),
        location: a
            .location
            .as_deref()
            .and_then(display_ref)
            .map(|r| EncounterLocation { location: Some(r) })
            .into_iter()
            .collect(),
        service_provider: None,
    }
}

/// STU3 Immunization: the model's procedure code goes in the vaccination
/// procedure extension; the immunisation's vaccine is `vaccineCode`, else
/// NullFlavor `UNK`, as GP Connect writes it when the product is not coded;
/// its batch is `lotNumber` and why it was not given
/// `explanation.reasonNotGiven`. `not-done` is `notGiven`; other statuses
/// but `entered-in-error` are `completed`.
fn immunization(p: &m::Procedure, it: &RecordItem<'_>, subject: Option<Reference>) -> Immunization {
    let imm = p.immunisation.as_ref();
    let mut extension = Vec::new();
    if let Some(cc) = concept(&p.code) {
        extension.push(Extension {
            url: Some(VACCINATION_PROCEDURE_URL.to_string()),
            value_codeable_concept: Some(cc),
            ..Default::default()
        });
    }
    Immunization {
        id: Some(it.id.to_string()),
        meta: item_meta("Immunization", it),
        extension,
        identifier: Vec::new(),
        status: Some(
            if p.status == Some(m::ProcedureStatus::EnteredInError) {
                "entered-in-error"
            } else {
                "completed"
            }
            .into(),
        ),
        not_given: Some(p.status == Some(m::ProcedureStatus::NotDone)),
        vaccine_code: Some(imm.and_then(|i| concept(&i.vaccine)).unwrap_or_else(|| {
            CodeableConcept {
                coding: vec![Coding {
                    system: Some("http://hl7.org/fhir/v3/NullFlavor".into()),
                    code: Some("UNK".into()),
                    display: Some("Unknown".into()),
                    version: None,
                }],
                text: None,
            }
        })),
        patient: subject,
        encounter: None,
        date: p.performed.as_ref().and_then(date_time),
        primary_source: Some(true),
        location: None,
        lot_number: imm.and_then(|i| i.lot_number.clone()),
        site: p.body_site.first().and_then(concept),
        route: None,
        practitioner: p
            .performers
            .iter()
            .filter_map(|n| display_ref(n))
            .map(|r| ImmunizationPractitioner {
                role: None,
                actor: Some(r),
            })
            .collect(),
        note: annotations(&p.notes),
        explanation: imm
            .and_then(|i| i.reason_not_given.as_ref())
            .and_then(concept)
            .map(|reason| ImmunizationExplanation {
                reason: Vec::new(),
                reason_not_given: vec![reason],
            }),
    }
}

/// STU3 ReferralRequest: the model's code is `serviceRequested`, its first
/// category the `type`. Status `on-hold` is `suspended`, `revoked` is
/// `cancelled`; none is `unknown`.
fn referral(r: &m::Referral, it: &RecordItem<'_>, subject: Option<Reference>) -> ReferralRequest {
    use m::ReferralStatus as S;
    let status = match r.status {
        Some(S::Draft) => "draft",
        Some(S::Active) => "active",
        Some(S::OnHold) => "suspended",
        Some(S::Revoked) => "cancelled",
        Some(S::Completed) => "completed",
        Some(S::EnteredInError) => "entered-in-error",
        Some(S::Unknown) | None => "unknown",
    };
    ReferralRequest {
        id: Some(it.id.to_string()),
        meta: item_meta("ReferralRequest", it),
        identifier: Vec::new(),
        status: Some(status.into()),
        intent: Some("order".into()),
        type_: r.category.first().and_then(concept),
        priority: r.priority.map(|p| p.as_code().to_string()),
        service_requested: concept(&r.code).into_iter().collect(),
        subject,
        context: None,
        authored_on: r.authored.as_ref().and_then(date_time),
        requester: r
            .requester
            .as_deref()
            .and_then(display_ref)
            .map(|agent| Requester {
                agent: Some(agent),
                on_behalf_of: None,
            }),
        specialty: None,
        recipient: r.performers.iter().filter_map(|p| display_ref(p)).collect(),
        reason_code: concepts(&r.reasons),
        reason_reference: Vec::new(),
        description: None,
        note: annotations(&r.notes),
    }
}

/// STU3 Observation status: `partial` is written as `preliminary`,
/// `appended` as `amended`; none as `unknown`.
fn observation_status(s: Option<m::ResultStatus>) -> &'static str {
    use m::ResultStatus as S;
    match s {
        Some(S::Registered) => "registered",
        Some(S::Partial) | Some(S::Preliminary) => "preliminary",
        Some(S::Final) => "final",
        Some(S::Amended) | Some(S::Appended) => "amended",
        Some(S::Corrected) => "corrected",
        Some(S::Cancelled) => "cancelled",
        Some(S::EnteredInError) => "entered-in-error",
        Some(S::Unknown) | None => "unknown",
    }
}

/// STU3 Observation. STU3 has no `valueInteger`: an integer is written as
/// a quantity. `interpretation` holds one concept in STU3 (the first), and
/// the notes are joined into `comment`. A report's members are
/// `has-member` links.
fn observation(r: &m::TestResult, it: &RecordItem<'_>, subject: Option<Reference>) -> Observation {
    let mut o = Observation {
        id: Some(it.id.to_string()),
        meta: item_meta("Observation", it),
        identifier: Vec::new(),
        status: Some(observation_status(r.status).into()),
        category: concepts(&r.category),
        code: concept(&r.code),
        subject,
        context: None,
        effective_date_time: r.effective.as_ref().and_then(date_time),
        effective_period: None,
        issued: r.issued.as_ref().and_then(instant),
        performer: r
            .performer
            .as_deref()
            .and_then(display_ref)
            .into_iter()
            .collect(),
        data_absent_reason: r.absent_reason.as_ref().and_then(concept),
        interpretation: r.interpretation.first().and_then(concept),
        comment: (!r.notes.is_empty())
            .then(|| r.notes.join("\n"))
            .and_then(|s| text(&s)),
        specimen: None,
        reference_range: reference_ranges(&r.reference_range),
        related: r
            .members
            .iter()
            .map(|id| ObservationRelated {
                type_: Some("has-member".into()),
                target: Some(Reference::to(id.local())),
            })
            .collect(),
        component: r
            .components
            .iter()
            .map(|c| {
                let mut oc = ObservationComponent {
                    code: concept(&c.code),
                    interpretation: c.interpretation.first().and_then(concept),
                    reference_range: reference_ranges(&c.reference_range),
                    ..Default::default()
                };
                set_component_value(&mut oc, c.value.as_ref());
                oc
            })
            .collect(),
        ..Default::default()
    };
    set_value(&mut o, r.value.as_ref());
    o
}

fn set_value(o: &mut Observation, v: Option<&m::ResultValue>) {
    match v {
        None => {}
        Some(m::ResultValue::Quantity(q)) => o.value_quantity = quantity(q),
        Some(m::ResultValue::Coded(c)) => o.value_codeable_concept = concept(c),
        Some(m::ResultValue::Text(s)) => o.value_string = text(s),
        Some(m::ResultValue::Boolean(b)) => o.value_boolean = Some(*b),
        Some(m::ResultValue::Integer(i)) => {
            o.value_quantity = Some(Quantity {
                value: Some(*i as f64),
                ..Default::default()
            })
        }
        Some(m::ResultValue::Range { low, high }) => {
            o.value_range = Some(Range {
                low: low.as_ref().and_then(quantity),
                high: high.as_ref().and_then(quantity),
            })
        }
        Some(m::ResultValue::DateTime(d)) => o.value_date_time = date_time(d),
    }
}

fn set_component_value(o: &mut ObservationComponent, v: Option<&m::ResultValue>) {
    match v {
        None | Some(m::ResultValue::Boolean(_)) => {}
        Some(m::ResultValue::Quantity(q)) => o.value_quantity = quantity(q),
        Some(m::ResultValue::Coded(c)) => o.value_codeable_concept = concept(c),
        Some(m::ResultValue::Text(s)) => o.value_string = text(s),
        Some(m::ResultValue::Integer(i)) => {
            o.value_quantity = Some(Quantity {
                value: Some(*i as f64),
                ..Default::default()
            })
        }
        Some(m::ResultValue::Range { low, high }) => {
            o.value_range = Some(Range {
                low: low.as_ref().and_then(quantity),
                high: high.as_ref().and_then(quantity),
            })
        }
        Some(m::ResultValue::DateTime(d)) => o.value_date_time = date_time(d),
    }
}

/// STU3 DiagnosticReport: status as written for Observations but keeping
/// `partial` and `appended`, which the report value set has; `category`
/// holds one concept (the first).
fn report(r: &m::TestResult, it: &RecordItem<'_>, subject: Option<Reference>) -> DiagnosticReport {
    let status = match r.status {
        Some(m::ResultStatus::Partial) => "partial",
        Some(m::ResultStatus::Appended) => "appended",
        other => observation_status(other),
    };
    DiagnosticReport {
        id: Some(it.id.to_string()),
        meta: item_meta("DiagnosticReport", it),
        identifier: Vec::new(),
        based_on: Vec::new(),
        status: Some(status.into()),
        category: r.category.first().and_then(concept),
        code: concept(&r.code),
        subject,
        effective_date_time: r.effective.as_ref().and_then(date_time),
        effective_period: None,
        issued: r.issued.as_ref().and_then(instant),
        performer: r
            .performer
            .as_deref()
            .and_then(display_ref)
            .map(|actor| DiagnosticReportPerformer { actor: Some(actor) })
            .into_iter()
            .collect(),
        specimen: Vec::new(),
        result: r
            .members
            .iter()
            .map(|id| Reference::to(id.local()))
            .collect(),
        conclusion: r.conclusion.as_deref().and_then(text),
    }
}

fn reference_ranges(v: &[m::ReferenceRange]) -> Vec<ReferenceRange> {
    v.iter()
        .map(|r| ReferenceRange {
            low: r.low.as_ref().and_then(quantity),
            high: r.high.as_ref().and_then(quantity),
            text: r.text.as_deref().and_then(text),
        })
        .filter(|r| r.low.is_some() || r.high.is_some() || r.text.is_some())
        .collect()
}

fn quantity(q: &m::Quantity) -> Option<Quantity> {
    let out = Quantity {
        value: q.value.filter(|v| v.is_finite()),
        comparator: q.comparator.as_deref().and_then(code),
        unit: q.unit.as_deref().and_then(text),
        system: q
            .code
            .as_deref()
            .and_then(code)
            .map(|_| "http://unitsofmeasure.org".to_string()),
        code: q.code.as_deref().and_then(code),
    };
    (out.value.is_some() || out.unit.is_some() || out.code.is_some()).then_some(out)
}

fn address(a: &m::Address) -> Option<Address> {
    let out = Address {
        period: None,
        use_: a.use_.and_then(|u| match u {
            // STU3 address use is home, work, temp or old only.
            m::ContactUse::Mobile | m::ContactUse::Billing => None,
            other => Some(other.as_code().to_string()),
        }),
        type_: None,
        text: None,
        line: a.lines.iter().filter_map(|l| text(l)).collect(),
        city: a.city.as_deref().and_then(text),
        district: a.district.as_deref().and_then(text),
        state: None,
        postal_code: a.postcode.as_deref().and_then(text),
        country: a.country.as_deref().and_then(text),
    };
    (!out.line.is_empty()
        || out.city.is_some()
        || out.district.is_some()
        || out.postal_code.is_some()
        || out.country.is_some())
    .then_some(out)
}

fn contact_point(t: &m::Telecom) -> Option<ContactPoint> {
    let value = text(&t.value)?;
    Some(ContactPoint {
        rank: None,
        period: None,
        system: Some(
            match t.system {
                // STU3 contact point systems have no `sms`.
                m::TelecomSystem::Sms => "other",
                other => other.as_code(),
            }
            .to_string(),
        ),
        value: Some(value),
        use_: t.use_.and_then(|u| match u {
            // STU3 contact point use has no `billing`.
            m::ContactUse::Billing => None,
            other => Some(other.as_code().to_string()),
        }),
    })
}

fn annotations(notes: &[String]) -> Vec<Annotation> {
    notes
        .iter()
        .filter_map(|n| text(n))
        .map(|t| Annotation {
            text: Some(t),
            time: None,
        })
        .collect()
}

fn single_coding(c: &m::Concept) -> Option<Coding> {
    c.codings.iter().find_map(coding).or_else(|| {
        c.text.as_deref().and_then(text).map(|t| Coding {
            display: Some(t),
            ..Default::default()
        })
    })
}
