//! Decide: the access policy's two judgements. Before fetching — may this
//! caller ask for this person at all, which sections, and which sources
//! (the person's objections, read from the register now)? After fetching
//! — is there a legitimate relationship: the caller's organisation among
//! those holding a record, a self-declaring setting, or break-glass?
//!
//! A source skipped (`skipped`: it answered lately that it holds no record,
//! or the record-location index names others) holds no record known, as
//! one answering `not_found`: it is neither a holder nor unanswered. A
//! refusal then says so, and that a refresh asks every source.

use icr_model::{NhsNumber, OdsCode, SectionSet, SourceStatus};
use icr_policy::{Allowed, Caller, Granted, Policy, Refusal, RefusalCode};

use super::report::SourceReport;
use crate::outcome::Why;
use crate::sources::Access;

/// Why the policy stopped a request, and what it means.
pub(crate) type Stopped = (Why, String);

/// Before fetching: the objection register as the file says now (if it
/// cannot be read, no one's objections can be known: 503), then the
/// policy's judgement of the caller, the person and the sections.
pub(crate) fn before_fetch(
    access: &Access,
    caller: &Caller,
    nhs: NhsNumber,
    requested: SectionSet,
) -> Result<Allowed, Stopped> {
    let objections = access
        .objections
        .current()
        .map_err(|e| (Why::ObjectionsUnavailable, e.to_string()))?;
    access
        .policy
        .before_fetch(caller, nhs, requested, &objections)
        .map_err(refused)
}

/// After fetching: whether there is a relationship, from the organisations
/// holding a record (`holders`) and those whose systems gave no definite
/// answer (`unanswered`).
pub(crate) fn after_fetch(
    policy: &Policy,
    allowed: Allowed,
    holders: &[OdsCode],
    unanswered: &[OdsCode],
    sources: &[SourceReport],
) -> Result<Granted, Stopped> {
    policy
        .after_fetch_unanswered(allowed, holders, unanswered)
        .map_err(|refusal| {
            let code = refusal.code;
            (Why::Refused(code), explained(refusal, holders, sources))
        })
}

/// A policy refusal as a stop.
fn refused(refusal: Refusal) -> Stopped {
    (Why::Refused(refusal.code), refusal.message)
}

/// The refusal's message, saying when sources that could have confirmed a
/// relationship did not answer (no holder found, some source failed).
fn explained(refusal: Refusal, holders: &[OdsCode], sources: &[SourceReport]) -> String {
    let mut message = refusal.message;
    if refusal.code != RefusalCode::RelationshipUndecided
        && holders.is_empty()
        && sources
            .iter()
            .any(|s| !s.status.answered() && !s.status.holds_none_known())
    {
        message.push_str(" (some sources that could confirm a relationship did not answer)");
    }
    if holders.is_empty() && sources.iter().any(|s| s.status == SourceStatus::Skipped) {
        message.push_str(" (some sources were not asked, having answered lately that they hold no record or not being named by the record-location index; a refresh, Cache-Control: no-cache, asks every source)");
    }
    message
}

#[cfg(test)]
mod tests {
    use icr_model::OdsCode;

    use super::*;
    use crate::pipeline::test_support::source_report as report;

    fn refusal(code: RefusalCode) -> Refusal {
        Refusal {
            code,
            message: "no relationship".into(),
        }
    }

    #[test]
    fn a_refusal_says_when_sources_that_could_confirm_a_relationship_did_not_answer() {
        let failed = [report(SourceStatus::Ok), report(SourceStatus::Timeout)];
        assert_eq!(
            explained(refusal(RefusalCode::NoRelationship), &[], &failed),
            "no relationship (some sources that could confirm a relationship did not answer)"
        );
        // Holders found, or nobody failed (not found is an answer): as is.
        let holder = [OdsCode::parse("RX1").unwrap()];
        assert_eq!(
            explained(refusal(RefusalCode::NoRelationship), &holder, &failed),
            "no relationship"
        );
        let answered = [report(SourceStatus::NotFound), report(SourceStatus::Ok)];
        assert_eq!(
            explained(refusal(RefusalCode::NoRelationship), &[], &answered),
            "no relationship"
        );
        // A skipped source is no failure, but the refusal says it was not asked.
        let skipped = [
            report(SourceStatus::Skipped),
            report(SourceStatus::NotFound),
        ];
        assert_eq!(
            explained(refusal(RefusalCode::NoRelationship), &[], &skipped),
            "no relationship (some sources were not asked, having answered lately that they hold no record or not being named by the record-location index; a refresh, Cache-Control: no-cache, asks every source)"
        );
        // Undecided already says why.
        assert_eq!(
            explained(refusal(RefusalCode::RelationshipUndecided), &[], &failed),
            "no relationship"
        );
    }

    #[test]
    fn a_policy_refusal_keeps_its_code_as_a_type() {
        let (why, message) = refused(refusal(RefusalCode::NotOwnRecord));
        assert_eq!(why, Why::Refused(RefusalCode::NotOwnRecord));
        assert_eq!(message, "no relationship");
    }
}
