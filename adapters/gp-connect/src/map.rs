//! STU3 resources of a structured record into the unified model: pure
//! functions, no I/O, no panics on any input.
//!
//! An [`Index`] holds every resource of the answer by the references that
//! can point at it (`Type/id` and `fullUrl`), with the names of the
//! people, organisations and places resources refer to and the medicines
//! `medicationReference`s name, so that one resource maps on its own. A
//! [`Mapper`] turns one resource into one model entry and counts what it
//! could not read (dates, medicine references, elements tolerated), never
//! echoing a value.
//!
//! | resource | model item |
//! |---|---|
//! | Patient | demographics |
//! | AllergyIntolerance | allergy (in the ended-allergies List: resolved when no status) |
//! | MedicationStatement (+ its `plan` MedicationRequest and Medication) | medication, statement |
//! | MedicationRequest (`order`) | medication, prescription |
//! | Condition | condition |
//! | Encounter | appointment of kind encounter |
//! | DiagnosticReport, Observation | result (report or observation) |
//! | Immunization | procedure marked as an immunisation (vaccine, batch, reason not given), as the FHIR R4 adapter reads one |
//! | Observation in the immunisations List | procedure (immunisation status, e.g. no consent) |
//! | ReferralRequest | referral |

use std::collections::HashMap;

use icr_fhir_stu3::gpc::{
    ALLERGY_END_NAME, CONFIDENTIALITY_SYSTEM, NHS_NUMBER_SYSTEM, ODS_ORGANIZATION_SYSTEM,
    VACCINATION_PROCEDURE_NAME,
};
use icr_fhir_stu3::to_model::{
    self, ValueX, code_of, concepts, deceased, dosage_text, nhs_number, ods_code, reasons,
    reference_range, text,
};
use icr_fhir_stu3::{self as s, ReadError, Tolerated, read_resource};
use icr_model as m;
use icr_model::time::OffsetDateTime;
use serde::Deserialize;
use serde_json::value::RawValue;

/// One resource of the answer, unparsed.
#[derive(Debug, Clone)]
pub struct Indexed<'a> {
    /// Its `resourceType`.
    pub ty: String,
    /// Its logical id.
    pub id: Option<String>,
    /// Its `fullUrl`.
    pub full_url: Option<&'a str>,
    /// The resource.
    pub raw: &'a RawValue,
}

impl Indexed<'_> {
    /// The id the source uses for it, for provenance: `Type/id`, else what
    /// the `fullUrl` gives without the source's address.
    pub fn local_id(&self) -> Option<String> {
        match (&self.id, self.full_url) {
            (Some(id), _) => Some(format!("{}/{id}", self.ty)),
            (None, Some(u)) => icr_adapter_sdk::local_id_from_full_url(u, &self.ty),
            (None, None) => None,
        }
    }
}

#[derive(Deserialize)]
struct PeekId<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
}

/// The logical id of a raw resource, if it has a usable one.
pub fn peek_id(raw: &RawValue) -> Option<String> {
    let p: PeekId<'_> = icr_fhir_stu3::lenient::parse(raw.get()).ok()?;
    let id = icr_fhir_stu3::lenient::parse::<String>(p.id?.get()).ok()?;
    let id = id.trim();
    (!id.is_empty() && id.len() <= 256 && !id.chars().any(char::is_control)).then(|| id.to_string())
}

/// A reference as a key of the index: `#id` as is, `/_history/…` removed,
/// an absolute URL or URN kept whole (it may be a `fullUrl`).
pub fn ref_key(reference: &str) -> String {
    let r = reference.trim();
    let r = match r.find("/_history/") {
        Some(i) => &r[..i],
        None => r,
    };
    r.to_string()
}

/// The `Type/id` tail of a reference (`https://x/fhir/Patient/1` →
/// `Patient/1`), if it has one.
pub fn type_and_id(reference: &str) -> Option<String> {
    let key = ref_key(reference);
    let mut parts = key.rsplit('/');
    let id = parts.next()?;
    let ty = parts.next()?;
    let type_ok = !ty.is_empty()
        && ty.bytes().all(|b| b.is_ascii_alphabetic())
        && ty.as_bytes().first().is_some_and(u8::is_ascii_uppercase);
    (type_ok && !id.is_empty()).then(|| format!("{ty}/{id}"))
}

