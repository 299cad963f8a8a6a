//! Result groups → the unified model (pure, no I/O).
//!
//! After the PID, segments are read in order: ORC starts an order (or,
//! in a message whose first ORC follows its first OBR, as OUL and OML send
//! them, belongs to the OBR before it), OBR a report, OBX an observation of the current report (or a lone observation
//! before any OBR), NTE a note on what came just before it (the report or
//! the observation) — unless a segment with notes of its own (SPM, SAC,
//! INV, TXA, PV1, PV2) came between. Other segments (PRT, TQ1, CTD, …) are
//! skipped.
//!
//! | model | HL7 v2 |
//! |---|---|
//! | report `code` | OBR-4 (CE/CWE, both triplets; CWE-9 original text) |
//! | report `status` | OBR-25 (table 0123) |
//! | report `effective` / `issued` | OBR-7 / OBR-22 |
//! | report `category` | OBR-24 (table 0074) |
//! | report `performer` | OBR-32 principal result interpreter, else OBR-34 technician |
//! | report `members` | its observations |
//! | report `conclusion` | the text lines of a radiology or text report (below) |
//! | observation `code` | OBX-3 |
//! | observation `value` | OBX-5 by OBX-2: NM → quantity (OBX-6 units), ST/TX/FT → text, CE/CWE/CNE → coded, SN → quantity with comparator (or a range `a-b`), DT/DTM/TS → date |
//! | observation `reference_range` | OBX-7: `a-b`, `a to b`, `<x`, `>x` (and `<=`, `>=`) as low/high, else text |
//! | observation `interpretation` | OBX-8 (table 0078) |
//! | observation `status` / `effective` | OBX-11 (table 0085) / OBX-14, else the report's OBR-7 |
//! | observation `performer` | OBX-23 performing organisation, else OBX-16, else the report's |
//! | `notes` | NTE-3 after the OBR or the OBX |
//!
//! A radiology report is an OBR whose OBR-24 is an imaging section (RAD,
//! CT, US, MR, NMR, NMS, XRC, RX, CUS, OUS, VUS, …): its TX/FT/ST lines
//! and text ED values are joined, one per line, into the report's
//! `conclusion` instead of becoming observations. A report whose every
//! OBX is a TX or FT line of one same OBX-3 code (a text report sent line by
//! line, as histopathology and letters are) is read the same way.
//!
//! Record ids: a report is `report/{OBR-3 filler order number}` (else
//! OBR-2, ORC-3, ORC-2, else its position), an observation
//! `{report id}/obx/{position within the report}`, an observation outside
//! any report `obx/{OBX-3 code}/{OBX-14}` (else its position); a repeated
//! id gets `#2`, `#3`….

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use base64::Engine;
use icr_hl7v2::dtm::{LocalZone, parse_dtm};
use icr_hl7v2::{Component, Field, Message, Repetition, Segment};
use icr_model::time::OffsetDateTime;
use icr_model::{
    CodeSystem, Coding, Concept, Entry, IssueKind, Item, PartialDateTime, Quantity, RecordId,
    ReferenceRange, ResultKind, ResultStatus, ResultValue, Section, SourceIssue, SourceMeta,
    TestResult,
};

/// The system of abnormal flags (OBX-8): HL7 v2 table 0078.
pub const INTERPRETATION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0078";
/// The system of diagnostic service sections (OBR-24): HL7 v2 table 0074.
pub const SERVICE_SECTION_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v2-0074";

/// Longest local id kept from an order number.
const MAX_ID: usize = 200;

/// What the mapping needs besides the message.
#[derive(Clone, Copy, Debug)]
pub struct MapContext<'a> {
    /// The source, for provenance.
    pub meta: &'a Arc<SourceMeta>,
    /// The zone of times without an offset (see
    /// [`LocalZone::for_message`]).
    pub zone: LocalZone,
}

/// The results read from one answer, and what could not be read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mapped {
    /// Reports and observations, each report before its observations.
    pub items: Vec<Item>,
    /// What was skipped, counted; never patient data.
    pub issues: Vec<SourceIssue>,
}

