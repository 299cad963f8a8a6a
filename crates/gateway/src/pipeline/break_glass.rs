//! The privacy officer's break-glass review, read from and written to the
//! shared audit store: the list of break-glass accesses across replicas
//! (who, whose record, why, when, the latest review), and recording a
//! review's outcome. Like every read of the audit, each is itself audited
//! (as `break-glass-review`), refusals included.

use icr_audit::Interaction;
use icr_audit_store::{
    AccessRef, BreakGlassAccess, BreakGlassQuery, NewReview, StoreError, StorePage,
};
use icr_auth::Identity;
use icr_policy::Caller;

use super::audit::Draft;
use crate::Gateway;
use crate::headers::HeaderError;
use crate::outcome::{Stop, Why};
use crate::shared_audit::SharedStore;

/// Who asks, as the API layer read it.
pub(crate) struct OfficerAsk<'a> {
    /// The `Authorization` header, if any, or why it cannot be read.
    pub authorization: Result<Option<&'a str>, HeaderError>,
    /// The calling system, from its verified TLS client certificate.
    pub calling_system: Option<&'a str>,
}

/// A review to record, as the API layer parsed it (the reviewer is the
/// caller).
pub(crate) struct ReviewAsk {
    /// The break-glass access reviewed.
    pub access: AccessRef,
    /// The outcome.
    pub outcome: icr_audit_store::ReviewOutcome,
    /// The reviewer's note.
    pub note: String,
}

impl Gateway {
    /// One page of break-glass accesses across the replicas, newest first,
    /// each with its latest review: for privacy officers.
    pub(crate) async fn break_glass_list(
        &self,
        ask: OfficerAsk<'_>,
        query: Result<BreakGlassQuery, String>,
    ) -> Result<(String, StorePage<BreakGlassAccess>), Stop> {
        let (mut draft, request_id, shared, _) = self.privacy_officer(ask).await?;
        let query = match query {
            Ok(q) => q,
            Err(why) => {
                let stop = Stop::invalid(request_id, "invalid_search", "INVALID_SEARCH", why);
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        match shared.store.break_glass(&query).await {
            Ok(page) => {
                draft.allowed(icr_audit::Basis::Oversight, "break-glass-list");
                draft.record.items_released = u32::try_from(page.items.len()).unwrap_or(u32::MAX);
                self.audit_release(&draft.record, &request_id).await?;
                Ok((request_id, page))
            }
            Err(e) => Err(self.audit_stop(draft, store_stop(request_id, &e)).await),
        }
    }

    /// Records a privacy officer's review of one break-glass access (the
    /// reviewer is the caller); audited whichever way it goes.
    pub(crate) async fn break_glass_review(
        &self,
        ask: OfficerAsk<'_>,
        review: Result<ReviewAsk, String>,
    ) -> Result<String, Stop> {
        let (mut draft, request_id, shared, identity) = self.privacy_officer(ask).await?;
        let review = match review {
            Ok(r) => r,
            Err(why) => {
                let stop = Stop::invalid(request_id, "invalid_review", "INVALID_REVIEW", why);
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        let new = NewReview {
            reviewer: identity.sub.clone(),
            outcome: review.outcome,
            note: review.note,
        };
        match shared.store.record_review(&review.access, &new).await {
            Ok(()) => {
                draft.allowed(icr_audit::Basis::Oversight, "break-glass-reviewed");
                self.audit_release(&draft.record, &request_id).await?;
                Ok(request_id)
            }
            Err(e) => Err(self.audit_stop(draft, store_stop(request_id, &e)).await),
        }
    }

    /// The caller, authenticated and a privacy officer, and the shared
    /// store; or the refusal, audited.
    async fn privacy_officer(
        &self,
        ask: OfficerAsk<'_>,
    ) -> Result<(Draft, String, &SharedStore, Identity), Stop> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut draft = Draft::new(&request_id, Interaction::BreakGlassReview);
        draft.record.calling_system = ask.calling_system.map(str::to_owned);
        let (draft, identity) = self
            .authenticated(draft, ask.authorization, &request_id)
            .await?;
        let access = self.access();
        let caller = Caller::from_claims(
            &identity.role,
            identity.org.clone(),
            &identity.purpose,
            identity.nhs_number,
        );
        if !caller.is_ok_and(|c| access.policy.is_privacy_officer(&c)) {
            let stop = Stop::new(
                request_id,
                Why::Forbidden("NOT_PRIVACY_OFFICER"),
                "the break-glass review is for privacy officers (audit.privacy_officer_roles)"
                    .into(),
            );
            return Err(self.audit_stop(draft, stop).await);
        }
        let Some(shared) = self.shared_audit() else {
            let stop = Stop::new(
                request_id,
                Why::NotFound("NO_SHARED_AUDIT_STORE"),
                "the break-glass review needs the shared audit store ([audit_store] in gateway.toml)"
                    .into(),
            );
            return Err(self.audit_stop(draft, stop).await);
        };
        Ok((draft, request_id, shared, identity))
    }
}

/// The stop for a store operation that failed: the access is not a
/// break-glass one (404), what was given is out of bounds (400), or the
/// store cannot be used now (503).
fn store_stop(request_id: String, e: &StoreError) -> Stop {
    match e {
        StoreError::NoSuchBreakGlass { .. } => Stop::new(
            request_id,
            Why::NotFound("NO_SUCH_BREAK_GLASS"),
            "no break-glass access is stored under that replica and sequence".into(),
        ),
        StoreError::Invalid(what) => Stop::invalid(
            request_id,
            "invalid_review",
            "INVALID_REVIEW",
            format!("out of bounds: {what}"),
        ),
        e => {
            tracing::error!(error = %e, "the shared audit store failed");
            Stop::new(
                request_id,
                Why::StoreUnavailable,
                "the shared audit store cannot be used now; try again shortly".into(),
            )
        }
    }
}
