//! One person of a population-health extract: the record pipeline with the
//! extract in place of a caller. The same steps and the same audit as a
//! record request, except that
//!
//! - there is no token: the run is the "user" (`extract/<run id>`, role
//!   `population_health`, the gateway's own organisation), its purpose is
//!   recorded, and every person's access is one audit entry (its request
//!   id a fresh UUID, as every request's, which sources are told as the
//!   trace id: PDS takes nothing else);
//! - the policy's [`population_health`](icr_policy::Policy::population_health)
//!   decision replaces the relationship check: the policy's sections only,
//!   no sensitive item, anyone with any objection left out;
//! - every source call goes through the source's extract lane
//!   ([`crate::extract_lane`]), below interactive traffic, and never
//!   through the cache.
//!
//! What comes back is the merged record as the policy lets the extract see
//! it, with the sources that gave no definite answer, so that a record
//! missing a source's part is counted incomplete, never taken as whole.

use icr_adapter_sdk::{RequestContext, Requester};
use icr_audit::{Interaction, User};
use icr_merge::MergedRecord;
use icr_model::{NhsNumber, SectionSet, SourceId, SourceStatus};
use icr_policy::RefusalCode;

use super::audit::{Draft, shown_records};
use super::{Asking, gather, merge};
use crate::Gateway;
use crate::extract_lane::Traffic;
use crate::outcome::{Stop, Verdict};

/// The role an extract's accesses are recorded with.
pub const EXTRACT_ROLE: &str = "population_health";

/// One run of a population-health extract, as the gateway records it.
#[derive(Clone, Debug)]
pub struct ExtractRun {
    id: String,
    purpose: String,
    sections: SectionSet,
}

/// Why a run cannot be started on this gateway.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExtractRunError {
    /// The run id is not 1 to 64 lower-case letters, digits or hyphens.
    #[error("a run id is 1 to 64 lower-case letters, digits or hyphens")]
    RunId,
    /// The purpose is not 1 to 64 printable characters.
    #[error("the extract's purpose must be 1 to 64 printable characters")]
    Purpose,
    /// The policy allows no extract, or none of the sections asked.
    #[error("{0}")]
    Policy(String),
}

impl ExtractRun {
    /// A run `id` for `purpose`, asking for `sections`; checked against the
    /// policy in force by [`Gateway::extract_run`].
    fn new(id: &str, purpose: &str, sections: SectionSet) -> Result<Self, ExtractRunError> {
        let id_ok = (1..=64).contains(&id.len())
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !id_ok {
            return Err(ExtractRunError::RunId);
        }
        let n = purpose.chars().count();
        if !(1..=64).contains(&n) || purpose.chars().any(char::is_control) {
            return Err(ExtractRunError::Purpose);
        }
        Ok(Self {
            id: id.to_owned(),
            purpose: purpose.to_owned(),
            sections,
        })
    }

    /// The run's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The sections the run reads: those asked that the policy allows.
    pub fn sections(&self) -> SectionSet {
        self.sections
    }
}

/// What the gateway found for one person of an extract.
#[derive(Debug)]
pub enum ExtractedPerson {
    /// Their record as the population-health policy lets the extract see
    /// it, and the sources that gave no definite answer (empty: complete).
    Record {
        /// The merged record, sensitive items and unlisted sections out.
        record: Box<MergedRecord>,
        /// Sources that timed out, failed or could not be reached.
        unanswered: Vec<SourceId>,
    },
    /// They have an objection in the register: left out.
    Objected,
    /// Every source asked holds no record for them.
    NotFound,
    /// They could not be extracted now (the audit or the objection register
    /// unavailable, or no source gave a definite answer): the run should
    /// stop and be resumed, never skip them.
    Failed(String),
}

impl Gateway {
    /// A run of a population-health extract with id `id`, for `purpose`,
    /// asking for `sections`: refused when the policy in force allows no
    /// extract or none of those sections.
    pub fn extract_run(
        &self,
        id: &str,
        purpose: &str,
        sections: SectionSet,
    ) -> Result<ExtractRun, ExtractRunError> {
        let sections = self
            .access()
            .policy
            .population_health_allows(sections)
            .map_err(|refusal| ExtractRunError::Policy(refusal.message))?;
        ExtractRun::new(id, purpose, sections)
    }

