//! OperationOutcomes: an error answer, the answer when no record can be
//! shown, and the outcomes a record's Bundle carries (a source that did
//! not answer in full, the view's warnings).

use icr_fhir::{
    BundleEntry, CodeableConcept, Coding, OperationOutcome, OperationOutcomeIssue, Resource,
};
use icr_model::time::format_description::well_known::Rfc3339;
use icr_policy::{Shown, Withheld};

use icr_model::SourceStatus;

use crate::{RecordOutcome, SourceReport};

use super::{STATUS_SYSTEM, item_uuid, search, uuid_for};

/// An OperationOutcome with one error issue whose details carry the
/// gateway's own code (`NO_RELATIONSHIP`, `expired`, …) in `urn:icr:error`.
pub fn outcome_error_coded(code: &str, icr_code: &str, message: &str) -> Resource {
    Resource::OperationOutcome(OperationOutcome {
        issue: vec![OperationOutcomeIssue {
            severity: Some("error".into()),
            code: Some(code.into()),
            details: Some(CodeableConcept {
                coding: vec![Coding {
                    system: Some("urn:icr:error".into()),
                    code: Some(icr_code.into()),
                    ..Default::default()
                }],
                text: None,
            }),
            diagnostics: Some(message.into()),
            expression: Vec::new(),
        }],
        ..Default::default()
    })
}

/// An OperationOutcome with one error issue.
pub fn outcome_error(code: &str, message: &str) -> Resource {
    Resource::OperationOutcome(OperationOutcome {
        issue: vec![OperationOutcomeIssue {
            severity: Some("error".into()),
            code: Some(code.into()),
            diagnostics: Some(message.into()),
            ..Default::default()
        }],
        ..Default::default()
    })
}

/// The answer when no record can be shown (`404`: no source holds one;
/// `502`: no source answered): one OperationOutcome saying so, with each
/// source's status as further issues.
pub fn record_not_shown(outcome: &RecordOutcome) -> Resource {
    let (code, message) = if outcome.verdict == crate::Verdict::NotFound {
        ("not-found", "no source holds a record for this person")
    } else {
        (
            "transient",
            "no source answered, so no record can be shown; try again later",
        )
    };
    let mut issue = vec![OperationOutcomeIssue {
        severity: Some("error".into()),
        code: Some(code.into()),
        diagnostics: Some(message.into()),
        ..Default::default()
    }];
    for s in &outcome.sources {
        if let Resource::OperationOutcome(o) = source_outcome(s).resource {
            issue.extend(o.issue);
        }
    }
    Resource::OperationOutcome(OperationOutcome {
        issue,
        ..Default::default()
    })
}

pub(crate) fn source_outcome(s: &SourceReport) -> BundleEntry {
    let (severity, code) = match s.status {
        SourceStatus::Ok => ("information", "informational"),
        SourceStatus::Partial => ("warning", "incomplete"),
        SourceStatus::NotFound => ("information", "not-found"),
        SourceStatus::Timeout => ("error", "timeout"),
        SourceStatus::Unavailable => ("error", "transient"),
        SourceStatus::Error => ("error", "exception"),
        SourceStatus::Withheld => ("warning", "suppressed"),
        // Not asked: a warning, so that it is never read as an empty answer.
        SourceStatus::Skipped => ("warning", "informational"),
    };
    let status_code = s.status.as_str();
    let mut issue = vec![OperationOutcomeIssue {
        severity: Some(severity.into()),
        code: Some(code.into()),
        details: Some(CodeableConcept {
            coding: vec![Coding {
                system: Some(STATUS_SYSTEM.into()),
                code: Some(status_code.into()),
                ..Default::default()
            }],
            text: Some(format!(
                "{} ({}, {}): {status_code}",
                s.organisation, s.source, s.ods_code
            )),
        }),
        diagnostics: s.message.clone().filter(|m| !m.trim().is_empty()),
        expression: Vec::new(),
    }];
    if s.cached {
        issue.push(OperationOutcomeIssue {
            severity: Some("information".into()),
            code: Some("informational".into()),
            details: Some(CodeableConcept {
                coding: Vec::new(),
                text: Some(format!("{} ({}): cached", s.organisation, s.source)),
            }),
            diagnostics: Some(match s.fetched_at.and_then(|t| t.format(&Rfc3339).ok()) {
                Some(at) => {
                    format!("served from the gateway's cache: fetched from the source at {at}")
                }
                None => "served from the gateway's cache".into(),
            }),
            expression: Vec::new(),
        });
    }
    for i in &s.issues {
        issue.push(OperationOutcomeIssue {
            severity: Some(
                if i.loses_data() {
                    "warning"
                } else {
                    "information"
                }
                .into(),
            ),
            code: Some(
                if i.loses_data() {
                    "incomplete"
                } else {
                    "informational"
                }
                .into(),
            ),
            details: Some(CodeableConcept {
                coding: Vec::new(),
                text: Some(format!("{} ({}): {}", s.organisation, s.source, i.kind)),
            }),
            diagnostics: Some(match i.section {
                Some(section) => format!("{section}: {}", i.message),
                None => i.message.clone(),
            }),
            expression: Vec::new(),
        });
    }
    let id = format!("source-{}", s.source);
    BundleEntry {
        full_url: Some(format!("urn:uuid:{}", uuid_for("outcome", &id))),
        resource: Resource::OperationOutcome(OperationOutcome {
            id: Some(id),
            issue,
            ..Default::default()
        }),
        search: search("outcome"),
    }
}

