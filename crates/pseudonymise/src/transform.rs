//! A person's merged record made pseudonymous: what is kept is built field
//! by field from an allow-list, so a field added to the model later is
//! left out until someone decides it is safe.

use icr_merge::{MergedItem, MergedRecord};
use icr_model::time::Date;
use icr_model::{
    self as model, AlertStatus, AllergyCategory, AllergyClinicalStatus, AppointmentKind,
    AppointmentStatus, CareTeamStatus, CodeSystem, Concept, ConditionClinicalStatus, Criticality,
    DocumentStatus, Entry, Gender, MedicationKind, MedicationStatus, NhsNumber, OdsCode,
    PartialDateTime, Priority, ProcedureStatus, Provenance, RecordId, RequestStatus, ResultKind,
    ResultStatus, Section, Severity, SourceId, Verification,
};
use serde::Serialize;

use crate::generalise::{AgeBand, AreaCode, AreaLookup, District, age_band, birth_month};
use crate::key::{ProjectKey, Pseudonym};
use crate::spec::{BirthLevel, PostcodeLevel, Spec};

/// Why a pseudonymiser could not be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetupError {
    /// The spec asks for area codes but no lookup was supplied.
    #[error("the extract specification asks for postcode areas but no area lookup was supplied")]
    NoAreaLookup,
}

/// Pseudonymises merged records under one key, spec and date.
#[derive(Debug, Clone, Copy)]
pub struct Pseudonymiser<'a> {
    key: &'a ProjectKey,
    spec: &'a Spec,
    today: Date,
    lookup: Option<&'a AreaLookup>,
}

/// One person's pseudonymised record: one `person` and their items.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PseudonymisedRecord {
    /// Who (pseudonymously) and their generalised details.
    pub person: Person,
    /// The allowed sections' items, in the merged record's order (by
    /// section, most recent first within one).
    pub items: Vec<PseudoItem>,
}

/// The person: a pseudonym and generalised details (all absent when the
/// spec does not allow `demographics`).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Person {
    /// The person's pseudonym.
    pub person_id: Pseudonym,
    /// Year of birth (spec `month_year`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_birth: Option<i32>,
    /// Month of birth, 1–12 (spec `month_year`, when the source knows it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_of_birth: Option<u8>,
    /// Age band on the extract's date (spec `age_band`; with `month_year`,
    /// the band the year and month of birth give, when they give one).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_band: Option<AgeBand>,
    /// Administrative gender.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
    /// Postcode district of the home address (spec `district`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub postcode_district: Option<District>,
    /// Area of the home address (spec `area`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub area: Option<AreaCode>,
    /// The registered GP practice.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registered_practice: Option<OdsCode>,
    /// Recorded as deceased.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub deceased: bool,
    /// Year of death, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub year_of_death: Option<i32>,
    /// Month of death, when recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub month_of_death: Option<u8>,
}

/// One item: the section's kept fields and where it came from.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PseudoItem {
    /// Every source record the item stands for.
    pub sources: Vec<ItemSource>,
    /// The sources' copies differ in some field (which, and how, is not
    /// kept: the values may be free text).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub sources_differ: bool,
    /// The item, tagged with its section in `section`.
    #[serde(flatten)]
    pub entry: PseudoEntry,
}

/// One source record behind an item.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ItemSource {
    /// The registered source.
    pub source: SourceId,
    /// The source organisation's ODS code.
    pub ods_code: OdsCode,
    /// The record's pseudonym, in place of the source's id for it.
    pub record_id: Pseudonym,
}

/// A code kept from a concept: a national terminology's code (SNOMED CT,
/// dm+d, LOINC, ICD-10, Read, CTV3, UCUM) whose shape fits that
/// terminology. Display text, free text and local codes are dropped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Code {
    /// The system.
    pub system: CodeSystem,
    /// The code.
    pub code: String,
}

