//! A pseudonymised record as rows of OMOP CDM 5.4 tables (pure): person,
//! visit_occurrence, condition_occurrence, drug_exposure, measurement,
//! procedure_occurrence and observation, with OMOP's column names and
//! types.
//!
//! - **Ids**: `person_id` is the first 16 hex digits of the person's
//!   pseudonym read as a number, top bit cleared (a non-negative int64);
//!   an event's id the same of its first source record's pseudonym (see
//!   [`id64`]); a part of a multi-part result (a blood pressure's
//!   systolic and diastolic) is a measurement of its own, its
//!   `measurement_event_id` the result's row. The same key gives the same
//!   ids on every run; two pseudonyms sharing 63 bits is a chance of about
//!   n²/2⁶⁴. `person_source_value` is the person's pseudonym.
//! - **Codes**: no vocabulary mapping is available to the extract, so every
//!   `*_concept_id` is 0 ("no matching concept"), and the source code is
//!   kept as the `*_source_value` (the code alone: SNOMED CT, dm+d, LOINC,
//!   …, preferred in the order each table gives). A user maps them with
//!   the OHDSI vocabularies (`source_to_concept_map`) after delivery.
//! - **Dates and values** are those of the NDJSON resource the row mirrors
//!   (see [`day`]): `DATE` columns the calendar date it writes, a date
//!   known only to the month or year its first day (OHDSI's convention);
//!   `*_datetime` only when the source gave a time, in UTC.
//! - **What is left out**: a row whose required date is unknown, items
//!   recorded in error, refuted, cancelled or not done, appointments that
//!   did not take place, and a report's grouping row (its members are
//!   measurements). `year_of_birth` is null when the specification gives
//!   age bands (OMOP requires it; the extract must not invent one).
//!   Contacts, care teams and documents have no OMOP table here.

use icr_model::time::{Date, Month, UtcOffset};
use icr_model::{
    AlertStatus, AppointmentKind, AppointmentStatus, CodeSystem, MedicationStatus, PartialDateTime,
    ProcedureStatus, RequestStatus, ResultKind, ResultStatus, Verification,
};
use icr_pseudonymise::PseudonymisedRecord;
use icr_pseudonymise::transform::{Amount, Code, PseudoEntry, Range, ResultItem, Value};
use serde::ser::{Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::fhir::item_id;

/// The physical and logical type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// `BIGINT`: Parquet INT64.
    Int64,
    /// `INTEGER`: Parquet INT32.
    Int32,
    /// `DATE`: Parquet INT32 (DATE), days since 1970-01-01.
    Date,
    /// `DATETIME`: Parquet INT64 (TIMESTAMP(MICROS, UTC)).
    Timestamp,
    /// `FLOAT`: Parquet DOUBLE.
    Float64,
    /// `VARCHAR`: Parquet BYTE_ARRAY (STRING).
    Text,
}

/// One column of a table.
#[derive(Clone, Copy, Debug)]
pub struct Column {
    /// The OMOP column name.
    pub name: &'static str,
    /// Its type.
    pub ty: ColumnType,
    /// OMOP's NOT NULL: a row without it is not written (a concept id
    /// without one is 0).
    pub required: bool,
}

const fn col(name: &'static str, ty: ColumnType, required: bool) -> Column {
    Column { name, ty, required }
}

use ColumnType::{Date as D, Float64 as F, Int32 as I, Int64 as L, Text as T, Timestamp as TS};

const PERSON: &[Column] = &[
    col("person_id", L, true),
    col("gender_concept_id", I, true),
    col("year_of_birth", I, false),
    col("month_of_birth", I, false),
    col("day_of_birth", I, false),
    col("birth_datetime", TS, false),
    col("race_concept_id", I, true),
    col("ethnicity_concept_id", I, true),
    col("location_id", L, false),
    col("provider_id", L, false),
    col("care_site_id", L, false),
    col("person_source_value", T, false),
    col("gender_source_value", T, false),
    col("gender_source_concept_id", I, false),
    col("race_source_value", T, false),
    col("race_source_concept_id", I, false),
    col("ethnicity_source_value", T, false),
    col("ethnicity_source_concept_id", I, false),
];