    /// Reads one person's record for `run` through the whole pipeline (see
    /// the module), audited.
    pub async fn extract_person(&self, run: &ExtractRun, nhs: NhsNumber) -> ExtractedPerson {
        let request_id = uuid::Uuid::new_v4().to_string();
        let state = self.state();
        let access = &state.access;
        let mut draft = Draft::new(&request_id, Interaction::Extract);
        draft.record.nhs_number = Some(nhs);
        draft.record.user = Some(User {
            issuer: None,
            sub: format!("extract/{}", run.id),
            name: format!("Population-health extract {}", run.id),
            role: EXTRACT_ROLE.to_owned(),
            org: state.identity.clone(),
        });
        draft.record.purpose = run.purpose.clone();
        draft.record.sections_requested = run.sections;
        let failed = |stop: Stop| ExtractedPerson::Failed(stop.message);

        if let Err(stop) = super::admit::recordable(access, &request_id) {
            return failed(stop);
        }
        let objections = match access.objections.current() {
            Ok(o) => o,
            Err(e) => {
                let stop = Stop::new(
                    request_id.clone(),
                    crate::outcome::Why::ObjectionsUnavailable,
                    e.to_string(),
                );
                return failed(self.audit_stop(draft, stop).await);
            }
        };
        let granted = match access
            .policy
            .population_health(nhs, run.sections, &objections)
        {
            Ok(g) => g,
            Err(refusal) => {
                let objected = refusal.code == RefusalCode::NoPatientConsent;
                let stop = self
                    .audit_stop(draft, Stop::refused(request_id.clone(), refusal))
                    .await;
                return if objected && stop.code() != "AUDIT_UNAVAILABLE" {
                    ExtractedPerson::Objected
                } else {
                    failed(stop)
                };
            }
        };
        let begun = match self.begin_audit(&draft, &request_id) {
            Ok(b) => b,
            Err(stop) => return failed(stop),
        };

        let context = RequestContext {
            trace_id: request_id.clone(),
            requester: Requester {
                user_id: format!("extract/{}", run.id),
                name: format!("Population-health extract {}", run.id),
                role: EXTRACT_ROLE.to_owned(),
                organisation: state.identity.clone(),
                purpose: run.purpose.clone(),
            },
        };
        let asking = Asking {
            sections: run.sections,
            permitted: granted.allowed().sources(),
            wait: None,
            refresh: false,
            traffic: Traffic::Extract,
        };
        let (report, warnings, waited) = gather(&state, context, nhs, asking).await;
        draft.asked(&report.sources);
        let unanswered: Vec<SourceId> = report
            .sources
            .iter()
            .filter(|s| {
                matches!(
                    s.status,
                    SourceStatus::Timeout
                        | SourceStatus::Unavailable
                        | SourceStatus::Error
                        | SourceStatus::Partial
                )
            })
            .map(|s| s.source.clone())
            .collect();
        let outcome = merge::merge(&state, nhs, run.sections, report, warnings, waited);
        let (shown, withheld) = merge::mark(&access.policy, &granted, &outcome.view);
        let records = shown_records(&shown);
        let record = shown.to_record();
        draft.released(&granted, &outcome, &shown, &withheld, records);
        if let Err(stop) = self
            .audit_release_begun(&draft.record, begun, &request_id)
            .await
        {
            return failed(stop);
        }
        match outcome.verdict {
            Verdict::Answered => ExtractedPerson::Record {
                record: Box::new(record),
                unanswered,
            },
            Verdict::NotFound => ExtractedPerson::NotFound,
            Verdict::Unanswered => {
                ExtractedPerson::Failed("no source gave a definite answer for this person".into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_id_is_short_plain_and_never_a_path() {
        let s = SectionSet::all();
        assert!(ExtractRun::new("phm-2026-12", "population-health", s).is_ok());
        for bad in ["", "../x", "Run", "a b", &"x".repeat(65)] {
            assert_eq!(
                ExtractRun::new(bad, "population-health", s).unwrap_err(),
                ExtractRunError::RunId,
                "{bad:?}"
            );
        }
        assert_eq!(
            ExtractRun::new("r1", "", s).unwrap_err(),
            ExtractRunError::Purpose
        );
        assert_eq!(
            ExtractRun::new("r1", "a\nb", s).unwrap_err(),
            ExtractRunError::Purpose
        );
    }
}