/// What went wrong, counted over one answer, reported as issues.
#[derive(Default)]
struct Tally {
    unsupported: BTreeMap<String, u32>,
    several_values: u32,
    bad_dates: u32,
    bad_ids: u32,
}

/// Maps every OBR/OBX/NTE group from segment `from` on.
pub fn map_results(message: &Message, from: usize, ctx: &MapContext<'_>) -> Mapped {
    let mut reader = Reader {
        ctx,
        tally: Tally::default(),
        ids: HashSet::new(),
        repeats: HashMap::new(),
        out: Vec::new(),
        positional: 0,
    };
    let mut order: Option<Segment<'_>> = None;
    let mut report: Option<ReportGroup<'_>> = None;
    let mut lone: Vec<ObsGroup<'_>> = Vec::new();
    let mut last = Last::None;
    // ORU and RSP put an order's ORC before its OBR; OUL and OML after it.
    let first = |id: &str| message.segments().skip(from).position(|s| s.id() == id);
    let orc_after_obr = matches!((first("OBR"), first("ORC")), (Some(b), Some(c)) if c > b);
    for seg in message.segments().skip(from) {
        match seg.id() {
            "PID" => {
                reader.flush(report.take(), &mut lone);
                order = None;
                last = Last::None;
            }
            "ORC" => match &mut report {
                Some(r) if orc_after_obr && r.obs.is_empty() && r.orc.is_none() => {
                    r.orc = Some(seg);
                    order = None;
                }
                _ => {
                    reader.flush(report.take(), &mut lone);
                    order = Some(seg);
                    last = Last::None;
                }
            },
            "OBR" => {
                reader.flush(report.take(), &mut lone);
                report = Some(ReportGroup {
                    obr: seg,
                    orc: order,
                    notes: Vec::new(),
                    obs: Vec::new(),
                });
                last = Last::Report;
            }
            "OBX" => {
                let group = ObsGroup {
                    obx: seg,
                    notes: Vec::new(),
                };
                match &mut report {
                    Some(r) => r.obs.push(group),
                    None => lone.push(group),
                }
                last = Last::Observation;
            }
            "NTE" => {
                let note = note_text(seg);
                let target = match (last, &mut report) {
                    (Last::Report, Some(r)) => Some(&mut r.notes),
                    (Last::Observation, Some(r)) => r.obs.last_mut().map(|o| &mut o.notes),
                    (Last::Observation, None) => lone.last_mut().map(|o| &mut o.notes),
                    _ => None,
                };
                if let (Some(notes), Some(note)) = (target, note) {
                    notes.push(note);
                }
            }
            // Segments with notes of their own: an NTE after them is not
            // about the result before them.
            "SPM" | "SAC" | "INV" | "TXA" | "PV1" | "PV2" => last = Last::None,
            // Others (PRT, TQ1, CTD, FT1, …) sit inside a group without
            // ending it.
            _ => {}
        }
    }
    reader.flush(report.take(), &mut lone);
    let issues = reader.issues();
    Mapped {
        items: reader.out,
        issues,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Last {
    None,
    Report,
    Observation,
}

struct ReportGroup<'a> {
    obr: Segment<'a>,
    orc: Option<Segment<'a>>,
    notes: Vec<String>,
    obs: Vec<ObsGroup<'a>>,
}

struct ObsGroup<'a> {
    obx: Segment<'a>,
    notes: Vec<String>,
}

struct Reader<'c, 'm> {
    ctx: &'c MapContext<'m>,
    tally: Tally,
    ids: HashSet<String>,
    repeats: HashMap<String, u32>,
    out: Vec<Item>,
    positional: u32,
}

impl Reader<'_, '_> {
    /// Turns a finished report (and any lone observations before it) into items.
    fn flush(&mut self, report: Option<ReportGroup<'_>>, lone: &mut Vec<ObsGroup<'_>>) {
        for obs in lone.drain(..) {
            let id = match lone_id(obs.obx) {
                Some(key) => self.unique(key),
                None => {
                    self.positional += 1;
                    self.unique(format!("obx/#{}", self.positional))
                }
            };
            let result = self.observation(&obs, None);
            self.push(&id, result, None);
        }
        if let Some(r) = report {
            self.report(r);
        }
    }

