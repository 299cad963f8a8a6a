//! Report: a status for every source asked — and every source planned but
//! skipped, as `skipped` with the reason, so that a skip never looks like
//! an empty answer — from what the fetch gathered (after the identity
//! guard), the organisations whose systems gave no definite answer, and
//! the record's [`Verdict`]. Pure: no I/O.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::Routing;
use icr_model::time::OffsetDateTime;
use icr_model::{OdsCode, SectionSet, SourceId, SourceIssue, SourceRecord, SourceStatus};
use serde::Serialize;

use super::fetch::Gathered;
use super::plan::Skip;
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
        if let Some(skip) = ask.skip {
            // Counted, but not as a latency: nothing was waited for.
            source.measured.count(SourceStatus::Skipped);
            statuses.push(skipped(source, skip));
            continue;
        }
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
                // A "no record" answer says when it was received (and
                // whether from the cache), as a record does.
                Some((Err(e), elapsed)) => (
                    e.status(),
                    elapsed,
                    0,
                    gathered.no_record[ask.index].filter(|_| e.status() == SourceStatus::NotFound),
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
            .filter(|s| !s.status.answered() && !s.status.holds_none_known())
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

/// The report of a source not asked (or whose answer is not shown), and why.
fn skipped(source: &Source, skip: Skip) -> SourceReport {
    SourceReport {
        source: source.spec.id.clone(),
        organisation: source.meta.organisation.clone(),
        ods_code: source.meta.ods_code.clone(),
        kind: source.spec.kind.clone(),
        status: SourceStatus::Skipped,
        latency_ms: 0,
        items: 0,
        cached: false,
        fetched_at: None,
        message: Some(skip.reason()),
        issues: Vec::new(),
    }
}

/// A source withholding its record has answered: that is not a failure of
/// the gateway's upstreams, and its status says why. Sources skipped count
/// as holding no record known, as those that answered so.
pub(crate) fn verdict(statuses: &[SourceReport]) -> Verdict {
    if statuses.is_empty()
        || statuses
            .iter()
            .any(|s| s.status.answered() || s.status == SourceStatus::Withheld)
    {
        Verdict::Answered
    } else if statuses.iter().all(|s| s.status.holds_none_known()) {
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

#[cfg(test)]
mod tests {
    use icr_adapter_sdk::SourceError;

    use super::*;
    use crate::cache::Received;
    use crate::pipeline::plan::Ask;
    use crate::pipeline::test_support::{answer, fake, sections, source, source_report as status};

    fn ask(index: usize) -> Ask {
        Ask {
            index,
            sections: sections("medications"),
            objected: false,
            skip: None,
        }
    }

    #[test]
    fn every_source_asked_is_reported_and_the_unanswered_are_named() {
        let sources = [
            source(
                "hospital",
                "RX1",
                Routing::All,
                "medications",
                fake(Ok(Default::default())),
            ),
            source(
                "council",
                "RX2",
                Routing::All,
                "medications",
                fake(Ok(Default::default())),
            ),
            source(
                "lab",
                "RX3",
                Routing::All,
                "medications",
                fake(Ok(Default::default())),
            ),
            source(
                "gp-a",
                "A81001",
                Routing::RegisteredPractice,
                "medications",
                fake(Ok(Default::default())),
            ),
        ];
        let mut gathered = Gathered {
            asks: vec![ask(0), ask(1), ask(2)],
            results: vec![
                Some((
                    Ok((Arc::new(answer(None, None, None)), Received::now())),
                    Duration::from_millis(3),
                )),
                Some((Err(SourceError::PatientNotFound), Duration::from_millis(4))),
                None,
                None,
            ],
            no_record: vec![None; 4],
            warnings: Vec::new(),
            practice_unknown: true,
            waited: Duration::from_millis(9),
        };
        let r = report(&sources, &mut gathered, Duration::from_millis(500));
        let statuses: Vec<(&str, SourceStatus, u64)> = r
            .sources
            .iter()
            .map(|s| (s.source.as_str(), s.status, s.latency_ms))
            .collect();
        assert_eq!(
            statuses,
            [
                ("hospital", SourceStatus::Ok, 3),
                ("council", SourceStatus::NotFound, 4),
                ("lab", SourceStatus::Timeout, 500),
            ]
        );
        assert_eq!(
            r.sources[2].message.as_deref(),
            Some("no answer within the request deadline of 500 ms")
        );
        assert_eq!(r.answered.len(), 1);
        // The lab timed out; the practice is unknown because PDS failed.
        let unanswered: Vec<&str> = r.unanswered.iter().map(|o| o.as_str()).collect();
        assert_eq!(unanswered, ["A81001", "RX3"]);
        assert_eq!(r.verdict, Verdict::Answered);
    }

    #[test]
    fn the_verdict_is_answered_unless_all_hold_nothing_or_none_answered() {
        use SourceStatus as S;
        let v = |list: &[S]| verdict(&list.iter().map(|s| status(*s)).collect::<Vec<_>>());
        assert_eq!(v(&[]), Verdict::Answered);
        assert_eq!(v(&[S::Timeout, S::Partial]), Verdict::Answered);
        assert_eq!(v(&[S::Error, S::Withheld]), Verdict::Answered);
        assert_eq!(v(&[S::NotFound, S::NotFound]), Verdict::NotFound);
        assert_eq!(v(&[S::NotFound, S::Skipped]), Verdict::NotFound);
        assert_eq!(v(&[S::Skipped, S::Timeout]), Verdict::Unanswered);
        assert_eq!(v(&[S::NotFound, S::Timeout]), Verdict::Unanswered);
        assert_eq!(v(&[S::Unavailable]), Verdict::Unanswered);
    }
}