/// The item of each section, by the section's name in `section`.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "section", rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum PseudoEntry {
    Contacts(ContactItem),
    CareTeam(CareTeamItem),
    Medications(MedicationItem),
    Allergies(AllergyItem),
    Conditions(ConditionItem),
    Results(Box<ResultItem>),
    Documents(DocumentItem),
    Procedures(ProcedureItem),
    Referrals(ReferralItem),
    Appointments(AppointmentItem),
    Alerts(AlertItem),
}

/// Shorthands for the many optional fields below.
type Codes = Vec<Code>;
type When = Option<PartialDateTime>;

macro_rules! out_struct {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $f:ident : $t:ty,)* }) => {
        $(#[$m])*
        #[derive(Clone, Debug, PartialEq, Serialize)]
        pub struct $name {
            $($(#[$fm])* #[serde(skip_serializing_if = "Skip::skip")] pub $f: $t,)*
        }
    };
}

/// What is left out when written: empty lists, absent values, `false`.
trait Skip {
    fn skip(&self) -> bool;
}
impl<T> Skip for Option<T> {
    fn skip(&self) -> bool {
        self.is_none()
    }
}
impl<T> Skip for Vec<T> {
    fn skip(&self) -> bool {
        self.is_empty()
    }
}
impl Skip for bool {
    fn skip(&self) -> bool {
        !*self
    }
}

out_struct!(
    /// A contact: the relationship only (the contact's name, address and
    /// telecom are dropped).
    ContactItem {
        /// Relationship to the person.
        relationship: Codes,
        /// Current.
        active: Option<bool>,
        /// Since.
        period_start: When,
    }
);

out_struct!(
    /// A care team: its kind, status and period (names, members' names,
    /// managing organisations as text and telecom dropped).
    CareTeamItem {
        /// Status.
        status: Option<CareTeamStatus>,
        /// Kind of team.
        category: Codes,
        /// Involved since.
        period_start: When,
        /// Involved until.
        period_end: When,
        /// Members' roles.
        member_roles: Codes,
    }
);

out_struct!(
    /// A medication (dosage text, prescriber and notes dropped).
    MedicationItem {
        /// The medicine.
        medication: Codes,
        /// Statement or prescription.
        kind: Option<MedicationKind>,
        /// Status.
        status: Option<MedicationStatus>,
        /// Start.
        start: When,
        /// End.
        end: When,
        /// Recorded.
        recorded: When,
        /// Why.
        reasons: Codes,
    }
);

out_struct!(
    /// An allergy (reaction descriptions and notes dropped).
    AllergyItem {
        /// The substance or allergy.
        code: Codes,
        /// Clinical status.
        clinical_status: Option<AllergyClinicalStatus>,
        /// Verification.
        verification: Option<Verification>,
        /// Category.
        category: Vec<AllergyCategory>,
        /// Criticality.
        criticality: Option<Criticality>,
        /// Manifestations of every reaction.
        manifestations: Codes,
        /// The worst reaction's severity.
        severity: Option<Severity>,
        /// Onset.
        onset: When,
        /// Recorded.
        recorded: When,
    }
);

out_struct!(
    /// A condition (notes dropped).
    ConditionItem {
        /// The condition.
        code: Codes,
        /// Clinical status.
        clinical_status: Option<ConditionClinicalStatus>,
        /// Verification.
        verification: Option<Verification>,
        /// Category.
        category: Codes,
        /// Severity.
        severity: Codes,
        /// Onset.
        onset: When,
        /// Abatement.
        abatement: When,
        /// Recorded.
        recorded: When,
    }
);

out_struct!(
    /// A result (text values, conclusions, range texts, performer and
    /// notes dropped; a report's members by their pseudonyms).
    ResultItem {
        /// Observation or report.
        kind: Option<ResultKind>,
        /// Category.
        category: Codes,
        /// What was tested.
        code: Codes,
        /// Status.
        status: Option<ResultStatus>,
        /// When taken.
        effective: When,
        /// When released.
        issued: When,
        /// The value, unless it was text.
        value: Option<Value>,
        /// Why there is no value.
        absent_reason: Codes,
        /// Abnormal flags.
        interpretation: Codes,
        /// Expected ranges (bounds only).
        reference_range: Vec<Range>,
        /// Parts of a multi-part result.
        components: Vec<ComponentItem>,
        /// A report's members.
        members: Vec<Pseudonym>,
    }
);

out_struct!(
    /// One part of a multi-part result.
    ComponentItem {
        /// What the part measures.
        code: Codes,
        /// The value, unless it was text.
        value: Option<Value>,
        /// Abnormal flags.
        interpretation: Codes,
        /// Expected ranges (bounds only).
        reference_range: Vec<Range>,
    }
);

out_struct!(
    /// A measured amount: the number, its bound and its unit where the unit
    /// is a short code.
    Amount {
        /// The number.
        value: Option<f64>,
        /// `<`, `<=`, `>=` or `>`.
        comparator: Option<&'static str>,
        /// The unit (UCUM-shaped: no spaces, at most 20 characters).
        unit: Option<String>,
        /// The coded unit, same shape.
        unit_code: Option<String>,
    }
);

out_struct!(
    /// A range's bounds.
    Range {
        /// Lower.
        low: Option<Amount>,
        /// Upper.
        high: Option<Amount>,
    }
);

/// A result's value; text values are dropped.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Value {
    Quantity(Amount),
    Coded(Codes),
    Boolean(bool),
    Integer(i64),
    Range(Range),
    DateTime(PartialDateTime),
}

out_struct!(
    /// A document: its type, status and date only (title, authors,
    /// content and text dropped; a care plan's activities too).
    DocumentItem {
        /// Type.
        doc_type: Codes,
        /// Category.
        category: Codes,
        /// Status.
        status: Option<DocumentStatus>,
        /// Written.
        date: When,
        /// A care plan's status.
        care_plan_status: Option<RequestStatus>,
        /// A care plan's start.
        care_plan_start: When,
        /// A care plan's end.
        care_plan_end: When,
    }
);

out_struct!(
    /// A procedure or immunisation (performers, notes, dose text other
    /// than a number, and lot numbers dropped).
    ProcedureItem {
        /// The procedure.
        code: Codes,
        /// Status.
        status: Option<ProcedureStatus>,
        /// Performed.
        performed: When,
        /// Ended.
        performed_end: When,
        /// Body site.
        body_site: Codes,
        /// Outcome.
        outcome: Codes,
        /// An immunisation's vaccine.
        vaccine: Codes,
        /// An immunisation's dose number, when the source gives a number.
        dose_number: Option<u8>,
        /// Why an immunisation was not given.
        reason_not_given: Codes,
        /// Set for an immunisation.
        immunisation: bool,
    }
);

out_struct!(
    /// A referral (requester, performers and notes dropped).
    ReferralItem {
        /// What is requested.
        code: Codes,
        /// Category.
        category: Codes,
        /// Status.
        status: Option<RequestStatus>,
        /// Priority.
        priority: Option<Priority>,
        /// Made.
        authored: When,
        /// Why.
        reasons: Codes,
    }
);

out_struct!(
    /// An appointment or encounter (description, location and participants
    /// dropped).
    AppointmentItem {
        /// Appointment or encounter.
        kind: Option<AppointmentKind>,
        /// Status.
        status: Option<AppointmentStatus>,
        /// Setting.
        class: Codes,
        /// Service.
        service_type: Codes,
        /// Start.
        start: When,
        /// End.
        end: When,
        /// Why.
        reasons: Codes,
    }
);

out_struct!(
    /// An alert (author dropped).
    AlertItem {
        /// What it says.
        code: Codes,
        /// Status.
        status: Option<AlertStatus>,
        /// Category.
        category: Codes,
        /// From.
        period_start: When,
        /// Until.
        period_end: When,
    }
);

impl<'a> Pseudonymiser<'a> {
    /// A pseudonymiser for one extract run: `today` is the date ages are
    /// reckoned on; `lookup` is required when the spec asks for areas.
    pub fn new(
        key: &'a ProjectKey,
        spec: &'a Spec,
        today: Date,
        lookup: Option<&'a AreaLookup>,
    ) -> Result<Self, SetupError> {
        if spec.postcode == PostcodeLevel::Area && lookup.is_none() {
            return Err(SetupError::NoAreaLookup);
        }
        Ok(Self {
            key,
            spec,
            today,
            lookup,
        })
    }

    /// The person `nhs` (the cohort's NHS number, not the sources') with
    /// their merged record made pseudonymous.
    pub fn pseudonymise(&self, nhs: NhsNumber, record: &MergedRecord) -> PseudonymisedRecord {
        let demographics = record
            .patient
            .as_ref()
            .filter(|_| self.spec.allows(Section::Demographics))
            .map(|p| &p.demographics);
        // Whether or not the spec allows demographics: the date of birth
        // is personal either way.
        let ctx = Ctx {
            key: self.key,
            birth_day: record
                .patient
                .as_ref()
                .and_then(|p| p.demographics.birth_date.as_ref())
                .and_then(PartialDateTime::date),
            nhs,
        };
        let items = record
            .sections
            .iter()
            .filter(|(s, _)| self.spec.allows(**s))
            .flat_map(|(_, items)| items)
            .filter(|i| self.spec.restricted_items || !i.provenance.iter().any(|p| p.restricted))
            .map(|i| ctx.item(i))
            .collect();
        PseudonymisedRecord {
            person: self.person(nhs, demographics),
            items,
        }
    }

    fn person(&self, nhs: NhsNumber, d: Option<&model::Demographics>) -> Person {
        let mut p = Person {
            person_id: Pseudonym::person(self.key, nhs),
            year_of_birth: None,
            month_of_birth: None,
            age_band: None,
            gender: None,
            postcode_district: None,
            area: None,
            registered_practice: None,
            deceased: false,
            year_of_death: None,
            month_of_death: None,
        };
        let Some(d) = d else { return p };
        if let Some(birth) = &d.birth_date {
            match self.spec.date_of_birth {
                BirthLevel::MonthYear => {
                    let (y, m) = birth_month(birth);
                    p.year_of_birth = Some(y);
                    p.month_of_birth = m;
                    // The band the published year and month give (none in
                    // the month a band changes): no more than they say,
                    // for the summary's age columns.
                    let month = m.and_then(|m| icr_model::time::Month::try_from(m).ok());
                    p.age_band =
                        month.and_then(|m| age_band(&PartialDateTime::YearMonth(y, m), self.today));
                }
                BirthLevel::AgeBand => p.age_band = age_band(birth, self.today),
            }
        }
        p.gender = d.gender;
        if let Some(death) = &d.deceased {
            p.deceased = true;
            if let model::Deceased::At(at) = death {
                let (y, m) = birth_month(at);
                p.year_of_death = Some(y);
                p.month_of_death = m;
            }
        }
        // A sensitive person's whereabouts are not given, even coarsely:
        // neither area nor practice.
        if d.sensitive {
            return p;
        }
        p.registered_practice = d.registered_practice.clone();
        let district = d
            .home_address()
            .and_then(|a| a.postcode.as_deref())
            .and_then(District::of_postcode);
        match self.spec.postcode {
            PostcodeLevel::None => {}
            PostcodeLevel::District => p.postcode_district = district,
            PostcodeLevel::Area => {
                p.area = district
                    .as_ref()
                    .zip(self.lookup)
                    .and_then(|(d, l)| l.area(d).cloned());
            }
        }
        p
    }
}

/// What every item's transform needs.
struct Ctx<'a> {
    key: &'a ProjectKey,
    /// The day of birth: an event dated that day is kept to its month, so
    /// that a birth-day event does not give the date of birth away.
    birth_day: Option<Date>,
    /// The person's NHS number: a code or number that spells it is dropped.
    nhs: NhsNumber,
}

