//! Discovery: the CapabilityStatement and the SMART configuration, naming
//! the issuers whose tokens are trusted.

use serde::Serialize;

use super::now;

/// An issuer whose bearer tokens the gateway accepts, as discovery shows it.
#[derive(Clone, Debug, Serialize)]
pub struct TrustedIssuer {
    /// Its `iss`.
    pub issuer: String,
    /// The `aud` its tokens must carry.
    pub audience: String,
}

pub(crate) const SECURITY_SERVICE_SYSTEM: &str =
    "http://terminology.hl7.org/CodeSystem/restful-security-service";

/// What the gateway says of its authorization, in discovery documents.
pub(crate) const RESOURCE_SERVER_ONLY: &str = "The gateway is a FHIR resource server only: it runs no \
authorization server, so it has no authorization or token endpoint of its own. Every request \
but this discovery carries a bearer JWT (Authorization: Bearer) signed by one of the trusted \
issuers, with their audience, and the claims sub, name, role (a national RBAC job role), org \
(an ODS code) and purpose; SMART scopes are not read. Get a token from the issuer.";

/// The CapabilityStatement served at `/fhir/r4/metadata`: everything served
/// (Patient `$everything` by GET and POST, the AuditEvent search by
/// patient) and how callers authenticate (`rest.security`, SMART
/// discovery naming the trusted issuers).
pub fn capability_statement(issuers: &[TrustedIssuer]) -> Vec<u8> {
    let names: Vec<&str> = issuers.iter().map(|i| i.issuer.as_str()).collect();
    serde_json::json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": now(),
        "publisher": "ICR gateway",
        "kind": "instance",
        "software": {"name": "icr-gateway", "version": env!("CARGO_PKG_VERSION")},
        "implementation": {"description": "Integrated Care Record federated gateway: a merged view of a person's records, fetched live from each source"},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": "Read-only. A source that did not answer in full appears as an OperationOutcome entry (search mode outcome) on the first page of the Bundle. Every error is an OperationOutcome. JSON only: a request for XML is answered 406.",
            "security": {
                "cors": false,
                "service": [{
                    "coding": [{"system": SECURITY_SERVICE_SYSTEM, "code": "SMART-on-FHIR", "display": "SMART-on-FHIR"}],
                    "text": "OAuth 2.0 bearer tokens (JWT) from the trusted issuers; discovery at .well-known/smart-configuration"
                }],
                "description": format!("{RESOURCE_SERVER_ONLY} Trusted issuers: {}. See .well-known/smart-configuration.", names.join(", "))
            },
            "resource": [{
                "type": "Patient",
                "operation": [{
                    "name": "everything",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                    "documentation": "GET, or POST with an empty body or a Parameters resource. _type narrows the resource types; _count sets the page size (default 200, at most 1000): further pages by the Bundle's next link, for the same caller, for five minutes. start, end and _since are not supported and are ignored."
                }]
            }, {
                "type": "AuditEvent",
                "interaction": [{
                    "code": "search-type",
                    "documentation": "Who accessed a person's record: for privacy officers, and for the person themselves."
                }],
                "searchParam": [{
                    "name": "patient",
                    "type": "reference",
                    "documentation": "The person, by NHS number (10 digits). Required."
                }]
            }]
        }]
    })
    .to_string()
    .into_bytes()
}

/// The SMART discovery document (`.well-known/smart-configuration`): the
/// trusted issuers, and honestly no endpoint, grant, PKCE method or SMART
/// capability of the gateway's own, since it runs no authorization server.
pub fn smart_configuration(issuers: &[TrustedIssuer]) -> Vec<u8> {
    serde_json::json!({
        "description": RESOURCE_SERVER_ONLY,
        "trusted_issuers": issuers,
        "capabilities": [],
        "grant_types_supported": [],
        "code_challenge_methods_supported": [],
    })
    .to_string()
    .into_bytes()
}