    fn report(&mut self, group: ReportGroup<'_>) {
        let obr = group.obr;
        let section = obr.field(24).value().map(|s| s.trim().to_ascii_uppercase());
        let imaging = section.as_deref().is_some_and(is_imaging_section);
        let text_lines = |o: &ObsGroup<'_>| is_text_line(&value_type(o.obx));
        let one_code = {
            let codes: BTreeSet<String> = group
                .obs
                .iter()
                .map(|o| o.obx.field(3).raw().to_string())
                .collect();
            codes.len() == 1
        };
        let text_report = !group.obs.is_empty()
            && one_code
            && group
                .obs
                .iter()
                .all(|o| matches!(value_type(o.obx).as_str(), "TX" | "FT"));
        let id = self.report_id(&group);
        let effective = self.date(obr.field(7));
        let issued = self.date(obr.field(22));
        let category: Vec<Concept> = section
            .as_deref()
            .map(|code| {
                Concept::coded(Coding {
                    system: CodeSystem::Other(SERVICE_SECTION_SYSTEM.into()),
                    code: code.to_string(),
                    display: service_section_display(code).map(str::to_string),
                })
            })
            .into_iter()
            .collect();
        let performer =
            cnn_name(obr.field(32).component(1)).or_else(|| cnn_name(obr.field(34).component(1)));
        let mut lines: Vec<String> = Vec::new();
        let mut members: Vec<RecordId> = Vec::new();
        let mut observations: Vec<(String, TestResult)> = Vec::new();
        let context = ReportContext {
            effective,
            issued,
            category: category.clone(),
            performer: performer.clone(),
        };
        for (n, obs) in group.obs.iter().enumerate() {
            if (imaging && text_lines(obs)) || text_report {
                if let Some(text) = self.text_line(obs.obx) {
                    lines.push(text);
                }
                lines.extend(obs.notes.iter().cloned());
                continue;
            }
            let obs_id = self.unique(format!("{id}/obx/{}", n + 1));
            if let Ok(rid) = RecordId::new(self.ctx.meta.id.clone(), &obs_id) {
                members.push(rid);
            }
            observations.push((obs_id, self.observation(obs, Some(&context))));
        }
        while lines.last().is_some_and(|l| l.trim().is_empty()) {
            lines.pop();
        }
        let conclusion = (!lines.is_empty()).then(|| lines.join("\n"));
        let report = TestResult {
            kind: Some(ResultKind::Report),
            category,
            code: concept(obr.field(4).repetition(1)),
            status: obr.field(25).value().and_then(|c| report_status(c.trim())),
            effective,
            issued,
            conclusion,
            members,
            performer,
            notes: group.notes,
            ..TestResult::default()
        };
        let updated = instant(&issued);
        self.push(&id, report, updated);
        for (obs_id, result) in observations {
            self.push(&obs_id, result, updated);
        }
    }

