//! One `$gpc.getstructuredrecord` answer, read without I/O: the Bundle is
//! indexed, the Patient checked against the NHS number asked for, and for
//! each wanted section the primary Lists of its clinical areas are read,
//! their warning codes turned into issues and their entries into items.
//!
//! Items come only from the primary Lists (and what their entries link
//! to: a statement's issues, a report's results, a test group's members),
//! never from resources that merely sit in the Bundle, so that secondary
//! and consultation-structure Lists do not duplicate items and nothing the
//! practice did not put in an area is shown as part of it.
//!
//! How each List is read:
//!
//! - `warningCode` `confidential-items` is a `withheld` issue ("items
//!   withheld by the source (confidential)"); `data-in-transit`,
//!   `data-awaiting-filing` and any other code are notes saying what they
//!   mean;
//! - `emptyReason` means nothing is recorded: no issue;
//! - a primary List missing for a requested area is a `section-failed`
//!   issue (naming the parameter when the practice said, in a warning
//!   OperationOutcome, that it does not support it): a practice that did
//!   not answer for an area never looks like one with nothing recorded;
//! - an error OperationOutcome beside the record is a `section-failed`
//!   issue naming its Spine code and quoting the practice's words; a
//!   Bundle with no Patient is read for what its OperationOutcomes say
//!   ([`crate::answer::meaning`]);
//! - entries that cannot be resolved, resources that cannot be read,
//!   elements that had to be dropped and dates that cannot be read are
//!   counted in issues;
//! - a resource about another NHS number, a second Patient or a Patient
//!   with another NHS number is an identity mismatch: nothing is shown; a
//!   resource referring to a Patient id that is not the answer's (dangling,
//!   as in several published examples) is left out and noted.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use icr_adapter_sdk::outcome::Outcome;
use icr_adapter_sdk::{SourceError, quoting_source};
use icr_fhir_stu3::gpc::{NHS_NUMBER_SYSTEM, SpineCode};
use icr_fhir_stu3::{
    self as s, ClinicalArea, ReadError, Tolerated, WarningCode, outcome, read_bundle, read_resource,
};
use icr_model::{
    IssueKind, Item, NhsNumber, PatientRecord, Section, SectionSet, SourceIssue, SourceMeta,
    SourceRecord,
};

use crate::answer::{meaning, outcome_error};
use crate::map::{Index, Indexed, MapError, Mapped, Mapper, ref_key, type_and_id};

/// The deepest a report's results are followed (report → test group →
/// result).
pub const MAX_RESULT_DEPTH: usize = 3;

/// What an answer is read for.
#[derive(Clone)]
pub struct RecordContext<'a> {
    /// The source, for provenance.
    pub meta: &'a Arc<SourceMeta>,
    /// The NHS number asked for.
    pub nhs_number: NhsNumber,
    /// The sections wanted.
    pub wanted: SectionSet,
    /// Whether ended allergies were asked for.
    pub include_resolved_allergies: bool,
    /// Whether prescription issues were asked for.
    pub include_prescription_issues: bool,
    /// The most Bundle entries read.
    pub max_entries: usize,
}

/// The clinical areas whose primary Lists hold a section's items.
pub fn areas_of(section: Section, include_resolved_allergies: bool) -> &'static [ClinicalArea] {
    match section {
        Section::Allergies if include_resolved_allergies => {
            &[ClinicalArea::Allergies, ClinicalArea::EndedAllergies]
        }
        Section::Allergies => &[ClinicalArea::Allergies],
        Section::Medications => &[ClinicalArea::Medications],
        Section::Conditions => &[ClinicalArea::Problems],
        Section::Appointments => &[ClinicalArea::Consultations],
        Section::Results => &[ClinicalArea::Investigations],
        Section::Procedures => &[ClinicalArea::Immunisations],
        Section::Referrals => &[ClinicalArea::Referrals],
        Section::Demographics
        | Section::Contacts
        | Section::CareTeam
        | Section::Documents
        | Section::Alerts => &[],
    }
}

/// The sections this adapter can provide.
pub fn supported_sections() -> SectionSet {
    crate::KIND.offers.sections()
}

fn malformed(e: &ReadError) -> SourceError {
    SourceError::Malformed(format!("the structured record cannot be read: {e}"))
}

