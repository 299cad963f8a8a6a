//! Audit: every way out, allowed or refused, is recorded durably before
//! anything leaves. The record is drafted as the request goes
//! ([`Draft`]); a refusal is recorded as it is answered ([`Gateway::audit_stop`]);
//! a release is recorded with what was released and withheld
//! ([`Draft::released`]). If the audit cannot be written, nothing is
//! released (503).
//!
//! A record request is recorded in two entries, so that the audit's sync
//! is off its critical path: once the caller may ask, its begun entry
//! (who, whose record, why, which sections) is queued
//! ([`Gateway::begin_audit`]) and synced while the sources answer; the
//! release ([`Gateway::audit_release_begun`]) awaits that sync — normally
//! long done — then queues the completion without waiting for it. A
//! refusal after fetching ([`Gateway::audit_stop_begun`]) completes the
//! begun entry too, but awaits the completion's sync before answering, as
//! every refusal is recorded as such before it is answered. A request
//! abandoned in between (its client went away, so its future was dropped)
//! released nothing, and its begun entry is completed as such
//! ([`BegunAccess`]): refused, status 499, `client-closed-request`.

use icr_audit::{
    AuditRecord, Decision, Interaction, Pending, ReasonCode, ReleasedRecords, RequestId,
    SourceAsked, Timestamp, User,
};
use icr_auth::Identity;
use icr_model::SectionSet;
use icr_policy::{Basis, Granted, Shown, Withheld};
use tokio::time::Instant;

use super::merge::RecordOutcome;
use super::report::SourceReport;
use crate::Gateway;
use crate::outcome::Stop;

/// An access whose begun entry is queued and whose completion is not yet.
/// Dropped without being completed — the request abandoned before release
/// — it queues, once the begun entry is durable, a completion saying that
/// nothing was released (refused, 499, `client-closed-request`), so that a
/// begun entry without completion means a crash, not a client gone.
pub(crate) struct BegunAccess {
    pending: Option<Pending>,
    abandoned: AuditRecord,
    log: icr_audit::AuditLog,
}

impl BegunAccess {
    /// The begun entry's sync, to await; the access is no longer
    /// abandoned if dropped.
    fn take(mut self) -> Option<Pending> {
        self.pending.take()
    }
}

impl Drop for BegunAccess {
    fn drop(&mut self) {
        let Some(pending) = self.pending.take() else {
            return;
        };
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let (log, record) = (self.log.clone(), self.abandoned.clone());
        runtime.spawn(async move {
            if let Ok(seq) = pending.durable().await
                && let Err(e) = log.complete(&record, seq)
            {
                tracing::warn!(error = %e, "the audit of an abandoned request could not be completed");
            }
        });
    }
}

/// The status recorded for a request abandoned by its client before
/// anything was released (nginx's "client closed request").
const CLIENT_CLOSED_REQUEST: u16 = 499;

/// The audit record being built for one request.
pub(crate) struct Draft {
    pub(crate) record: AuditRecord,
}

impl Draft {
    /// A refusal of an unknown caller, to be filled in as the request goes.
    pub(crate) fn new(request_id: &str, interaction: Interaction) -> Self {
        Self {
            record: AuditRecord {
                time: Timestamp::now(),
                request_id: RequestId::parse(request_id)
                    .unwrap_or_else(|| RequestId::parse("invalid").expect("a literal request id")),
                interaction,
                user: None,
                calling_system: None,
                nhs_number: None,
                purpose: "unknown".into(),
                break_glass_reason: None,
                basis: icr_audit::Basis::None,
                sections_requested: SectionSet::EMPTY,
                sections_released: SectionSet::EMPTY,
                sources: Vec::new(),
                items_released: 0,
                items_withheld: 0,
                shown: ReleasedRecords::NONE,
                decision: Decision::Refused,
                reason: reason("refused"),
                http_status: 403,
            },
        }
    }

    /// Who asked, as authenticated.
    pub(crate) fn authenticated(&mut self, identity: &Identity) {
        self.record.user = Some(user(identity));
        self.record.purpose = identity.purpose.clone();
    }

    /// The sources asked and how each went.
    pub(crate) fn asked(&mut self, statuses: &[SourceReport]) {
        self.record.sources = statuses
            .iter()
            .map(|s| SourceAsked {
                source: s.source.clone(),
                status: s.status,
            })
            .collect();
    }

    /// An audit read or review allowed on `basis`, for the reason `why`,
    /// answered 200 (a record's release is [`Draft::released`]).
    pub(crate) fn allowed(&mut self, basis: icr_audit::Basis, why: &str) {
        self.record.basis = basis;
        self.record.decision = Decision::Allowed;
        self.record.reason = reason(why);
        self.record.http_status = crate::outcome::Verdict::Answered.status().as_u16();
    }

    /// A refusal, answered with `stop`: nothing released, no basis.
    pub(crate) fn refused(&mut self, stop: &Stop) {
        self.refused_as(reason(stop.code()), stop.status().as_u16());
    }

