//! Report: a status for every source asked, from what the fetch gathered
//! (after the identity guard), the organisations whose systems gave no
//! definite answer, and the record's [`Verdict`]. Pure: no I/O.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::Routing;
use icr_model::time::OffsetDateTime;
use icr_model::{OdsCode, SectionSet, SourceId, SourceIssue, SourceRecord, SourceStatus};
use serde::Serialize;

use super::fetch::Gathered;
use crate::outcome::Verdict;
use crate::sources::{Source, State};

/// The status of one source in a response.
#[derive(Clone, Debug, Serialize)]
pub struct SourceReport {
    /// Source id.
    pub source: SourceId,
    /// Organisation name.
    pub organisation: String,
    /// Organisation ODS code.
    pub ods_code: OdsCode,
    /// Adapter kind.
    pub kind: String,
    /// How it went.
    pub status: SourceStatus,
    /// Time spent on this source, in milliseconds.
    pub latency_ms: u64,
    /// Items it contributed (before de-duplication).
    pub items: usize,
    /// Whether the answer came from the cache (or from a concurrent
    /// request's fetch) rather than this request's own call.
    pub cached: bool,
    /// When the source's answer was received (a cached answer keeps the
    /// time it was fetched); absent when the source gave no answer.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "icr_model::rfc3339_opt::serialize"
    )]
    pub fetched_at: Option<OffsetDateTime>,
    /// What went wrong, for any status but `ok`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// Problems with parts of its answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub issues: Vec<SourceIssue>,
}

/// What the sources said, as reported.
pub(crate) struct Report {
    /// A status for every source asked, in registration order.
    pub sources: Vec<SourceReport>,
    /// The answers to merge, in registration order.
    pub answered: Vec<Arc<SourceRecord>>,
    /// Organisations whose systems gave no definite answer, sorted.
    pub unanswered: Vec<OdsCode>,
    /// Did any source answer?
    pub verdict: Verdict,
}

/// Reports every source asked (measuring each for `/metrics` and its
/// recent outcomes), under `budget` (the request's time).
pub(crate) fn report(sources: &[Arc<Source>], gathered: &mut Gathered, budget: Duration) -> Report {
    let mut statuses = Vec::with_capacity(gathered.asks.len());
    let mut answered: Vec<Arc<SourceRecord>> = Vec::new();
    for ask in &gathered.asks {
        let source = &sources[ask.index];
        let wanted: SectionSet = ask.sections;
        let (status, latency, items, received, message, issues) =
            match gathered.results[ask.index].take() {
                Some((Ok((record, received)), elapsed)) => {
                    let items = record
                        .items
                        .iter()
                        .filter(|i| wanted.contains(i.entry.section()))
                        .count();
                    let loses = record.issues.iter().any(SourceIssue::loses_data);
                    let status = if loses {
                        SourceStatus::Partial
                    } else {
                        SourceStatus::Ok
                    };
                    let message = loses.then(|| {
                        "some of this source's record could not be fetched or read; see issues"
                            .to_string()
                    });
                    let issues = record.issues.clone();
                    answered.push(record);
                    (status, elapsed, items, Some(received), message, issues)
                }
                Some((Err(e), elapsed)) => (
                    e.status(),
                    elapsed,
                    0,
                    None,
                    Some(e.to_string()),
                    Vec::new(),
                ),
                None => (
                    SourceStatus::Timeout,
                    budget,
                    0,
                    None,
                    Some(format!(
                        "no answer within the request deadline of {} ms",
                        budget.as_millis()
                    )),
                    Vec::new(),
                ),
            };
        source.measured.observe(status, latency);
        source
            .recent
            .remember(latency.as_millis() as u64, status.failed());
        statuses.push(SourceReport {
            source: source.spec.id.clone(),
            organisation: source.meta.organisation.clone(),
            ods_code: source.meta.ods_code.clone(),
            kind: source.spec.kind.clone(),
            status,
            latency_ms: latency.as_millis() as u64,
            items,
            cached: received.is_some_and(|r| r.cached),
            fetched_at: received.map(|r| r.at),
            message,
            issues,
        });
    }
    let mut unanswered: Vec<OdsCode> = statuses
        .iter()
        .filter(|s| s.status.failed())
        .map(|s| s.ods_code.clone())
        .collect();
    if gathered.practice_unknown {
        unanswered.extend(
            sources
                .iter()
                .filter(|s| s.spec.routing == Routing::RegisteredPractice)
                .map(|s| s.spec.ods_code.clone()),
        );
    }
    unanswered.sort();
    unanswered.dedup();
    let verdict = verdict(&statuses);
    tracing::info!(
        sources = statuses.len(),
        answered = statuses.iter().filter(|s| s.status.answered()).count(),
        failed = statuses
            .iter()
            .filter(|s| !s.status.answered() && s.status != SourceStatus::NotFound)
            .count(),
        http_status = verdict.status().as_u16(),
        "record assembled"
    );
    Report {
        sources: statuses,
        answered,
        unanswered,
        verdict,
    }
}

/// A source withholding its record has answered: that is not a failure of
/// the gateway's upstreams, and its status says why.
pub(crate) fn verdict(statuses: &[SourceReport]) -> Verdict {
    if statuses.is_empty()
        || statuses
            .iter()
            .any(|s| s.status.answered() || s.status == SourceStatus::Withheld)
    {
        Verdict::Answered
    } else if statuses.iter().all(|s| s.status == SourceStatus::NotFound) {
        Verdict::NotFound
    } else {
        Verdict::Unanswered
    }
}

/// The organisations holding a record for the person: those of sources
/// that answered with one, but not the demographics service (which holds
/// everyone) — it names the person, it is not involved in their care.
pub(crate) fn holders(state: &State, statuses: &[SourceReport]) -> Vec<OdsCode> {
    statuses
        .iter()
        .filter(|s| s.status.answered() && !state.is_demographics_service(&s.source))
        .map(|s| s.ods_code.clone())
        .collect()
}