/// Every resource of an answer, by reference, with what resources need to
/// name each other.
#[derive(Debug, Default)]
pub struct Index<'a> {
    entries: Vec<Indexed<'a>>,
    by_ref: HashMap<String, usize>,
    names: HashMap<usize, String>,
    medicines: HashMap<usize, m::Concept>,
    specimens: HashMap<usize, String>,
    /// What reading the named resources (practitioners, organisations,
    /// locations, medicines, specimens) had to tolerate.
    pub tolerated: Tolerated,
}

impl<'a> Index<'a> {
    /// Indexes resources (and reads the names, medicines and specimen
    /// dates others refer to).
    pub fn new(resources: Vec<Indexed<'a>>) -> Self {
        let mut ix = Index {
            entries: resources,
            ..Default::default()
        };
        for (i, e) in ix.entries.iter().enumerate() {
            if let Some(id) = &e.id {
                ix.by_ref.entry(format!("{}/{id}", e.ty)).or_insert(i);
            }
            if let Some(u) = e.full_url {
                ix.by_ref.entry(ref_key(u)).or_insert(i);
            }
        }
        // Names first of practitioners, organisations and places, then of
        // roles (which name their practitioner).
        let mut roles = Vec::new();
        for (i, e) in ix.entries.iter().enumerate() {
            match e.ty.as_str() {
                "Practitioner" => {
                    if let Ok((p, t)) = read_resource::<s::Practitioner>("Practitioner", e.raw) {
                        ix.tolerated.add(t);
                        if let Some(n) = p.name.iter().find_map(s::HumanName::display_text) {
                            ix.names.insert(i, n);
                        }
                    }
                }
                "Organization" => {
                    if let Ok((o, t)) = read_resource::<s::Organization>("Organization", e.raw) {
                        ix.tolerated.add(t);
                        if let Some(n) = text(&o.name) {
                            ix.names.insert(i, n);
                        }
                    }
                }
                "Location" => {
                    if let Ok((l, t)) = read_resource::<s::Location>("Location", e.raw) {
                        ix.tolerated.add(t);
                        if let Some(n) = text(&l.name) {
                            ix.names.insert(i, n);
                        }
                    }
                }
                "PractitionerRole" => {
                    if let Ok((r, t)) =
                        read_resource::<s::PractitionerRole>("PractitionerRole", e.raw)
                    {
                        ix.tolerated.add(t);
                        roles.push((i, r));
                    }
                }
                "Medication" => {
                    if let Ok((med, t)) = read_resource::<s::Medication>("Medication", e.raw) {
                        ix.tolerated.add(t);
                        if let Some(c) = med
                            .code
                            .as_ref()
                            .map(s::CodeableConcept::to_model)
                            .filter(|c| !c.is_empty())
                        {
                            ix.medicines.insert(i, c);
                        }
                    }
                }
                "Specimen" => {
                    if let Ok((sp, t)) = read_resource::<s::Specimen>("Specimen", e.raw) {
                        ix.tolerated.add(t);
                        let collected = sp.collection.as_ref().and_then(|c| {
                            text(&c.collected_date_time).or_else(|| {
                                c.collected_period.as_ref().and_then(|p| text(&p.start))
                            })
                        });
                        if let Some(d) = collected {
                            ix.specimens.insert(i, d);
                        }
                    }
                }
                _ => {}
            }
        }
        for (i, r) in roles {
            let name = r
                .practitioner
                .as_ref()
                .and_then(|p| text(&p.display).or_else(|| ix.name_of_ref(p)));
            if let Some(n) = name {
                ix.names.insert(i, n);
            }
        }
        ix
    }

    /// Every resource, in order.
    pub fn entries(&self) -> &[Indexed<'a>] {
        &self.entries
    }

