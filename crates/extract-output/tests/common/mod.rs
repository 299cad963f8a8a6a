//! Synthetic pseudonymised records for the writers' tests and bench: every
//! section, every resource type, dated so that each item has its OMOP row
//! (and a blood pressure's two parts theirs).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use icr_extract_output::{FileEntry, Writers};
use icr_model::time::{Date, Month, OffsetDateTime};
use icr_model::{
    AlertStatus, AllergyCategory, AllergyClinicalStatus, AppointmentKind, AppointmentStatus,
    CareTeamStatus, CodeSystem, ConditionClinicalStatus, Criticality, DocumentStatus, Gender,
    MedicationKind, MedicationStatus, NhsNumber, OdsCode, PartialDateTime, Priority,
    ProcedureStatus, RequestStatus, ResultKind, ResultStatus, Severity, SourceId, Verification,
};
use icr_pseudonymise::transform::*;
use icr_pseudonymise::{AgeBand, District, ProjectKey, Pseudonym, PseudonymisedRecord};

pub fn key() -> ProjectKey {
    ProjectKey::from_bytes(&[7; 32]).unwrap()
}

pub fn code(system: CodeSystem, code: &str) -> Code {
    Code {
        system,
        code: code.into(),
    }
}

pub fn snomed(c: &str) -> Vec<Code> {
    vec![code(CodeSystem::Snomed, c)]
}

fn day(y: i32, m: u8, d: u8) -> Option<PartialDateTime> {
    Some(PartialDateTime::Date(
        Date::from_calendar_date(y, Month::try_from(m).unwrap(), d).unwrap(),
    ))
}

fn at(unix: i64) -> Option<PartialDateTime> {
    Some(PartialDateTime::DateTime(
        OffsetDateTime::from_unix_timestamp(unix).unwrap(),
    ))
}

