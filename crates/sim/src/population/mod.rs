//! The synthetic population: who exists, what is true about them, and what
//! each organisation's system holds about them.
//!
//! Generation is pure and deterministic: the same seed and size give the
//! same population on every machine. The first seven patients are
//! hand-written stories (see `config/demo/README.md`); the rest are drawn at
//! random from a catalogue of real codes.

mod build;
pub(crate) mod codes;
pub(crate) mod generate;
mod joined;
pub(crate) mod names;
mod region;
mod stories;
mod stories_region;

use std::collections::HashMap;

use icr_model::{
    Allergy, AppointmentKind, Condition, Contact, Demographics, Entry, Medication, MedicationKind,
    NhsNumber, PartialDateTime, RecordId, ResultKind, Section, SourceId,
};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::org::{COUNT, Org};

pub use stories::STORY_COUNT;

/// The date the generated histories lead up to. History never depends on
/// the wall clock; only future appointments are placed after the "as of"
/// date the population is generated for.
pub const REFERENCE_DATE: Date = time::macros::date!(2026 - 11 - 01);

/// A simulated population of patients and the organisations holding them.
#[derive(Clone, Debug)]
pub struct Population {
    seed: u64,
    as_of: Date,
    patients: Vec<Patient>,
    by_nhs: HashMap<NhsNumber, usize>,
    by_local: HashMap<(Org, String), (usize, usize)>,
}

/// A story patient's NHS number and what their story shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Story {
    /// The patient's NHS number.
    pub nhs_number: NhsNumber,
    /// What a clinician should see, in one line.
    pub summary: &'static str,
}

/// One person: the truth about them, and each organisation's copy.
#[derive(Clone, Debug, PartialEq)]
pub struct Patient {
    /// The person's NHS number (999 test range).
    pub nhs_number: NhsNumber,
    /// For a hand-written story patient, a one-line summary of the story.
    pub story: Option<&'static str>,
    /// What is true about the person.
    pub truth: Truth,
    /// The organisations that hold a record of the person, with what each holds.
    pub holdings: Vec<Holding>,
}

/// What is true about a person, from which each organisation's records are
/// drawn. Organisations hold copies of these facts (sometimes stale or
/// differing) plus their own encounters, results and documents.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Truth {
    /// Current demographics.
    pub demographics: Demographics,
    /// Conditions, past and present.
    pub conditions: Vec<Condition>,
    /// Medicines, current and past.
    pub medications: Vec<Medication>,
    /// Allergies.
    pub allergies: Vec<Allergy>,
    /// Next of kin and other contacts.
    pub contacts: Vec<Contact>,
}

/// What one organisation's system holds about one person.
#[derive(Clone, Debug, PartialEq)]
pub struct Holding {
    /// The organisation.
    pub org: Org,
    /// The organisation's own logical id for the person: never the NHS
    /// number, except at PDS, whose records are keyed by it.
    pub patient_id: String,
    /// The organisation's copy of the demographics (possibly out of date).
    /// PDS's copy is the reference: it names the registered practice
    /// (`registered_practice`) and says whether the record is restricted
    /// (`sensitive`).
    pub demographics: Demographics,
    /// When the organisation last changed its patient record.
    pub last_updated: OffsetDateTime,
    /// The version of the organisation's patient record (FHIR
    /// `meta.versionId`), 1 for a record never changed.
    pub version: u32,
    /// The organisation's records about the person.
    pub records: Vec<OrgRecord>,
}

/// One record in one organisation's system.
#[derive(Clone, Debug, PartialEq)]
pub struct OrgRecord {
    /// The FHIR resource type the record is served as (e.g. `Condition`).
    pub resource_type: &'static str,
    /// The record's logical id in that organisation's system.
    pub id: String,
    /// The record, in the unified model.
    pub entry: Entry,
    /// When the organisation last changed the record.
    pub last_updated: OffsetDateTime,
}

impl OrgRecord {
    /// The id as the source knows it: `Type/id`, e.g. `Condition/310042`.
    pub fn local_id(&self) -> String {
        format!("{}/{}", self.resource_type, self.id)
    }

    /// The source-namespaced record id, as the gateway would build it.
    pub fn record_id(&self, org: Org) -> Option<RecordId> {
        let source = SourceId::parse(org.id()).ok()?;
        RecordId::new(source, &self.local_id()).ok()
    }
}

impl Holding {
    /// The records served as one FHIR resource type, in order.
    pub fn records_of<'a>(
        &'a self,
        resource_type: &'a str,
    ) -> impl Iterator<Item = &'a OrgRecord> + 'a {
        self.records
            .iter()
            .filter(move |r| r.resource_type == resource_type)
    }

    /// The entries of one section, in order.
    pub fn entries_in(&self, section: Section) -> impl Iterator<Item = &Entry> + '_ {
        self.records
            .iter()
            .map(|r| &r.entry)
            .filter(move |e| e.section() == section)
    }

    /// The record with this logical id and type.
    pub fn record(&self, resource_type: &str, id: &str) -> Option<&OrgRecord> {
        self.records
            .iter()
            .find(|r| r.resource_type == resource_type && r.id == id)
    }
}

