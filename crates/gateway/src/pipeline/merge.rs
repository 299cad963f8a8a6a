//! Merge and mark: the answers that passed the identity guard become one
//! view of the person ([`icr_merge`]), with the warnings of how it was
//! gathered; then the policy marks what the caller's role may not see.
//!
//! The merged record is never edited after the merge: while the answers
//! come from the cache, the same merged record (and the policy's reading
//! of it) serves every request that gathers them ([`crate::views`]), and
//! each caller is shown it through their own marks ([`icr_policy::Shown`]).

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::Routing;
use icr_merge::{Warning, merge_with};
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceRecord, SourceStatus};
use icr_policy::{Granted, Policy, Shown, Withheld};

use super::report::{Report, SourceReport};
use crate::outcome::Verdict;
use crate::sources::State;
use crate::views::View;

/// Everything a renderer needs to answer one record request.
#[derive(Debug)]
pub struct RecordOutcome {
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections asked for.
    pub sections: SectionSet,
    /// The merged view: shared by the requests that gathered the same
    /// cached answers, never edited (what a caller may see is marked).
    pub view: Arc<View>,
    /// How this request's record was gathered (the practice not asked, a
    /// section no source offers), after the merge's own warnings.
    pub warnings: Vec<Warning>,
    /// A status for every source asked, in registration order.
    pub sources: Vec<SourceReport>,
    /// How the sources went as a whole, which decides the answer's HTTP
    /// status: answered if any source answered or withheld its record (or
    /// none was asked), not found if every source asked holds no record,
    /// otherwise unanswered.
    pub verdict: Verdict,
    /// How long the request waited for its sources (from the first call
    /// to the last answer, the practice after PDS included): what is left
    /// of the request's time is what the gateway itself added.
    pub waited: Duration,
    /// Organisations whose systems gave no definite answer — timed out,
    /// unreachable, failed, or a GP practice that could not be asked
    /// because the demographics service that names it failed — so that
    /// whether they hold a record for the person is unknown.
    pub unanswered: Vec<OdsCode>,
}

/// Merges the answers reported into the record's view: the view merged
/// before from the same cached answers when there is one.
pub(crate) fn merge(
    state: &State,
    nhs_number: NhsNumber,
    sections: SectionSet,
    report: Report,
    mut warnings: Vec<Warning>,
    waited: Duration,
) -> RecordOutcome {
    let merge = || {
        let refs: Vec<&SourceRecord> = report.answered.iter().map(Arc::as_ref).collect();
        let reference = state
            .sources
            .iter()
            .find(|s| s.spec.routing == Routing::Demographics)
            .map(|s| &s.spec.id);
        let merged = merge_with(&refs, sections, reference);
        let sensitivity = state.access.policy.sensitivity(&merged, sections);
        View::new(report.answered.clone(), merged, sensitivity)
    };
    let view = match &state.views {
        Some(views) if all_cached(state, &report.sources) => {
            views.get_or_merge(nhs_number, sections, &report.answered, merge)
        }
        _ => Arc::new(merge()),
    };
    warnings.extend(unoffered(sections, state.offered));
    RecordOutcome {
        nhs_number,
        sections,
        view,
        warnings,
        sources: report.sources,
        verdict: report.verdict,
        waited,
        unanswered: report.unanswered,
    }
}

/// Whether every answer merged is one the cache keeps (its source caches
/// answers), so that a view of them can be found again.
fn all_cached(state: &State, reports: &[SourceReport]) -> bool {
    reports
        .iter()
        .filter(|r| matches!(r.status, SourceStatus::Ok | SourceStatus::Partial))
        .all(|r| {
            state
                .sources
                .iter()
                .any(|s| s.spec.id == r.source && s.spec.cache_ttl_s > 0)
        })
}

/// The warning for wanted sections no registered source offers, if any.
fn unoffered(sections: SectionSet, offered: SectionSet) -> Option<Warning> {
    let unoffered: Vec<&str> = sections
        .iter()
        .filter(|s| !offered.contains(*s))
        .map(|s| s.as_str())
        .collect();
    (!unoffered.is_empty()).then(|| Warning {
        code: "section-not-offered",
        message: format!("no registered source provides: {}", unoffered.join(", ")),
        sources: Vec::new(),
    })
}

/// Marks what of the view the caller's role may not see: what they are
/// shown, and how many items are withheld.
pub(crate) fn mark<'a>(
    policy: &Policy,
    granted: &Granted,
    view: &'a View,
) -> (Shown<'a>, Withheld) {
    let marks = policy.marks(granted);
    let (shown, withheld) = marks.show(&view.merged, &view.sensitivity);
    if withheld.outside_sections > 0 {
        tracing::error!(
            count = withheld.outside_sections,
            "items outside the allowed sections reached the policy"
        );
    }
    (shown, withheld)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::test_support::sections;

    #[test]
    fn wanted_sections_no_source_offers_are_named_in_one_warning() {
        let w = unoffered(
            sections("alerts,medications,results"),
            sections("medications"),
        )
        .unwrap();
        assert_eq!(w.code, "section-not-offered");
        assert_eq!(w.message, "no registered source provides: results, alerts");
        assert!(w.sources.is_empty());
        assert_eq!(
            unoffered(sections("medications"), sections("medications,results")),
            None
        );
    }
}
