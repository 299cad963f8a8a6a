//! `icr source check`, for a source organisation getting ready to join the
//! record: its registration file loaded as the gateway loads it, its
//! adapter built, the source's own statement of what it supports read as
//! the gateway reads it at start, one fetch for a test patient planned
//! from it, and what came back reported section by section. Outside the
//! request flow; it runs the same adapter a request would.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::{BuildError, FetchRequest, Registry, RequestContext, Requester};
use icr_config::ConfigErrors;
use icr_model::{NhsNumber, OdsCode, Section, SourceRecord};

/// Writes a line to `out`, ignoring failure (a closed stdout).
macro_rules! say {
    ($out:expr, $($arg:tt)*) => {{
        let _ = writeln!($out, $($arg)*);
    }};
}

/// What `icr source check` is given.
#[derive(Clone, Debug, clap::Args)]
pub struct Args {
    /// The source's registration file (e.g. sources.d/gwh.toml).
    pub file: PathBuf,
    /// A test patient the source holds (NHS number).
    #[arg(long)]
    pub nhs: String,
    /// The configuration directory a practice directory is relative to
    /// (default: the directory above the file's).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// For a practice-directory registration: the practice to check.
    #[arg(long)]
    pub practice: Option<String>,
    /// Job role sent to sources that audit their consumers.
    #[arg(long, default_value = "R8000")]
    pub role: String,
    /// Organisation (ODS code) sent as the requester's.
    #[arg(long, default_value = "X26")]
    pub org: String,
}

/// How a check that ran came out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The source answered in full and declares everything its file offers.
    Passed,
    /// A part of the record was not read, or the file offers a search the
    /// source does not declare (or the fetch failed).
    Problems,
}

/// Why a check could not be run, or stopped before the source was asked.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    /// `--nhs` is not a valid NHS number.
    #[error("{0:?} is not a valid NHS number")]
    NhsNumber(String),
    /// `--org` is not an ODS code.
    #[error("{0:?} is not an ODS code")]
    OdsCode(String),
    /// The registration file does not load.
    #[error("{0}")]
    Registration(ConfigErrors),
    /// `--practice` names no practice of the directory.
    #[error("no practice {0} in the directory")]
    NoSuchPractice(String),
    /// The file expands a practice directory and no `--practice` was given.
    #[error(
        "{} expands a practice directory of {practices} practices: name one with --practice ODS",
        file.display()
    )]
    PracticeNeeded {
        /// The registration file.
        file: PathBuf,
        /// How many practices it expands to.
        practices: usize,
    },
    /// The adapter refused the registration.
    #[error("{}: {source}", file.display())]
    Adapter {
        /// The registration file.
        file: PathBuf,
        /// Why.
        source: BuildError,
    },
}