    fn observation(&mut self, group: &ObsGroup<'_>, report: Option<&ReportContext>) -> TestResult {
        let obx = group.obx;
        let vtype = value_type(obx);
        let units = obx.field(6).repetition(1);
        let value = self.value(&vtype, obx.field(5), units);
        let effective = self
            .date(obx.field(14))
            .or_else(|| report.and_then(|r| r.effective));
        let performer = obx
            .field(23)
            .component(1)
            .value()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| xcn_name(obx.field(16).repetition(1)))
            .or_else(|| report.and_then(|r| r.performer.clone()));
        TestResult {
            kind: Some(ResultKind::Observation),
            category: report.map(|r| r.category.clone()).unwrap_or_default(),
            code: concept(obx.field(3).repetition(1)),
            status: obx
                .field(11)
                .value()
                .and_then(|c| observation_status(c.trim())),
            effective,
            issued: report.and_then(|r| r.issued),
            value,
            interpretation: interpretations(obx.field(8)),
            reference_range: reference_range(obx.field(7), units).into_iter().collect(),
            performer,
            notes: group.notes.clone(),
            ..TestResult::default()
        }
    }

    /// OBX-5 read by its value type OBX-2.
    fn value(
        &mut self,
        vtype: &str,
        field: Field<'_>,
        units: Repetition<'_>,
    ) -> Option<ResultValue> {
        let reps: Vec<Repetition<'_>> = field.repetitions().filter(|r| !r.is_empty()).collect();
        let first = *reps.first()?;
        if matches!(vtype, "TX" | "FT" | "ST" | "") {
            let text = reps
                .iter()
                .map(|r| r.full_text().into_owned())
                .collect::<Vec<_>>()
                .join("\n");
            return (!text.trim().is_empty() && text != "\"\"").then_some(ResultValue::Text(text));
        }
        if reps.len() > 1 {
            self.tally.several_values += 1;
        }
        match vtype {
            "NM" => Some(numeric(&first.text(), units)),
            "SN" => Some(structured_numeric(first, units)),
            "CE" | "CWE" | "CNE" | "CF" => {
                let c = concept(first);
                (!c.is_empty()).then_some(ResultValue::Coded(c))
            }
            "DT" | "DTM" | "TS" => {
                let raw = first.text();
                match parse_dtm(&raw, self.ctx.zone) {
                    Ok(d) => Some(ResultValue::DateTime(d)),
                    Err(_) => {
                        self.tally.bad_dates += 1;
                        Some(ResultValue::Text(raw.into_owned()))
                    }
                }
            }
            "TM" | "ID" | "IS" | "NA" => {
                let t = first.full_text().into_owned();
                (!t.trim().is_empty()).then_some(ResultValue::Text(t))
            }
            "ED" => match ed_text(first) {
                Some(t) => Some(ResultValue::Text(t)),
                None => {
                    *self.tally.unsupported.entry("ED".into()).or_default() += 1;
                    None
                }
            },
            other => {
                let name = if other.len() <= 3 && other.bytes().all(|b| b.is_ascii_uppercase()) {
                    other.to_string()
                } else {
                    "unknown".to_string()
                };
                *self.tally.unsupported.entry(name).or_default() += 1;
                None
            }
        }
    }

    /// One line of a text report: the OBX's value as text.
    fn text_line(&mut self, obx: Segment<'_>) -> Option<String> {
        let field = obx.field(5);
        let vtype = value_type(obx);
        if vtype == "ED" {
            let t = ed_text(field.repetition(1));
            if t.is_none() && !field.is_empty() {
                *self.tally.unsupported.entry("ED".into()).or_default() += 1;
            }
            return t;
        }
        let lines: Vec<String> = field
            .repetitions()
            .map(|r| r.full_text().into_owned())
            .collect();
        Some(lines.join("\n"))
    }

    fn date(&mut self, field: Field<'_>) -> Option<PartialDateTime> {
        let raw = field.value()?;
        match parse_dtm(&raw, self.ctx.zone) {
            Ok(d) => Some(d),
            Err(_) => {
                self.tally.bad_dates += 1;
                None
            }
        }
    }

    fn report_id(&mut self, group: &ReportGroup<'_>) -> String {
        let obr = group.obr;
        let candidates = [
            Some(obr.field(3)),
            Some(obr.field(2)),
            group.orc.map(|o| o.field(3)),
            group.orc.map(|o| o.field(2)),
        ];
        let number = candidates.into_iter().flatten().find_map(entity_id);
        let id = match number {
            Some(n) => format!("report/{n}"),
            None => {
                self.positional += 1;
                format!("report/#{}", self.positional)
            }
        };
        self.unique(id)
    }

    /// `id`, or `id#2`, `id#3`… when an earlier record of this answer has
    /// it (in amortised constant time, however many share one id).
    fn unique(&mut self, id: String) -> String {
        if self.ids.insert(id.clone()) {
            return id;
        }
        let next = self.repeats.entry(id.clone()).or_insert(1);
        loop {
            *next += 1;
            let candidate = format!("{id}#{next}");
            if self.ids.insert(candidate.clone()) {
                return candidate;
            }
        }
    }

    fn push(&mut self, local_id: &str, result: TestResult, updated: Option<OffsetDateTime>) {
        match self.ctx.meta.provenance(local_id, updated) {
            Ok(provenance) => self.out.push(Item {
                entry: Entry::Result(result),
                provenance,
            }),
            Err(_) => self.tally.bad_ids += 1,
        }
    }

    fn issues(&self) -> Vec<SourceIssue> {
        let mut issues = Vec::new();
        let mut issue = |kind, message: String| {
            issues.push(SourceIssue {
                kind,
                section: Some(Section::Results),
                message,
            })
        };
        let t = &self.tally;
        if !t.unsupported.is_empty() {
            let total: u32 = t.unsupported.values().sum();
            let kinds: Vec<String> = t
                .unsupported
                .iter()
                .map(|(k, n)| format!("{k} ×{n}"))
                .collect();
            issue(
                IssueKind::Unreadable,
                format!(
                    "{total} observation value(s) of a type not shown ({}): the observations are listed without them",
                    kinds.join(", ")
                ),
            );
        }
        if t.several_values > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} observation(s) with several values in OBX-5: only the first is shown",
                    t.several_values
                ),
            );
        }
        if t.bad_dates > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} date(s) that are not HL7 date/times were left out",
                    t.bad_dates
                ),
            );
        }
        if t.bad_ids > 0 {
            issue(
                IssueKind::Unreadable,
                format!(
                    "{} result(s) with an unusable record id were left out",
                    t.bad_ids
                ),
            );
        }
        issues
    }
}