/// Reads one answer (a 2xx body) into what the source holds.
pub fn read_record(body: &[u8], ctx: &RecordContext<'_>) -> Result<SourceRecord, SourceError> {
    let body = body.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(body);
    let text = std::str::from_utf8(body)
        .map_err(|_| SourceError::Malformed("the answer is not UTF-8 text".into()))?;
    let bundle = read_bundle(text).map_err(|e| malformed(&e))?;
    // The resources are read from the Bundle's one scan.
    let _scan = bundle
        .scan
        .as_ref()
        .map(icr_fhir_stu3::lenient::Scan::enter);
    match bundle.resource_type.as_deref().map(str::trim) {
        Some("Bundle") => {}
        Some("OperationOutcome") => {
            return Err(outcome_error(200, body).unwrap_or_else(|| {
                SourceError::Malformed(
                    "the answer is an OperationOutcome without an error code, not a Bundle".into(),
                )
            }));
        }
        _ => return Err(SourceError::Malformed("the answer is not a Bundle".into())),
    }
    let mut reader = RecordReader::new(ctx, body.len());
    if bundle.tolerated.dropped > 0 {
        reader.issue(
            IssueKind::Unreadable,
            None,
            format!(
                "{} Bundle entr{} held no resource and could not be read",
                bundle.tolerated.dropped,
                if bundle.tolerated.dropped == 1 {
                    "y"
                } else {
                    "ies"
                }
            ),
        );
    }
    let total = bundle.entries.len();
    let mut resources = Vec::with_capacity(total.min(ctx.max_entries));
    let mut untyped = 0u32;
    for e in bundle.entries.iter().take(ctx.max_entries) {
        match e.resource_type() {
            Some(ty) => resources.push(Indexed {
                id: crate::map::peek_id(e.resource),
                ty,
                full_url: e.full_url,
                raw: e.resource,
            }),
            None => untyped += 1,
        }
    }
    if total > ctx.max_entries {
        reader.issue(
            IssueKind::Truncated,
            None,
            format!(
                "the answer had {total} Bundle entries; only the first {} were read",
                ctx.max_entries
            ),
        );
    }
    if untyped > 0 {
        reader.issue(
            IssueKind::Unreadable,
            None,
            format!(
                "{untyped} Bundle entr{} had no resourceType and could not be read",
                if untyped == 1 { "y" } else { "ies" }
            ),
        );
    }
    let index = Index::new(resources);
    reader.run(&index)?;
    if reader.other_nhs_number > 0 {
        return Err(SourceError::IdentityMismatch(format!(
            "{} resource(s) in the structured record are about another NHS number; nothing from it is shown",
            reader.other_nhs_number
        )));
    }
    Ok(reader.finish())
}

/// The error for a Bundle with no Patient: what its OperationOutcomes say
/// (a practice that failed, or does not know the person), else
/// `Malformed`.
fn no_patient(index: &Index<'_>) -> SourceError {
    let issues: Vec<_> = index
        .entries()
        .iter()
        .filter(|e| e.ty == "OperationOutcome")
        .filter_map(|e| Outcome::read(e.raw.get().as_bytes()))
        .flat_map(|o| o.issues)
        .collect();
    if issues.is_empty() {
        return SourceError::Malformed("the structured record has no Patient".into());
    }
    meaning(
        200,
        &Outcome { issues },
        "a Bundle carrying an OperationOutcome and no Patient",
    )
}

/// What an area's Lists yielded, counted for its issues.
#[derive(Default)]
struct AreaCount {
    unresolved: u32,
    other_types: u32,
    unreadable: u32,
    first_error: Option<String>,
    other_patient: u32,
    positional: u32,
    bad_dates: u32,
    unresolved_medicines: u32,
    tolerated: Tolerated,
}

struct RecordReader<'c> {
    ctx: &'c RecordContext<'c>,
    record: SourceRecord,
    patient_id: Option<String>,
    seen: HashSet<String>,
    /// Resources whose subject is another NHS number, across areas: any
    /// at all and the answer mixes people.
    other_nhs_number: u32,
}

