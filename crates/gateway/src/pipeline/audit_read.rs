//! The audit read: one page of the accesses to a person's record, for a
//! privacy officer (any person's) or the person themselves. The same
//! steps as a record request, shorter — authenticate, decide, read,
//! audit — and the read is itself audited.

use icr_audit::Interaction;
use icr_audit_store::AccessCursor;
use icr_model::NhsNumber;
use icr_policy::Caller;

use super::audit::Draft;
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
    pub query: Result<AuditPageAsk, icr_audit::QueryError>,
    /// The read's permit, taken at admission.
    pub reader: icr_audit::AuditReader,
}

/// The page of an audit read asked for.
pub(crate) struct AuditPageAsk {
    /// Its size, dates and, reading this replica's log, where it starts.
    pub query: icr_audit::AccessQuery,
    /// Where it starts, reading the shared store (its cursor).
    pub cursor: Option<AccessCursor>,
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
    /// The next page's cursor, when the page is from the shared store.
    pub cursor: Option<AccessCursor>,
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
        let (mut draft, identity) = self
            .authenticated(draft, ask.authorization, &request_id)
            .await?;
        let access = self.access();
        let Some(nhs) = draft.record.nhs_number else {
            let stop = Stop::invalid(
                request_id,
                "invalid_nhs_number",
                "INVALID_NHS_NUMBER",
                "give the person as ?patient= and a valid 10-digit NHS number".into(),
            );
            return Err(self.audit_stop(draft, stop).await);
        };
        let AuditPageAsk { query, cursor } = match ask.query {
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
        let (page, next) = match self.read_page(ask.reader, nhs, query, cursor).await {
            Ok(read) => read,
            Err(()) => return Err(Stop::audit_unavailable(request_id)),
        };
        draft.allowed(basis, basis.as_str());
        draft.record.items_released = u32::try_from(page.records.len()).unwrap_or(u32::MAX);
        draft.record.http_status = crate::outcome::Verdict::Answered.status().as_u16();
        self.audit_release(&draft.record, &request_id).await?;
        Ok(AuditRead {
            request_id,
            page,
            nhs_number: nhs,
            query,
            cursor: next,
        })
    }

    /// One page of `nhs`'s accesses: from the shared store when there is
    /// one (across the replicas), else from this replica's log (only this
    /// person's lines, through the index, off the async threads, under the
    /// permit taken at admission). When the store cannot be read, a first
    /// page is this replica's log, saying that other replicas' accesses
    /// are missing; a later page (a store cursor) cannot be.
    async fn read_page(
        &self,
        reader: icr_audit::AuditReader,
        nhs: NhsNumber,
        query: icr_audit::AccessQuery,
        cursor: Option<AccessCursor>,
    ) -> Result<(icr_audit::AccessPage, Option<AccessCursor>), ()> {
        let mut fallback = None;
        if let Some(shared) = self.shared_audit() {
            let later_page = cursor.is_some();
            match shared.person_page(&nhs, &query, cursor).await {
                Ok(read) => return Ok((read.page, read.next)),
                Err(e) if later_page => {
                    tracing::error!(error = %e, "reading the shared audit store failed");
                    return Err(());
                }
                Err(e) => {
                    tracing::error!(error = %e, "reading the shared audit store failed: answering from this replica's log");
                    fallback = Some(icr_audit::Incomplete::StoreUnavailable {
                        replica: shared.replica.to_string(),
                    });
                }
            }
        }
        match reader.page(nhs, query).await {
            Ok(mut page) => {
                page.incomplete.extend(fallback);
                Ok((page, None))
            }
            Err(e) => {
                tracing::error!(error = %e, "reading the audit log failed");
                Err(())
            }
        }
    }
}