struct ReportContext {
    effective: Option<PartialDateTime>,
    issued: Option<PartialDateTime>,
    category: Vec<Concept>,
    performer: Option<String>,
}

fn instant(d: &Option<PartialDateTime>) -> Option<OffsetDateTime> {
    match d {
        Some(PartialDateTime::DateTime(dt)) => Some(*dt),
        _ => None,
    }
}

/// OBX-2, upper-cased.
fn value_type(obx: Segment<'_>) -> String {
    obx.field(2).text().trim().to_ascii_uppercase()
}

fn is_text_line(vtype: &str) -> bool {
    matches!(vtype, "TX" | "FT" | "ST" | "ED")
}

/// Imaging sections of table 0074.
fn is_imaging_section(code: &str) -> bool {
    matches!(
        code,
        "RAD" | "CT" | "US" | "MR" | "NMR" | "NMS" | "XRC" | "RX" | "CUS" | "OUS" | "VUS" | "IMG"
    )
}

/// Display text of table 0074 codes.
fn service_section_display(code: &str) -> Option<&'static str> {
    Some(match code {
        "LAB" => "Laboratory",
        "CH" => "Chemistry",
        "HM" => "Hematology",
        "MB" => "Microbiology",
        "SP" => "Surgical Pathology",
        "CP" => "Cytopathology",
        "BLB" => "Blood Bank",
        "SR" => "Serology",
        "IMM" => "Immunology",
        "TX" => "Toxicology",
        "URN" => "Urinalysis",
        "RAD" => "Radiology",
        "CT" => "CAT Scan",
        "US" => "Ultrasound",
        "MR" | "NMR" => "Nuclear Magnetic Resonance",
        "NMS" => "Nuclear Medicine Scan",
        "XRC" => "Cineradiograph",
        "RX" => "Radiograph",
        "CUS" => "Cardiac Ultrasound",
        "OUS" => "OB Ultrasound",
        "VUS" => "Vascular Ultrasound",
        "EC" => "Electrocardiac",
        "PF" => "Pulmonary Function",
        "PAT" => "Pathology",
        _ => return None,
    })
}

/// A coding system name from a CE/CWE triplet: the names HL7 v2 uses for
/// the national systems; anything else (local codes) keeps its name.
pub fn code_system(name: &str) -> CodeSystem {
    match name.trim() {
        "LN" | "LOINC" => CodeSystem::Loinc,
        "SCT" | "SNOMEDCT" | "SNOMED CT" | "SNOMED-CT" => CodeSystem::Snomed,
        "I10" | "ICD10" | "ICD-10" => CodeSystem::Icd10,
        "UCUM" => CodeSystem::Ucum,
        other => CodeSystem::from_uri(other),
    }
}

