//! The access pipeline around a record: authenticate, decide before
//! fetching, fetch, decide again, withhold what the role may not see, audit
//! — and only then release. Every way out, allowed or refused, is audited
//! first; if the audit cannot be written, nothing is released (503).

use std::borrow::Cow;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use http::StatusCode;
use icr_audit::{
    AuditLog, AuditRecord, Decision, Interaction, ReasonCode, RequestId, SourceAsked, Timestamp,
    User,
};
use icr_auth::Identity;
use icr_model::{NhsNumber, SectionSet};
use icr_policy::{Basis, Caller, Objections, Policy, Withheld};

use crate::headers::HeaderError;
use icr_model::SourceStatus;

use crate::{Gateway, RecordOutcome, SourceReport};

/// What one record request asks, as the API layer parsed it.
pub(crate) struct RecordRequest<'a> {
    /// Which interface.
    pub interaction: Interaction,
    /// The `Authorization` header, if any, or why it cannot be read.
    pub authorization: Result<Option<&'a str>, HeaderError>,
    /// The break-glass reason as text, if any, or why it cannot be read.
    pub break_glass: Result<Option<Cow<'a, str>>, HeaderError>,
    /// The calling system, from its verified TLS client certificate.
    pub calling_system: Option<&'a str>,
    /// A shorter deadline the caller asked for (`Prefer: wait=N`).
    pub wait: Option<std::time::Duration>,
    /// The NHS number as written in the path.
    pub nhs: &'a str,
    /// The sections asked for, or why the query could not be understood.
    pub sections: Result<SectionSet, (&'static str, String)>,
}

/// A record that may be released.
pub(crate) struct Released {
    /// The request's id (also the trace id sources were told).
    pub request_id: String,
    /// The merged record, its sources and its status.
    pub outcome: RecordOutcome,
    /// What the caller's role may not see and was removed.
    pub withheld: Withheld,
    /// The access as audited (further pages of it are audited alike).
    pub audited: AuditRecord,
}

/// Why nothing is released.
#[derive(Debug)]
pub(crate) struct Stop {
    /// The request's id.
    pub request_id: String,
    /// The HTTP status.
    pub status: StatusCode,
    /// The error family (`unauthenticated`, `forbidden`, `invalid_nhs_number`, …).
    pub error: &'static str,
    /// The specific reason (`NO_RELATIONSHIP`, `expired`, …).
    pub code: String,
    /// What it means, for a person.
    pub message: String,
    /// A `WWW-Authenticate` challenge, for 401s.
    pub challenge: Option<String>,
}

impl Stop {
    /// Seconds after which the caller may try again (`Retry-After`), for
    /// refusals that say nothing about the caller or the record but only
    /// that the gateway cannot answer now.
    pub(crate) fn retry_after(&self) -> Option<u32> {
        if self.status != StatusCode::SERVICE_UNAVAILABLE {
            return None;
        }
        match self.code.as_str() {
            // Poisoned until the replica restarts; its readiness probe
            // fails meanwhile, so another replica will take the retry.
            "AUDIT_UNAVAILABLE" | "OBJECTIONS_UNAVAILABLE" => Some(30),
            _ => Some(5),
        }
    }

    /// The 401 for a missing or failed bearer token, with its challenge:
    /// no error code when the request carried no bearer token at all (RFC
    /// 6750 §3.1), `invalid_token` and the reason when it failed.
    pub(crate) fn unauthenticated(request_id: String, e: &icr_auth::AuthError) -> Self {
        let challenge = match e {
            icr_auth::AuthError::Missing | icr_auth::AuthError::NotBearer => {
                format!("Bearer realm=\"{REALM}\"")
            }
            _ => format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{}\"",
                e.reason()
            ),
        };
        Stop {
            request_id,
            status: StatusCode::UNAUTHORIZED,
            error: "unauthenticated",
            code: e.reason().to_string(),
            message: e.to_string(),
            challenge: Some(challenge),
        }
    }
}

/// The protection space named in `WWW-Authenticate` challenges.
const REALM: &str = "icr-gateway";

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

/// The objection register, re-read whenever its file changes.
pub(crate) struct ObjectionRegister {
    pub(crate) file: Option<PathBuf>,
    state: Mutex<RegisterState>,
}

struct RegisterState {
    seen: Option<(SystemTime, u64)>,
    current: Result<Arc<Objections>, String>,
}

impl ObjectionRegister {
    pub(crate) fn new(file: Option<PathBuf>, initial: Arc<Objections>) -> Self {
        let seen = file.as_deref().and_then(stamp);
        Self {
            file,
            state: Mutex::new(RegisterState {
                seen,
                current: Ok(initial),
            }),
        }
    }