impl Ctx<'_> {
    fn item(&self, item: &MergedItem) -> PseudoItem {
        PseudoItem {
            sources: item.provenance.iter().map(|p| self.source(p)).collect(),
            sources_differ: !item.conflicts.is_empty(),
            entry: self.entry(&item.entry),
        }
    }

    fn source(&self, p: &Provenance) -> ItemSource {
        ItemSource {
            source: p.origin.id.clone(),
            ods_code: p.origin.ods_code.clone(),
            record_id: self.record(&p.record),
        }
    }

    fn record(&self, id: &RecordId) -> Pseudonym {
        Pseudonym::record(self.key, id.source(), id.local())
    }

    fn when(&self, d: &Option<PartialDateTime>) -> When {
        let d = (*d)?;
        match (d.date(), self.birth_day) {
            (Some(day), Some(birth)) if day == birth => {
                Some(PartialDateTime::YearMonth(day.year(), day.month()))
            }
            _ => Some(d),
        }
    }

    fn entry(&self, e: &Entry) -> PseudoEntry {
        match e {
            Entry::Contact(c) => PseudoEntry::Contacts(ContactItem {
                relationship: self.codes_of(&c.relationship),
                active: c.active,
                period_start: self.when(&c.period_start),
            }),
            Entry::CareTeam(c) => PseudoEntry::CareTeam(CareTeamItem {
                status: c.status,
                category: self.codes_of(&c.category),
                period_start: self.when(&c.period_start),
                period_end: self.when(&c.period_end),
                member_roles: c
                    .participants
                    .iter()
                    .flat_map(|m| self.codes_of(&m.roles))
                    .collect(),
            }),
            Entry::Medication(m) => PseudoEntry::Medications(MedicationItem {
                medication: self.codes(&m.medication),
                kind: m.kind,
                status: m.status,
                start: self.when(&m.start),
                end: self.when(&m.end),
                recorded: self.when(&m.recorded),
                reasons: self.codes_of(&m.reasons),
            }),
            Entry::Allergy(a) => PseudoEntry::Allergies(AllergyItem {
                code: self.codes(&a.code),
                clinical_status: a.clinical_status,
                verification: a.verification,
                category: a.category.clone(),
                criticality: a.criticality,
                manifestations: a
                    .reactions
                    .iter()
                    .flat_map(|r| self.codes_of(&r.manifestations))
                    .collect(),
                severity: a.reactions.iter().filter_map(|r| r.severity).max(),
                onset: self.when(&a.onset),
                recorded: self.when(&a.recorded),
            }),
            Entry::Condition(c) => PseudoEntry::Conditions(ConditionItem {
                code: self.codes(&c.code),
                clinical_status: c.clinical_status,
                verification: c.verification,
                category: self.codes_of(&c.category),
                severity: c
                    .severity
                    .as_ref()
                    .map(|c| self.codes(c))
                    .unwrap_or_default(),
                onset: self.when(&c.onset),
                abatement: self.when(&c.abatement),
                recorded: self.when(&c.recorded),
            }),
            Entry::Result(r) => PseudoEntry::Results(Box::new(ResultItem {
                kind: r.kind,
                category: self.codes_of(&r.category),
                code: self.codes(&r.code),
                status: r.status,
                effective: self.when(&r.effective),
                issued: self.when(&r.issued),
                value: r.value.as_ref().and_then(|v| self.value(v)),
                absent_reason: r
                    .absent_reason
                    .as_ref()
                    .map(|c| self.codes(c))
                    .unwrap_or_default(),
                interpretation: self.codes_of(&r.interpretation),
                reference_range: r.reference_range.iter().map(|r| self.range_of(r)).collect(),
                components: r
                    .components
                    .iter()
                    .map(|c| ComponentItem {
                        code: self.codes(&c.code),
                        value: c.value.as_ref().and_then(|v| self.value(v)),
                        interpretation: self.codes_of(&c.interpretation),
                        reference_range: c
                            .reference_range
                            .iter()
                            .map(|r| self.range_of(r))
                            .collect(),
                    })
                    .collect(),
                members: r.members.iter().map(|m| self.record(m)).collect(),
            })),
            Entry::Document(d) => PseudoEntry::Documents(DocumentItem {
                doc_type: self.codes(&d.doc_type),
                category: self.codes_of(&d.category),
                status: d.status,
                date: self.when(&d.date),
                care_plan_status: d.care_plan.as_ref().and_then(|c| c.status),
                care_plan_start: d
                    .care_plan
                    .as_ref()
                    .and_then(|c| self.when(&c.period_start)),
                care_plan_end: d.care_plan.as_ref().and_then(|c| self.when(&c.period_end)),
            }),
            Entry::Procedure(p) => {
                let imm = p.immunisation.as_ref();
                PseudoEntry::Procedures(ProcedureItem {
                    code: self.codes(&p.code),
                    status: p.status,
                    performed: self.when(&p.performed),
                    performed_end: self.when(&p.performed_end),
                    body_site: self.codes_of(&p.body_site),
                    outcome: p
                        .outcome
                        .as_ref()
                        .map(|c| self.codes(c))
                        .unwrap_or_default(),
                    vaccine: imm.map(|i| self.codes(&i.vaccine)).unwrap_or_default(),
                    dose_number: imm
                        .and_then(|i| i.dose.as_deref())
                        .and_then(|d| d.trim().parse().ok()),
                    reason_not_given: imm
                        .and_then(|i| i.reason_not_given.as_ref())
                        .map(|c| self.codes(c))
                        .unwrap_or_default(),
                    immunisation: imm.is_some(),
                })
            }
            Entry::Referral(r) => PseudoEntry::Referrals(ReferralItem {
                code: self.codes(&r.code),
                category: self.codes_of(&r.category),
                status: r.status,
                priority: r.priority,
                authored: self.when(&r.authored),
                reasons: self.codes_of(&r.reasons),
            }),
            Entry::Appointment(a) => PseudoEntry::Appointments(AppointmentItem {
                kind: a.kind,
                status: a.status,
                class: a.class.as_ref().map(|c| self.codes(c)).unwrap_or_default(),
                service_type: self.codes_of(&a.service_type),
                start: self.when(&a.start),
                end: self.when(&a.end),
                reasons: self.codes_of(&a.reasons),
            }),
            Entry::Alert(a) => PseudoEntry::Alerts(AlertItem {
                code: self.codes(&a.code),
                status: a.status,
                category: self.codes_of(&a.category),
                period_start: self.when(&a.period_start),
                period_end: self.when(&a.period_end),
            }),
        }
    }

    fn value(&self, v: &model::ResultValue) -> Option<Value> {
        use model::ResultValue as V;
        Some(match v {
            V::Quantity(q) => Value::Quantity(self.amount(q)),
            V::Coded(c) => Value::Coded(self.codes(c)),
            V::Text(_) => return None,
            V::Boolean(b) => Value::Boolean(*b),
            V::Integer(i) if self.spells_nhs(&i.to_string()) => return None,
            V::Integer(i) => Value::Integer(*i),
            V::Range { low, high } => Value::Range(Range {
                low: low.as_ref().map(|q| self.amount(q)),
                high: high.as_ref().map(|q| self.amount(q)),
            }),
            V::DateTime(d) => Value::DateTime(self.when(&Some(*d))?),
        })
    }

    fn range_of(&self, r: &model::ReferenceRange) -> Range {
        Range {
            low: r.low.as_ref().map(|q| self.amount(q)),
            high: r.high.as_ref().map(|q| self.amount(q)),
        }
    }

    fn amount(&self, q: &model::Quantity) -> Amount {
        Amount {
            value: q.value.filter(|v| !self.spells_nhs(&v.to_string())),
            comparator: q
                .comparator
                .as_deref()
                .and_then(|c| ["<", "<=", ">=", ">"].into_iter().find(|k| *k == c.trim())),
            unit: q.unit.as_deref().and_then(|u| self.unit(u)),
            unit_code: q.code.as_deref().and_then(|u| self.unit(u)),
        }
    }

    /// A unit, when UCUM-shaped and not the person's NHS number.
    fn unit(&self, u: &str) -> Option<String> {
        unit_shaped(u).filter(|u| !self.spells_nhs(u))
    }

    /// The kept codes of several concepts.
    fn codes_of(&self, concepts: &[Concept]) -> Codes {
        concepts.iter().flat_map(|c| self.codes(c)).collect()
    }

    /// The kept codes of a concept: national terminologies' codes whose shape
    /// fits the terminology.
    fn codes(&self, c: &Concept) -> Codes {
        c.codings
            .iter()
            .filter(|k| code_shaped(&k.system, k.code.trim()) && !self.spells_nhs(&k.code))
            .map(|k| Code {
                system: k.system.clone(),
                code: k.code.trim().to_string(),
            })
            .collect()
    }

    /// Whether `text` holds the person's NHS number (a code or value field
    /// misused for it).
    fn spells_nhs(&self, text: &str) -> bool {
        text.contains(self.nhs.as_str())
    }
}