/// A CE/CWE/CNE value: the identifier triplet, the alternate triplet, and
/// CWE-9 original text.
pub fn concept(rep: Repetition<'_>) -> Concept {
    let mut codings = Vec::new();
    let mut texts = Vec::new();
    for (code, text, system) in [(1, 2, 3), (4, 5, 6)] {
        let code_v = rep.component(code).value().map(|s| s.trim().to_string());
        let text_v = rep
            .component(text)
            .value()
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty());
        match code_v.filter(|c| !c.is_empty()) {
            Some(c) => codings.push(Coding {
                system: code_system(&rep.component(system).text()),
                code: c,
                display: text_v,
            }),
            None => texts.extend(text_v),
        }
    }
    let original = rep
        .component(9)
        .value()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty());
    Concept {
        codings,
        text: original.or_else(|| texts.into_iter().next()),
    }
}

/// OBR-25, table 0123, as a report status.
fn report_status(code: &str) -> Option<ResultStatus> {
    Some(match code {
        "O" | "I" | "S" => ResultStatus::Registered,
        "A" | "R" => ResultStatus::Partial,
        "P" => ResultStatus::Preliminary,
        "C" | "M" => ResultStatus::Corrected,
        "F" => ResultStatus::Final,
        "X" => ResultStatus::Cancelled,
        _ => return None,
    })
}

/// OBX-11, table 0085, as an observation status.
fn observation_status(code: &str) -> Option<ResultStatus> {
    Some(match code {
        "A" => ResultStatus::Amended,
        "B" => ResultStatus::Appended,
        "C" => ResultStatus::Corrected,
        "D" | "W" => ResultStatus::EnteredInError,
        "F" | "U" | "V" => ResultStatus::Final,
        "I" | "O" => ResultStatus::Registered,
        "P" | "R" | "S" => ResultStatus::Preliminary,
        "X" | "N" => ResultStatus::Cancelled,
        _ => return None,
    })
}

/// Display text of the table 0078 abnormal flags.
fn interpretation_display(code: &str) -> Option<&'static str> {
    Some(match code {
        "L" => "Low",
        "H" => "High",
        "LL" => "Critical low",
        "HH" => "Critical high",
        "LU" => "Significantly low",
        "HU" => "Significantly high",
        "<" => "Off scale low",
        ">" => "Off scale high",
        "N" => "Normal",
        "A" => "Abnormal",
        "AA" => "Critical abnormal",
        "U" => "Significant change up",
        "D" => "Significant change down",
        "B" => "Better",
        "W" => "Worse",
        "S" => "Susceptible",
        "R" => "Resistant",
        "I" => "Intermediate",
        "MS" => "Moderately susceptible",
        "VS" => "Very susceptible",
        "POS" => "Positive",
        "NEG" => "Negative",
        "IND" => "Indeterminate",
        "DET" => "Detected",
        "ND" => "Not detected",
        "AC" => "Anti-complementary substances present",
        "RR" => "Reactive",
        "WR" => "Weakly reactive",
        "NR" => "Non-reactive",
        "QCF" => "Quality control failure",
        "TOX" => "Cytotoxic substance present",
        "CAR" => "Carrier",
        "EX" => "Outside threshold",
        "HX" => "Above high threshold",
        "LX" => "Below low threshold",
        "NS" => "Non-susceptible",
        "SDD" => "Susceptible-dose dependent",
        _ => return None,
    })
}

/// OBX-8, every repetition, as table 0078 codes.
fn interpretations(field: Field<'_>) -> Vec<Concept> {
    field
        .repetitions()
        .filter_map(|r| {
            let code = r.component(1).value()?.trim().to_string();
            if code.is_empty() {
                return None;
            }
            let display = interpretation_display(&code)
                .map(str::to_string)
                .or_else(|| r.component(2).value().map(|s| s.trim().to_string()));
            Some(Concept::coded(Coding {
                system: CodeSystem::Other(INTERPRETATION_SYSTEM.into()),
                code,
                display,
            }))
        })
        .collect()
}