const VISIT: &[Column] = &[
    col("visit_occurrence_id", L, true),
    col("person_id", L, true),
    col("visit_concept_id", I, true),
    col("visit_start_date", D, true),
    col("visit_start_datetime", TS, false),
    col("visit_end_date", D, true),
    col("visit_end_datetime", TS, false),
    col("visit_type_concept_id", I, true),
    col("provider_id", L, false),
    col("care_site_id", L, false),
    col("visit_source_value", T, false),
    col("visit_source_concept_id", I, false),
    col("admitted_from_concept_id", I, false),
    col("admitted_from_source_value", T, false),
    col("discharged_to_concept_id", I, false),
    col("discharged_to_source_value", T, false),
    col("preceding_visit_occurrence_id", L, false),
];

const CONDITION: &[Column] = &[
    col("condition_occurrence_id", L, true),
    col("person_id", L, true),
    col("condition_concept_id", I, true),
    col("condition_start_date", D, true),
    col("condition_start_datetime", TS, false),
    col("condition_end_date", D, false),
    col("condition_end_datetime", TS, false),
    col("condition_type_concept_id", I, true),
    col("condition_status_concept_id", I, false),
    col("stop_reason", T, false),
    col("provider_id", L, false),
    col("visit_occurrence_id", L, false),
    col("visit_detail_id", L, false),
    col("condition_source_value", T, false),
    col("condition_source_concept_id", I, false),
    col("condition_status_source_value", T, false),
];

const DRUG: &[Column] = &[
    col("drug_exposure_id", L, true),
    col("person_id", L, true),
    col("drug_concept_id", I, true),
    col("drug_exposure_start_date", D, true),
    col("drug_exposure_start_datetime", TS, false),
    col("drug_exposure_end_date", D, true),
    col("drug_exposure_end_datetime", TS, false),
    col("verbatim_end_date", D, false),
    col("drug_type_concept_id", I, true),
    col("stop_reason", T, false),
    col("refills", I, false),
    col("quantity", F, false),
    col("days_supply", I, false),
    col("sig", T, false),
    col("route_concept_id", I, false),
    col("lot_number", T, false),
    col("provider_id", L, false),
    col("visit_occurrence_id", L, false),
    col("visit_detail_id", L, false),
    col("drug_source_value", T, false),
    col("drug_source_concept_id", I, false),
    col("route_source_value", T, false),
    col("dose_unit_source_value", T, false),
];

const MEASUREMENT: &[Column] = &[
    col("measurement_id", L, true),
    col("person_id", L, true),
    col("measurement_concept_id", I, true),
    col("measurement_date", D, true),
    col("measurement_datetime", TS, false),
    col("measurement_time", T, false),
    col("measurement_type_concept_id", I, true),
    col("operator_concept_id", I, false),
    col("value_as_number", F, false),
    col("value_as_concept_id", I, false),
    col("unit_concept_id", I, false),
    col("range_low", F, false),
    col("range_high", F, false),
    col("provider_id", L, false),
    col("visit_occurrence_id", L, false),
    col("visit_detail_id", L, false),
    col("measurement_source_value", T, false),
    col("measurement_source_concept_id", I, false),
    col("unit_source_value", T, false),
    col("unit_source_concept_id", I, false),
    col("value_source_value", T, false),
    col("measurement_event_id", L, false),
    col("meas_event_field_concept_id", I, false),
];

const PROCEDURE: &[Column] = &[
    col("procedure_occurrence_id", L, true),
    col("person_id", L, true),
    col("procedure_concept_id", I, true),
    col("procedure_date", D, true),
    col("procedure_datetime", TS, false),
    col("procedure_end_date", D, false),
    col("procedure_end_datetime", TS, false),
    col("procedure_type_concept_id", I, true),
    col("modifier_concept_id", I, false),
    col("quantity", I, false),
    col("provider_id", L, false),
    col("visit_occurrence_id", L, false),
    col("visit_detail_id", L, false),
    col("procedure_source_value", T, false),
    col("procedure_source_concept_id", I, false),
    col("modifier_source_value", T, false),
];

