//! GP Connect's audit token: an unsigned JWT (`alg: none`, empty
//! signature) sent as `Authorization: Bearer`, whose claims are GP
//! Connect's cross-organisation audit and provenance claim set (1.2
//! onwards, so 1.6): `iss`, `sub`, `aud`, `exp` (5 minutes after `iat`),
//! `iat`, `reason_for_request` (`directcare`), `requested_scope`
//! (`patient/*.read`), `requesting_device`, `requesting_organization` and
//! `requesting_practitioner` (minimal STU3 resources). `requested_record`
//! belonged to the 0.x (DSTU2) token and is not part of it.
//!
//! The adapter writes it; the simulator reads and checks it as a provider
//! would ([`decode`], [`check`]).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use crate::gpc::{ODS_ORGANIZATION_SYSTEM, SDS_USER_ID_SYSTEM};
use crate::types::{CodeableConcept, HumanName, Identifier};

/// How long a token is valid for, in seconds (GP Connect: 5 minutes).
pub const LIFETIME_S: i64 = 300;

/// The `reason_for_request` of every request: the ICR is direct care.
pub const REASON_FOR_REQUEST: &str = "directcare";

/// The `requested_scope` of a structured record read.
pub const REQUESTED_SCOPE: &str = "patient/*.read";

/// The JWT header: unsigned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always `none`.
    pub alg: String,
    /// Always `JWT`.
    pub typ: String,
}

/// The claims of the audit token.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Claims {
    /// The gateway's Spine endpoint URL.
    pub iss: String,
    /// The requester's user id; equal to `requesting_practitioner.id`.
    pub sub: String,
    /// The provider's FHIR service root.
    pub aud: String,
    /// Expiry, in seconds since the Unix epoch (`iat` + 300).
    pub exp: i64,
    /// Issued at, in seconds since the Unix epoch.
    pub iat: i64,
    /// Always `directcare`.
    pub reason_for_request: String,
    /// Always `patient/*.read`.
    pub requested_scope: String,
    /// The gateway, as a minimal Device.
    pub requesting_device: Device,
    /// The requester's organisation, as a minimal Organization.
    pub requesting_organization: Organization,
    /// The requester, as a minimal Practitioner.
    pub requesting_practitioner: Practitioner,
}

/// A minimal STU3 Device.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Device {
    /// Always `Device`.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// The gateway's ASID, as an accredited system identifier.
    pub identifier: Vec<Identifier>,
    /// The product name.
    pub model: String,
    /// The product version.
    pub version: String,
}

/// A minimal STU3 Organization.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Always `Organization`.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// The ODS code.
    pub identifier: Vec<Identifier>,
    /// The name (the request context carries only the ODS code, which is
    /// written here too).
    pub name: String,
}

/// A minimal STU3 Practitioner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Practitioner {
    /// Always `Practitioner`.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// The user id (as `sub`).
    pub id: String,
    /// SDS user id, SDS role profile id (`UNK`), and the gateway's local user id.
    pub identifier: Vec<Identifier>,
    /// The user's name.
    pub name: Vec<HumanName>,
    /// The user's job role (see the module documentation).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extension: Vec<RoleExtension>,
}

/// The job role extension of `requesting_practitioner`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RoleExtension {
    /// The extension's URL (under the issuer).
    pub url: String,
    /// The job role, in `CareConnect-SDSJobRoleName-1`.
    #[serde(rename = "valueCodeableConcept")]
    pub value_codeable_concept: CodeableConcept,
}

/// The token: base64url header, `.`, base64url claims, `.` (the empty
/// signature of an unsecured JWT).
pub fn token(claims: &Claims) -> Result<String, serde_json::Error> {
    let header = Header {
        alg: "none".into(),
        typ: "JWT".into(),
    };
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?);
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims)?);
    Ok(format!("{h}.{c}."))
}