impl<'c> RecordReader<'c> {
    fn new(ctx: &'c RecordContext<'c>, wire_bytes: usize) -> Self {
        RecordReader {
            ctx,
            record: SourceRecord {
                wire_bytes,
                ..SourceRecord::default()
            },
            patient_id: None,
            seen: HashSet::new(),
            other_nhs_number: 0,
        }
    }

    fn issue(&mut self, kind: IssueKind, section: Option<Section>, message: String) {
        let issue = SourceIssue {
            kind,
            section,
            message,
        };
        if !self.record.issues.contains(&issue) {
            self.record.issues.push(issue);
        }
    }

    fn finish(self) -> SourceRecord {
        self.record
    }

    fn run(&mut self, index: &Index<'_>) -> Result<(), SourceError> {
        self.patient(index)?;
        if index.tolerated.dropped > 0 {
            self.issue(
                IssueKind::Note,
                None,
                format!(
                    "{} element(s) of practitioner, organisation, medicine or specimen resources could not be read; some names may be missing",
                    index.tolerated.dropped
                ),
            );
        }
        let unsupported = self.outcomes(index);
        let lists = self.lists(index);
        for section in self.ctx.wanted.iter() {
            for &area in areas_of(section, self.ctx.include_resolved_allergies) {
                let found: Vec<&(ClinicalArea, s::List)> =
                    lists.iter().filter(|(a, _)| *a == area).collect();
                if found.is_empty() {
                    let message = if unsupported.contains(area.parameter()) {
                        format!(
                            "the source does not support {} ({} is not implemented there); they are missing",
                            area.name(),
                            area.parameter()
                        )
                    } else {
                        format!(
                            "the source returned no {} list; they are missing",
                            area.name()
                        )
                    };
                    self.issue(IssueKind::SectionFailed, Some(section), message);
                    continue;
                }
                let mut count = AreaCount::default();
                for (_, list) in found {
                    self.warnings(section, area, list);
                    self.entries(index, section, area, list, &mut count);
                }
                self.area_issues(section, area, count);
            }
        }
        Ok(())
    }

    fn patient(&mut self, index: &Index<'_>) -> Result<(), SourceError> {
        let patients: Vec<&Indexed<'_>> = index
            .entries()
            .iter()
            .filter(|e| e.ty == "Patient")
            .collect();
        let patient = match patients.as_slice() {
            [] => return Err(no_patient(index)),
            [one] => *one,
            _ => {
                return Err(SourceError::IdentityMismatch(
                    "the structured record has more than one Patient".into(),
                ));
            }
        };
        let mut mapper = Mapper::new(index, &self.ctx.meta.id);
        let (demographics, id, last_updated) = mapper
            .patient(patient.raw)
            .map_err(|e| SourceError::Malformed(format!("the Patient cannot be read: {e}")))?;
        let (p, _) = read_resource::<s::Patient>("Patient", patient.raw)
            .map_err(|e| SourceError::Malformed(format!("the Patient cannot be read: {e}")))?;
        let numbers: Vec<&str> = p
            .identifier
            .iter()
            .filter(|i| i.is_of(NHS_NUMBER_SYSTEM))
            .filter_map(|i| i.value.as_deref())
            .collect();
        let other = numbers
            .iter()
            .any(|v| NhsNumber::parse_formatted(v) != Ok(self.ctx.nhs_number));
        if other {
            return Err(SourceError::IdentityMismatch(
                "the Patient in the answer has an NHS number other than the one asked for".into(),
            ));
        }
        if numbers.is_empty() {
            self.issue(
                IssueKind::Note,
                None,
                "the Patient in the answer carries no NHS number; it is matched only by the number asked for".into(),
            );
        }
        self.patient_id = id.clone();
        if self.ctx.wanted.contains(Section::Demographics) {
            let local = match &id {
                Some(id) => format!("Patient/{id}"),
                None => "Patient".to_string(),
            };
            let provenance = self
                .ctx
                .meta
                .provenance(&local, last_updated)
                .map_err(|_| SourceError::Malformed("the Patient id is not usable".into()))?;
            self.record.patient = Some(PatientRecord {
                demographics,
                provenance,
            });
            let section = Some(Section::Demographics);
            if mapper.bad_dates > 0 {
                self.issue(
                    IssueKind::Note,
                    section,
                    format!(
                        "{} Patient date(s) could not be read and were left out",
                        mapper.bad_dates
                    ),
                );
            }
            if mapper.tolerated.dropped > 0 {
                self.issue(
                    IssueKind::Unreadable,
                    section,
                    format!(
                        "{} element(s) of the Patient could not be read and were left out",
                        mapper.tolerated.dropped
                    ),
                );
            }
        }
        Ok(())
    }

