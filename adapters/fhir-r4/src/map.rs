//! FHIR R4 resources into the unified model: pure functions, no I/O, no
//! panics on any input.
//!
//! [`map_resource`] reads one raw resource of a type the adapter reads
//! ([`RecordType`]) into a [`Mapped`]: demographics (with the Patient's
//! contacts) or one model [`Entry`](m::Entry). Unknown elements and UK Core
//! extensions are ignored; codes the model does not know become `None`; a
//! date that cannot be read becomes `None` and is counted in
//! [`Mapped::bad_dates`]. The JSON must have the shape R4 gives the type,
//! else the resource is refused with a [`MapError`] that carries no value.

use std::collections::HashMap;

use icr_adapter_sdk::json_error;
use icr_fhir::render::{DATA_ABSENT_REASON_SYSTEM, VACCINATION_PROCEDURE_EXTENSION};
use icr_fhir::to_model::{
    self, ValueX, code_of, concepts, deceased, dosage_text, nhs_number, ods_code, reasons,
    reference_range, text,
};
use icr_fhir::{self as f, peek_resource_type};
use icr_model as m;
use icr_model::time::OffsetDateTime;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use url::Url;

pub use icr_fhir::RecordType;

/// SNOMED CT 734163000 |Care plan (record artifact)|: the document type of
/// every care plan read from a CarePlan resource.
pub const CARE_PLAN_CODE: &str = "734163000";

/// Why one resource could not be read. Messages name the resource type and
/// a position, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// The JSON does not have the shape FHIR R4 gives the resource type.
    #[error("{0}")]
    Shape(String),
    /// The resource has no `resourceType`, or one the adapter does not read.
    #[error("not a resource type this adapter reads")]
    Unsupported,
}

/// What one resource says, in the model.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The resource type.
    pub resource_type: RecordType,
    /// The logical id (`Resource.id`), when given.
    pub id: Option<String>,
    /// `meta.lastUpdated`, when it is a valid RFC 3339 instant.
    pub last_updated: Option<OffsetDateTime>,
    /// The reference to the patient the resource is about, as written.
    pub subject: Option<String>,
    /// The content.
    pub content: Content,
    /// How many dates could not be read and were left out.
    pub bad_dates: u32,
    /// A `medicationReference` that could not be resolved and had no display.
    pub unresolved_medication: bool,
}

/// The model content of one resource.
#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::large_enum_variant)]
pub enum Content {
    /// A Patient: the demographics and the contacts it lists.
    Patient {
        /// Name, birth date, address, …
        demographics: m::Demographics,
        /// `Patient.contact`, as contacts items.
        contacts: Vec<m::Contact>,
    },
    /// One item of a section.
    Entry(m::Entry),
}

/// Medication resources by the references that can point at them, to
/// resolve `medicationReference` (from `_include`d or bundled Medications).
#[derive(Debug, Clone, Default)]
pub struct Medications {
    by_ref: HashMap<String, m::Concept>,
}

impl Medications {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds one Medication resource, known as `Medication/{id}` and by its
    /// bundle `full_url`.
    pub fn add(
        &mut self,
        raw: &RawValue,
        full_url: Option<&str>,
        base: Option<&Url>,
    ) -> Result<(), MapError> {
        let med: f::Medication = parse("Medication", raw)?;
        let concept = med.code.as_ref().map(required_concept).unwrap_or_default();
        if let Some(id) = text(&med.id) {
            self.by_ref
                .insert(format!("Medication/{id}"), concept.clone());
        }
        if let Some(u) = full_url.filter(|u| !u.trim().is_empty()) {
            self.by_ref.insert(local_reference(base, u), concept);
        }
        Ok(())
    }

    /// The medication a reference points at, if known.
    pub fn get(&self, reference: &str, base: Option<&Url>) -> Option<&m::Concept> {
        self.by_ref.get(&local_reference(base, reference))
    }

    /// Number of references known.
    pub fn len(&self) -> usize {
        self.by_ref.len()
    }

    /// True when no medication is known.
    pub fn is_empty(&self) -> bool {
        self.by_ref.is_empty()
    }
}

