//! The audit read: one page of the accesses to a person's record, for a
//! privacy officer (any person's) or the person themselves. The same
//! steps as a record request, shorter — authenticate, decide, read,
//! audit — and the read is itself audited.

use icr_audit::{Decision, Interaction};
use icr_model::NhsNumber;
use icr_policy::Caller;

use super::audit::{Draft, reason};
use super::authenticate;
use crate::Gateway;
use crate::headers::HeaderError;
use crate::outcome::{Stop, Why};

/// What one read of the audit asks, as the API layer parsed it.
pub(crate) struct AuditAsk<'a> {
    /// The `Authorization` header, if any, or why it cannot be read.
    pub authorization: Result<Option<&'a str>, HeaderError>,
    /// The calling system, from its verified TLS client certificate.
    pub calling_system: Option<&'a str>,
    /// The `patient` parameter, if any.
    pub patient: Option<&'a str>,
    /// The page asked for, or why the query could not be understood.
    pub query: Result<icr_audit::AccessQuery, icr_audit::QueryError>,
    /// The read's permit, taken at admission.
    pub reader: icr_audit::AuditReader,
}

/// One page of the accesses to a person's record, for whom may read them.
pub(crate) struct AuditRead {
    /// The request's id.
    pub request_id: String,
    /// The accesses, most recent first.
    pub page: icr_audit::AccessPage,
    /// The person.
    pub nhs_number: NhsNumber,
    /// The page asked for (its next page follows from it).
    pub query: icr_audit::AccessQuery,
}

impl Gateway {
    /// Reads one page of the audit of accesses to a person's record:
    /// privacy officers any person's, a patient their own. The read is
    /// itself audited.
    pub(crate) async fn access_audit(&self, ask: AuditAsk<'_>) -> Result<AuditRead, Stop> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut draft = Draft::new(&request_id, Interaction::AuditRead);
        draft.record.calling_system = ask.calling_system.map(str::to_owned);
        draft.record.nhs_number = ask.patient.and_then(|p| NhsNumber::parse(p).ok());
        let authorization = match ask.authorization {
            Ok(a) => a,
            Err(e) => return Err(self.audit_stop(draft, e.stop(request_id)).await),
        };
        let access = self.access();
        let identity = match authenticate::verify(&access.verifier, authorization) {
            Ok(i) => i,
            Err(e) => {
                let stop = Stop::unauthenticated(request_id, &e);
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        draft.authenticated(&identity);
        let Some(nhs) = draft.record.nhs_number else {
            let stop = Stop::invalid(
                request_id,
                "invalid_nhs_number",
                "INVALID_NHS_NUMBER",
                "give the person as ?patient= and a valid 10-digit NHS number".into(),
            );
            return Err(self.audit_stop(draft, stop).await);
        };
        let query = match ask.query {
            Ok(q) => q,
            Err(e) => {
                let stop = Stop::invalid(
                    request_id,
                    "invalid_search",
                    "INVALID_SEARCH",
                    e.to_string(),
                );
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        let caller = Caller::from_claims(
            &identity.role,
            identity.org.clone(),
            &identity.purpose,
            identity.nhs_number,
        );
        let basis = match &caller {
            Ok(c) if access.policy.may_read_audit(c, nhs) => {
                if identity.nhs_number == Some(nhs) {
                    icr_audit::Basis::OwnRecord
                } else {
                    icr_audit::Basis::Oversight
                }
            }
            _ => {
                let stop = Stop::new(
                    request_id,
                    Why::Forbidden("AUDIT_NOT_PERMITTED"),
                    "the audit of a record may be read by privacy officers and by the person it is about".into(),
                );
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        // Every access whose answer has left is shown whole: the
        // completions queued before this read are written first (if the
        // log cannot, the page still shows them, as begun).
        if let Err(e) = access.audit.flushed().await {
            tracing::warn!(error = %e, "audit read: completions queued before it may show as in progress");
        }
        // Only this person's lines, through the index, off the async
        // threads, under the permit taken at admission.
        let page = match ask.reader.page(nhs, query).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the audit log failed");
                return Err(Stop::audit_unavailable(request_id));
            }
        };
        draft.record.basis = basis;
        draft.record.decision = Decision::Allowed;
        draft.record.reason = reason(basis.as_str());
        draft.record.items_released = u32::try_from(page.records.len()).unwrap_or(u32::MAX);
        draft.record.http_status = crate::outcome::Verdict::Answered.status().as_u16();
        self.audit_release(&draft.record, &request_id).await?;
        Ok(AuditRead {
            request_id,
            page,
            nhs_number: nhs,
            query,
        })
    }
}