    /// The record of this request abandoned now by its client: nothing
    /// released.
    fn abandoned(&self) -> AuditRecord {
        let mut draft = Draft {
            record: self.record.clone(),
        };
        draft.refused_as(reason("client-closed-request"), CLIENT_CLOSED_REQUEST);
        draft.record
    }

    fn refused_as(&mut self, reason: ReasonCode, status: u16) {
        self.record.decision = Decision::Refused;
        self.record.reason = reason;
        self.record.http_status = status;
        self.record.sections_released = SectionSet::EMPTY;
        self.record.items_released = 0;
        self.record.items_withheld = 0;
        self.record.shown = ReleasedRecords::NONE;
        self.record.basis = icr_audit::Basis::None;
    }

    /// A release: on what basis, what was released and withheld, the
    /// source records the answer holds, and the status it is answered
    /// with.
    pub(crate) fn released(
        &mut self,
        granted: &Granted,
        outcome: &RecordOutcome,
        shown: &Shown<'_>,
        withheld: &Withheld,
        records: ReleasedRecords,
    ) {
        let released_items = shown.item_count();
        self.record.basis = basis(granted.basis());
        self.record.sections_released = granted.allowed().sections();
        self.record.items_released = u32::try_from(released_items).unwrap_or(u32::MAX);
        self.record.items_withheld = u32::try_from(withheld.count).unwrap_or(u32::MAX);
        self.record.shown = records;
        self.record.decision = Decision::Allowed;
        self.record.reason = reason(granted.basis().code());
        self.record.http_status = outcome.verdict.status().as_u16();
    }
}

/// Every source record `shown` holds — the patient's demographics when
/// shown, and each item shown — for an answer that holds all of it (the
/// JSON view). Withheld items are not shown, so not listed.
pub(crate) fn shown_records(shown: &Shown<'_>) -> ReleasedRecords {
    let patient = shown.patient().into_iter().flat_map(|p| &p.provenance);
    let items = shown.items().flat_map(|i| &i.provenance);
    ReleasedRecords::of(patient.chain(items).map(|p| &p.record))
}

/// A policy, basis or error code as an audit reason code (`NO_RELATIONSHIP`
/// → `no-relationship`).
pub(crate) fn reason(code: &str) -> ReasonCode {
    let text = code.to_ascii_lowercase().replace('_', "-");
    ReasonCode::parse(&text)
        .unwrap_or_else(|| ReasonCode::parse("refused").expect("a literal reason code"))
}

/// The policy's basis as the audit writes it.
fn basis(b: &Basis) -> icr_audit::Basis {
    match b {
        Basis::OwnRecord => icr_audit::Basis::OwnRecord,
        Basis::Involved => icr_audit::Basis::Involved,
        Basis::SelfDeclared { .. } => icr_audit::Basis::SelfDeclared,
        Basis::BreakGlass { .. } => icr_audit::Basis::BreakGlass,
        Basis::PopulationHealth => icr_audit::Basis::PopulationHealth,
    }
}

/// The caller as the audit writes them.
pub(crate) fn user(identity: &Identity) -> User {
    User {
        issuer: Some(identity.issuer.clone()),
        sub: identity.sub.clone(),
        name: identity.name.clone(),
        role: identity.role.clone(),
        org: identity.org.clone(),
    }
}