/// A unit kept only when shaped like a UCUM code: printable ASCII with no
/// spaces, at most 20 characters.
fn unit_shaped(u: &str) -> Option<String> {
    let u = u.trim();
    ((1..=20).contains(&u.len()) && u.bytes().all(|b| b.is_ascii_graphic())).then(|| u.to_string())
}

/// Whether `code` has the shape of a code of `system`; local systems'
/// codes never pass (they can hold anything).
fn code_shaped(system: &CodeSystem, code: &str) -> bool {
    let b = code.as_bytes();
    let digits = |s: &[u8]| !s.is_empty() && s.iter().all(u8::is_ascii_digit);
    match system {
        // Concept SCTIDs: 6 to 18 digits, no leading zero, partition
        // `00` or `10` before the check digit (a description's or
        // relationship's id, or most other numbers, are not concepts).
        CodeSystem::Snomed | CodeSystem::Dmd => {
            (6..=18).contains(&b.len())
                && digits(b)
                && b[0] != b'0'
                && matches!(&b[b.len() - 3..b.len() - 1], b"00" | b"10")
        }
        // 1-8 digits, a hyphen and a check digit, optionally LA/LP/LG/LL.
        CodeSystem::Loinc => {
            let body = match b {
                [b'L', b'A' | b'P' | b'G' | b'L', rest @ ..] => rest,
                _ => b,
            };
            matches!(body.split_last_chunk::<2>(), Some((n, [b'-', c]))
                if (1..=8).contains(&n.len()) && digits(n) && c.is_ascii_digit())
        }
        // A letter, two digits, then optionally a dot and up to 4 more.
        CodeSystem::Icd10 => match b {
            [l, d1, d2, rest @ ..] => {
                let rest = rest.strip_prefix(b".").unwrap_or(rest);
                l.is_ascii_uppercase()
                    && d1.is_ascii_digit()
                    && d2.is_ascii_digit()
                    && rest.len() <= 4
                    && rest
                        .iter()
                        .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
            }
            _ => false,
        },
        // Five letters, digits or dots (Read v2 may add a 2-digit term code).
        CodeSystem::ReadV2 | CodeSystem::Ctv3 => {
            let (five, term) = b.split_at(b.len().min(5));
            five.len() == 5
                && five.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
                && (term.is_empty()
                    || (*system == CodeSystem::ReadV2 && term.len() == 2 && digits(term)))
        }
        CodeSystem::Ucum => unit_shaped(code).is_some(),
        CodeSystem::Other(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_shapes() {
        let ok = [
            (CodeSystem::Snomed, "44054006"),
            (CodeSystem::Snomed, "1000651000000109"),
            (CodeSystem::Dmd, "322236009"),
            (CodeSystem::Loinc, "2823-3"),
            (CodeSystem::Loinc, "LA6576-8"),
            (CodeSystem::Icd10, "E11"),
            (CodeSystem::Icd10, "E11.9"),
            (CodeSystem::Icd10, "E119"),
            (CodeSystem::ReadV2, "C10.."),
            (CodeSystem::ReadV2, "C10..00"),
            (CodeSystem::Ctv3, "XaJQp"),
            (CodeSystem::Ucum, "mmol/L"),
        ];
        for (s, c) in ok {
            assert!(code_shaped(&s, c), "{s:?} {c}");
        }
        let bad = [
            (CodeSystem::Snomed, "Diabetes"),
            (CodeSystem::Snomed, "01234567"),
            (CodeSystem::Snomed, "12345"),
            (CodeSystem::Snomed, "9434765919"),
            (CodeSystem::Snomed, "44054016"),
            (CodeSystem::Loinc, "2823"),
            (CodeSystem::Loinc, "2823-33"),
            (CodeSystem::Icd10, "Smith"),
            (CodeSystem::Icd10, "E11.12345"),
            (CodeSystem::Ctv3, "XaJQp00"),
            (CodeSystem::ReadV2, "C10"),
            (CodeSystem::Ucum, "mmol per litre"),
            (CodeSystem::Other("urn:local".into()), "X1"),
            (CodeSystem::unnamed(), "44054006"),
        ];
        for (s, c) in bad {
            assert!(!code_shaped(&s, c), "{s:?} {c}");
        }
    }

    fn ctx(key: &ProjectKey) -> Ctx<'_> {
        Ctx {
            key,
            birth_day: None,
            nhs: NhsNumber::parse("9434765919").unwrap(),
        }
    }

    #[test]
    fn the_persons_nhs_number_is_never_a_code_or_value() {
        let key = ProjectKey::from_bytes(&[1; 32]).unwrap();
        // An NHS number shaped like a concept id (partition 00).
        let nhs = (999_123_400..999_123_500)
            .filter(|n| n % 100 == 0 || n % 100 == 10)
            .find_map(NhsNumber::from_first_nine)
            .unwrap();
        let c = Ctx { nhs, ..ctx(&key) };
        assert!(code_shaped(&CodeSystem::Snomed, nhs.as_str()));
        let concept = Concept {
            codings: vec![
                model::Coding::new(CodeSystem::Snomed, nhs.as_str(), "x"),
                model::Coding::new(CodeSystem::Snomed, "44054006", "x"),
            ],
            text: None,
        };
        assert_eq!(
            c.codes(&concept),
            vec![Code {
                system: CodeSystem::Snomed,
                code: "44054006".into()
            }]
        );
        let n: i64 = nhs.as_str().parse().unwrap();
        assert_eq!(c.value(&model::ResultValue::Integer(n)), None);
        assert_eq!(
            c.value(&model::ResultValue::Integer(42)),
            Some(Value::Integer(42))
        );
        let q = model::Quantity {
            value: Some(n as f64),
            unit: Some(nhs.as_str().into()),
            ..Default::default()
        };
        assert_eq!(c.amount(&q).value, None);
        assert_eq!(c.amount(&q).unit, None);
    }

    #[test]
    fn comparators_and_units() {
        let key = ProjectKey::from_bytes(&[1; 32]).unwrap();
        let c = ctx(&key);
        let q = model::Quantity {
            value: Some(5.5),
            comparator: Some("<=".into()),
            unit: Some("mmol/L".into()),
            code: Some("mmol per litre".into()),
        };
        let a = c.amount(&q);
        assert_eq!(a.comparator, Some("<="));
        assert_eq!(a.unit.as_deref(), Some("mmol/L"));
        assert_eq!(a.unit_code, None);
        let odd = model::Quantity {
            comparator: Some("about".into()),
            ..q
        };
        assert_eq!(c.amount(&odd).comparator, None);
    }
}