/// What a mapping needs besides the resource.
#[derive(Clone, Copy)]
pub struct MapContext<'a> {
    /// The source, to name the records a report or panel refers to.
    pub source: &'a m::SourceId,
    /// The server's base URL, so that absolute references to it read as
    /// relative ones (`Observation/1`).
    pub base: Option<&'a Url>,
    /// Medications bundled with the resource.
    pub medications: &'a Medications,
}

/// A reference as a record-local id: the server's base URL and any
/// `/_history/…` suffix removed.
pub fn local_reference(base: Option<&Url>, reference: &str) -> String {
    let mut r = reference.trim();
    if let Some(base) = base {
        let b = base.as_str();
        let b = b.strip_suffix('/').unwrap_or(b);
        if let Some(rest) = r.strip_prefix(b).and_then(|x| x.strip_prefix('/')) {
            r = rest;
        }
    }
    if let Some(i) = r.find("/_history/") {
        r = &r[..i];
    }
    r.to_string()
}

/// Reads one raw resource of any type the adapter reads.
pub fn map_resource(raw: &RawValue, ctx: &MapContext<'_>) -> Result<Mapped, MapError> {
    let ty = peek_resource_type(raw)
        .and_then(|t| RecordType::from_name(&t))
        .ok_or(MapError::Unsupported)?;
    map_as(ty, raw, ctx)
}

