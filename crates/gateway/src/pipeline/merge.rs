//! Merge and filter: the answers that passed the identity guard become one
//! view of the person ([`icr_merge`]), with the warnings of how it was
//! gathered; then the policy withholds what the caller's role may not see.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_sdk::Routing;
use icr_merge::{MergedRecord, Warning, merge_with};
use icr_model::{NhsNumber, OdsCode, SectionSet, SourceRecord};
use icr_policy::{Granted, Policy, Withheld};

use super::report::{Report, SourceReport};
use crate::outcome::Verdict;
use crate::sources::State;

/// Everything a renderer needs to answer one record request.
#[derive(Debug)]
pub struct RecordOutcome {
    /// The person.
    pub nhs_number: NhsNumber,
    /// The sections asked for.
    pub sections: SectionSet,
    /// The merged view.
    pub merged: MergedRecord,
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

/// Merges the answers reported into the record's view.
pub(crate) fn merge(
    state: &State,
    nhs_number: NhsNumber,
    sections: SectionSet,
    report: Report,
    warnings: Vec<Warning>,
    waited: Duration,
) -> RecordOutcome {
    let refs: Vec<&SourceRecord> = report.answered.iter().map(Arc::as_ref).collect();
    let reference = state
        .sources
        .iter()
        .find(|s| s.spec.routing == Routing::Demographics)
        .map(|s| &s.spec.id);
    let mut merged = merge_with(&refs, sections, reference);
    merged.warnings.extend(warnings);
    merged.warnings.extend(unoffered(sections, state.offered));
    RecordOutcome {
        nhs_number,
        sections,
        merged,
        sources: report.sources,
        verdict: report.verdict,
        waited,
        unanswered: report.unanswered,
    }
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

/// Withholds from the view what the caller's role may not see.
pub(crate) fn filter(policy: &Policy, granted: &Granted, merged: &mut MergedRecord) -> Withheld {
    let withheld = policy.apply(granted, merged);
    if withheld.outside_sections > 0 {
        tracing::error!(
            count = withheld.outside_sections,
            "items outside the allowed sections reached the policy"
        );
    }
    withheld
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