/// Items of every section for person `n`; `None` fields left out.
fn items(key: &ProjectKey, n: u32) -> Vec<PseudoItem> {
    let gp = SourceId::parse("gp-system").unwrap();
    let acute = SourceId::parse("acute-pas").unwrap();
    let source = |s: &SourceId, ods: &str, local: String| ItemSource {
        source: s.clone(),
        ods_code: OdsCode::parse(ods).unwrap(),
        record_id: Pseudonym::record(key, s, &local),
    };
    let item = |k: u32, entry: PseudoEntry| PseudoItem {
        sources: vec![source(&gp, "A81001", format!("{n}/{k}"))],
        sources_differ: false,
        entry,
    };
    let y = 2020 + (n % 5) as i32;
    let m = (n % 12 + 1) as u8;
    let amount = |v: f64| Amount {
        value: Some(v),
        comparator: None,
        unit: Some("mmol/L".into()),
        unit_code: Some("mmol/L".into()),
    };
    let member = Pseudonym::record(key, &gp, &format!("{n}/5"));
    let mut out = vec![
        item(
            1,
            PseudoEntry::Conditions(ConditionItem {
                code: vec![
                    code(CodeSystem::Snomed, "44054006"),
                    code(CodeSystem::Icd10, "E11"),
                ],
                clinical_status: Some(ConditionClinicalStatus::Active),
                verification: Some(Verification::Confirmed),
                category: vec![],
                severity: vec![],
                onset: day(y - 3, m, 10),
                abatement: None,
                recorded: day(y - 3, m, 11),
            }),
        ),
        item(
            2,
            PseudoEntry::Medications(MedicationItem {
                medication: vec![code(CodeSystem::Dmd, "322236009")],
                kind: Some(MedicationKind::Statement),
                status: Some(MedicationStatus::Active),
                start: day(y - 1, m, 1),
                end: None,
                recorded: None,
                reasons: snomed("44054006"),
            }),
        ),
        item(
            3,
            PseudoEntry::Medications(MedicationItem {
                medication: vec![code(CodeSystem::Dmd, "39113611000001102")],
                kind: Some(MedicationKind::Prescription),
                status: Some(MedicationStatus::Completed),
                start: at(1_700_000_000 + i64::from(n) * 86_400),
                end: day(y, m, 28),
                recorded: None,
                reasons: vec![],
            }),
        ),
        item(
            4,
            PseudoEntry::Allergies(AllergyItem {
                code: snomed("91936005"),
                clinical_status: Some(AllergyClinicalStatus::Active),
                verification: Some(Verification::Provisional),
                category: vec![AllergyCategory::Medication],
                criticality: Some(Criticality::High),
                manifestations: snomed("271807003"),
                severity: Some(Severity::Moderate),
                onset: Some(PartialDateTime::YearMonth(y - 10, Month::March)),
                recorded: None,
            }),
        ),
        item(
            5,
            PseudoEntry::Results(Box::new(ResultItem {
                kind: Some(ResultKind::Observation),
                category: vec![],
                code: vec![code(CodeSystem::Loinc, "2823-3")],
                status: Some(ResultStatus::Final),
                effective: at(1_650_000_000 + i64::from(n) * 3_600),
                issued: at(1_650_003_600 + i64::from(n) * 3_600),
                value: Some(Value::Quantity(amount(4.0 + f64::from(n % 10) / 10.0))),
                absent_reason: vec![],
                interpretation: vec![],
                reference_range: vec![Range {
                    low: Some(amount(3.5)),
                    high: Some(amount(5.3)),
                }],
                components: vec![],
                members: vec![],
            })),
        ),
        item(
            6,
            PseudoEntry::Results(Box::new(ResultItem {
                kind: Some(ResultKind::Report),
                category: vec![],
                code: snomed("252150008"),
                status: Some(ResultStatus::Final),
                effective: day(y, m, 2),
                issued: None,
                value: None,
                absent_reason: vec![],
                interpretation: vec![],
                reference_range: vec![],
                components: vec![],
                members: vec![member],
            })),
        ),
        item(
            7,
            PseudoEntry::Documents(DocumentItem {
                doc_type: snomed("371531000"),
                category: vec![],
                status: Some(DocumentStatus::Current),
                date: at(1_660_000_000),
                care_plan_status: None,
                care_plan_start: None,
                care_plan_end: None,
            }),
        ),
        item(
            8,
            PseudoEntry::Documents(DocumentItem {
                doc_type: vec![],
                category: snomed("734163000"),
                status: None,
                date: day(y, m, 3),
                care_plan_status: Some(RequestStatus::Active),
                care_plan_start: day(y, m, 3),
                care_plan_end: None,
            }),
        ),
        item(
            9,
            PseudoEntry::Procedures(ProcedureItem {
                code: snomed("80146002"),
                status: Some(ProcedureStatus::Completed),
                performed: day(y - 2, m, 5),
                performed_end: None,
                body_site: vec![],
                outcome: vec![],
                vaccine: vec![],
                dose_number: None,
                reason_not_given: vec![],
                immunisation: false,
            }),
        ),
        item(
            10,
            PseudoEntry::Procedures(ProcedureItem {
                code: vec![],
                status: Some(ProcedureStatus::Completed),
                performed: day(y - 1, 10, 15),
                performed_end: None,
                body_site: vec![],
                outcome: vec![],
                vaccine: snomed("39114911000001105"),
                dose_number: Some(2),
                reason_not_given: vec![],
                immunisation: true,
            }),
        ),
        item(
            11,
            PseudoEntry::Referrals(ReferralItem {
                code: snomed("306206005"),
                category: vec![],
                status: Some(RequestStatus::Active),
                priority: Some(Priority::Routine),
                authored: day(y, m, 4),
                reasons: vec![],
            }),
        ),
        item(
            12,
            PseudoEntry::Appointments(AppointmentItem {
                kind: Some(AppointmentKind::Encounter),
                status: Some(AppointmentStatus::Finished),
                class: vec![code(
                    CodeSystem::Other("http://terminology.hl7.org/CodeSystem/v3-ActCode".into()),
                    "AMB",
                )],
                service_type: vec![],
                start: at(1_640_000_000 + i64::from(n) * 60),
                end: at(1_640_003_600 + i64::from(n) * 60),
                reasons: vec![],
            }),
        ),
        item(
            13,
            PseudoEntry::Appointments(AppointmentItem {
                kind: Some(AppointmentKind::Appointment),
                status: Some(AppointmentStatus::Booked),
                class: vec![],
                service_type: snomed("394814009"),
                start: at(1_800_000_000),
                end: None,
                reasons: vec![],
            }),
        ),
        item(
            14,
            PseudoEntry::Alerts(AlertItem {
                code: snomed("1104441000000107"),
                status: Some(AlertStatus::Active),
                category: vec![],
                period_start: day(y - 1, m, 20),
                period_end: None,
            }),
        ),
        item(
            15,
            PseudoEntry::Contacts(ContactItem {
                relationship: vec![],
                active: Some(true),
                period_start: None,
            }),
        ),
        item(
            16,
            PseudoEntry::CareTeam(CareTeamItem {
                status: Some(CareTeamStatus::Active),
                category: snomed("773591000000104"),
                period_start: day(y - 1, 1, 1),
                period_end: None,
                member_roles: snomed("62247001"),
            }),
        ),
        item(
            17,
            PseudoEntry::Results(Box::new(ResultItem {
                kind: Some(ResultKind::Observation),
                category: vec![],
                code: snomed("75367002"),
                status: Some(ResultStatus::Final),
                effective: day(y, m, 6),
                issued: None,
                value: None,
                absent_reason: vec![],
                interpretation: vec![],
                reference_range: vec![],
                components: [
                    ("271649006", 120.0 + f64::from(n % 30)),
                    ("271650006", 80.0),
                ]
                .into_iter()
                .map(|(c, v)| ComponentItem {
                    code: snomed(c),
                    value: Some(Value::Quantity(Amount {
                        value: Some(v),
                        comparator: None,
                        unit: Some("mm[Hg]".into()),
                        unit_code: Some("mm[Hg]".into()),
                    })),
                    interpretation: vec![],
                    reference_range: vec![],
                })
                .collect(),
                members: vec![],
            })),
        ),
    ];
    // One item held by two sources whose copies differ.
    out[0]
        .sources
        .push(source(&acute, "RD130", format!("cond-{n}")));
    out[0].sources_differ = true;
    out
}