    /// The register as the file says now. When the file has changed and
    /// cannot be read, no one's objections can be known: the error is
    /// returned (and every request refused) until it is fixed.
    pub(crate) fn current(&self) -> Result<Arc<Objections>, String> {
        let Ok(mut state) = self.state.lock() else {
            return Err("the objection register's state is poisoned".into());
        };
        if let Some(file) = &self.file {
            let now = stamp(file);
            if now != state.seen || now.is_none() {
                state.seen = now;
                state.current = match icr_config::load_objections(file) {
                    Ok(o) => {
                        tracing::info!(entries = o.len(), "objection register reloaded");
                        Ok(Arc::new(o))
                    }
                    Err(e) => {
                        // The error names the file and key, never an NHS number.
                        tracing::error!(error = %e, "objection register unreadable: refusing every request until it is fixed");
                        Err("the objection register cannot be read, so no one's objections can be known".into())
                    }
                };
            }
        }
        state.current.clone()
    }
}

fn stamp(file: &std::path::Path) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(file).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// The access machinery the gateway holds: who is trusted to ask, the
/// policy and objections that decide, and the audit that records. A reload
/// replaces it whole (the audit log and the break-glass count carry over).
pub(crate) struct Access {
    pub verifier: Arc<icr_auth::Verifier>,
    pub policy: Arc<Policy>,
    pub objections: Arc<ObjectionRegister>,
    pub audit: AuditLog,
    pub break_glass: Arc<AtomicU64>,
}

impl Access {
    /// Verifies an `Authorization` header value now.
    pub(crate) fn authenticate(
        &self,
        authorization: Option<&str>,
    ) -> Result<Identity, icr_auth::AuthError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        self.verifier.verify_header(authorization, now)
    }
}

/// A policy or error code as an audit reason code (`NO_RELATIONSHIP` →
/// `no-relationship`).
fn refusal_reason(code: &str) -> ReasonCode {
    let text = code.to_ascii_lowercase().replace('_', "-");
    ReasonCode::parse(&text)
        .unwrap_or_else(|| ReasonCode::parse("refused").expect("a literal reason code"))
}

fn audit_basis(b: &Basis) -> icr_audit::Basis {
    match b {
        Basis::OwnRecord => icr_audit::Basis::OwnRecord,
        Basis::Involved => icr_audit::Basis::Involved,
        Basis::SelfDeclared { .. } => icr_audit::Basis::SelfDeclared,
        Basis::BreakGlass { .. } => icr_audit::Basis::BreakGlass,
    }
}

pub(crate) fn user(identity: &Identity) -> User {
    User {
        issuer: Some(identity.issuer.clone()),
        sub: identity.sub.clone(),
        name: identity.name.clone(),
        role: identity.role.clone(),
        org: identity.org.clone(),
    }
}

/// The audit record being built for one request.
pub(crate) struct Draft {
    pub(crate) record: AuditRecord,
}

impl Draft {
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
                decision: Decision::Refused,
                reason: refusal_reason("refused"),
                http_status: 403,
            },
        }
    }
}

fn sources_asked(statuses: &[SourceReport]) -> Vec<SourceAsked> {
    statuses
        .iter()
        .map(|s| SourceAsked {
            source: s.source.clone(),
            status: s.status,
        })
        .collect()
}

