//! The pipeline's typed outcomes, and the one place each is given its
//! HTTP status: a [`Stop`] (nothing is released, and [`Why`]) or, for a
//! record released, its [`Verdict`] (did any source answer?).
//!
//! The pipeline never names an HTTP status: it says what happened. The
//! status each outcome is answered with is written here, once, because two
//! readers need the same answer: the HTTP edge, which sends it, and the
//! audit step, which records the status the caller got before anything is
//! sent.

use std::borrow::Cow;

use http::StatusCode;
use icr_auth::AuthError;
use icr_policy::{Refusal, RefusalCode};

/// Why nothing is released, for one request.
#[derive(Debug)]
pub(crate) struct Stop {
    /// The request's id.
    pub request_id: String,
    /// Why, as a type.
    pub why: Why,
    /// What it means, for a person.
    pub message: String,
}

/// The reasons a request stops, each with one HTTP status.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// No bearer token, or one that failed verification (401). `bare`:
    /// the request carried no bearer token at all, so the challenge names
    /// no error (RFC 6750 §3.1).
    Unauthenticated {
        /// The verifier's reason (`missing_token`, `expired`, …).
        reason: &'static str,
        /// Whether the challenge is bare.
        bare: bool,
    },
    /// The request cannot be read as asked (400).
    Invalid {
        /// The error family (`invalid_nhs_number`, `duplicate_header`, …).
        error: &'static str,
        /// The specific code (`INVALID_NHS_NUMBER`, …).
        code: Cow<'static, str>,
    },
    /// The access policy refused (403), or could not decide now
    /// ([`RefusalCode::RelationshipUndecided`], 503).
    Refused(RefusalCode),
    /// The gateway's own refusal of this caller (403): `AUDIT_NOT_PERMITTED`,
    /// `NOT_YOUR_PAGES`.
    Forbidden(&'static str),
    /// What was asked for is no longer kept (410).
    Gone(&'static str),
    /// What was asked for does not exist here (404): `NO_SHARED_AUDIT_STORE`,
    /// `NO_SUCH_BREAK_GLASS`.
    NotFound(&'static str),
    /// The shared audit store cannot be read or written now (503).
    StoreUnavailable,
    /// The objection register cannot be read (503).
    ObjectionsUnavailable,
    /// The access cannot be recorded in the audit log (503).
    AuditUnavailable,
}

/// How a released record's sources went, as a whole.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Some source answered or withheld its record, or none was asked (200).
    Answered,
    /// Every source asked holds no record for the person (404).
    NotFound,
    /// No source gave a definite answer (502).
    Unanswered,
}

impl Verdict {
    /// The HTTP status a record with this verdict is answered with.
    pub fn status(self) -> StatusCode {
        match self {
            Verdict::Answered => StatusCode::OK,
            Verdict::NotFound => StatusCode::NOT_FOUND,
            Verdict::Unanswered => StatusCode::BAD_GATEWAY,
        }
    }
}

/// The protection space named in `WWW-Authenticate` challenges.
const REALM: &str = "icr-gateway";

impl Stop {
    /// A stop for `why`.
    pub(crate) fn new(request_id: String, why: Why, message: String) -> Self {
        Self {
            request_id,
            why,
            message,
        }
    }

    /// The 401 for a missing or failed bearer token.
    pub(crate) fn unauthenticated(request_id: String, e: &AuthError) -> Self {
        let why = Why::Unauthenticated {
            reason: e.reason(),
            bare: matches!(e, AuthError::Missing | AuthError::NotBearer),
        };
        Self::new(request_id, why, e.to_string())
    }

    /// A refusal by the access policy.
    pub(crate) fn refused(request_id: String, refusal: Refusal) -> Self {
        Self::new(request_id, Why::Refused(refusal.code), refusal.message)
    }

    /// The 400 for a request that cannot be read.
    pub(crate) fn invalid(
        request_id: String,
        error: &'static str,
        code: impl Into<Cow<'static, str>>,
        message: String,
    ) -> Self {
        let code = code.into();
        Self::new(request_id, Why::Invalid { error, code }, message)
    }

    /// The 503 for an access that could not be recorded.
    pub(crate) fn audit_unavailable(request_id: String) -> Self {
        Self::new(
            request_id,
            Why::AuditUnavailable,
            "the access could not be recorded in the audit log, so nothing is released".into(),
        )
    }

    /// The HTTP status it is answered with.
    pub(crate) fn status(&self) -> StatusCode {
        match &self.why {
            Why::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Why::Invalid { .. } => StatusCode::BAD_REQUEST,
            Why::Refused(RefusalCode::RelationshipUndecided) => StatusCode::SERVICE_UNAVAILABLE,
            Why::Refused(_) | Why::Forbidden(_) => StatusCode::FORBIDDEN,
            Why::Gone(_) => StatusCode::GONE,
            Why::NotFound(_) => StatusCode::NOT_FOUND,
            Why::ObjectionsUnavailable | Why::AuditUnavailable | Why::StoreUnavailable => {
                StatusCode::SERVICE_UNAVAILABLE
            }
        }
    }

    /// The error family (`unauthenticated`, `forbidden`, …).
    pub(crate) fn error(&self) -> &'static str {
        match &self.why {
            Why::Unauthenticated { .. } => "unauthenticated",
            Why::Invalid { error, .. } => error,
            Why::Refused(RefusalCode::RelationshipUndecided) => "relationship_undecided",
            Why::Refused(_) | Why::Forbidden(_) => "forbidden",
            Why::Gone(_) => "gone",
            Why::NotFound(_) => "not_found",
            Why::StoreUnavailable => "audit_store_unavailable",
            Why::ObjectionsUnavailable => "objections_unavailable",
            Why::AuditUnavailable => "audit_unavailable",
        }
    }

    /// The specific reason (`NO_RELATIONSHIP`, `expired`, …).
    pub(crate) fn code(&self) -> &str {
        match &self.why {
            Why::Unauthenticated { reason, .. } => reason,
            Why::Invalid { code, .. } => code,
            Why::Refused(code) => code.as_str(),
            Why::Forbidden(code) | Why::Gone(code) | Why::NotFound(code) => code,
            Why::StoreUnavailable => "AUDIT_STORE_UNAVAILABLE",
            Why::ObjectionsUnavailable => "OBJECTIONS_UNAVAILABLE",
            Why::AuditUnavailable => "AUDIT_UNAVAILABLE",
        }
    }

    /// A `WWW-Authenticate` challenge, for 401s.
    pub(crate) fn challenge(&self) -> Option<String> {
        match &self.why {
            Why::Unauthenticated { bare: true, .. } => Some(format!("Bearer realm=\"{REALM}\"")),
            Why::Unauthenticated { reason, .. } => Some(format!(
                "Bearer realm=\"{REALM}\", error=\"invalid_token\", error_description=\"{reason}\""
            )),
            _ => None,
        }
    }

    /// Seconds after which the caller may try again (`Retry-After`), for
    /// stops that say nothing about the caller or the record but only that
    /// the gateway cannot answer now.
    pub(crate) fn retry_after(&self) -> Option<u32> {
        match &self.why {
            // Poisoned until the replica restarts; its readiness probe
            // fails meanwhile, so another replica will take the retry.
            Why::AuditUnavailable | Why::ObjectionsUnavailable => Some(30),
            Why::Refused(RefusalCode::RelationshipUndecided) | Why::StoreUnavailable => Some(5),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stop(why: Why) -> Stop {
        Stop::new("r".into(), why, "m".into())
    }

    #[test]
    fn each_reason_has_one_status_family_and_code() {
        let cases = [
            (
                stop(Why::Unauthenticated {
                    reason: "expired",
                    bare: false,
                }),
                401,
                "unauthenticated",
                "expired",
            ),
            (
                Stop::invalid("r".into(), "invalid_search", "INVALID_SEARCH", "m".into()),
                400,
                "invalid_search",
                "INVALID_SEARCH",
            ),
            (
                stop(Why::Refused(RefusalCode::NoRelationship)),
                403,
                "forbidden",
                "NO_RELATIONSHIP",
            ),
            (
                stop(Why::Refused(RefusalCode::RelationshipUndecided)),
                503,
                "relationship_undecided",
                "RELATIONSHIP_UNDECIDED",
            ),
            (
                stop(Why::Forbidden("AUDIT_NOT_PERMITTED")),
                403,
                "forbidden",
                "AUDIT_NOT_PERMITTED",
            ),
            (
                stop(Why::Gone("PAGES_EXPIRED")),
                410,
                "gone",
                "PAGES_EXPIRED",
            ),
            (
                stop(Why::ObjectionsUnavailable),
                503,
                "objections_unavailable",
                "OBJECTIONS_UNAVAILABLE",
            ),
            (
                Stop::audit_unavailable("r".into()),
                503,
                "audit_unavailable",
                "AUDIT_UNAVAILABLE",
            ),
        ];
        for (s, status, error, code) in cases {
            assert_eq!(
                (s.status().as_u16(), s.error(), s.code()),
                (status, error, code)
            );
        }
    }

    #[test]
    fn a_records_verdict_has_one_status() {
        assert_eq!(Verdict::Answered.status().as_u16(), 200);
        assert_eq!(Verdict::NotFound.status().as_u16(), 404);
        assert_eq!(Verdict::Unanswered.status().as_u16(), 502);
    }

    #[test]
    fn only_the_gateways_own_unavailability_may_be_retried() {
        assert_eq!(stop(Why::AuditUnavailable).retry_after(), Some(30));
        assert_eq!(stop(Why::ObjectionsUnavailable).retry_after(), Some(30));
        assert_eq!(
            stop(Why::Refused(RefusalCode::RelationshipUndecided)).retry_after(),
            Some(5)
        );
        assert_eq!(
            stop(Why::Refused(RefusalCode::NoRelationship)).retry_after(),
            None
        );
        assert_eq!(stop(Why::Gone("PAGES_EXPIRED")).retry_after(), None);
    }

    #[test]
    fn a_challenge_names_the_error_only_when_a_token_failed() {
        let bare = Stop::unauthenticated("r".into(), &AuthError::Missing);
        assert_eq!(
            bare.challenge().as_deref(),
            Some("Bearer realm=\"icr-gateway\"")
        );
        assert_eq!(bare.code(), "missing_token");
        let failed = stop(Why::Unauthenticated {
            reason: "expired",
            bare: false,
        });
        assert_eq!(
            failed.challenge().as_deref(),
            Some(
                "Bearer realm=\"icr-gateway\", error=\"invalid_token\", error_description=\"expired\""
            )
        );
        assert_eq!(stop(Why::AuditUnavailable).challenge(), None);
    }
}