const OBSERVATION: &[Column] = &[
    col("observation_id", L, true),
    col("person_id", L, true),
    col("observation_concept_id", I, true),
    col("observation_date", D, true),
    col("observation_datetime", TS, false),
    col("observation_type_concept_id", I, true),
    col("value_as_number", F, false),
    col("value_as_string", T, false),
    col("value_as_concept_id", I, false),
    col("qualifier_concept_id", I, false),
    col("unit_concept_id", I, false),
    col("provider_id", L, false),
    col("visit_occurrence_id", L, false),
    col("visit_detail_id", L, false),
    col("observation_source_value", T, false),
    col("observation_source_concept_id", I, false),
    col("unit_source_value", T, false),
    col("qualifier_source_value", T, false),
    col("value_source_value", T, false),
    col("observation_event_id", L, false),
    col("obs_event_field_concept_id", I, false),
];

/// The OMOP tables the extract writes, one Parquet file each
/// (`omop/<name>.parquet`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[allow(missing_docs)]
pub enum Table {
    Person,
    VisitOccurrence,
    ConditionOccurrence,
    DrugExposure,
    Measurement,
    ProcedureOccurrence,
    Observation,
}

impl Table {
    /// Every table, in the order the files are listed.
    pub const ALL: [Table; 7] = [
        Table::Person,
        Table::VisitOccurrence,
        Table::ConditionOccurrence,
        Table::DrugExposure,
        Table::Measurement,
        Table::ProcedureOccurrence,
        Table::Observation,
    ];

    /// The table's place in [`Table::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The OMOP table name.
    pub const fn name(self) -> &'static str {
        match self {
            Table::Person => "person",
            Table::VisitOccurrence => "visit_occurrence",
            Table::ConditionOccurrence => "condition_occurrence",
            Table::DrugExposure => "drug_exposure",
            Table::Measurement => "measurement",
            Table::ProcedureOccurrence => "procedure_occurrence",
            Table::Observation => "observation",
        }
    }

    /// The table's columns, in OMOP's order.
    pub const fn columns(self) -> &'static [Column] {
        match self {
            Table::Person => PERSON,
            Table::VisitOccurrence => VISIT,
            Table::ConditionOccurrence => CONDITION,
            Table::DrugExposure => DRUG,
            Table::Measurement => MEASUREMENT,
            Table::ProcedureOccurrence => PROCEDURE,
            Table::Observation => OBSERVATION,
        }
    }
}

/// One value of a row. Dates are days since 1970-01-01, date-times
/// microseconds since the epoch (UTC).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    /// No value.
    Null,
    /// An integer, a date or a date-time.
    Int(i64),
    /// A floating-point number (finite).
    Float(f64),
    /// Text.
    Text(String),
}

impl Serialize for Cell {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Cell::Null => s.serialize_unit(),
            Cell::Int(i) => s.serialize_i64(*i),
            Cell::Float(f) => s.serialize_f64(*f),
            Cell::Text(t) => s.serialize_str(t),
        }
    }
}

/// One row of one table, its cells in the table's column order.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    /// The table.
    pub table: Table,
    /// One cell per column.
    pub cells: Vec<Cell>,
}