impl Gateway {
    /// Runs one record request through the whole pipeline.
    pub(crate) async fn access_record(&self, r: RecordRequest<'_>) -> Result<Released, Stop> {
        let request_id = uuid::Uuid::new_v4().to_string();
        let mut draft = Draft::new(&request_id, r.interaction);
        // Recorded even when refused early: who tried which record.
        draft.record.nhs_number = NhsNumber::parse(r.nhs).ok();
        draft.record.calling_system = r.calling_system.map(str::to_owned);
        // The configuration this request is served under, whatever reloads
        // happen while it runs.
        let state = self.state();
        let access = Arc::clone(&state.access);

        // 0. Can an access be recorded at all? A failed audit log stays
        // failed until restart: refuse at once, before anyone's sources
        // are asked (the refusal itself cannot be recorded).
        if access.audit.is_poisoned() {
            return Err(audit_unavailable(request_id));
        }

        // 0. Headers that cannot be read as one value each: refused first.
        let (authorization, break_glass) = match (r.authorization, r.break_glass) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                return Err(self.audit_stop(draft, e.stop(request_id)).await);
            }
        };
        draft.record.break_glass_reason = break_glass.as_deref().map(bounded_reason);

        // 1. Who is asking.
        let identity = match access.authenticate(authorization) {
            Ok(i) => i,
            Err(e) => {
                let stop = Stop::unauthenticated(request_id, &e);
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        draft.record.user = Some(user(&identity));
        draft.record.purpose = identity.purpose.clone();
        let caller = match Caller::from_claims(
            &identity.role,
            identity.org.clone(),
            &identity.purpose,
            identity.nhs_number,
        ) {
            Ok(c) => c.with_break_glass(break_glass.as_deref()),
            Err(e) => {
                let stop = self.forbidden(&request_id, "UNKNOWN_ROLE", e.to_string());
                return Err(self.audit_stop(draft, stop).await);
            }
        };

        // 2. What is asked.
        let nhs = match NhsNumber::parse(r.nhs) {
            Ok(n) => n,
            Err(e) => {
                let shown: String = r
                    .nhs
                    .chars()
                    .filter(char::is_ascii_alphanumeric)
                    .take(16)
                    .collect();
                let stop = Stop {
                    request_id,
                    status: StatusCode::BAD_REQUEST,
                    error: "invalid_nhs_number",
                    code: "INVALID_NHS_NUMBER".into(),
                    message: format!("{shown:?} is not a valid NHS number: {e}"),
                    challenge: None,
                };
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        let requested = match r.sections {
            Ok(s) => s,
            Err((error, message)) => {
                let stop = Stop {
                    request_id,
                    status: StatusCode::BAD_REQUEST,
                    error,
                    code: error.to_ascii_uppercase(),
                    message,
                    challenge: None,
                };
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        draft.record.sections_requested = requested;

        // 3. May they ask? (role, own record, objections, break-glass rules)
        let objections = match access.objections.current() {
            Ok(o) => o,
            Err(message) => {
                let stop = Stop {
                    request_id,
                    status: StatusCode::SERVICE_UNAVAILABLE,
                    error: "objections_unavailable",
                    code: "OBJECTIONS_UNAVAILABLE".into(),
                    message,
                    challenge: None,
                };
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        let allowed = match access
            .policy
            .before_fetch(&caller, nhs, requested, &objections)
        {
            Ok(a) => a,
            Err(refusal) => {
                let stop = self.forbidden(&request_id, refusal.code.as_str(), refusal.message);
                return Err(self.audit_stop(draft, stop).await);
            }
        };

        // 4. Fetch what they may see, from the sources they may see.
        let context = Self::context(&identity, &request_id);
        let mut outcome = self
            .record_in(
                &state,
                context,
                nhs,
                allowed.sections(),
                allowed.sources(),
                r.wait,
            )
            .await;
        draft.record.sources = sources_asked(&outcome.sources);

        // 5. Is there a relationship? (involved, self-declared, break-glass)
        let holders = self.holders(&outcome.sources);
        let granted =
            match access
                .policy
                .after_fetch_unanswered(allowed, &holders, &outcome.unanswered)
            {
                Ok(g) => g,
                Err(refusal) if refusal.code == icr_policy::RefusalCode::RelationshipUndecided => {
                    let stop = Stop {
                        request_id,
                        status: StatusCode::SERVICE_UNAVAILABLE,
                        error: "relationship_undecided",
                        code: refusal.code.as_str().into(),
                        message: refusal.message,
                        challenge: None,
                    };
                    return Err(self.audit_stop(draft, stop).await);
                }
                Err(refusal) => {
                    let mut message = refusal.message;
                    if holders.is_empty()
                        && outcome
                            .sources
                            .iter()
                            .any(|s| !s.status.answered() && s.status != SourceStatus::NotFound)
                    {
                        message.push_str(
                            " (some sources that could confirm a relationship did not answer)",
                        );
                    }
                    let stop = self.forbidden(&request_id, refusal.code.as_str(), message);
                    return Err(self.audit_stop(draft, stop).await);
                }
            };
        if let Basis::BreakGlass { reason } = granted.basis() {
            access.break_glass.fetch_add(1, Ordering::Relaxed);
            draft.record.break_glass_reason = Some(reason.as_str().to_string());
        }

        // 6. Withhold what the role may not see.
        let withheld = access.policy.apply(&granted, &mut outcome.merged);
        if withheld.outside_sections > 0 {
            tracing::error!(
                count = withheld.outside_sections,
                "items outside the allowed sections reached the policy"
            );
        }

        // 7. Record the access, durably, before anything leaves.
        let released_items: usize = outcome
            .merged
            .sections
            .values()
            .map(Vec::len)
            .sum::<usize>()
            + usize::from(outcome.merged.patient.is_some());
        draft.record.basis = audit_basis(granted.basis());
        draft.record.sections_released = granted.allowed().sections();
        draft.record.items_released = u32::try_from(released_items).unwrap_or(u32::MAX);
        draft.record.items_withheld = u32::try_from(withheld.count).unwrap_or(u32::MAX);
        draft.record.decision = Decision::Allowed;
        draft.record.reason = refusal_reason(granted.basis().code());
        draft.record.http_status = outcome.http_status;
        if let Err(e) = self.append_audit(&draft.record).await {
            tracing::error!(error = %e, "audit append failed: nothing released");
            return Err(audit_unavailable(request_id));
        }
        Ok(Released {
            request_id,
            outcome,
            withheld,
            audited: draft.record,
        })
    }

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
        let identity = match access.authenticate(authorization) {
            Ok(i) => i,
            Err(e) => {
                let stop = Stop::unauthenticated(request_id, &e);
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        draft.record.user = Some(user(&identity));
        draft.record.purpose = identity.purpose.clone();
        let Some(nhs) = draft.record.nhs_number else {
            let stop = Stop {
                request_id,
                status: StatusCode::BAD_REQUEST,
                error: "invalid_nhs_number",
                code: "INVALID_NHS_NUMBER".into(),
                message: "give the person as ?patient= and a valid 10-digit NHS number".into(),
                challenge: None,
            };
            return Err(self.audit_stop(draft, stop).await);
        };
        let query = match ask.query {
            Ok(q) => q,
            Err(e) => {
                let stop = Stop {
                    request_id,
                    status: StatusCode::BAD_REQUEST,
                    error: "invalid_search",
                    code: "INVALID_SEARCH".into(),
                    message: e.to_string(),
                    challenge: None,
                };
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
                let stop = self.forbidden(
                    &request_id,
                    "AUDIT_NOT_PERMITTED",
                    "the audit of a record may be read by privacy officers and by the person it is about".into(),
                );
                return Err(self.audit_stop(draft, stop).await);
            }
        };
        // Only this person's lines, through the index, off the async
        // threads, under the permit taken at admission.
        let page = match ask.reader.page(nhs, query).await {
            Ok(p) => p,
            Err(e) => {
                tracing::error!(error = %e, "reading the audit log failed");
                return Err(audit_unavailable(request_id));
            }
        };
        draft.record.basis = basis;
        draft.record.decision = Decision::Allowed;
        draft.record.reason = refusal_reason(basis.as_str());
        draft.record.items_released = u32::try_from(page.records.len()).unwrap_or(u32::MAX);
        draft.record.http_status = 200;
        if let Err(e) = self.append_audit(&draft.record).await {
            tracing::error!(error = %e, "audit append failed: nothing released");
            return Err(audit_unavailable(request_id));
        }
        Ok(AuditRead {
            request_id,
            page,
            nhs_number: nhs,
            query,
        })
    }

    /// The organisations holding a record for the person: those of sources
    /// that answered with one, but not the demographics service (which holds
    /// everyone) — it names the person, it is not involved in their care.
    fn holders(&self, statuses: &[SourceReport]) -> Vec<icr_model::OdsCode> {
        statuses
            .iter()
            .filter(|s| s.status.answered() && !self.is_demographics_service(&s.source))
            .map(|s| s.ods_code.clone())
            .collect()
    }

    pub(crate) fn forbidden(&self, request_id: &str, code: &str, message: String) -> Stop {
        Stop {
            request_id: request_id.to_string(),
            status: StatusCode::FORBIDDEN,
            error: "forbidden",
            code: code.to_string(),
            message,
            challenge: None,
        }
    }

    /// Audits a refusal; if that fails, the refusal becomes a 503.
    pub(crate) async fn audit_stop(&self, mut draft: Draft, stop: Stop) -> Stop {
        draft.record.decision = Decision::Refused;
        draft.record.reason = refusal_reason(&stop.code);
        draft.record.http_status = stop.status.as_u16();
        draft.record.sections_released = SectionSet::EMPTY;
        draft.record.items_released = 0;
        draft.record.items_withheld = 0;
        draft.record.basis = icr_audit::Basis::None;
        match self.append_audit(&draft.record).await {
            Ok(_) => stop,
            Err(e) => {
                tracing::error!(error = %e, "audit append failed");
                audit_unavailable(stop.request_id)
            }
        }
    }
}

pub(crate) fn audit_unavailable(request_id: String) -> Stop {
    Stop {
        request_id,
        status: StatusCode::SERVICE_UNAVAILABLE,
        error: "audit_unavailable",
        code: "AUDIT_UNAVAILABLE".into(),
        message: "the access could not be recorded in the audit log, so nothing is released".into(),
        challenge: None,
    }
}

/// A break-glass reason as recorded: at most 1,000 characters, control
/// characters replaced, so the audit line stays bounded and one line.
fn bounded_reason(raw: &str) -> String {
    raw.chars()
        .take(1000)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}