/// A decimal number as labs write it: optional sign, digits, one point.
pub fn number(s: &str) -> Option<f64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
        && digits.bytes().filter(|&b| b == b'.').count() <= 1
        && digits.bytes().any(|b| b.is_ascii_digit());
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| v.is_finite())
}

/// OBX-6 units applied to a number.
fn quantity(value: f64, comparator: Option<&str>, units: Repetition<'_>) -> Quantity {
    let code = units.component(1).value().map(|s| s.trim().to_string());
    let text = units.component(2).value().map(|s| s.trim().to_string());
    let ucum = code_system(&units.component(3).text()) == CodeSystem::Ucum;
    Quantity {
        value: Some(value),
        comparator: comparator.map(str::to_string),
        unit: text
            .filter(|t| !t.is_empty())
            .or_else(|| code.clone().filter(|c| !c.is_empty())),
        code: code.filter(|c| ucum && !c.is_empty()),
    }
}

/// Splits a leading comparator off `s`.
fn comparator(s: &str) -> (Option<&'static str>, &str) {
    let t = s.trim();
    for c in ["<=", ">=", "<", ">"] {
        if let Some(rest) = t.strip_prefix(c) {
            let c: &'static str = match c {
                "<=" => "<=",
                ">=" => ">=",
                "<" => "<",
                _ => ">",
            };
            return (Some(c), rest);
        }
    }
    (None, t)
}

/// NM: a number, or (as labs often send) a number with a comparator;
/// anything else is kept as text.
fn numeric(raw: &str, units: Repetition<'_>) -> ResultValue {
    let (cmp, rest) = comparator(raw);
    match number(rest) {
        Some(v) => ResultValue::Quantity(quantity(v, cmp, units)),
        None => ResultValue::Text(raw.trim().to_string()),
    }
}

/// SN: comparator ^ number ^ separator/suffix ^ number.
fn structured_numeric(rep: Repetition<'_>, units: Repetition<'_>) -> ResultValue {
    let cmp = rep.component(1).text().trim().to_string();
    let n1 = rep.component(2).text().trim().to_string();
    let sep = rep.component(3).text().trim().to_string();
    let n2 = rep.component(4).text().trim().to_string();
    let as_text = || {
        let t = format!("{cmp}{n1}{sep}{n2}");
        ResultValue::Text(t.trim().to_string())
    };
    let (Some(v1), n2v) = (number(&n1), number(&n2)) else {
        return as_text();
    };
    match (sep.as_str(), n2v) {
        ("-", Some(v2)) if cmp.is_empty() || cmp == "=" => ResultValue::Range {
            low: Some(quantity(v1, None, units)),
            high: Some(quantity(v2, None, units)),
        },
        ("", None) if n2.is_empty() => match cmp.as_str() {
            "" | "=" => ResultValue::Quantity(quantity(v1, None, units)),
            "<" | ">" | "<=" | ">=" => {
                let (c, _) = comparator(&cmp);
                ResultValue::Quantity(quantity(v1, c, units))
            }
            _ => as_text(),
        },
        _ => as_text(),
    }
}

/// OBX-7: `a-b`, `a - b`, `a to b`, `<x`, `<=x`, `>x`, `>=x`; else text.
fn reference_range(field: Field<'_>, units: Repetition<'_>) -> Option<ReferenceRange> {
    let raw = field.repetition(1).component(1).full_text();
    let t = raw.trim();
    if t.is_empty() || t == "\"\"" {
        return None;
    }
    let q = |v: f64| Some(quantity(v, None, units));
    if let (Some(c), rest) = comparator(t)
        && let Some(v) = number(rest)
    {
        return Some(if c.starts_with('<') {
            ReferenceRange {
                high: q(v),
                ..ReferenceRange::default()
            }
        } else {
            ReferenceRange {
                low: q(v),
                ..ReferenceRange::default()
            }
        });
    }
    let lower = t.to_ascii_lowercase();
    if let Some(i) = lower.find(" to ")
        && let (Some(a), Some(b)) = (number(&t[..i]), number(&t[i + 4..]))
    {
        return Some(ReferenceRange {
            low: q(a),
            high: q(b),
            text: None,
        });
    }
    for (i, _) in t.match_indices('-').filter(|(i, _)| *i > 0) {
        if let (Some(a), Some(b)) = (number(&t[..i]), number(&t[i + 1..])) {
            return Some(ReferenceRange {
                low: q(a),
                high: q(b),
                text: None,
            });
        }
    }
    Some(ReferenceRange {
        text: Some(t.to_string()),
        ..ReferenceRange::default()
    })
}