/// A row of `table` from named cells: unnamed columns are null, a required
/// concept id without a value is 0, and a row still missing a required
/// value is no row.
fn row(table: Table, named: Vec<(&'static str, Cell)>) -> Option<Row> {
    let columns = table.columns();
    let mut cells = vec![Cell::Null; columns.len()];
    for (name, cell) in named {
        if let Some(i) = columns.iter().position(|c| c.name == name) {
            cells[i] = cell;
        }
    }
    for (c, cell) in columns.iter().zip(cells.iter_mut()) {
        if c.required && *cell == Cell::Null {
            if c.name.ends_with("_concept_id") {
                *cell = Cell::Int(0);
            } else {
                return None;
            }
        }
    }
    Some(Row { table, cells })
}

/// A pseudonym (or any hex digest) as a non-negative int64: its first 16
/// hex digits, top bit cleared. Anything not hex is hashed first.
pub fn id64(hex_id: &str) -> i64 {
    let n = hex_id
        .get(..16)
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .unwrap_or_else(|| {
            let d = Sha256::digest(hex_id.as_bytes());
            let mut b = [0u8; 8];
            b.copy_from_slice(&d[..8]);
            u64::from_be_bytes(b)
        });
    (n & (i64::MAX as u64)) as i64
}

/// Days since 1970-01-01 of the date's first day, as the NDJSON writes
/// it (so a row and its resource agree): a date-time's calendar date at
/// its offset, or in UTC when FHIR cannot write the offset (seconds, or
/// beyond ±14:00); `None` outside years 1–9999, which FHIR cannot write.
pub fn day(d: &PartialDateTime) -> Option<i64> {
    let date = match *d {
        PartialDateTime::Year(y) => Date::from_calendar_date(y, Month::January, 1).ok()?,
        PartialDateTime::YearMonth(y, m) => Date::from_calendar_date(y, m, 1).ok()?,
        PartialDateTime::Date(x) => x,
        PartialDateTime::DateTime(dt) => {
            let off = dt.offset();
            let fhir_writes =
                off.seconds_past_minute() == 0 && off.whole_minutes().unsigned_abs() <= 14 * 60;
            if fhir_writes {
                dt.date()
            } else {
                dt.to_offset(UtcOffset::UTC).date()
            }
        }
    };
    (1..=9999)
        .contains(&date.year())
        .then(|| i64::from(date.to_julian_day()) - 2_440_588)
}

/// Microseconds since the epoch of a full date-time in years 1–9999;
/// `None` for a date.
fn micros(d: &PartialDateTime) -> Option<i64> {
    match d {
        PartialDateTime::DateTime(dt) if day(d).is_some() => {
            i64::try_from(dt.unix_timestamp_nanos() / 1000).ok()
        }
        _ => None,
    }
}

/// The first of the dates that the NDJSON writes (see [`day`]), so that a
/// row is dated as its resource is.
fn dated<const N: usize>(dates: [&Option<PartialDateTime>; N]) -> Option<&PartialDateTime> {
    dates.into_iter().flatten().find(|d| day(d).is_some())
}

/// A result's date: when it was taken, else when it was released (an
/// `issued` is an instant in FHIR: only a full date-time is written).
fn result_date(res: &ResultItem) -> Option<&PartialDateTime> {
    dated([&res.effective])
        .or_else(|| dated([&res.issued]).filter(|d| matches!(d, PartialDateTime::DateTime(_))))
}

fn date_cell(d: Option<&PartialDateTime>) -> Cell {
    d.and_then(day).map_or(Cell::Null, Cell::Int)
}

fn datetime_cell(d: Option<&PartialDateTime>) -> Cell {
    d.and_then(micros).map_or(Cell::Null, Cell::Int)
}

fn text(s: Option<&str>) -> Cell {
    s.map_or(Cell::Null, |s| Cell::Text(s.to_string()))
}

fn float(f: Option<f64>) -> Cell {
    f.filter(|f| f.is_finite()).map_or(Cell::Null, Cell::Float)
}

/// Order of preference of source codes, for every table.
const PREFERRED: [CodeSystem; 6] = [
    CodeSystem::Snomed,
    CodeSystem::Dmd,
    CodeSystem::Loinc,
    CodeSystem::Icd10,
    CodeSystem::ReadV2,
    CodeSystem::Ctv3,
];

/// The source value: the code of the most preferred system (dm+d first
/// for drugs, SNOMED CT first otherwise).
fn source_code(codes: &[Code], drug: bool) -> Option<&str> {
    let rank = |s: &CodeSystem| match (drug, s) {
        (true, CodeSystem::Dmd) => 0,
        _ => {
            1 + PREFERRED
                .iter()
                .position(|p| p == s)
                .unwrap_or(PREFERRED.len())
        }
    };
    codes
        .iter()
        .enumerate()
        .min_by_key(|(i, c)| (rank(&c.system), *i))
        .map(|(_, c)| c.code.as_str())
}

/// Every row of one person's record: their person row, then a row per item
/// that has an OMOP table, in the record's order, made one at a time.
pub fn rows(r: &PseudonymisedRecord) -> impl Iterator<Item = Row> + '_ {
    let p = &r.person;
    let person_id = id64(p.person_id.as_str());
    // As the Patient's birthDate: a year FHIR can write, a month only with it.
    let year = p.year_of_birth.filter(|y| (1..=9999).contains(y));
    let month = p
        .month_of_birth
        .filter(|m| year.is_some() && (1..=12).contains(m));
    let person = row(
        Table::Person,
        vec![
            ("person_id", Cell::Int(person_id)),
            (
                "year_of_birth",
                year.map_or(Cell::Null, |y| Cell::Int(y.into())),
            ),
            (
                "month_of_birth",
                month.map_or(Cell::Null, |m| Cell::Int(m.into())),
            ),
            ("person_source_value", text(Some(p.person_id.as_str()))),
            ("gender_source_value", text(p.gender.map(|g| g.as_code()))),
        ],
    );
    person
        .into_iter()
        .chain(r.items.iter().enumerate().flat_map(move |(i, item)| {
            let hex_id = item_id(r, i, item);
            let id = id64(&hex_id);
            let main = item_row(&item.entry, Cell::Int(id), Cell::Int(person_id));
            let parts = match (&item.entry, &main) {
                (PseudoEntry::Results(res), Some(_)) => components(res, &hex_id, id, person_id),
                _ => Vec::new(),
            };
            main.into_iter().chain(parts)
        }))
}