    /// The resource a reference points at.
    pub fn resolve(&self, reference: &str) -> Option<&Indexed<'a>> {
        self.position(reference).and_then(|i| self.entries.get(i))
    }

    /// The position (in [`entries`](Self::entries)) of the resource a
    /// reference points at.
    pub fn position(&self, reference: &str) -> Option<usize> {
        let key = ref_key(reference);
        if key.is_empty() || key.starts_with('#') {
            return None;
        }
        self.by_ref
            .get(&key)
            .or_else(|| type_and_id(&key).and_then(|k| self.by_ref.get(&k)))
            .copied()
    }

    fn name_of_ref(&self, r: &s::Reference) -> Option<String> {
        let i = self.position(r.reference.as_deref()?)?;
        self.names.get(&i).cloned()
    }

    /// The name to show for a reference: its display, else the name of the
    /// practitioner, role, organisation or place it points at.
    pub fn name(&self, r: &Option<s::Reference>) -> Option<String> {
        let r = r.as_ref()?;
        text(&r.display).or_else(|| self.name_of_ref(r))
    }

    /// The medicine a `medicationReference` names.
    pub fn medicine(&self, r: &s::Reference) -> Option<&m::Concept> {
        self.medicines.get(&self.position(r.reference.as_deref()?)?)
    }

    /// When the specimen a reference points at was collected, as given.
    pub fn specimen_collected(&self, r: &s::Reference) -> Option<&str> {
        self.specimens
            .get(&self.position(r.reference.as_deref()?)?)
            .map(String::as_str)
    }
}

/// Why one resource could not be read. Messages name the resource type and
/// a position, never a value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MapError(pub String);

impl From<ReadError> for MapError {
    fn from(e: ReadError) -> Self {
        MapError(e.to_string())
    }
}

/// One resource mapped.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The model item.
    pub entry: m::Entry,
    /// The reference to the patient the resource is about, as written.
    pub subject: Option<String>,
    /// The NHS number of the patient the resource is about, when it
    /// refers to them by identifier.
    pub subject_nhs: Option<String>,
    /// `meta.lastUpdated`, when it is an RFC 3339 instant.
    pub last_updated: Option<OffsetDateTime>,
}

/// Maps resources, counting what it could not read.
pub struct Mapper<'i, 'a> {
    /// The answer's resources.
    pub index: &'i Index<'a>,
    /// The source, to name the records a report refers to.
    pub source: &'i m::SourceId,
    /// Dates that could not be read and were left out.
    pub bad_dates: u32,
    /// `medicationReference`s that named no medicine.
    pub unresolved_medicines: u32,
    /// What reading the resources had to tolerate (each resource counted
    /// once, however often it is read).
    pub tolerated: Tolerated,
    counted: std::collections::HashSet<usize>,
}

fn last_updated(meta: &Option<s::Meta>) -> Option<OffsetDateTime> {
    meta.as_ref().and_then(s::Meta::last_updated_at)
}

fn subject_of(r: &Option<s::Reference>) -> (Option<String>, Option<String>) {
    let Some(r) = r else { return (None, None) };
    let nhs = r
        .identifier
        .as_ref()
        .filter(|i| i.is_of(NHS_NUMBER_SYSTEM))
        .and_then(|i| text(&i.value));
    (text(&r.reference), nhs)
}

impl<'i, 'a> Mapper<'i, 'a> {
    /// A mapper over `index`.
    pub fn new(index: &'i Index<'a>, source: &'i m::SourceId) -> Self {
        Mapper {
            index,
            source,
            bad_dates: 0,
            unresolved_medicines: 0,
            tolerated: Tolerated::default(),
            counted: std::collections::HashSet::new(),
        }
    }

    fn read<T: icr_fhir_stu3::lenient::Element>(
        &mut self,
        what: &str,
        raw: &RawValue,
    ) -> Result<T, MapError> {
        let (v, t) = read_resource::<T>(what, raw)?;
        // The same resource (an authorisation shared by a statement and its
        // issues) is counted once: by where its text is.
        if self.counted.insert(raw.get().as_ptr() as usize) {
            self.tolerated.add(t);
        }
        Ok(v)
    }

    fn date(&mut self, s: &Option<String>) -> Option<m::PartialDateTime> {
        to_model::date(s).unwrap_or_else(|_| {
            self.bad_dates += 1;
            None
        })
    }