/// Reads one raw resource as type `ty` (its `resourceType` is not checked).
pub fn map_as(ty: RecordType, raw: &RawValue, ctx: &MapContext<'_>) -> Result<Mapped, MapError> {
    let mut r = Reader {
        ctx,
        bad_dates: 0,
        unresolved_medication: false,
    };
    let name = ty.name();
    let (head, subject, content) = match ty {
        RecordType::Patient => {
            let p: f::Patient = parse(name, raw)?;
            let content = r.patient(&p);
            (Head::of(&p.id, &p.meta), None, content)
        }
        RecordType::RelatedPerson => {
            let x: f::RelatedPerson = parse(name, raw)?;
            let e = m::Entry::Contact(r.related_person(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.patient),
                Content::Entry(e),
            )
        }
        RecordType::CareTeam => {
            let x: f::CareTeam = parse(name, raw)?;
            let e = m::Entry::CareTeam(r.care_team(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::MedicationStatement => {
            let x: f::MedicationStatement = parse(name, raw)?;
            let e = m::Entry::Medication(r.medication_statement(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::MedicationRequest => {
            let x: f::MedicationRequest = parse(name, raw)?;
            let e = m::Entry::Medication(r.medication_request(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::AllergyIntolerance => {
            let x: f::AllergyIntolerance = parse(name, raw)?;
            let e = m::Entry::Allergy(r.allergy(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.patient),
                Content::Entry(e),
            )
        }
        RecordType::Condition => {
            let x: f::Condition = parse(name, raw)?;
            let e = m::Entry::Condition(r.condition(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::Observation => {
            let x: f::Observation = parse(name, raw)?;
            let e = m::Entry::Result(r.observation(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::DiagnosticReport => {
            let x: f::DiagnosticReport = parse(name, raw)?;
            let e = m::Entry::Result(r.diagnostic_report(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::DocumentReference => {
            let x: f::DocumentReference = parse(name, raw)?;
            let e = m::Entry::Document(r.document(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::Procedure => {
            let x: f::Procedure = parse(name, raw)?;
            let e = m::Entry::Procedure(r.procedure(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::ServiceRequest => {
            let x: f::ServiceRequest = parse(name, raw)?;
            let e = m::Entry::Referral(r.service_request(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::Appointment => {
            let x: f::Appointment = parse(name, raw)?;
            let subject = x
                .participant
                .iter()
                .filter_map(|p| p.actor.as_ref())
                .find(|a| is_patient_ref(a))
                .and_then(|a| text(&a.reference));
            let e = m::Entry::Appointment(r.appointment(&x));
            (Head::of(&x.id, &x.meta), subject, Content::Entry(e))
        }
        RecordType::Encounter => {
            let x: f::Encounter = parse(name, raw)?;
            let e = m::Entry::Appointment(r.encounter(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::Flag => {
            let x: f::Flag = parse(name, raw)?;
            let e = m::Entry::Alert(r.flag(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
        RecordType::Immunization => {
            let x: f::Immunization = parse(name, raw)?;
            let e = m::Entry::Procedure(r.immunization(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.patient),
                Content::Entry(e),
            )
        }
        RecordType::CarePlan => {
            let x: f::CarePlan = parse(name, raw)?;
            let e = m::Entry::Document(r.care_plan(&x));
            (
                Head::of(&x.id, &x.meta),
                reference(&x.subject),
                Content::Entry(e),
            )
        }
    };
    Ok(Mapped {
        resource_type: ty,
        id: head.id,
        last_updated: head.last_updated,
        subject,
        content,
        bad_dates: r.bad_dates,
        unresolved_medication: r.unresolved_medication,
    })
}

fn parse<T: DeserializeOwned>(name: &str, raw: &RawValue) -> Result<T, MapError> {
    serde_json::from_str(raw.get()).map_err(|e| MapError::Shape(json_error(name, &e)))
}

struct Head {
    id: Option<String>,
    last_updated: Option<OffsetDateTime>,
}

impl Head {
    fn of(id: &Option<String>, meta: &Option<f::Meta>) -> Self {
        Head {
            id: text(id).map(|s| s.trim().to_string()),
            last_updated: meta.as_ref().and_then(f::Meta::last_updated_at),
        }
    }
}

struct Reader<'a> {
    ctx: &'a MapContext<'a>,
    bad_dates: u32,
    unresolved_medication: bool,
}

impl Reader<'_> {
    fn date(&mut self, s: &Option<String>) -> Option<m::PartialDateTime> {
        to_model::date(s).unwrap_or_else(|_| {
            self.bad_dates += 1;
            None
        })
    }

    fn period_start(&mut self, p: &Option<f::Period>) -> Option<m::PartialDateTime> {
        p.as_ref().and_then(|p| self.date(&p.start))
    }

    fn period_end(&mut self, p: &Option<f::Period>) -> Option<m::PartialDateTime> {
        p.as_ref().and_then(|p| self.date(&p.end))
    }

    fn record_ids(&self, refs: &[f::Reference]) -> Vec<m::RecordId> {
        refs.iter()
            .filter_map(|r| text(&r.reference))
            .filter(|r| !r.starts_with('#'))
            .filter_map(|r| {
                let local = local_reference(self.ctx.base, &r);
                m::RecordId::new(self.ctx.source.clone(), &local).ok()
            })
            .collect()
    }

    fn patient(&mut self, p: &f::Patient) -> Content {
        let nhs_number = nhs_number(&p.identifier);
        let deceased = deceased(&p.deceased_date_time, p.deceased_boolean, |d| self.date(d));
        let registered_practice = p
            .general_practitioner
            .iter()
            .filter_map(|r| r.identifier.as_ref())
            .find_map(ods_code);
        let demographics = m::Demographics {
            nhs_number,
            names: p.name.iter().filter_map(f::HumanName::to_model).collect(),
            birth_date: self.date(&p.birth_date),
            gender: code_of(&p.gender, m::Gender::from_code),
            addresses: p.address.iter().filter_map(f::Address::to_model).collect(),
            telecom: p
                .telecom
                .iter()
                .filter_map(f::ContactPoint::to_model)
                .collect(),
            deceased,
            registered_practice,
            sensitive: p
                .meta
                .as_ref()
                .is_some_and(|m| m.security.iter().any(f::is_restricted_label)),
        };
        let contacts = p
            .contact
            .iter()
            .map(|c| m::Contact {
                name: c
                    .name
                    .as_ref()
                    .and_then(f::HumanName::to_model)
                    .or_else(|| {
                        display(&c.organization).map(|o| m::HumanName {
                            text: Some(o),
                            ..Default::default()
                        })
                    })
                    .unwrap_or_default(),
                relationship: concepts(&c.relationship),
                telecom: c
                    .telecom
                    .iter()
                    .filter_map(f::ContactPoint::to_model)
                    .collect(),
                address: c.address.as_ref().and_then(f::Address::to_model),
                active: None,
                period_start: self.period_start(&c.period),
            })
            .collect();
        Content::Patient {
            demographics,
            contacts,
        }
    }

    fn related_person(&mut self, x: &f::RelatedPerson) -> m::Contact {
        m::Contact {
            name: x
                .name
                .iter()
                .find_map(f::HumanName::to_model)
                .unwrap_or_default(),
            relationship: concepts(&x.relationship),
            telecom: x
                .telecom
                .iter()
                .filter_map(f::ContactPoint::to_model)
                .collect(),
            address: x.address.iter().find_map(f::Address::to_model),
            active: x.active,
            period_start: self.period_start(&x.period),
        }
    }

    fn care_team(&mut self, x: &f::CareTeam) -> m::CareTeam {
        m::CareTeam {
            name: text(&x.name),
            status: code_of(&x.status, m::CareTeamStatus::from_code),
            category: concepts(&x.category),
            period_start: self.period_start(&x.period),
            period_end: self.period_end(&x.period),
            participants: x
                .participant
                .iter()
                .filter_map(|p| {
                    let member = m::CareTeamMember {
                        roles: concepts(&p.role),
                        name: display(&p.member).or_else(|| display(&p.on_behalf_of)),
                    };
                    (!member.roles.is_empty() || member.name.is_some()).then_some(member)
                })
                .collect(),
            managing_organisations: x
                .managing_organization
                .iter()
                .filter_map(|o| text(&o.display))
                .collect(),
            telecom: x
                .telecom
                .iter()
                .filter_map(f::ContactPoint::to_model)
                .collect(),
        }
    }

    fn medication(
        &mut self,
        cc: &Option<f::CodeableConcept>,
        r: &Option<f::Reference>,
        contained: &[serde_json::Value],
    ) -> m::Concept {
        if let Some(cc) = cc {
            return required_concept(cc);
        }
        let Some(r) = r else {
            return m::Concept::default();
        };
        let resolved = text(&r.reference).and_then(|target| {
            if let Some(local) = target.strip_prefix('#') {
                contained
                    .iter()
                    .filter(|v| {
                        v.get("resourceType").and_then(|t| t.as_str()) == Some("Medication")
                    })
                    .filter(|v| v.get("id").and_then(|i| i.as_str()) == Some(local))
                    .find_map(|v| serde_json::from_value::<f::Medication>(v.clone()).ok())
                    .map(|med| med.code.as_ref().map(required_concept).unwrap_or_default())
            } else {
                self.ctx.medications.get(&target, self.ctx.base).cloned()
            }
        });
        let resolved = resolved.filter(|c| !c.is_empty());
        match (resolved, text(&r.display)) {
            (Some(c), _) => c,
            (None, Some(d)) => m::Concept::text(d),
            (None, None) => {
                self.unresolved_medication = true;
                m::Concept::default()
            }
        }
    }

    fn medication_statement(&mut self, x: &f::MedicationStatement) -> m::Medication {
        let (start, end) = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => (self.date(&x.effective_date_time), None),
            (None, p) => (self.period_start(p), self.period_end(p)),
        };
        m::Medication {
            medication: self.medication(
                &x.medication_codeable_concept,
                &x.medication_reference,
                &x.contained,
            ),
            kind: Some(m::MedicationKind::Statement),
            status: code_of(&x.status, m::MedicationStatus::from_code),
            dosage: dosage_text(&x.dosage),
            start,
            end,
            recorded: self.date(&x.date_asserted),
            reasons: reasons(&x.reason_code, &x.reason_reference),
            prescriber: display(&x.information_source),
            notes: notes(&x.note),
        }
    }

    fn medication_request(&mut self, x: &f::MedicationRequest) -> m::Medication {
        let validity = x
            .dispense_request
            .as_ref()
            .and_then(|d| d.validity_period.clone());
        let start = match &x.authored_on {
            Some(_) => self.date(&x.authored_on),
            None => self.period_start(&validity),
        };
        m::Medication {
            medication: self.medication(
                &x.medication_codeable_concept,
                &x.medication_reference,
                &x.contained,
            ),
            kind: Some(m::MedicationKind::Prescription),
            status: code_of(&x.status, m::MedicationStatus::from_code),
            dosage: dosage_text(&x.dosage_instruction),
            start,
            end: self.period_end(&validity),
            recorded: None,
            reasons: reasons(&x.reason_code, &x.reason_reference),
            prescriber: display(&x.requester),
            notes: notes(&x.note),
        }
    }

    fn allergy(&mut self, x: &f::AllergyIntolerance) -> m::Allergy {
        let onset = match (&x.onset_date_time, &x.onset_period) {
            (Some(_), _) => self.date(&x.onset_date_time),
            (None, p) => self.period_start(p),
        };
        m::Allergy {
            code: x
                .code
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .unwrap_or_default(),
            clinical_status: status_of(
                &x.clinical_status,
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical",
                m::AllergyClinicalStatus::from_code,
            ),
            verification: status_of(
                &x.verification_status,
                "http://terminology.hl7.org/CodeSystem/allergyintolerance-verification",
                m::Verification::from_code,
            ),
            category: x
                .category
                .iter()
                .filter_map(|c| m::AllergyCategory::from_code(c.trim()))
                .collect(),
            criticality: code_of(&x.criticality, m::Criticality::from_code),
            reactions: x
                .reaction
                .iter()
                .map(|r| m::Reaction {
                    manifestations: r
                        .manifestation
                        .iter()
                        .map(required_concept)
                        .filter(|c| !c.is_empty())
                        .collect(),
                    severity: code_of(&r.severity, m::Severity::from_code),
                    description: text(&r.description),
                })
                .collect(),
            onset,
            recorded: self.date(&x.recorded_date),
            notes: notes(&x.note),
        }
    }

    fn condition(&mut self, x: &f::Condition) -> m::Condition {
        let onset = match (&x.onset_date_time, &x.onset_period) {
            (Some(_), _) => self.date(&x.onset_date_time),
            (None, p) => self.period_start(p),
        };
        let abatement = match (&x.abatement_date_time, &x.abatement_period) {
            (Some(_), _) => self.date(&x.abatement_date_time),
            (None, Some(p)) if p.end.is_some() => self.date(&p.end),
            (None, p) => self.period_start(p),
        };
        m::Condition {
            code: x
                .code
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .unwrap_or_default(),
            clinical_status: status_of(
                &x.clinical_status,
                "http://terminology.hl7.org/CodeSystem/condition-clinical",
                m::ConditionClinicalStatus::from_code,
            ),
            verification: status_of(
                &x.verification_status,
                "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                m::Verification::from_code,
            ),
            category: concepts(&x.category),
            severity: x
                .severity
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .filter(|c| !c.is_empty()),
            onset,
            abatement,
            recorded: self.date(&x.recorded_date),
            notes: notes(&x.note),
        }
    }

    fn observation(&mut self, x: &f::Observation) -> m::TestResult {
        let effective = match (
            &x.effective_date_time,
            &x.effective_instant,
            &x.effective_period,
        ) {
            (Some(_), _, _) => self.date(&x.effective_date_time),
            (None, Some(_), _) => self.date(&x.effective_instant),
            (None, None, p) => self.period_start(p),
        };
        let value = self.value(ValueX {
            quantity: &x.value_quantity,
            codeable_concept: &x.value_codeable_concept,
            string: &x.value_string,
            boolean: x.value_boolean,
            integer: x.value_integer,
            range: &x.value_range,
            date_time: &x.value_date_time,
            ratio: &x.value_ratio,
            period: &x.value_period,
            time: &x.value_time,
        });
        let components = x
            .component
            .iter()
            .map(|c| m::ResultComponent {
                code: c.code.as_ref().map(required_concept).unwrap_or_default(),
                value: self.value(ValueX {
                    quantity: &c.value_quantity,
                    codeable_concept: &c.value_codeable_concept,
                    string: &c.value_string,
                    boolean: c.value_boolean,
                    integer: c.value_integer,
                    range: &c.value_range,
                    date_time: &c.value_date_time,
                    ratio: &None,
                    period: &None,
                    time: &None,
                }),
                interpretation: concepts(&c.interpretation),
                reference_range: reference_ranges(&c.reference_range),
            })
            .collect();
        m::TestResult {
            kind: Some(m::ResultKind::Observation),
            category: concepts(&x.category),
            code: x.code.as_ref().map(required_concept).unwrap_or_default(),
            status: code_of(&x.status, m::ResultStatus::from_code),
            effective,
            issued: self.date(&x.issued),
            value,
            absent_reason: x
                .data_absent_reason
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .filter(|c| !c.is_empty()),
            interpretation: concepts(&x.interpretation),
            reference_range: reference_ranges(&x.reference_range),
            components,
            conclusion: None,
            members: self.record_ids(&x.has_member),
            performer: first_display(&x.performer),
            notes: notes(&x.note),
        }
    }

    fn diagnostic_report(&mut self, x: &f::DiagnosticReport) -> m::TestResult {
        let effective = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => self.date(&x.effective_date_time),
            (None, p) => self.period_start(p),
        };
        m::TestResult {
            kind: Some(m::ResultKind::Report),
            category: concepts(&x.category),
            code: x.code.as_ref().map(required_concept).unwrap_or_default(),
            status: code_of(&x.status, m::ResultStatus::from_code),
            effective,
            issued: self.date(&x.issued),
            conclusion: text(&x.conclusion),
            members: self.record_ids(&x.result),
            performer: first_display(&x.performer),
            ..Default::default()
        }
    }

    fn document(&mut self, x: &f::DocumentReference) -> m::Document {
        let attachments: Vec<&f::Attachment> = x
            .content
            .iter()
            .filter_map(|c| c.attachment.as_ref())
            .collect();
        let date = match &x.date {
            Some(_) => self.date(&x.date),
            None => {
                let creation = attachments.iter().find_map(|a| text(&a.creation));
                self.date(&creation)
            }
        };
        m::Document {
            doc_type: x
                .type_
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .unwrap_or_default(),
            category: concepts(&x.category),
            title: text(&x.description),
            status: code_of(&x.status, m::DocumentStatus::from_code),
            date,
            authors: x.author.iter().filter_map(|a| text(&a.display)).collect(),
            content: attachments
                .into_iter()
                .filter_map(|a| {
                    let out = m::Attachment {
                        content_type: text(&a.content_type),
                        url: text(&a.url),
                        title: text(&a.title),
                        size: a.size,
                        inline_content_omitted: a.data.is_some(),
                    };
                    (out.content_type.is_some()
                        || out.url.is_some()
                        || out.title.is_some()
                        || out.size.is_some()
                        || out.inline_content_omitted)
                        .then_some(out)
                })
                .collect(),
            // Content stays by reference; an inline rendition is not read.
            text: None,
            care_plan: None,
        }
    }

    fn procedure(&mut self, x: &f::Procedure) -> m::Procedure {
        let (performed, performed_end) = match (&x.performed_date_time, &x.performed_period) {
            (Some(_), _) => (self.date(&x.performed_date_time), None),
            (None, p) => (self.period_start(p), self.period_end(p)),
        };
        m::Procedure {
            code: x
                .code
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .unwrap_or_default(),
            status: code_of(&x.status, m::ProcedureStatus::from_code),
            performed,
            performed_end,
            body_site: concepts(&x.body_site),
            outcome: x
                .outcome
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .filter(|c| !c.is_empty()),
            performers: x
                .performer
                .iter()
                .filter_map(|p| display(&p.actor))
                .collect(),
            notes: notes(&x.note),
            immunisation: None,
        }
    }

    /// An Immunization, as a procedure marked as an immunisation (as GP
    /// Connect's are): the UK Core vaccination procedure, else the
    /// vaccine, is the code; a date given only as text is a note.
    fn immunization(&mut self, x: &f::Immunization) -> m::Procedure {
        let vaccine = x
            .vaccine_code
            .as_ref()
            .map(required_concept)
            .unwrap_or_default();
        let procedure = x
            .extension
            .iter()
            .filter(|e| e.url.as_deref().map(str::trim) == Some(VACCINATION_PROCEDURE_EXTENSION))
            .find_map(|e| e.value_codeable_concept.as_ref())
            .map(f::CodeableConcept::to_model)
            .filter(|c| !c.is_empty());
        let mut notes = notes(&x.note);
        if let Some(when) =
            text(&x.occurrence_string).filter(|w| !w.trim().eq_ignore_ascii_case("unknown"))
        {
            notes.push(format!("Date as recorded: {when}"));
        }
        let dose = x.protocol_applied.iter().find_map(|p| {
            p.dose_number_positive_int
                .map(|n| n.to_string())
                .or_else(|| text(&p.dose_number_string))
        });
        m::Procedure {
            code: procedure.unwrap_or_else(|| vaccine.clone()),
            status: code_of(&x.status, m::ProcedureStatus::from_code),
            performed: self.date(&x.occurrence_date_time),
            performed_end: None,
            body_site: x
                .site
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .filter(|c| !c.is_empty())
                .into_iter()
                .collect(),
            outcome: None,
            performers: x
                .performer
                .iter()
                .filter_map(|p| display(&p.actor))
                .collect(),
            notes,
            immunisation: Some(m::Immunisation {
                vaccine,
                dose,
                lot_number: text(&x.lot_number),
                reason_not_given: x
                    .status_reason
                    .as_ref()
                    .map(f::CodeableConcept::to_model)
                    .filter(|c| !c.is_empty()),
            }),
        }
    }

    /// A CarePlan, as a document marked as a care plan: its title,
    /// description (as the text), categories, creation date and authors are
    /// the document's; its status, period and activities the care plan's.
    /// An activity is its description, else its code, else what it refers
    /// to, with its status when known.
    fn care_plan(&mut self, x: &f::CarePlan) -> m::Document {
        let activities = x
            .activity
            .iter()
            .filter_map(|a| {
                let detail = a.detail.as_ref();
                let what = detail
                    .and_then(|d| text(&d.description))
                    .or_else(|| {
                        detail
                            .and_then(|d| d.code.as_ref())
                            .map(f::CodeableConcept::to_model)
                            .and_then(|c| c.label().map(str::to_string))
                    })
                    .or_else(|| display(&a.reference))?;
                Some(match detail.and_then(|d| text(&d.status)) {
                    Some(status) if status.trim() != "unknown" => {
                        format!("{what} ({})", status.trim())
                    }
                    _ => what,
                })
            })
            .collect();
        let mut authors: Vec<String> = display(&x.author).into_iter().collect();
        authors.extend(x.contributor.iter().filter_map(|c| text(&c.display)));
        m::Document {
            doc_type: m::Concept::coded(m::Coding::new(
                m::CodeSystem::Snomed,
                CARE_PLAN_CODE,
                "Care plan",
            )),
            category: concepts(&x.category),
            title: text(&x.title),
            status: None,
            date: self.date(&x.created),
            authors,
            content: Vec::new(),
            text: text(&x.description),
            care_plan: Some(m::CarePlan {
                status: code_of(&x.status, m::CarePlanStatus::from_code),
                period_start: self.period_start(&x.period),
                period_end: self.period_end(&x.period),
                activities,
            }),
        }
    }

    fn service_request(&mut self, x: &f::ServiceRequest) -> m::Referral {
        m::Referral {
            code: x
                .code
                .as_ref()
                .map(f::CodeableConcept::to_model)
                .unwrap_or_default(),
            category: concepts(&x.category),
            status: code_of(&x.status, m::ReferralStatus::from_code),
            priority: code_of(&x.priority, m::Priority::from_code),
            authored: self.date(&x.authored_on),
            requester: display(&x.requester),
            performers: x
                .performer
                .iter()
                .filter_map(|p| text(&p.display))
                .collect(),
            reasons: reasons(&x.reason_code, &x.reason_reference),
            notes: notes(&x.note),
        }
    }

    fn appointment(&mut self, x: &f::Appointment) -> m::Appointment {
        let actors: Vec<&f::Reference> = x
            .participant
            .iter()
            .filter_map(|p| p.actor.as_ref())
            .filter(|a| !is_patient_ref(a))
            .collect();
        let is_location = |a: &f::Reference| {
            a.type_.as_deref() == Some("Location")
                || a.reference
                    .as_deref()
                    .is_some_and(|r| r.trim().starts_with("Location/"))
        };
        let mut service_type = concepts(&x.service_type);
        service_type.extend(concepts(&x.specialty));
        m::Appointment {
            kind: Some(m::AppointmentKind::Appointment),
            status: code_of(&x.status, m::AppointmentStatus::from_code),
            class: None,
            service_type,
            description: text(&x.description),
            start: self.date(&x.start),
            end: self.date(&x.end),
            location: actors
                .iter()
                .filter(|a| is_location(a))
                .find_map(|a| text(&a.display)),
            participants: actors
                .iter()
                .filter(|a| !is_location(a))
                .filter_map(|a| text(&a.display))
                .collect(),
            reasons: reasons(&x.reason_code, &x.reason_reference),
        }
    }

    fn encounter(&mut self, x: &f::Encounter) -> m::Appointment {
        let class = x.class_.as_ref().and_then(|c| {
            if c.system.as_deref() == Some(DATA_ABSENT_REASON_SYSTEM) {
                return None;
            }
            match c.to_model() {
                Some(k) if !k.code.is_empty() => Some(m::Concept::coded(k)),
                _ => text(&c.display).map(m::Concept::text),
            }
        });
        let mut service_type: Vec<m::Concept> = x
            .service_type
            .iter()
            .map(f::CodeableConcept::to_model)
            .collect();
        service_type.extend(concepts(&x.type_));
        service_type.retain(|c| !c.is_empty());
        m::Appointment {
            kind: Some(m::AppointmentKind::Encounter),
            status: code_of(&x.status, m::AppointmentStatus::from_code),
            class,
            service_type,
            description: None,
            start: self.period_start(&x.period),
            end: self.period_end(&x.period),
            location: x.location.iter().find_map(|l| display(&l.location)),
            participants: x
                .participant
                .iter()
                .filter_map(|p| display(&p.individual))
                .collect(),
            reasons: reasons(&x.reason_code, &x.reason_reference),
        }
    }

    fn flag(&mut self, x: &f::Flag) -> m::Alert {
        m::Alert {
            code: x.code.as_ref().map(required_concept).unwrap_or_default(),
            status: code_of(&x.status, m::AlertStatus::from_code),
            category: concepts(&x.category),
            period_start: self.period_start(&x.period),
            period_end: self.period_end(&x.period),
            author: display(&x.author),
        }
    }

    fn value(&mut self, v: ValueX<'_>) -> Option<m::ResultValue> {
        v.to_model(|d| self.date(d))
    }
}

/// A status held in a CodeableConcept: the first coding of `system` (or of
/// no system) whose code the model knows.
fn status_of<T>(
    cc: &Option<f::CodeableConcept>,
    system: &str,
    from: fn(&str) -> Option<T>,
) -> Option<T> {
    cc.as_ref()?
        .coding
        .iter()
        .filter(|c| c.system.as_deref().is_none_or(|s| s.trim() == system))
        .find_map(|c| from(c.code.as_deref()?.trim()))
}

fn reference(r: &Option<f::Reference>) -> Option<String> {
    r.as_ref().and_then(|r| text(&r.reference))
}

fn display(r: &Option<f::Reference>) -> Option<String> {
    r.as_ref().and_then(|r| text(&r.display))
}

fn first_display(refs: &[f::Reference]) -> Option<String> {
    refs.iter().find_map(|r| text(&r.display))
}

fn is_patient_ref(r: &f::Reference) -> bool {
    r.type_.as_deref() == Some("Patient")
        || r.reference.as_deref().is_some_and(|s| {
            let s = s.trim();
            s.starts_with("Patient/") || s.contains("/Patient/")
        })
}

fn notes(n: &[f::Annotation]) -> Vec<String> {
    n.iter().filter_map(|a| text(&a.text)).collect()
}

/// A concept FHIR requires: a `data-absent-reason` coding (the renderer's
/// fallback) says there is none, and is dropped.
fn required_concept(cc: &f::CodeableConcept) -> m::Concept {
    let mut c = f::CodeableConcept::to_model(cc);
    c.codings
        .retain(|k| k.system.uri() != DATA_ABSENT_REASON_SYSTEM);
    c
}

fn reference_ranges(v: &[f::ReferenceRange]) -> Vec<m::ReferenceRange> {
    v.iter()
        .filter_map(|r| reference_range(&r.low, &r.high, &r.text))
        .collect()
}