fn item_row(entry: &PseudoEntry, id: Cell, person: Cell) -> Option<Row> {
    match entry {
        PseudoEntry::Conditions(c) => {
            let refuted = matches!(
                c.verification,
                Some(Verification::Refuted | Verification::EnteredInError)
            );
            let start = dated([&c.onset, &c.recorded]);
            (!refuted).then_some(())?;
            row(
                Table::ConditionOccurrence,
                vec![
                    ("condition_occurrence_id", id),
                    ("person_id", person),
                    ("condition_start_date", date_cell(start)),
                    ("condition_start_datetime", datetime_cell(start)),
                    ("condition_end_date", date_cell(c.abatement.as_ref())),
                    (
                        "condition_end_datetime",
                        datetime_cell(c.abatement.as_ref()),
                    ),
                    ("condition_source_value", text(source_code(&c.code, false))),
                    (
                        "condition_status_source_value",
                        text(c.verification.map(|v| v.as_code())),
                    ),
                ],
            )
        }
        PseudoEntry::Medications(m) => {
            use MedicationStatus as S;
            let void = matches!(
                m.status,
                Some(S::EnteredInError | S::Cancelled | S::NotTaken | S::Draft)
            );
            (!void).then_some(())?;
            let start = dated([&m.start, &m.recorded]);
            let end = dated([&m.end]).or(start);
            row(
                Table::DrugExposure,
                vec![
                    ("drug_exposure_id", id),
                    ("person_id", person),
                    ("drug_exposure_start_date", date_cell(start)),
                    ("drug_exposure_start_datetime", datetime_cell(start)),
                    ("drug_exposure_end_date", date_cell(end)),
                    ("drug_exposure_end_datetime", datetime_cell(end)),
                    ("verbatim_end_date", date_cell(m.end.as_ref())),
                    ("drug_source_value", text(source_code(&m.medication, true))),
                ],
            )
        }
        PseudoEntry::Procedures(p) => {
            let void = matches!(
                p.status,
                Some(ProcedureStatus::EnteredInError | ProcedureStatus::NotDone)
            );
            (!void).then_some(())?;
            let start = p.performed.as_ref();
            if p.immunisation {
                // OHDSI's convention: a vaccine given is a drug exposure.
                return row(
                    Table::DrugExposure,
                    vec![
                        ("drug_exposure_id", id),
                        ("person_id", person),
                        ("drug_exposure_start_date", date_cell(start)),
                        ("drug_exposure_start_datetime", datetime_cell(start)),
                        ("drug_exposure_end_date", date_cell(start)),
                        ("drug_exposure_end_datetime", datetime_cell(start)),
                        ("drug_source_value", text(source_code(&p.vaccine, true))),
                    ],
                );
            }
            row(
                Table::ProcedureOccurrence,
                vec![
                    ("procedure_occurrence_id", id),
                    ("person_id", person),
                    ("procedure_date", date_cell(start)),
                    ("procedure_datetime", datetime_cell(start)),
                    ("procedure_end_date", date_cell(p.performed_end.as_ref())),
                    (
                        "procedure_end_datetime",
                        datetime_cell(p.performed_end.as_ref()),
                    ),
                    ("procedure_source_value", text(source_code(&p.code, false))),
                ],
            )
        }
        PseudoEntry::Results(res) => {
            use ResultStatus as S;
            let void = matches!(res.status, Some(S::EnteredInError | S::Cancelled));
            (!void && res.kind != Some(ResultKind::Report)).then_some(())?;
            let when = result_date(res);
            measurement(
                id,
                person,
                when,
                &res.code,
                res.value.as_ref(),
                &res.reference_range,
                Cell::Null,
            )
        }
        PseudoEntry::Appointments(a) => {
            use AppointmentStatus as S;
            let happened = a.kind == Some(AppointmentKind::Encounter)
                && matches!(
                    a.status,
                    None | Some(
                        S::Arrived
                            | S::Fulfilled
                            | S::CheckedIn
                            | S::Triaged
                            | S::InProgress
                            | S::Onleave
                            | S::Finished
                            | S::Unknown
                    )
                );
            happened.then_some(())?;
            let start = a.start.as_ref();
            let end = dated([&a.end]).or(start);
            row(
                Table::VisitOccurrence,
                vec![
                    ("visit_occurrence_id", id),
                    ("person_id", person),
                    ("visit_start_date", date_cell(start)),
                    ("visit_start_datetime", datetime_cell(start)),
                    ("visit_end_date", date_cell(end)),
                    ("visit_end_datetime", datetime_cell(end)),
                    (
                        "visit_source_value",
                        text(a.class.first().map(|c| c.code.as_str())),
                    ),
                ],
            )
        }
        PseudoEntry::Allergies(a) => {
            let void = matches!(
                a.verification,
                Some(Verification::Refuted | Verification::EnteredInError)
            );
            (!void).then_some(())?;
            observation(
                id,
                person,
                dated([&a.onset, &a.recorded]),
                &a.code,
                a.criticality.map(|c| c.as_code()),
            )
        }
        PseudoEntry::Referrals(x) => {
            (x.status != Some(RequestStatus::EnteredInError)).then_some(())?;
            observation(id, person, x.authored.as_ref(), &x.code, None)
        }
        PseudoEntry::Alerts(x) => {
            (x.status != Some(AlertStatus::EnteredInError)).then_some(())?;
            observation(id, person, x.period_start.as_ref(), &x.code, None)
        }
        PseudoEntry::Contacts(_) | PseudoEntry::CareTeam(_) | PseudoEntry::Documents(_) => None,
    }
}