    /// The Patient: its demographics, id and last update.
    pub fn patient(
        &mut self,
        raw: &RawValue,
    ) -> Result<(m::Demographics, Option<String>, Option<OffsetDateTime>), MapError> {
        let p: s::Patient = self.read("Patient", raw)?;
        let nhs_number = nhs_number(&p.identifier);
        let deceased = deceased(&p.deceased_date_time, p.deceased_boolean, |d| self.date(d));
        let practice_ref = p
            .managing_organization
            .iter()
            .chain(p.general_practitioner.iter());
        let registered_practice = practice_ref
            .filter_map(|r| {
                if let Some(i) = &r.identifier
                    && i.is_of(ODS_ORGANIZATION_SYSTEM)
                {
                    return m::OdsCode::parse(i.value.as_deref()?).ok();
                }
                let target = self.index.resolve(r.reference.as_deref()?)?;
                if target.ty != "Organization" {
                    return None;
                }
                let (org, _) = read_resource::<s::Organization>("Organization", target.raw).ok()?;
                org.identifier.iter().find_map(ods_code)
            })
            .next();
        let demographics = m::Demographics {
            nhs_number,
            names: p.name.iter().filter_map(s::HumanName::to_model).collect(),
            birth_date: self.date(&p.birth_date),
            gender: code_of(&p.gender, m::Gender::from_code),
            addresses: p.address.iter().filter_map(s::Address::to_model).collect(),
            telecom: p
                .telecom
                .iter()
                .filter_map(s::ContactPoint::to_model)
                .collect(),
            deceased,
            registered_practice,
            sensitive: p.meta.as_ref().is_some_and(|mt| {
                mt.security.iter().any(|c| {
                    c.system.as_deref().map(str::trim).is_some_and(|s| {
                        s == CONFIDENTIALITY_SYSTEM || s.ends_with("/v3-Confidentiality")
                    }) && matches!(c.code.as_deref().map(str::trim), Some("R" | "V"))
                })
            }),
        };
        Ok((demographics, text(&p.id), last_updated(&p.meta)))
    }