pub(crate) fn warnings_outcome(
    outcome: &RecordOutcome,
    shown: &Shown<'_>,
    withheld: &Withheld,
) -> Option<BundleEntry> {
    let mut issue: Vec<OperationOutcomeIssue> = shown
        .warnings()
        .chain(outcome.warnings.iter().filter(|w| shown.shows_warning(w)))
        .map(|w| OperationOutcomeIssue {
            severity: Some("warning".into()),
            code: Some("informational".into()),
            details: Some(CodeableConcept {
                coding: vec![Coding {
                    system: Some("urn:icr:warning".into()),
                    code: Some(w.code.into()),
                    ..Default::default()
                }],
                text: None,
            }),
            diagnostics: Some(w.message.clone()),
            expression: Vec::new(),
        })
        .collect();
    if withheld.count > 0 {
        // How many, never what.
        issue.push(OperationOutcomeIssue {
            severity: Some("information".into()),
            code: Some("suppressed".into()),
            details: Some(CodeableConcept {
                coding: vec![Coding {
                    system: Some("urn:icr:warning".into()),
                    code: Some("items-withheld".into()),
                    ..Default::default()
                }],
                text: None,
            }),
            diagnostics: Some(format!(
                "{} item{} withheld: sensitive, and the caller's role is not cleared for them",
                withheld.count,
                if withheld.count == 1 { "" } else { "s" }
            )),
            expression: Vec::new(),
        });
    }
    for item in shown.items() {
        if item.conflicts.is_empty() {
            continue;
        }
        let fields: Vec<&str> = item.conflicts.iter().map(|c| c.field.as_str()).collect();
        let label = item
            .entry
            .code()
            .and_then(|c| c.label())
            .unwrap_or("an item");
        issue.push(OperationOutcomeIssue {
            severity: Some("warning".into()),
            code: Some("informational".into()),
            details: Some(CodeableConcept {
                coding: vec![Coding {
                    system: Some("urn:icr:warning".into()),
                    code: Some("sources-differ".into()),
                    ..Default::default()
                }],
                text: None,
            }),
            diagnostics: Some(format!(
                "{} ({}): sources holding it differ on {}",
                label,
                item.entry.section(),
                fields.join(", ")
            )),
            expression: vec![format!(
                "Bundle.entry.where(fullUrl = 'urn:uuid:{}')",
                item_uuid(item)
            )],
        });
    }
    if issue.is_empty() {
        return None;
    }
    Some(BundleEntry {
        full_url: Some(format!("urn:uuid:{}", uuid_for("outcome", "warnings"))),
        resource: Resource::OperationOutcome(OperationOutcome {
            id: Some("warnings".into()),
            issue,
            ..Default::default()
        }),
        search: search("outcome"),
    })
}
