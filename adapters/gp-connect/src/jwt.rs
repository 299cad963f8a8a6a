//! The audit token of one request, built from the request context's
//! requester (the wire format and claim set are
//! [`icr_fhir_stu3::jwt`]).
//!
//! The claims name the person who looked, their organisation and their
//! role, so that the practice's own audit trail records them. STU3
//! Practitioner has no element for a job role (DSTU2's `practitionerRole`
//! is gone), so the requester's national RBAC job role code travels in an
//! extension on `requesting_practitioner`, coded in
//! `CareConnect-SDSJobRoleName-1`; providers ignore extensions they do not
//! know. The request context carries no SDS role profile id, so that
//! identifier is `UNK`, as the specification says for a user not logged on
//! with a smartcard role. The request context's organisation has only an
//! ODS code, which is also written as the organisation's name.

use icr_adapter_sdk::RequestContext;
use icr_fhir_stu3::gpc::{
    ACCREDITED_SYSTEM_ID, ODS_ORGANIZATION_SYSTEM, SDS_JOB_ROLE_NAME_SYSTEM,
    SDS_ROLE_PROFILE_ID_SYSTEM, SDS_USER_ID_SYSTEM,
};
use icr_fhir_stu3::jwt::{
    Claims, Device, LIFETIME_S, Organization, Practitioner, REASON_FOR_REQUEST, REQUESTED_SCOPE,
    RoleExtension,
};
use icr_fhir_stu3::{CodeableConcept, Coding, HumanName, Identifier};

/// What the token says about the consumer, besides the requester.
#[derive(Clone, Debug)]
pub struct Consumer<'a> {
    /// `iss`: the gateway's Spine endpoint URL.
    pub issuer: &'a str,
    /// `aud`: the provider's FHIR service root.
    pub audience: &'a str,
    /// The gateway's ASID.
    pub asid: &'a str,
}

const TITLES: [&str; 8] = ["dr", "mr", "mrs", "ms", "miss", "mx", "prof", "professor"];

/// A name given as one string, as a HumanName: its text, a leading title
/// as prefix, the last word as family name and the others as given names.
pub fn split_name(name: &str) -> HumanName {
    let mut words: Vec<&str> = name.split_whitespace().collect();
    let mut prefix = Vec::new();
    if words.len() > 1
        && let Some(first) = words.first()
        && TITLES.contains(&first.trim_end_matches('.').to_ascii_lowercase().as_str())
    {
        prefix.push(first.to_string());
        words.remove(0);
    }
    let family = words.pop().map(str::to_string);
    HumanName {
        text: (!name.trim().is_empty()).then(|| name.trim().to_string()),
        family,
        given: words.into_iter().map(str::to_string).collect(),
        prefix,
        ..Default::default()
    }
}

/// The claims for one request made at `now` (seconds since the epoch).
pub fn claims(context: &RequestContext, consumer: &Consumer<'_>, now: i64) -> Claims {
    let r = &context.requester;
    let local_system = format!("{}/Id/user-id", consumer.issuer.trim_end_matches('/'));
    let role_url = format!(
        "{}/StructureDefinition/sds-job-role-name",
        consumer.issuer.trim_end_matches('/')
    );
    Claims {
        iss: consumer.issuer.to_string(),
        sub: r.user_id.clone(),
        aud: consumer.audience.to_string(),
        exp: now.saturating_add(LIFETIME_S),
        iat: now,
        reason_for_request: REASON_FOR_REQUEST.to_string(),
        requested_scope: REQUESTED_SCOPE.to_string(),
        requesting_device: Device {
            resource_type: "Device".into(),
            identifier: vec![Identifier::new(ACCREDITED_SYSTEM_ID, consumer.asid)],
            model: "ICR gateway".into(),
            version: env!("CARGO_PKG_VERSION").into(),
        },
        requesting_organization: Organization {
            resource_type: "Organization".into(),
            identifier: vec![Identifier::new(
                ODS_ORGANIZATION_SYSTEM,
                r.organisation.as_str(),
            )],
            name: r.organisation.as_str().to_string(),
        },
        requesting_practitioner: Practitioner {
            resource_type: "Practitioner".into(),
            id: r.user_id.clone(),
            identifier: vec![
                Identifier::new(SDS_USER_ID_SYSTEM, &r.user_id),
                Identifier::new(SDS_ROLE_PROFILE_ID_SYSTEM, "UNK"),
                Identifier::new(&local_system, &r.user_id),
            ],
            name: vec![split_name(&r.name)],
            extension: (!r.role.trim().is_empty())
                .then(|| RoleExtension {
                    url: role_url,
                    value_codeable_concept: CodeableConcept {
                        coding: vec![Coding {
                            system: Some(SDS_JOB_ROLE_NAME_SYSTEM.into()),
                            code: Some(r.role.trim().to_string()),
                            ..Default::default()
                        }],
                        text: None,
                    },
                })
                .into_iter()
                .collect(),
        },
    }
}