impl Patient {
    /// What `org` holds about the person, if it holds them.
    pub fn holding(&self, org: Org) -> Option<&Holding> {
        self.holdings.iter().find(|h| h.org == org)
    }

    /// The organisations holding the person.
    pub fn orgs(&self) -> impl Iterator<Item = Org> + '_ {
        self.holdings.iter().map(|h| h.org)
    }

    /// PDS's record of the person: the reference demographics.
    pub fn pds(&self) -> Option<&Holding> {
        self.holding(Org::PDS)
    }

    /// The GP practice the person is registered with, as PDS names it.
    pub fn registered_practice(&self) -> Option<Org> {
        let ods = self.pds()?.demographics.registered_practice.as_ref()?;
        Org::from_ods(ods.as_str())
    }

    /// Whether PDS marks the person's record sensitive (restricted).
    pub fn is_sensitive(&self) -> bool {
        self.pds().is_some_and(|h| h.demographics.sensitive)
    }
}

/// The FHIR resource type an entry is served as.
pub fn resource_type(entry: &Entry) -> &'static str {
    match entry {
        Entry::Contact(_) => "RelatedPerson",
        Entry::CareTeam(_) => "CareTeam",
        Entry::Medication(m) => match m.kind {
            Some(MedicationKind::Prescription) => "MedicationRequest",
            _ => "MedicationStatement",
        },
        Entry::Allergy(_) => "AllergyIntolerance",
        Entry::Condition(_) => "Condition",
        Entry::Result(r) => match r.kind {
            Some(ResultKind::Report) => "DiagnosticReport",
            _ => "Observation",
        },
        Entry::Document(d) if d.care_plan.is_some() => "CarePlan",
        Entry::Document(_) => "DocumentReference",
        Entry::Procedure(p) if p.immunisation.is_some() => "Immunization",
        Entry::Procedure(_) => "Procedure",
        Entry::Referral(_) => "ServiceRequest",
        Entry::Appointment(a) => match a.kind {
            Some(AppointmentKind::Encounter) => "Encounter",
            _ => "Appointment",
        },
        Entry::Alert(_) => "Flag",
    }
}

impl Population {
    /// Generates `size` patients from `seed`, with future appointments
    /// placed after [`REFERENCE_DATE`]. The same seed and size always give
    /// the same population.
    pub fn generate(seed: u64, size: usize) -> Self {
        Self::generate_as_of(seed, size, REFERENCE_DATE)
    }

    /// As [`Population::generate`], with future appointments placed after
    /// `as_of` (when it is later than [`REFERENCE_DATE`]); everything else
    /// is the same for any `as_of`.
    pub fn generate_as_of(seed: u64, size: usize, as_of: Date) -> Self {
        let as_of = as_of.max(REFERENCE_DATE);
        let mut ids = Ids::default();
        let clock = Clock { as_of };
        let mut patients = Vec::with_capacity(size);
        stories::write(&mut patients, &mut ids, &clock, size);
        generate::fill(&mut patients, &mut ids, &clock, seed, size);

        let mut by_nhs = HashMap::with_capacity(patients.len());
        let mut by_local = HashMap::new();
        for (pi, p) in patients.iter().enumerate() {
            by_nhs.insert(p.nhs_number, pi);
            for (hi, h) in p.holdings.iter().enumerate() {
                by_local.insert((h.org, h.patient_id.clone()), (pi, hi));
            }
        }
        Self {
            seed,
            as_of,
            patients,
            by_nhs,
            by_local,
        }
    }

    /// The seed the population was generated from.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The date future appointments are placed after.
    pub fn as_of(&self) -> Date {
        self.as_of
    }

    /// Number of patients.
    pub fn len(&self) -> usize {
        self.patients.len()
    }

    /// True when there are no patients.
    pub fn is_empty(&self) -> bool {
        self.patients.is_empty()
    }

    /// The patients, story patients first.
    pub fn iter(&self) -> std::slice::Iter<'_, Patient> {
        self.patients.iter()
    }

    /// The hand-written story patients (the first [`STORY_COUNT`]), with a one-line
    /// summary each.
    pub fn stories(&self) -> Vec<Story> {
        self.patients
            .iter()
            .filter_map(|p| {
                p.story.map(|summary| Story {
                    nhs_number: p.nhs_number,
                    summary,
                })
            })
            .collect()
    }

    /// The patient with this NHS number.
    pub fn get(&self, nhs: &NhsNumber) -> Option<&Patient> {
        self.by_nhs.get(nhs).and_then(|i| self.patients.get(*i))
    }

    /// Where the patient with this NHS number is in population order
    /// ([`Population::iter`]).
    pub fn position(&self, nhs: &NhsNumber) -> Option<usize> {
        self.by_nhs.get(nhs).copied()
    }

    /// The patient `org` knows by its logical id `patient_id`, with what
    /// `org` holds about them.
    pub fn by_local_id(&self, org: Org, patient_id: &str) -> Option<(&Patient, &Holding)> {
        let (pi, hi) = self.by_local.get(&(org, patient_id.to_string()))?;
        let p = self.patients.get(*pi)?;
        Some((p, p.holdings.get(*hi)?))
    }
}