/// A break-glass reason as recorded: at most 1,000 characters, control
/// characters replaced, so the audit line stays bounded and one line.
pub(crate) fn bounded_reason(raw: &str) -> String {
    raw.chars()
        .take(1000)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

impl Gateway {
    /// Appends an access to the audit log (synced before it returns),
    /// timing the write for `/metrics`.
    pub(crate) async fn append_audit(
        &self,
        record: &AuditRecord,
    ) -> Result<icr_audit::Sequence, icr_audit::AuditError> {
        let started = Instant::now();
        let result = self.access().audit.append(record).await;
        self.measurements().audit_write(started.elapsed());
        result
    }

    /// Audits a release before anything of it leaves; if that fails,
    /// nothing is released (503).
    pub(crate) async fn audit_release(
        &self,
        record: &AuditRecord,
        request_id: &str,
    ) -> Result<(), Stop> {
        match self.append_audit(record).await {
            Ok(_) => Ok(()),
            Err(e) => {
                tracing::error!(error = %e, "audit append failed: nothing released");
                Err(Stop::audit_unavailable(request_id.to_owned()))
            }
        }
    }

    /// The caller of an audit read or review, authenticated and recorded
    /// in `draft`; or the refusal (a bad header, a bad token), audited.
    pub(crate) async fn authenticated(
        &self,
        mut draft: Draft,
        authorization: Result<Option<&str>, crate::headers::HeaderError>,
        request_id: &str,
    ) -> Result<(Draft, Identity), Stop> {
        let authorization = match authorization {
            Ok(a) => a,
            Err(e) => return Err(self.audit_stop(draft, e.stop(request_id.to_owned())).await),
        };
        match super::authenticate::verify(&self.access().verifier, authorization) {
            Ok(identity) => {
                draft.authenticated(&identity);
                Ok((draft, identity))
            }
            Err(e) => {
                let stop = Stop::unauthenticated(request_id.to_owned(), &e);
                Err(self.audit_stop(draft, stop).await)
            }
        }
    }

    /// Audits a refusal; if that fails, the refusal becomes a 503.
    pub(crate) async fn audit_stop(&self, mut draft: Draft, stop: Stop) -> Stop {
        draft.refused(&stop);
        match self.append_audit(&draft.record).await {
            Ok(_) => stop,
            Err(e) => {
                tracing::error!(error = %e, "audit append failed");
                Stop::audit_unavailable(stop.request_id)
            }
        }
    }

    /// Queues the begun entry of an access (who, whose record, why, which
    /// sections), to be synced while the sources are asked. If it cannot
    /// be queued, nothing is asked nor released (503, unaudited: the log
    /// cannot take it).
    pub(crate) fn begin_audit(&self, draft: &Draft, request_id: &str) -> Result<BegunAccess, Stop> {
        let begun = draft
            .record
            .begun()
            .ok_or(icr_audit::AuditError::Inconsistent(
                "an access is begun only once its caller and patient are known",
            ));
        let log = &self.access().audit;
        match begun.and_then(|b| log.begin(&b)) {
            Ok(pending) => Ok(BegunAccess {
                pending: Some(pending),
                abandoned: draft.abandoned(),
                log: log.clone(),
            }),
            Err(e) => {
                tracing::error!(error = %e, "audit begin failed: nothing asked or released");
                Err(Stop::audit_unavailable(request_id.to_owned()))
            }
        }
    }

    /// Awaits the begun entry's sync (timed for `/metrics`: what the
    /// request still waited for after its own work).
    async fn begun_durable(
        &self,
        begun: BegunAccess,
    ) -> Result<icr_audit::Sequence, icr_audit::AuditError> {
        let started = Instant::now();
        let result = match begun.take() {
            Some(pending) => pending.durable().await,
            None => Err(icr_audit::AuditError::Closed),
        };
        self.measurements().audit_write(started.elapsed());
        result
    }

    /// Releases an access begun with [`begin_audit`](Self::begin_audit):
    /// awaits the begun entry's sync, then queues `record` as its
    /// completion without waiting for that to be synced. If either fails,
    /// nothing is released (503).
    pub(crate) async fn audit_release_begun(
        &self,
        record: &AuditRecord,
        begun: BegunAccess,
        request_id: &str,
    ) -> Result<(), Stop> {
        let completed = match self.begun_durable(begun).await {
            Ok(seq) => self.access().audit.complete(record, seq).map(drop),
            Err(e) => Err(e),
        };
        completed.map_err(|e| {
            tracing::error!(error = %e, "audit of the access failed: nothing released");
            Stop::audit_unavailable(request_id.to_owned())
        })
    }

    /// Audits a refusal of an access begun with
    /// [`begin_audit`](Self::begin_audit), as its completion, and awaits
    /// that completion's sync before the refusal is answered; if that
    /// fails, the refusal becomes a 503.
    pub(crate) async fn audit_stop_begun(
        &self,
        mut draft: Draft,
        stop: Stop,
        begun: BegunAccess,
    ) -> Stop {
        draft.refused(&stop);
        let recorded = match self.begun_durable(begun).await {
            Ok(seq) => match self.access().audit.complete(&draft.record, seq) {
                Ok(completion) => completion.durable().await.map(drop),
                Err(e) => Err(e),
            },
            Err(e) => Err(e),
        };
        match recorded {
            Ok(()) => stop,
            Err(e) => {
                tracing::error!(error = %e, "audit append failed");
                Stop::audit_unavailable(stop.request_id)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_become_audit_reason_codes() {
        assert_eq!(reason("NO_RELATIONSHIP").to_string(), "no-relationship");
        assert_eq!(reason("missing_token").to_string(), "missing-token");
        assert_eq!(reason("break-glass").to_string(), "break-glass");
        assert_eq!(reason("not a code!").to_string(), "refused");
    }

    #[test]
    fn a_break_glass_reason_is_recorded_bounded_and_on_one_line() {
        assert_eq!(bounded_reason("a\nb\tc"), "a b c");
        assert_eq!(bounded_reason(&"é".repeat(1200)).chars().count(), 1000);
    }

    #[test]
    fn every_basis_is_written_as_the_audit_names_it() {
        assert_eq!(basis(&Basis::OwnRecord), icr_audit::Basis::OwnRecord);
        assert_eq!(basis(&Basis::Involved), icr_audit::Basis::Involved);
    }

    #[test]
    fn a_draft_starts_as_a_refusal_of_an_unknown_caller() {
        let d = Draft::new("0b7c5a2e-8a8e-4b8e-9f57-1f1d0c6c9a11", Interaction::Record);
        assert_eq!(d.record.decision, Decision::Refused);
        assert_eq!(d.record.reason.to_string(), "refused");
        assert_eq!(d.record.http_status, 403);
        assert_eq!(d.record.purpose, "unknown");
        assert!(d.record.user.is_none());
    }
}