/// An ED value that holds text: type of data `TEXT` or subtype `plain`,
/// encoded `A` (as is), `Base64` or `Hex`, decoding to UTF-8.
fn ed_text(rep: Repetition<'_>) -> Option<String> {
    let kind = rep.component(2).text().trim().to_ascii_uppercase();
    let subtype = rep.component(3).text().trim().to_ascii_uppercase();
    if kind != "TEXT" && subtype != "PLAIN" {
        return None;
    }
    let encoding = rep.component(4).text().trim().to_ascii_uppercase();
    let data = rep.component(5).full_text();
    let bytes = match encoding.as_str() {
        "A" | "" => return Some(data.into_owned()),
        "BASE64" => {
            let compact: String = data.chars().filter(|c| !c.is_whitespace()).collect();
            base64::engine::general_purpose::STANDARD
                .decode(compact)
                .ok()?
        }
        "HEX" => {
            let h = data.trim();
            if !h.len().is_multiple_of(2) || !h.is_ascii() {
                return None;
            }
            (0..h.len())
                .step_by(2)
                .map(|i| u8::from_str_radix(h.get(i..i + 2)?, 16).ok())
                .collect::<Option<Vec<u8>>>()?
        }
        _ => return None,
    };
    String::from_utf8(bytes).ok()
}

/// NTE-3, every repetition, as one note.
fn note_text(nte: Segment<'_>) -> Option<String> {
    let lines: Vec<String> = nte
        .field(3)
        .repetitions()
        .map(|r| r.full_text().into_owned())
        .collect();
    let text = lines.join("\n");
    (!text.trim().is_empty()).then_some(text)
}

/// An entity identifier (EI): `id`, or `id@namespace` when it has one;
/// control characters removed, at most 200 characters.
fn entity_id(field: Field<'_>) -> Option<String> {
    let id = field.component(1).value()?;
    let ns = field.component(2).value();
    let full = match ns {
        Some(ns) if !ns.trim().is_empty() => format!("{}@{}", id.trim(), ns.trim()),
        _ => id.trim().to_string(),
    };
    let clean: String = full
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ID)
        .collect();
    (!clean.is_empty()).then_some(clean)
}

/// The id of an observation outside any report: `obx/{OBX-3 code}/{OBX-14}`
/// (what the laboratory can find it by), when both are there.
fn lone_id(obx: Segment<'_>) -> Option<String> {
    let code = obx.field(3).component(1).value()?;
    let when = obx.field(14).value()?;
    let key = format!("obx/{}/{}", code.trim(), when.trim());
    let clean: String = key
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_ID)
        .collect();
    Some(clean)
}

/// A person's name from a CNN (OBR-32, OBR-34: `id&family&given&…` in
/// one component).
fn cnn_name(component: Component<'_>) -> Option<String> {
    let family = component.subcomponent(2).value();
    let given = component.subcomponent(3).value();
    join_name(given.as_deref(), family.as_deref())
}

/// An XCN person: `id^family^given^…`.
fn xcn_name(rep: Repetition<'_>) -> Option<String> {
    let family = rep.component(2).value();
    let given = rep.component(3).value();
    join_name(given.as_deref(), family.as_deref())
}

fn join_name(given: Option<&str>, family: Option<&str>) -> Option<String> {
    let parts: Vec<&str> = [given, family]
        .into_iter()
        .flatten()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}