impl<'a> IntoIterator for &'a Population {
    type Item = &'a Patient;
    type IntoIter = std::slice::Iter<'a, Patient>;
    fn into_iter(self) -> Self::IntoIter {
        self.patients.iter()
    }
}

/// Hands out each organisation's patient and record ids, in generation
/// order, so ids are stable for a seed. Each organisation counts on its
/// own, so adding records at one never changes another's ids.
pub(crate) struct Ids {
    next_patient: [u64; COUNT],
    next_record: [u64; COUNT],
}

impl Default for Ids {
    fn default() -> Self {
        Self {
            next_patient: [0; COUNT],
            next_record: [0; COUNT],
        }
    }
}

impl Ids {
    /// The first patient number at the organisation at position `i`.
    fn patient_base(i: usize) -> u64 {
        match i {
            0 => 310_001,
            1 => 520_001,
            2 => 730_001,
            3 => 940_001,
            _ => 100_001 + 1_000_000 * i as u64,
        }
    }

    /// The first record number at the organisation at position `i`.
    fn record_base(i: usize) -> u64 {
        1_000_000 * (i as u64 + 1) + 1
    }

    /// The next patient id at `org`, e.g. `p310001`.
    pub fn patient(&mut self, org: Org) -> String {
        let i = org.index();
        let next = self.next_patient.get_mut(i).map_or(0, |n| {
            *n += 1;
            *n - 1
        });
        format!("p{}", Self::patient_base(i) + next)
    }

    /// The next record number at `org`.
    pub fn record(&mut self, org: Org) -> u64 {
        let i = org.index();
        let next = self.next_record.get_mut(i).map_or(0, |n| {
            *n += 1;
            *n - 1
        });
        Self::record_base(i) + next
    }
}

/// The generation's sense of time.
pub(crate) struct Clock {
    /// Future appointments are placed after this date.
    pub as_of: Date,
}

impl Clock {
    /// `days` after the as-of date.
    pub fn ahead(&self, days: i64) -> Date {
        shift(self.as_of, days)
    }

    /// The latest instant a record may have been changed at.
    pub fn ceiling(&self) -> OffsetDateTime {
        at(self.as_of, 6, 0)
    }
}

/// `d` moved by `days`, or `d` itself if that leaves the calendar.
pub(crate) fn shift(d: Date, days: i64) -> Date {
    d.checked_add(Duration::days(days)).unwrap_or(d)
}

/// The instant `h:m` UTC on `d`.
pub(crate) fn at(d: Date, h: u8, m: u8) -> OffsetDateTime {
    let t = Time::from_hms(h % 24, m % 60, 0).unwrap_or(Time::MIDNIGHT);
    PrimitiveDateTime::new(d, t).assume_utc()
}

/// When a record last changed: a stopped medicine when it was stopped, a
/// closed problem when it ended, anything else at its own date.
fn changed_on(entry: &Entry) -> Option<&PartialDateTime> {
    match entry {
        Entry::Medication(m) => m.end.as_ref().or(entry.sort_date()),
        Entry::Condition(c) => c.abatement.as_ref().or(entry.sort_date()),
        _ => entry.sort_date(),
    }
}

/// A calendar date, or the reference date if the parts are not a date.
pub(crate) fn ymd(y: i32, m: u8, d: u8) -> Date {
    Month::try_from(m)
        .ok()
        .and_then(|m| Date::from_calendar_date(y, m, d).ok())
        .unwrap_or(REFERENCE_DATE)
}

impl Holding {
    /// A new, empty holding for `org` with the next patient id.
    pub(crate) fn new(
        ids: &mut Ids,
        org: Org,
        demographics: Demographics,
        last_updated: OffsetDateTime,
    ) -> Self {
        Self {
            org,
            patient_id: ids.patient(org),
            demographics,
            last_updated,
            version: 1,
            records: Vec::new(),
        }
    }

    /// Adds a record with the next record id, last updated a little after
    /// the record last changed (see [`changed_on`]; a booked appointment:
    /// when it was booked; an undated record: when the patient record was),
    /// never later than the clock's ceiling. Returns the record's source-namespaced id.
    pub(crate) fn push(&mut self, ids: &mut Ids, clock: &Clock, entry: Entry) -> Option<RecordId> {
        let n = ids.record(self.org);
        let when = changed_on(&entry)
            .map(|d| d.start_timestamp())
            .and_then(|ts| OffsetDateTime::from_unix_timestamp(ts).ok())
            .map(|t| t + Duration::minutes(60 * 9 + (n % 480) as i64))
            .unwrap_or(self.last_updated);
        // A booked appointment was last changed when it was booked.
        let when = if when > clock.ceiling() {
            clock.ceiling() - Duration::hours(24 * (1 + (n % 28) as i64) + (n % 9) as i64)
        } else {
            when
        };
        let record = OrgRecord {
            resource_type: resource_type(&entry),
            id: n.to_string(),
            entry,
            last_updated: when.min(clock.ceiling()),
        };
        let rid = record.record_id(self.org);
        self.records.push(record);
        rid
    }
}