/// A measurement row: the value as a number, or a coded or true/false
/// value as its source value; the first reference range's bounds.
fn measurement(
    id: Cell,
    person: Cell,
    when: Option<&PartialDateTime>,
    code: &[Code],
    value: Option<&Value>,
    ranges: &[Range],
    event: Cell,
) -> Option<Row> {
    let (number, unit, value_source) = match value {
        Some(Value::Quantity(a)) => (a.value, a.unit_code.as_deref().or(a.unit.as_deref()), None),
        Some(Value::Integer(n)) => (Some(*n as f64), None, None),
        Some(Value::Coded(c)) => (None, None, source_code(c, false).map(str::to_string)),
        Some(Value::Boolean(b)) => (None, None, Some(b.to_string())),
        _ => (None, None, None),
    };
    let range = ranges.first();
    let bound = |a: Option<&Amount>| float(a.and_then(|a| a.value));
    row(
        Table::Measurement,
        vec![
            ("measurement_id", id),
            ("person_id", person),
            ("measurement_date", date_cell(when)),
            ("measurement_datetime", datetime_cell(when)),
            ("value_as_number", float(number)),
            ("range_low", bound(range.and_then(|r| r.low.as_ref()))),
            ("range_high", bound(range.and_then(|r| r.high.as_ref()))),
            ("measurement_source_value", text(source_code(code, false))),
            ("unit_source_value", text(unit)),
            ("value_source_value", text(value_source.as_deref())),
            ("measurement_event_id", event),
        ],
    )
}