    /// Reads the Bundle's OperationOutcomes: the parameters the practice
    /// says it does not support, and errors it reports beside the record.
    fn outcomes(&mut self, index: &Index<'_>) -> HashSet<&'static str> {
        let mut unsupported = HashSet::new();
        for e in index
            .entries()
            .iter()
            .filter(|e| e.ty == "OperationOutcome")
        {
            let Ok((oo, _)) = read_resource::<s::OperationOutcome>("OperationOutcome", e.raw)
            else {
                continue;
            };
            for i in &oo.issue {
                let code = outcome::spine_code(i);
                let severity = outcome::severity(i);
                let said = [
                    i.diagnostics.as_deref(),
                    i.details.as_ref().and_then(|d| d.text.as_deref()),
                ];
                let named: Vec<&'static str> = ClinicalArea::ALL
                    .iter()
                    .map(|a| a.parameter())
                    .filter(|p| said.iter().flatten().any(|t| t.contains(p)))
                    .collect();
                if code == Some(SpineCode::NotImplemented)
                    || i.code.as_deref().map(str::trim) == Some("not-supported")
                {
                    unsupported.extend(named);
                } else if matches!(severity, Some("error" | "fatal")) {
                    let what = code.map_or("no Spine code", SpineCode::as_str);
                    let [diagnostics, text] = said;
                    self.issue(
                        IssueKind::SectionFailed,
                        None,
                        quoting_source(
                            format!("the source reported an error beside the record ({what})"),
                            diagnostics
                                .filter(|d| !d.trim().is_empty())
                                .or(text)
                                .unwrap_or(""),
                        ),
                    );
                }
            }
        }
        unsupported
    }

    /// The primary Lists, with their areas.
    fn lists(&mut self, index: &Index<'_>) -> Vec<(ClinicalArea, s::List)> {
        let mut out = Vec::new();
        let mut unreadable = 0u32;
        for e in index.entries().iter().filter(|e| e.ty == "List") {
            let Ok((list, _)) = read_resource::<s::List>("List", e.raw) else {
                unreadable += 1;
                continue;
            };
            let title = list.title.as_deref();
            let area = list.code.as_ref().and_then(|c| {
                c.coding.iter().find_map(|k| {
                    ClinicalArea::of_list(k.system.as_deref(), k.code.as_deref()?, title)
                })
            });
            if let Some(area) = area {
                out.push((area, list));
            }
        }
        if unreadable > 0 {
            self.issue(
                IssueKind::Unreadable,
                None,
                format!("{unreadable} List(s) could not be read; their areas may be missing"),
            );
        }
        out
    }

    fn warnings(&mut self, section: Section, area: ClinicalArea, list: &s::List) {
        let codes = list
            .extension
            .iter()
            .filter(|e| {
                icr_fhir_stu3::gpc::WARNING_CODE_NAMES
                    .iter()
                    .any(|n| e.is(n))
            })
            .flat_map(|e| {
                e.value_code.iter().cloned().chain(
                    e.value_codeable_concept
                        .iter()
                        .flat_map(|c| c.coding.iter().filter_map(|k| k.code.clone())),
                )
            })
            .collect::<Vec<_>>();
        for code in codes {
            let Some(w) = WarningCode::parse(&code) else {
                self.issue(
                    IssueKind::Note,
                    Some(section),
                    format!(
                        "the source put an unreadable warning code on the {} list",
                        area.name()
                    ),
                );
                continue;
            };
            let (kind, message) = match &w {
                WarningCode::ConfidentialItems => (
                    IssueKind::Withheld,
                    "items withheld by the source (confidential)".to_string(),
                ),
                WarningCode::DataInTransit => (
                    IssueKind::Note,
                    format!(
                        "the record is still being transferred from the patient's previous practice; {} recorded there may be missing",
                        area.name()
                    ),
                ),
                WarningCode::DataAwaitingFiling => (
                    IssueKind::Note,
                    format!(
                        "some {} are awaiting filing at the practice and have not been reviewed for sharing",
                        area.name()
                    ),
                ),
                WarningCode::Other(c) => (
                    IssueKind::Note,
                    format!(
                        "the source flagged the {} list with warning code {c}",
                        area.name()
                    ),
                ),
            };
            self.issue(kind, Some(section), message);
        }
    }

    fn entries(
        &mut self,
        index: &Index<'_>,
        section: Section,
        area: ClinicalArea,
        list: &s::List,
        count: &mut AreaCount,
    ) {
        // Contained resources (the ended allergies), by `#id`.
        let contained: HashMap<String, &icr_fhir_stu3::RawJson> = list
            .contained
            .iter()
            .filter_map(|c| {
                let raw: &serde_json::value::RawValue = serde_json::from_str(c.get()).ok()?;
                Some((format!("#{}", crate::map::peek_id(raw)?), c))
            })
            .collect();
        let mut mapper = Mapper::new(index, &self.ctx.meta.id);
        let orders = if area == ClinicalArea::Medications && self.ctx.include_prescription_issues {
            orders(index, &mut mapper)
        } else {
            Vec::new()
        };
        // The results already followed from a report of this List.
        let mut visited: HashSet<String> = HashSet::new();
        for (i, entry) in list.entry.iter().enumerate() {
            let position = i + 1;
            let Some(reference) = entry
                .item
                .as_ref()
                .and_then(|r| icr_fhir_stu3::to_model::text(&r.reference))
            else {
                count.unresolved += 1;
                continue;
            };
            let key = ref_key(&reference);
            let (ty, raw, local): (String, &serde_json::value::RawValue, Option<String>) =
                if let Some(c) = contained.get(&key) {
                    let Ok(raw) = serde_json::from_str::<&serde_json::value::RawValue>(c.get())
                    else {
                        count.unreadable += 1;
                        continue;
                    };
                    let ty = s::peek_resource_type(raw).unwrap_or_default();
                    let local = crate::map::peek_id(raw).map(|id| format!("{ty}/{id}"));
                    (ty, raw, local)
                } else if let Some(e) = index.resolve(&reference) {
                    (e.ty.clone(), e.raw, e.local_id())
                } else {
                    count.unresolved += 1;
                    continue;
                };
            let local = local.unwrap_or_else(|| {
                count.positional += 1;
                format!("{ty}/#{}-{position}", area.list_code())
            });
            // Read each resource once, however many Lists name it.
            if self.seen.contains(&local) {
                continue;
            }
            let mut found: Vec<(String, Result<Mapped, MapError>)> = Vec::new();
            match (area, ty.as_str()) {
                (ClinicalArea::Allergies, "AllergyIntolerance") => {
                    found.push((local, mapper.allergy(raw, false)));
                }
                (ClinicalArea::EndedAllergies, "AllergyIntolerance") => {
                    found.push((local, mapper.allergy(raw, true)));
                }
                (ClinicalArea::Medications, "MedicationStatement") => {
                    match mapper.read_medication_statement(raw) {
                        Ok(x) => {
                            let issues = issues_of(index, &x, &orders, &mut mapper);
                            found.push((local, Ok(mapper.medication_statement(&x))));
                            found.extend(issues);
                        }
                        Err(e) => found.push((local, Err(e))),
                    }
                }
                (ClinicalArea::Medications, "MedicationRequest") => {
                    match mapper.read_medication_request(raw) {
                        Ok(x) => found.push((local, Ok(mapper.medication_request(&x)))),
                        Err(e) => found.push((local, Err(e))),
                    }
                }
                (ClinicalArea::Problems, "Condition") => {
                    found.push((local, mapper.condition(raw)));
                }
                (ClinicalArea::Consultations, "Encounter") => {
                    found.push((local, mapper.encounter(raw)));
                }
                (ClinicalArea::Immunisations, "Immunization") => {
                    found.push((local, mapper.immunization(raw)));
                }
                (ClinicalArea::Immunisations, "Observation") => {
                    found.push((local, mapper.immunisation_observation(raw)));
                }
                (ClinicalArea::Referrals, "ReferralRequest") => {
                    found.push((local, mapper.referral(raw)));
                }
                (ClinicalArea::Investigations, "DiagnosticReport" | "Observation") => {
                    found.extend(results(index, raw, &ty, local, &mut visited, &mut mapper));
                }
                _ => {
                    count.other_types += 1;
                    continue;
                }
            }
            for (local, mapped) in found {
                match mapped {
                    Ok(m) => self.take(section, local, m, count),
                    Err(e) => {
                        count.unreadable += 1;
                        count.first_error.get_or_insert(e.0);
                    }
                }
            }
        }
        count.bad_dates += mapper.bad_dates;
        count.unresolved_medicines += mapper.unresolved_medicines;
        count.tolerated.add(mapper.tolerated);
    }

    /// Whether `m`'s subject is another NHS number: proof that the answer
    /// mixes people.
    fn is_other_nhs_number(&self, m: &Mapped) -> bool {
        m.subject_nhs
            .as_deref()
            .is_some_and(|nhs| NhsNumber::parse_formatted(nhs) != Ok(self.ctx.nhs_number))
    }

    /// Whether `m`'s subject is a reference to a Patient other than the
    /// record's. Only one Patient may be in the answer (checked first), so
    /// this is a dangling reference — sloppy, as in several published
    /// examples, rather than another person's data: left out and noted.
    fn is_other_patient_reference(&self, m: &Mapped) -> bool {
        let Some(subject) = m.subject.as_deref() else {
            return false;
        };
        match (type_and_id(subject), &self.patient_id) {
            (Some(t), Some(id)) => t.starts_with("Patient/") && t != format!("Patient/{id}"),
            _ => false,
        }
    }

    fn take(&mut self, section: Section, local: String, m: Mapped, count: &mut AreaCount) {
        if self.is_other_nhs_number(&m) {
            self.other_nhs_number += 1;
            return;
        }
        if self.is_other_patient_reference(&m) {
            count.other_patient += 1;
            return;
        }
        if m.entry.section() != section {
            count.other_types += 1;
            return;
        }
        if !self.seen.insert(local.clone()) {
            return;
        }
        match self.ctx.meta.provenance(&local, m.last_updated) {
            Ok(provenance) => self.record.items.push(Item {
                entry: m.entry,
                provenance,
            }),
            Err(_) => {
                count.unreadable += 1;
                count
                    .first_error
                    .get_or_insert_with(|| "a resource id is not usable".into());
            }
        }
    }

    fn area_issues(&mut self, section: Section, area: ClinicalArea, c: AreaCount) {
        let name = area.name();
        let section = Some(section);
        if c.unresolved > 0 {
            self.issue(
                IssueKind::Unreadable,
                section,
                format!(
                    "{} {name} list {} to resources not in the answer and {} missing",
                    c.unresolved,
                    if c.unresolved == 1 {
                        "entry refers"
                    } else {
                        "entries refer"
                    },
                    if c.unresolved == 1 { "is" } else { "are" },
                ),
            );
        }
        if c.other_types > 0 {
            self.issue(
                IssueKind::Unreadable,
                section,
                format!(
                    "{} {name} list {} of a resource type not read for {name} and {} missing",
                    c.other_types,
                    if c.other_types == 1 {
                        "entry is"
                    } else {
                        "entries are"
                    },
                    if c.other_types == 1 { "is" } else { "are" },
                ),
            );
        }
        if c.unreadable > 0 {
            self.issue(
                IssueKind::Unreadable,
                section,
                format!(
                    "{} {name} resource(s) could not be read and were left out (first: {})",
                    c.unreadable,
                    c.first_error.unwrap_or_default()
                ),
            );
        }
        if c.tolerated.dropped > 0 {
            self.issue(
                IssueKind::Unreadable,
                section,
                format!(
                    "{} element(s) of {name} resources could not be read and were left out",
                    c.tolerated.dropped
                ),
            );
        }
        if c.tolerated.coerced > 0 {
            self.issue(
                IssueKind::Note,
                section,
                format!(
                    "{} element(s) of {name} resources were not in the STU3 shape and were read in the nearest STU3 shape",
                    c.tolerated.coerced
                ),
            );
        }
        if c.bad_dates > 0 {
            self.issue(
                IssueKind::Note,
                section,
                format!(
                    "{} {name} date(s) could not be read and were left out",
                    c.bad_dates
                ),
            );
        }
        if c.unresolved_medicines > 0 {
            self.issue(
                IssueKind::Note,
                section,
                format!(
                    "{} medication reference(s) could not be resolved to a medicine",
                    c.unresolved_medicines
                ),
            );
        }
        if c.other_patient > 0 {
            self.issue(
                IssueKind::Note,
                section,
                format!(
                    "{} {name} resource(s) refer to a Patient not in the answer and were left out",
                    c.other_patient
                ),
            );
        }
        if c.positional > 0 {
            self.issue(
                IssueKind::Note,
                section,
                format!(
                    "{} {name} resource(s) had no id; positional ids were used",
                    c.positional
                ),
            );
        }
    }
}

/// One prescription issue (`order` MedicationRequest) of the answer.
struct Order {
    /// The positions of the authorisations it is based on.
    plans: HashSet<usize>,
    local: String,
    request: s::MedicationRequest,
}

/// Every prescription issue of the answer (each read once).
fn orders(index: &Index<'_>, mapper: &mut Mapper<'_, '_>) -> Vec<Order> {
    let mut out = Vec::new();
    for e in index
        .entries()
        .iter()
        .filter(|e| e.ty == "MedicationRequest")
    {
        let Ok(x) = mapper.read_medication_request(e.raw) else {
            continue;
        };
        if x.intent.as_deref().map(str::trim) != Some("order") {
            continue;
        }
        let Some(local) = e.local_id() else { continue };
        let plans = x
            .based_on
            .iter()
            .filter_map(|r| index.position(r.reference.as_deref()?))
            .collect();
        out.push(Order {
            plans,
            local,
            request: x,
        });
    }
    out
}

/// The issues based on the authorisations a statement is based on.
fn issues_of(
    index: &Index<'_>,
    st: &s::MedicationStatement,
    orders: &[Order],
    mapper: &mut Mapper<'_, '_>,
) -> Vec<(String, Result<Mapped, MapError>)> {
    let plans: HashSet<usize> = st
        .based_on
        .iter()
        .filter_map(|r| index.position(r.reference.as_deref()?))
        .collect();
    orders
        .iter()
        .filter(|o| !o.plans.is_disjoint(&plans))
        .map(|o| (o.local.clone(), Ok(mapper.medication_request(&o.request))))
        .collect()
}

/// A report or observation listed in the investigations List, and the
/// results it groups (followed to [`MAX_RESULT_DEPTH`]; each result once
/// per List, however many reports name it).
fn results(
    index: &Index<'_>,
    raw: &serde_json::value::RawValue,
    ty: &str,
    local: String,
    visited: &mut HashSet<String>,
    mapper: &mut Mapper<'_, '_>,
) -> Vec<(String, Result<Mapped, MapError>)> {
    let mut out = Vec::new();
    let mut queue: Vec<(usize, String, &serde_json::value::RawValue, bool)> =
        vec![(0, local, raw, ty == "DiagnosticReport")];
    while let Some((depth, local, raw, is_report)) = queue.pop() {
        if !visited.insert(local.clone()) {
            continue;
        }
        let read = if is_report {
            mapper.report(raw)
        } else {
            mapper.observation(raw)
        };
        match read {
            Ok((mapped, members)) => {
                out.push((local, Ok(mapped)));
                if depth < MAX_RESULT_DEPTH {
                    for r in members {
                        if let Some(e) = index.resolve(&r)
                            && e.ty == "Observation"
                            && let Some(l) = e.local_id()
                        {
                            queue.push((depth + 1, l, e.raw, false));
                        }
                    }
                }
            }
            Err(e) => out.push((local, Err(e))),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_supported_section_has_an_area_or_is_demographics() {
        for s in supported_sections().iter() {
            assert!(
                s == Section::Demographics || !areas_of(s, true).is_empty(),
                "{s}"
            );
        }
        for s in Section::ALL {
            if !supported_sections().contains(*s) {
                assert!(areas_of(*s, true).is_empty());
            }
        }
    }
}