/// Runs the check, reporting to `out` as it goes.
pub async fn run(
    args: &Args,
    registry: &Registry,
    out: &mut impl Write,
) -> Result<Verdict, CheckError> {
    let Ok(nhs_number) = NhsNumber::parse(&args.nhs) else {
        return Err(CheckError::NhsNumber(args.nhs.clone()));
    };
    let Ok(organisation) = OdsCode::parse(&args.org) else {
        return Err(CheckError::OdsCode(args.org.clone()));
    };
    let file = &args.file;
    let config_dir = args.config.clone().unwrap_or_else(|| {
        file.parent()
            .and_then(Path::parent)
            .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
    });
    let specs =
        icr_config::load_source_file(file, &config_dir).map_err(CheckError::Registration)?;
    let spec = match (specs.as_slice(), args.practice.as_deref()) {
        ([one], _) => one.clone(),
        (many, Some(ods)) => many
            .iter()
            .find(|s| s.ods_code.as_str().eq_ignore_ascii_case(ods))
            .cloned()
            .ok_or_else(|| CheckError::NoSuchPractice(ods.into()))?,
        (many, None) => {
            return Err(CheckError::PracticeNeeded {
                file: file.clone(),
                practices: many.len(),
            });
        }
    };
    let adapter = registry
        .build(&spec)
        .map_err(|source| CheckError::Adapter {
            file: file.clone(),
            source,
        })?;
    let mut request = FetchRequest {
        nhs_number,
        sections: spec.sections,
        deadline: tokio::time::Instant::now() + Duration::from_millis(spec.timeout_ms),
        context: Arc::new(RequestContext {
            trace_id: uuid::Uuid::new_v4().to_string(),
            requester: Requester {
                user_id: "icr-source-check".into(),
                name: "ICR source check".into(),
                role: args.role.clone(),
                organisation,
                purpose: "directcare".into(),
            },
        }),
    };
    say!(
        out,
        "checking {} ({}, {}) at {} for {} — sections: {}",
        spec.id,
        spec.organisation,
        spec.kind,
        spec.endpoint,
        nhs_number.as_str(),
        spec.sections
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    // What the source says it supports, read as the gateway reads it at
    // start: the fetch below is planned from it.
    let prepared = adapter.prepare(request.deadline).await;
    for note in &prepared.notes {
        say!(out, "  the source says: {note}");
    }
    request.deadline = tokio::time::Instant::now() + Duration::from_millis(spec.timeout_ms);
    let started = std::time::Instant::now();
    let result = adapter.fetch(&request).await;
    let took = started.elapsed();
    let record = match result {
        Ok(r) => r,
        Err(e) => {
            say!(
                out,
                "FAILED after {} ms: {} — {e}",
                took.as_millis(),
                e.status_name()
            );
            return Ok(Verdict::Problems);
        }
    };
    say!(
        out,
        "answered in {} ms, {} bytes",
        took.as_millis(),
        record.wire_bytes
    );
    let mut problems = 0;
    let mut undeclared = 0;
    for section in spec.sections.iter() {
        say!(
            out,
            "  {:<13} {}",
            section.as_str(),
            what_was_read(&record, section, nhs_number)
        );
        for m in prepared.mismatches.iter().filter(|m| m.section == section) {
            undeclared += 1;
            say!(
                out,
                "      PROBLEM (undeclared): the file offers {}, which the source does not declare searchable{}",
                m.undeclared.join(", "),
                if m.whole_section {
                    "; the section is not asked of it"
                } else {
                    ""
                }
            );
        }
        problems += report_issues(&record, Some(section), "      ", out);
    }
    problems += report_issues(&record, None, "  ", out);
    let mut reasons = Vec::new();
    if undeclared > 0 {
        reasons.push("the file offers searches the source does not declare");
    }
    if problems > 0 {
        reasons.push("part of the record could not be read");
    }
    if reasons.is_empty() {
        say!(out, "OK: the source answered in full");
        Ok(Verdict::Passed)
    } else {
        say!(
            out,
            "{} problem(s): {}",
            problems + undeclared,
            reasons.join("; ")
        );
        Ok(Verdict::Problems)
    }
}

/// What `record` holds of `section`, in a few words.
fn what_was_read(record: &SourceRecord, section: Section, asked: NhsNumber) -> String {
    let items = record
        .items
        .iter()
        .filter(|i| i.entry.section() == section)
        .count();
    match (section, &record.patient) {
        (Section::Demographics, Some(p)) => format!(
            "read: {} name(s), birth date {}, {} address(es), NHS number {}",
            p.demographics.names.len(),
            if p.demographics.birth_date.is_some() {
                "given"
            } else {
                "missing"
            },
            p.demographics.addresses.len(),
            match p.demographics.nhs_number {
                Some(n) if n == asked => "matches",
                Some(_) => "DIFFERS",
                None => "missing",
            }
        ),
        (Section::Demographics, None) => "nothing read".into(),
        (_, _) if items == 0 => "nothing recorded".into(),
        (_, _) => format!("{items} item(s)"),
    }
}

/// Writes the source's issues about `section` (or about no one section),
/// each marked PROBLEM when it loses data; returns how many do.
fn report_issues(
    record: &SourceRecord,
    section: Option<Section>,
    indent: &str,
    out: &mut impl Write,
) -> usize {
    let mut problems = 0;
    for issue in record.issues.iter().filter(|i| i.section == section) {
        let marker = if issue.loses_data() {
            "PROBLEM"
        } else {
            "note"
        };
        problems += usize::from(issue.loses_data());
        say!(out, "{indent}{marker} ({}): {}", issue.kind, issue.message);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use icr_model::{IssueKind, SourceIssue};

    fn nhs(s: &str) -> NhsNumber {
        NhsNumber::parse(s).unwrap()
    }

    #[test]
    fn an_empty_answer_reads_as_nothing_read_or_nothing_recorded() {
        let record = SourceRecord::default();
        let asked = nhs("9990000018");
        assert_eq!(
            what_was_read(&record, Section::Demographics, asked),
            "nothing read"
        );
        assert_eq!(
            what_was_read(&record, Section::Allergies, asked),
            "nothing recorded"
        );
    }

    #[test]
    fn issues_are_reported_by_section_and_only_those_losing_data_count() {
        let record = SourceRecord {
            issues: vec![
                SourceIssue {
                    kind: IssueKind::Note,
                    section: Some(Section::Appointments),
                    message: "no Appointment searches".into(),
                },
                SourceIssue {
                    kind: IssueKind::Unreadable,
                    section: Some(Section::Appointments),
                    message: "one entry unreadable".into(),
                },
                SourceIssue {
                    kind: IssueKind::Note,
                    section: None,
                    message: "about the whole answer".into(),
                },
            ],
            ..SourceRecord::default()
        };
        let mut out = Vec::new();
        assert_eq!(
            report_issues(&record, Some(Section::Appointments), "    ", &mut out),
            1
        );
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "    note (note): no Appointment searches\n    PROBLEM (unreadable): one entry unreadable\n"
        );
        let mut out = Vec::new();
        assert_eq!(report_issues(&record, None, "  ", &mut out), 0);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "  note (note): about the whole answer\n"
        );
    }

    #[tokio::test]
    async fn a_bad_nhs_number_or_ods_code_stops_the_check_before_anything_is_read() {
        let args = Args {
            file: PathBuf::from("/nonexistent/sources.d/x.toml"),
            nhs: "123".into(),
            config: None,
            practice: None,
            role: "R8000".into(),
            org: "X26".into(),
        };
        let mut out = Vec::new();
        let e = run(&args, &Registry::new(), &mut out).await.unwrap_err();
        assert_eq!(e.to_string(), "\"123\" is not a valid NHS number");
        let args = Args {
            nhs: "9990000018".into(),
            org: "not an ods code".into(),
            ..args
        };
        let e = run(&args, &Registry::new(), &mut out).await.unwrap_err();
        assert_eq!(e.to_string(), "\"not an ods code\" is not an ODS code");
        assert!(out.is_empty());
    }
}