/// Why a token was refused by [`decode`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// Not three dot-separated parts.
    #[error("the token is not three dot-separated parts")]
    Parts,
    /// A part is not base64url.
    #[error("a token part is not base64url")]
    Base64,
    /// The header is not `{"alg":"none","typ":"JWT"}`.
    #[error("the token header is not that of an unsigned JWT")]
    Header,
    /// An unsigned token has a signature.
    #[error("the unsigned token has a signature")]
    Signature,
    /// The claims are not the GP Connect claim set.
    #[error("the token claims are not GP Connect's claim set")]
    Claims,
}

/// Reads a token back (for tests and the simulator): checks the header,
/// the empty signature and the claim set's shape.
pub fn decode(token: &str) -> Result<Claims, TokenError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(TokenError::Parts);
    };
    if !s.is_empty() {
        return Err(TokenError::Signature);
    }
    let h = URL_SAFE_NO_PAD.decode(h).map_err(|_| TokenError::Base64)?;
    let c = URL_SAFE_NO_PAD.decode(c).map_err(|_| TokenError::Base64)?;
    let header: Header = serde_json::from_slice(&h).map_err(|_| TokenError::Header)?;
    if header.alg != "none" || header.typ != "JWT" {
        return Err(TokenError::Header);
    }
    serde_json::from_slice(&c).map_err(|_| TokenError::Claims)
}

/// Why a token's claims were refused by [`check`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClaimError {
    /// `exp` is not `iat` + 300, or has passed.
    #[error("the token has expired or its lifetime is not 5 minutes")]
    Expired,
    /// `iat` is in the future.
    #[error("the token was issued in the future")]
    NotYetValid,
    /// `aud` is not the provider's service root.
    #[error("the token's audience is not this provider")]
    Audience,
    /// `reason_for_request` or `requested_scope` is not a GP Connect value.
    #[error("the token's reason_for_request or requested_scope is not allowed")]
    Scope,
    /// `sub` does not match `requesting_practitioner.id`, or a resource
    /// lacks its required identifier.
    #[error("the token's requesting resources are incomplete")]
    Requester,
}

/// Checks claims as a provider does at `now` (seconds since the epoch),
/// with `skew` seconds of clock tolerance, for a provider whose service
/// root is `audience` (compared without a trailing slash).
pub fn check(claims: &Claims, audience: &str, now: i64, skew: i64) -> Result<(), ClaimError> {
    if claims.exp != claims.iat.saturating_add(LIFETIME_S) || claims.exp < now.saturating_sub(skew)
    {
        return Err(ClaimError::Expired);
    }
    if claims.iat > now.saturating_add(skew) {
        return Err(ClaimError::NotYetValid);
    }
    if claims.aud.trim_end_matches('/') != audience.trim_end_matches('/') {
        return Err(ClaimError::Audience);
    }
    let scope_ok = claims
        .requested_scope
        .split(' ')
        .any(|s| s == REQUESTED_SCOPE);
    if !matches!(
        claims.reason_for_request.as_str(),
        "directcare" | "migration"
    ) || !scope_ok
    {
        return Err(ClaimError::Scope);
    }
    let has = |ids: &[Identifier], system: &str| {
        ids.iter().any(|i| {
            i.system.as_deref() == Some(system)
                && i.value.as_deref().is_some_and(|v| !v.trim().is_empty())
        })
    };
    let p = &claims.requesting_practitioner;
    let o = &claims.requesting_organization;
    if claims.sub.is_empty()
        || p.id != claims.sub
        || p.resource_type != "Practitioner"
        || !has(&p.identifier, SDS_USER_ID_SYSTEM)
        || o.resource_type != "Organization"
        || !has(&o.identifier, ODS_ORGANIZATION_SYSTEM)
        || claims.requesting_device.resource_type != "Device"
        || claims.iss.is_empty()
    {
        return Err(ClaimError::Requester);
    }
    Ok(())
}