    /// An AllergyIntolerance. In the ended-allergies List (`ended`) an
    /// allergy without a clinical status is resolved. The allergy end
    /// extension's reason, when given, is kept as a note.
    pub fn allergy(&mut self, raw: &RawValue, ended: bool) -> Result<Mapped, MapError> {
        let x: s::AllergyIntolerance = self.read("AllergyIntolerance", raw)?;
        let onset = match (&x.onset_date_time, &x.onset_period) {
            (Some(_), _) => self.date(&x.onset_date_time),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => None,
        };
        let mut notes = notes(&x.note);
        if let Some(reason) = x
            .extension
            .iter()
            .find(|e| e.is(ALLERGY_END_NAME))
            .and_then(|e| e.part("reasonEnded"))
            .and_then(|e| text(&e.value_string))
        {
            notes.push(format!("Reason ended: {reason}"));
        }
        let mut clinical_status = code_of(&x.clinical_status, m::AllergyClinicalStatus::from_code);
        if ended && clinical_status.is_none() {
            clinical_status = Some(m::AllergyClinicalStatus::Resolved);
        }
        let a = m::Allergy {
            code: x
                .code
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .unwrap_or_default(),
            clinical_status,
            verification: code_of(&x.verification_status, m::Verification::from_code),
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
                    manifestations: concepts(&r.manifestation),
                    severity: code_of(&r.severity, m::Severity::from_code),
                    description: text(&r.description),
                })
                .collect(),
            onset,
            recorded: self.date(&x.asserted_date),
            notes,
        };
        let (subject, subject_nhs) = subject_of(&x.patient);
        Ok(Mapped {
            entry: m::Entry::Allergy(a),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    fn medicine(
        &mut self,
        cc: &Option<s::CodeableConcept>,
        r: &Option<s::Reference>,
    ) -> m::Concept {
        if let Some(c) = cc
            .as_ref()
            .map(s::CodeableConcept::to_model)
            .filter(|c| !c.is_empty())
        {
            return c;
        }
        let Some(r) = r else {
            self.unresolved_medicines += 1;
            return m::Concept::default();
        };
        match (self.index.medicine(r), text(&r.display)) {
            (Some(c), _) => c.clone(),
            (None, Some(d)) => m::Concept::text(d),
            (None, None) => {
                self.unresolved_medicines += 1;
                m::Concept::default()
            }
        }
    }

    /// The authorisations (`plan` MedicationRequests) a statement is based
    /// on, by their index keys.
    fn plans(&mut self, based_on: &[s::Reference]) -> Vec<s::MedicationRequest> {
        based_on
            .iter()
            .filter_map(|r| self.index.resolve(r.reference.as_deref()?))
            .filter(|e| e.ty == "MedicationRequest")
            .map(|e| e.raw)
            .collect::<Vec<_>>()
            .into_iter()
            .filter_map(|raw| {
                self.read::<s::MedicationRequest>("MedicationRequest", raw)
                    .ok()
            })
            .collect()
    }

    /// Reads a MedicationStatement (once, for its issues and its item).
    pub fn read_medication_statement(
        &mut self,
        raw: &RawValue,
    ) -> Result<s::MedicationStatement, MapError> {
        self.read("MedicationStatement", raw)
    }

    /// A MedicationStatement: the medicine, with the prescriber from its
    /// authorisation.
    pub fn medication_statement(&mut self, x: &s::MedicationStatement) -> Mapped {
        let (start, end) = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => (self.date(&x.effective_date_time), None),
            (None, Some(p)) => (self.date(&p.start), self.date(&p.end)),
            (None, None) => (None, None),
        };
        let plans = self.plans(&x.based_on);
        let prescriber = plans
            .iter()
            .find_map(|p| {
                p.requester
                    .as_ref()
                    .and_then(|r| self.index.name(&r.agent))
                    .or_else(|| self.index.name(&p.recorder))
            })
            .or_else(|| self.index.name(&x.information_source));
        let medication = self.medicine(&x.medication_codeable_concept, &x.medication_reference);
        let med = m::Medication {
            medication,
            kind: Some(m::MedicationKind::Statement),
            status: code_of(&x.status, m::MedicationStatus::from_code),
            dosage: dosage_text(&x.dosage),
            start,
            end,
            recorded: self.date(&x.date_asserted),
            reasons: reasons(&x.reason_code, &x.reason_reference),
            prescriber,
            notes: notes(&x.note),
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Mapped {
            entry: m::Entry::Medication(med),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        }
    }

    /// A prescription issue (`order` MedicationRequest).
    pub fn medication_request(&mut self, x: &s::MedicationRequest) -> Mapped {
        let validity = x
            .dispense_request
            .as_ref()
            .and_then(|d| d.validity_period.clone());
        let start = match &x.authored_on {
            Some(_) => self.date(&x.authored_on),
            None => validity.as_ref().and_then(|p| self.date(&p.start)),
        };
        let end = validity.as_ref().and_then(|p| self.date(&p.end));
        let prescriber = x
            .requester
            .as_ref()
            .and_then(|r| self.index.name(&r.agent))
            .or_else(|| self.index.name(&x.recorder));
        let med = m::Medication {
            medication: self.medicine(&x.medication_codeable_concept, &x.medication_reference),
            kind: Some(m::MedicationKind::Prescription),
            status: code_of(&x.status, m::MedicationStatus::from_code),
            dosage: dosage_text(&x.dosage_instruction),
            start,
            end,
            recorded: None,
            reasons: reasons(&x.reason_code, &x.reason_reference),
            prescriber,
            notes: notes(&x.note),
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Mapped {
            entry: m::Entry::Medication(med),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        }
    }

    /// Reads a MedicationRequest (for issues).
    pub fn read_medication_request(
        &mut self,
        raw: &RawValue,
    ) -> Result<s::MedicationRequest, MapError> {
        self.read("MedicationRequest", raw)
    }

    /// A Condition (a GP Connect problem).
    pub fn condition(&mut self, raw: &RawValue) -> Result<Mapped, MapError> {
        let x: s::Condition = self.read("Condition", raw)?;
        let onset = match (&x.onset_date_time, &x.onset_period) {
            (Some(_), _) => self.date(&x.onset_date_time),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => None,
        };
        let abatement = match (&x.abatement_date_time, &x.abatement_period) {
            (Some(_), _) => self.date(&x.abatement_date_time),
            (None, Some(p)) if p.end.is_some() => self.date(&p.end),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => None,
        };
        let c = m::Condition {
            code: x
                .code
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .unwrap_or_default(),
            clinical_status: code_of(&x.clinical_status, m::ConditionClinicalStatus::from_code),
            verification: code_of(&x.verification_status, m::Verification::from_code),
            category: concepts(&x.category),
            severity: x
                .severity
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .filter(|c| !c.is_empty()),
            onset,
            abatement,
            recorded: self.date(&x.asserted_date),
            notes: notes(&x.note),
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok(Mapped {
            entry: m::Entry::Condition(c),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    /// An Encounter (a consultation).
    pub fn encounter(&mut self, raw: &RawValue) -> Result<Mapped, MapError> {
        let x: s::Encounter = self.read("Encounter", raw)?;
        let class = x.class.as_ref().and_then(|c| match c.to_model() {
            Some(k) if !k.code.is_empty() => Some(m::Concept::coded(k)),
            _ => text(&c.display).map(m::Concept::text),
        });
        let a = m::Appointment {
            kind: Some(m::AppointmentKind::Encounter),
            status: code_of(&x.status, m::AppointmentStatus::from_code),
            class,
            service_type: concepts(&x.type_),
            description: None,
            start: x.period.as_ref().and_then(|p| self.date(&p.start)),
            end: x.period.as_ref().and_then(|p| self.date(&p.end)),
            location: x.location.iter().find_map(|l| self.index.name(&l.location)),
            participants: x
                .participant
                .iter()
                .filter_map(|p| self.index.name(&p.individual))
                .fold(Vec::new(), |mut v: Vec<String>, n| {
                    if !v.contains(&n) {
                        v.push(n);
                    }
                    v
                }),
            reasons: concepts(&x.reason),
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok(Mapped {
            entry: m::Entry::Appointment(a),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    /// An Immunization, as a procedure marked as an immunisation (as the
    /// FHIR R4 adapter reads one): the vaccination procedure extension's
    /// code, else the vaccine code (unless it is a NullFlavor), is the
    /// code; the vaccine, batch and first reason it was not given are the
    /// immunisation's; `notGiven` is `not-done`, and further reasons are
    /// notes.
    pub fn immunization(&mut self, raw: &RawValue) -> Result<Mapped, MapError> {
        let x: s::Immunization = self.read("Immunization", raw)?;
        let from_extension = x
            .extension
            .iter()
            .find(|e| e.is(VACCINATION_PROCEDURE_NAME))
            .and_then(|e| e.value_codeable_concept.as_ref())
            .map(s::CodeableConcept::to_model)
            .filter(|c| !c.is_empty());
        let vaccine = x
            .vaccine_code
            .as_ref()
            .map(s::CodeableConcept::to_model)
            .map(|mut c| {
                c.codings.retain(|k| !k.system.uri().contains("NullFlavor"));
                if c.codings.is_empty()
                    && c.text
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case("unknown"))
                {
                    c.text = None;
                }
                c
            });
        let vaccine = vaccine.filter(|c| !c.is_empty());
        let code = from_extension
            .or_else(|| vaccine.clone())
            .unwrap_or_default();
        let status = if x.not_given == Some(true) {
            Some(m::ProcedureStatus::NotDone)
        } else {
            match x.status.as_deref().map(str::trim) {
                Some("entered-in-error") => Some(m::ProcedureStatus::EnteredInError),
                Some("completed") => Some(m::ProcedureStatus::Completed),
                _ => None,
            }
        };
        let mut notes = notes(&x.note);
        let mut reasons = x
            .explanation
            .iter()
            .flat_map(|e| &e.reason_not_given)
            .map(s::CodeableConcept::to_model)
            .filter(|c| !c.is_empty());
        let reason_not_given = reasons.next();
        notes.extend(reasons.filter_map(|c| c.label().map(|l| format!("Not given: {l}"))));
        let p = m::Procedure {
            code,
            status,
            performed: self.date(&x.date),
            performed_end: None,
            body_site: x
                .site
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .filter(|c| !c.is_empty())
                .into_iter()
                .collect(),
            outcome: None,
            performers: x
                .practitioner
                .iter()
                .filter_map(|p| self.index.name(&p.actor))
                .collect(),
            notes,
            immunisation: Some(m::Immunisation {
                vaccine: vaccine.unwrap_or_default(),
                dose: None,
                lot_number: text(&x.lot_number),
                reason_not_given,
            }),
        };
        let (subject, subject_nhs) = subject_of(&x.patient);
        Ok(Mapped {
            entry: m::Entry::Procedure(p),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    /// An Observation in the immunisations List (immunisation status, such
    /// as no consent to immunisation), as a procedure with its code, date
    /// and comment.
    pub fn immunisation_observation(&mut self, raw: &RawValue) -> Result<Mapped, MapError> {
        let x: s::Observation = self.read("Observation", raw)?;
        let performed = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => self.date(&x.effective_date_time),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => None,
        };
        let p = m::Procedure {
            code: x
                .code
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .unwrap_or_default(),
            status: None,
            performed,
            performed_end: None,
            body_site: Vec::new(),
            outcome: None,
            performers: x
                .performer
                .iter()
                .filter_map(|r| self.index.name(&Some(r.clone())))
                .collect(),
            notes: text(&x.comment).into_iter().collect(),
            // A status about immunisation (no consent, …), not a vaccination.
            immunisation: None,
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok(Mapped {
            entry: m::Entry::Procedure(p),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    /// A ReferralRequest. What is requested: `serviceRequested`, else the
    /// `type`, else the first reason, else the description; the `type`
    /// (when not used as the code) is the category.
    pub fn referral(&mut self, raw: &RawValue) -> Result<Mapped, MapError> {
        let x: s::ReferralRequest = self.read("ReferralRequest", raw)?;
        let service = x
            .service_requested
            .iter()
            .map(s::CodeableConcept::to_model)
            .find(|c| !c.is_empty());
        let type_ = x
            .type_
            .as_ref()
            .map(s::CodeableConcept::to_model)
            .filter(|c| !c.is_empty());
        let (code, category) = match (service, type_) {
            (Some(s), t) => (s, t.into_iter().collect()),
            (None, Some(t)) => (t, Vec::new()),
            (None, None) => (
                concepts(&x.reason_code)
                    .into_iter()
                    .next()
                    .or_else(|| text(&x.description).map(m::Concept::text))
                    .unwrap_or_default(),
                Vec::new(),
            ),
        };
        let mut notes = notes(&x.note);
        if let Some(d) = text(&x.description)
            && code.text.as_deref() != Some(d.as_str())
        {
            notes.insert(0, d);
        }
        let status = x.status.as_deref().map(str::trim).and_then(|s| match s {
            "suspended" => Some(m::ReferralStatus::OnHold),
            "cancelled" => Some(m::ReferralStatus::Revoked),
            other => m::ReferralStatus::from_code(other),
        });
        let r = m::Referral {
            code,
            category,
            status,
            priority: code_of(&x.priority, m::Priority::from_code),
            authored: self.date(&x.authored_on),
            requester: x.requester.as_ref().and_then(|r| self.index.name(&r.agent)),
            performers: x
                .recipient
                .iter()
                .filter_map(|r| self.index.name(&Some(r.clone())))
                .collect(),
            reasons: reasons(&x.reason_code, &x.reason_reference),
            notes,
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok(Mapped {
            entry: m::Entry::Referral(r),
            subject,
            subject_nhs,
            last_updated: last_updated(&x.meta),
        })
    }

    fn record_ids(&self, refs: impl Iterator<Item = String>) -> Vec<m::RecordId> {
        refs.filter(|r| !r.starts_with('#'))
            .filter_map(|r| {
                let local = self
                    .index
                    .resolve(&r)
                    .and_then(Indexed::local_id)
                    .unwrap_or_else(|| ref_key(&r));
                m::RecordId::new(self.source.clone(), &local).ok()
            })
            .collect()
    }

    /// A DiagnosticReport, and the references of its results. When it has
    /// no effective date, the collection date of its specimen is used.
    pub fn report(&mut self, raw: &RawValue) -> Result<(Mapped, Vec<String>), MapError> {
        let x: s::DiagnosticReport = self.read("DiagnosticReport", raw)?;
        let effective = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => self.date(&x.effective_date_time),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => {
                let collected = x
                    .specimen
                    .iter()
                    .find_map(|r| self.index.specimen_collected(r))
                    .map(str::to_string);
                self.date(&collected)
            }
        };
        let results: Vec<String> = x.result.iter().filter_map(|r| text(&r.reference)).collect();
        let t = m::TestResult {
            kind: Some(m::ResultKind::Report),
            category: x
                .category
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .filter(|c| !c.is_empty())
                .into_iter()
                .collect(),
            code: x
                .code
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .unwrap_or_default(),
            status: code_of(&x.status, m::ResultStatus::from_code),
            effective,
            issued: self.date(&x.issued),
            conclusion: text(&x.conclusion),
            members: self.record_ids(results.iter().cloned()),
            performer: x.performer.iter().find_map(|p| self.index.name(&p.actor)),
            ..Default::default()
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok((
            Mapped {
                entry: m::Entry::Result(t),
                subject,
                subject_nhs,
                last_updated: last_updated(&x.meta),
            },
            results,
        ))
    }

    /// An Observation (a test result or a test group), and the references
    /// of its members (`related` of type `has-member`). When it has no
    /// effective date, the collection date of its specimen is used.
    pub fn observation(&mut self, raw: &RawValue) -> Result<(Mapped, Vec<String>), MapError> {
        let x: s::Observation = self.read("Observation", raw)?;
        let effective = match (&x.effective_date_time, &x.effective_period) {
            (Some(_), _) => self.date(&x.effective_date_time),
            (None, Some(p)) => self.date(&p.start),
            (None, None) => {
                let collected = x
                    .specimen
                    .as_ref()
                    .and_then(|r| self.index.specimen_collected(r))
                    .map(str::to_string);
                self.date(&collected)
            }
        };
        let members: Vec<String> = x
            .related
            .iter()
            .filter(|r| r.type_.as_deref().map(str::trim) == Some("has-member"))
            .filter_map(|r| r.target.as_ref().and_then(|t| text(&t.reference)))
            .collect();
        let value = self.value(ValueX {
            quantity: &x.value_quantity,
            codeable_concept: &x.value_codeable_concept,
            string: &x.value_string,
            boolean: x.value_boolean,
            integer: None,
            range: &x.value_range,
            ratio: &x.value_ratio,
            date_time: &x.value_date_time,
            period: &x.value_period,
            time: &x.value_time,
        });
        let components = x
            .component
            .iter()
            .map(|c| m::ResultComponent {
                code: c
                    .code
                    .as_ref()
                    .map(s::CodeableConcept::to_model)
                    .unwrap_or_default(),
                value: self.value(ValueX {
                    quantity: &c.value_quantity,
                    codeable_concept: &c.value_codeable_concept,
                    string: &c.value_string,
                    boolean: None,
                    integer: None,
                    range: &c.value_range,
                    ratio: &c.value_ratio,
                    date_time: &c.value_date_time,
                    period: &c.value_period,
                    time: &c.value_time,
                }),
                interpretation: c
                    .interpretation
                    .as_ref()
                    .map(s::CodeableConcept::to_model)
                    .filter(|c| !c.is_empty())
                    .into_iter()
                    .collect(),
                reference_range: reference_ranges(&c.reference_range),
            })
            .collect();
        let t = m::TestResult {
            kind: Some(m::ResultKind::Observation),
            category: concepts(&x.category),
            code: x
                .code
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .unwrap_or_default(),
            status: code_of(&x.status, m::ResultStatus::from_code),
            effective,
            issued: self.date(&x.issued),
            value,
            absent_reason: x
                .data_absent_reason
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .filter(|c| !c.is_empty()),
            interpretation: x
                .interpretation
                .as_ref()
                .map(s::CodeableConcept::to_model)
                .filter(|c| !c.is_empty())
                .into_iter()
                .collect(),
            reference_range: reference_ranges(&x.reference_range),
            components,
            conclusion: None,
            members: self.record_ids(members.iter().cloned()),
            performer: x
                .performer
                .iter()
                .find_map(|r| self.index.name(&Some(r.clone()))),
            notes: text(&x.comment).into_iter().collect(),
        };
        let (subject, subject_nhs) = subject_of(&x.subject);
        Ok((
            Mapped {
                entry: m::Entry::Result(t),
                subject,
                subject_nhs,
                last_updated: last_updated(&x.meta),
            },
            members,
        ))
    }

    fn value(&mut self, v: ValueX<'_>) -> Option<m::ResultValue> {
        v.to_model(|d| self.date(d))
    }
}

fn notes(n: &[s::Annotation]) -> Vec<String> {
    n.iter().filter_map(|a| text(&a.text)).collect()
}

fn reference_ranges(v: &[s::ReferenceRange]) -> Vec<m::ReferenceRange> {
    v.iter()
        .filter_map(|r| reference_range(&r.low, &r.high, &r.text))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_reduce_to_type_and_id() {
        assert_eq!(type_and_id("Patient/1").as_deref(), Some("Patient/1"));
        assert_eq!(
            type_and_id("https://x.nhs.uk/STU3/1/Patient/1/_history/2").as_deref(),
            Some("Patient/1")
        );
        assert_eq!(type_and_id("urn:uuid:1234"), None);
        assert_eq!(type_and_id("#Resolved-1"), None);
        assert_eq!(type_and_id("Referral items are not supported"), None);
    }
}
