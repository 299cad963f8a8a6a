//! Authenticate: who is asking. The bearer token is verified against the
//! issuers and keys in force now, and its claims become the policy's
//! [`Caller`] (with any break-glass reason) and the context sources are
//! told.

use icr_adapter_sdk::{RequestContext, Requester};
use icr_auth::{AuthError, Identity, Verifier};
use icr_policy::{Caller, Refusal};

use crate::Gateway;

/// Verifies an `Authorization` header value now.
pub(crate) fn verify(
    verifier: &Verifier,
    authorization: Option<&str>,
) -> Result<Identity, AuthError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    verifier.verify_header(authorization, now)
}

/// The caller the policy judges, from the verified claims and the
/// break-glass reason as sent; a role the policy cannot know is refused.
pub(crate) fn caller(identity: &Identity, break_glass: Option<&str>) -> Result<Caller, Refusal> {
    let caller = Caller::from_claims(
        &identity.role,
        identity.org.clone(),
        &identity.purpose,
        identity.nhs_number,
    )?;
    Ok(caller.with_break_glass(break_glass))
}

/// The context sources are told: the request's trace id and the
/// authenticated caller as the requester.
pub(crate) fn context(identity: &Identity, trace_id: &str) -> RequestContext {
    RequestContext {
        trace_id: trace_id.to_string(),
        requester: Requester {
            user_id: identity.sub.clone(),
            name: identity.name.clone(),
            role: identity.role.clone(),
            organisation: identity.org.clone(),
            purpose: identity.purpose.clone(),
        },
    }
}

impl Gateway {
    /// Verifies an `Authorization` header value now, against the issuers
    /// and keys in force.
    pub fn authenticate(&self, authorization: Option<&str>) -> Result<Identity, AuthError> {
        verify(&self.access().verifier, authorization)
    }

    /// The context sources are told: the request's trace id and the
    /// authenticated caller as the requester.
    pub fn context(identity: &Identity, trace_id: &str) -> RequestContext {
        context(identity, trace_id)
    }
}

#[cfg(test)]
mod tests {
    use icr_model::OdsCode;
    use icr_policy::RefusalCode;

    use super::*;

    fn identity(role: &str) -> Identity {
        Identity {
            issuer: "https://issuer.example".into(),
            sub: "u1".into(),
            name: "Dr A".into(),
            role: role.into(),
            org: OdsCode::parse("RX1").unwrap(),
            purpose: "directcare".into(),
            nhs_number: None,
            expires_at: 0,
        }
    }

    #[test]
    fn a_role_claim_that_is_no_role_code_is_refused_as_unknown_role() {
        let refused = caller(&identity("not a role!"), None).unwrap_err();
        assert_eq!(refused.code, RefusalCode::UnknownRole);
        let ok = caller(&identity("R8000"), Some("emergency")).unwrap();
        assert_eq!(ok.break_glass(), Some("emergency"));
    }

    #[test]
    fn sources_are_told_the_trace_id_and_the_requester() {
        let c = context(&identity("R8000"), "trace-1");
        assert_eq!(c.trace_id, "trace-1");
        assert_eq!(
            (
                c.requester.user_id.as_str(),
                c.requester.name.as_str(),
                c.requester.role.as_str(),
                c.requester.organisation.as_str(),
                c.requester.purpose.as_str()
            ),
            ("u1", "Dr A", "R8000", "RX1", "directcare")
        );
    }
}