/// Each part of a multi-part result (a blood pressure's systolic and
/// diastolic) as its own measurement, dated as the result, its
/// `measurement_event_id` the result's row. Its id: [`id64`] of a digest of
/// the result's pseudonym and the part's position.
fn components(res: &ResultItem, hex_id: &str, parent: i64, person: i64) -> Vec<Row> {
    let when = result_date(res);
    res.components
        .iter()
        .enumerate()
        .filter_map(|(k, c)| {
            let digest = Sha256::digest(format!("{hex_id}/component/{k}").as_bytes());
            measurement(
                Cell::Int(id64(&hex::encode(&digest[..8]))),
                Cell::Int(person),
                when,
                &c.code,
                c.value.as_ref(),
                &c.reference_range,
                Cell::Int(parent),
            )
        })
        .collect()
}

fn observation(
    id: Cell,
    person: Cell,
    when: Option<&PartialDateTime>,
    code: &[Code],
    qualifier: Option<&str>,
) -> Option<Row> {
    row(
        Table::Observation,
        vec![
            ("observation_id", id),
            ("person_id", person),
            ("observation_date", date_cell(when)),
            ("observation_datetime", datetime_cell(when)),
            ("observation_source_value", text(source_code(code, false))),
            ("qualifier_source_value", text(qualifier)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_is_at_its_index() {
        for (i, t) in Table::ALL.iter().enumerate() {
            assert_eq!(t.index(), i);
        }
    }

    #[test]
    fn ids_are_the_first_63_bits() {
        assert_eq!(id64("0000000000000001ffff"), 1);
        assert_eq!(id64("ffffffffffffffff"), i64::MAX);
        assert_eq!(id64("8000000000000005"), 5);
        // not hex: hashed, still non-negative and stable
        assert!(id64("not hex at all!!!") >= 0);
        assert_eq!(id64("xyz"), id64("xyz"));
    }

    #[test]
    fn dates_are_days_since_1970() {
        let date = |y, m, d| PartialDateTime::Date(Date::from_calendar_date(y, m, d).unwrap());
        assert_eq!(day(&date(1970, Month::January, 1)), Some(0));
        assert_eq!(day(&date(2024, Month::February, 29)), Some(19_782));
        assert_eq!(
            day(&PartialDateTime::YearMonth(2024, Month::February)),
            Some(19_754)
        );
        assert_eq!(day(&PartialDateTime::Year(1969)), Some(-365));
        // years FHIR cannot write are no date
        assert_eq!(day(&PartialDateTime::Year(0)), None);
        assert_eq!(day(&PartialDateTime::Year(-44)), None);
        // 1970-01-01 23:30 at +14:30 (FHIR cannot write the offset) is
        // 09:00 UTC that day; at +01:00 it is the day itself
        let at = |h, off| {
            let t = icr_model::time::PrimitiveDateTime::new(
                Date::from_calendar_date(1970, Month::January, 2).unwrap(),
                icr_model::time::Time::from_hms(h, 0, 0).unwrap(),
            );
            PartialDateTime::DateTime(t.assume_offset(UtcOffset::from_hms(off, 30, 0).unwrap()))
        };
        assert_eq!(day(&at(1, 1)), Some(1));
        assert_eq!(day(&at(1, 14)), Some(0));
    }

    #[test]
    fn required_values_make_or_break_a_row() {
        // a missing concept id is 0; a missing required date is no row
        let r = row(
            Table::ConditionOccurrence,
            vec![
                ("condition_occurrence_id", Cell::Int(1)),
                ("person_id", Cell::Int(2)),
                ("condition_start_date", Cell::Int(3)),
            ],
        )
        .unwrap();
        assert_eq!(r.cells[2], Cell::Int(0));
        assert_eq!(r.cells[7], Cell::Int(0));
        assert_eq!(r.cells[4], Cell::Null);
        assert!(
            row(
                Table::ConditionOccurrence,
                vec![
                    ("condition_occurrence_id", Cell::Int(1)),
                    ("person_id", Cell::Int(2))
                ],
            )
            .is_none()
        );
    }

    fn on(y: i32) -> Option<PartialDateTime> {
        Some(PartialDateTime::Year(y))
    }

    fn table_of(entry: &PseudoEntry) -> Option<Table> {
        item_row(entry, Cell::Int(1), Cell::Int(2)).map(|r| r.table)
    }

    #[test]
    fn what_goes_to_which_table_and_what_is_left_out() {
        use icr_pseudonymise::transform::{
            AppointmentItem, ConditionItem, MedicationItem, ProcedureItem,
        };
        let condition = |verification, onset| {
            PseudoEntry::Conditions(ConditionItem {
                code: vec![],
                clinical_status: None,
                verification,
                category: vec![],
                severity: vec![],
                onset,
                abatement: None,
                recorded: None,
            })
        };
        assert_eq!(
            table_of(&condition(None, on(2020))),
            Some(Table::ConditionOccurrence)
        );
        assert_eq!(
            table_of(&condition(Some(Verification::Refuted), on(2020))),
            None
        );
        // no date, no row
        assert_eq!(table_of(&condition(None, None)), None);

        let med = |status| {
            PseudoEntry::Medications(MedicationItem {
                medication: vec![],
                kind: None,
                status,
                start: None,
                end: None,
                recorded: on(2021),
                reasons: vec![],
            })
        };
        let r = item_row(&med(None), Cell::Int(1), Cell::Int(2)).unwrap();
        assert_eq!(r.table, Table::DrugExposure);
        // start from recorded, end = start, no verbatim end
        assert_eq!(r.cells[3], Cell::Int(18_628));
        assert_eq!(r.cells[5], Cell::Int(18_628));
        assert_eq!(r.cells[7], Cell::Null);
        assert_eq!(table_of(&med(Some(MedicationStatus::Cancelled))), None);

        let proc = |immunisation, status| {
            PseudoEntry::Procedures(ProcedureItem {
                code: vec![],
                status,
                performed: on(2022),
                performed_end: None,
                body_site: vec![],
                outcome: vec![],
                vaccine: vec![],
                dose_number: None,
                reason_not_given: vec![],
                immunisation,
            })
        };
        assert_eq!(
            table_of(&proc(false, None)),
            Some(Table::ProcedureOccurrence)
        );
        assert_eq!(table_of(&proc(true, None)), Some(Table::DrugExposure));
        assert_eq!(table_of(&proc(true, Some(ProcedureStatus::NotDone))), None);

        let visit = |kind, status| {
            PseudoEntry::Appointments(AppointmentItem {
                kind,
                status,
                class: vec![],
                service_type: vec![],
                start: on(2023),
                end: None,
                reasons: vec![],
            })
        };
        let enc = Some(AppointmentKind::Encounter);
        assert_eq!(
            table_of(&visit(enc, Some(AppointmentStatus::Finished))),
            Some(Table::VisitOccurrence)
        );
        assert_eq!(
            table_of(&visit(enc, Some(AppointmentStatus::Cancelled))),
            None
        );
        assert_eq!(
            table_of(&visit(
                Some(AppointmentKind::Appointment),
                Some(AppointmentStatus::Fulfilled)
            )),
            None
        );
    }

    #[test]
    fn drugs_prefer_dmd_and_others_snomed() {
        let codes = vec![
            Code {
                system: CodeSystem::Loinc,
                code: "2823-3".into(),
            },
            Code {
                system: CodeSystem::Dmd,
                code: "322236009".into(),
            },
            Code {
                system: CodeSystem::Snomed,
                code: "44054006".into(),
            },
        ];
        assert_eq!(source_code(&codes, true), Some("322236009"));
        assert_eq!(source_code(&codes, false), Some("44054006"));
        assert_eq!(source_code(&codes[..1], false), Some("2823-3"));
        assert_eq!(source_code(&[], false), None);
    }
}