/// Person `n` of a synthetic population (NHS numbers 999 xxx xxxx).
pub fn record(key: &ProjectKey, n: u32) -> PseudonymisedRecord {
    let nhs = (999_000_000 + n * 10..)
        .find_map(NhsNumber::from_first_nine)
        .unwrap();
    PseudonymisedRecord {
        person: Person {
            person_id: Pseudonym::person(key, nhs),
            // One person in three under a specification of age bands.
            year_of_birth: (n % 3 != 2).then_some(1940 + (n % 60) as i32),
            month_of_birth: (n % 3 != 2).then_some((n % 12 + 1) as u8),
            age_band: (n % 3 == 2).then(|| AgeBand::of_age(20 + n % 70)),
            gender: Some(if n.is_multiple_of(2) {
                Gender::Female
            } else {
                Gender::Male
            }),
            postcode_district: District::parse("SN15"),
            area: None,
            registered_practice: Some(OdsCode::parse("A81001").unwrap()),
            deceased: n.is_multiple_of(7),
            year_of_death: n.is_multiple_of(7).then_some(2024),
            month_of_death: None,
        },
        items: items(key, n),
    }
}

/// `n` people.
pub fn population(n: u32) -> Vec<PseudonymisedRecord> {
    let key = key();
    (0..n).map(|i| record(&key, i)).collect()
}

/// A fresh empty folder for one test.
pub fn temp_dir(name: &str) -> PathBuf {
    let dir =
        std::env::temp_dir().join(format!("icr-extract-output-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn readers_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/extract-readers")
}

/// The Python of the extract's independent reader (DuckDB), when installed;
/// else `None`, after saying so loudly once (under `CI=true`, a failure).
pub fn duckdb() -> Option<PathBuf> {
    static PYTHON: OnceLock<Option<PathBuf>> = OnceLock::new();
    let python = PYTHON.get_or_init(|| {
        let python = readers_dir().join(".venv/bin/python");
        if python.is_file() {
            return Some(python);
        }
        let message = "DuckDB, the extract's independent reader, is not installed: \
                       run `bash tools/extract-readers/install.sh` (PyPI duckdb 2.0.1; python3 3.11+)";
        assert!(!icr_testkit::in_ci(), "CI=true and {message}");
        eprintln!(
            "\n==================== SKIPPED: the DuckDB read-back ====================\n{message}\n\
             =======================================================================\n"
        );
        None
    });
    python.clone()
}

/// Runs `read_extract.py` over the extract in `dir`.
pub fn read_extract(python: &Path, dir: &Path) -> Output {
    Command::new(python)
        .arg(readers_dir().join("read_extract.py"))
        .arg(dir)
        .output()
        .unwrap()
}

/// Writes `records` as one extract into `dir` and finishes it.
pub fn write_records<'a>(
    dir: &Path,
    records: impl IntoIterator<Item = &'a PseudonymisedRecord>,
) -> Vec<FileEntry> {
    let mut w = Writers::create(dir).unwrap();
    for r in records {
        w.write(r).unwrap();
    }
    w.finish().unwrap()
}
