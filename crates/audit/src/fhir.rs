//! Access records as FHIR R4 `AuditEvent` resources, and the accesses to
//! one patient's record as a searchset Bundle (for `GET /fhir/r4/AuditEvent`).

use icr_fhir::from_model::text;
use icr_fhir::{
    AuditEvent, AuditEventAgent, AuditEventEntity, AuditEventEntityDetail, AuditEventSource,
    Bundle, BundleEntry, BundleLink, BundleSearch, CodeableConcept, Coding, Identifier,
    NHS_NUMBER_SYSTEM, ODS_ORGANISATION_SYSTEM, OperationOutcome, OperationOutcomeIssue, Reference,
    Resource,
};
use icr_model::{NhsNumber, OdsCode, SectionSet};

use crate::read::{AccessPage, Logged, LoggedAccess};
use crate::record::{AccessBegun, AuditRecord, Basis, Decision, Interaction, Timestamp, User};

const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const ACT_REASON: &str = "http://terminology.hl7.org/CodeSystem/v3-ActReason";
const SECURITY_ROLE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/extra-security-role-type";
const ROLE_CLASS: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleClass";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
/// The identifier system of a source's records, followed by the source's
/// id (as the gateway's FHIR Provenances write it).
const SOURCE_RECORD_SYSTEM: &str = "urn:icr:source:";

/// The system that recorded the events: the gateway, as
/// `AuditEvent.source`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Observer {
    /// The gateway's name (e.g. `BSW ICR gateway`).
    pub name: String,
    /// The ODS code of the organisation that runs it, if set.
    pub organisation: Option<OdsCode>,
}

/// A URI as FHIR takes it: not empty, no whitespace.
fn uri(s: &str) -> Option<String> {
    (!s.is_empty() && !s.chars().any(|c| c.is_whitespace() || c == '\u{feff}'))
        .then(|| s.to_owned())
}

fn coding(system: &str, code: &str, display: &str) -> Coding {
    Coding {
        system: Some(system.into()),
        code: Some(code.into()),
        display: Some(display.into()),
        ..Default::default()
    }
}

fn concept(codings: Vec<Coding>, label: Option<&str>) -> CodeableConcept {
    CodeableConcept {
        coding: codings,
        text: label.and_then(text),
    }
}

/// A detail; an empty value is written `-` (FHIR strings may not be empty).
fn detail(kind: &str, value: &str) -> AuditEventEntityDetail {
    AuditEventEntityDetail {
        type_: Some(kind.into()),
        value_string: Some(text(value).unwrap_or_else(|| "-".into())),
        value_base64_binary: None,
    }
}

/// What every access records, whether its outcome was recorded or not.
struct Who<'a> {
    time: Timestamp,
    request_id: &'a str,
    interaction: Interaction,
    user: Option<&'a User>,
    calling_system: Option<&'a str>,
    nhs_number: Option<NhsNumber>,
    purpose: &'a str,
    break_glass_reason: Option<&'a str>,
    /// Known once the access is decided.
    basis: Option<Basis>,
    sections_requested: SectionSet,
}

impl<'a> Who<'a> {
    fn of_record(r: &'a AuditRecord) -> Self {
        Who {
            time: r.time,
            request_id: r.request_id.as_str(),
            interaction: r.interaction,
            user: r.user.as_ref(),
            calling_system: r.calling_system.as_deref(),
            nhs_number: r.nhs_number,
            purpose: &r.purpose,
            break_glass_reason: r.break_glass_reason.as_deref(),
            basis: Some(r.basis),
            sections_requested: r.sections_requested,
        }
    }

    fn of_begun(b: &'a AccessBegun) -> Self {
        Who {
            time: b.time,
            request_id: b.request_id.as_str(),
            interaction: b.interaction,
            user: Some(&b.user),
            calling_system: b.calling_system.as_deref(),
            nhs_number: Some(b.nhs_number),
            purpose: &b.purpose,
            break_glass_reason: b.break_glass_reason.as_deref(),
            basis: None,
            sections_requested: b.sections_requested,
        }
    }
}

/// What `AuditEvent.outcomeDesc` says of an access whose outcome was not
/// recorded.
pub const OUTCOME_NOT_RECORDED: &str = "outcome not recorded: the access began (its sources were asked) but its outcome is not in the log: it was in progress, or the gateway stopped before recording it; it may have been answered";

/// The purposes of use: the caller's purpose (coded when it is a known one)
/// and, when they broke the glass (or gave a reason to, for an access whose
/// outcome was not recorded), `BTG`.
fn purposes(r: &Who<'_>) -> Vec<CodeableConcept> {
    let mut out = Vec::new();
    let coded = match r.purpose {
        "directcare" => vec![coding(ACT_REASON, "TREAT", "treatment")],
        "emergency" => vec![coding(ACT_REASON, "ETREAT", "Emergency Treatment")],
        _ => Vec::new(),
    };
    if text(r.purpose).is_some() || !coded.is_empty() {
        out.push(concept(coded, Some(r.purpose)));
    }
    let broke_glass = match r.basis {
        Some(basis) => basis == Basis::BreakGlass,
        None => r.break_glass_reason.is_some(),
    };
    if broke_glass {
        out.push(concept(
            vec![coding(ACT_REASON, "BTG", "break the glass")],
            r.break_glass_reason,
        ));
    }
    out
}

/// One access as an `AuditEvent` (id `icr-audit-{seq}`): a RESTful
/// read (`rest`; subtype `read`, `operation` for `$everything`,
/// `search-type` for an audit read), action `R`, outcome `0` (allowed and
/// answered), `4` (refused or a client error) or `8` (a server error); the
/// user (with role and organisation), the organisation and the calling
/// system as agents; the gateway as source; the patient (by NHS number)
/// as entity, with the relationship basis, the break-glass reason, the
/// sections asked for and released, the item counts and each source's
/// status as details; then one entity per source record released (see
/// [`ReleasedRecords`](crate::ReleasedRecords)), with the detail
/// `shown-not-listed` (`source=N,…`) when the log could list only some of
/// them. An access whose outcome was not recorded has no
/// `outcome`, [`OUTCOME_NOT_RECORDED`] as `outcomeDesc`, the detail
/// `outcome` = `not-recorded`, and none of the outcome's details.
pub fn audit_event(access: &LoggedAccess, observer: &Observer) -> AuditEvent {
    let (who, outcome) = match &access.logged {
        Logged::Whole(r) => (Who::of_record(r), Some(r)),
        Logged::OutcomeNotRecorded(b) => (Who::of_begun(b), None),
    };
    let r = &who;
    let subtype = match r.interaction {
        Interaction::Record | Interaction::Viewer | Interaction::Extract => {
            coding(RESTFUL_INTERACTION, "read", "read")
        }
        Interaction::FhirEverything => coding(RESTFUL_INTERACTION, "operation", "operation"),
        Interaction::AuditRead | Interaction::BreakGlassReview => {
            coding(RESTFUL_INTERACTION, "search-type", "search type")
        }
    };
    let (outcome_code, outcome_desc) = match outcome {
        Some(o) => {
            let code = match (o.decision, o.http_status) {
                (_, 500..) => "8",
                (Decision::Refused, _) | (_, 400..) => "4",
                (Decision::Allowed, _) => "0",
            };
            let decision = match o.decision {
                Decision::Allowed => "allowed",
                Decision::Refused => "refused",
            };
            (
                Some(code.to_owned()),
                format!("{decision}: {} (HTTP {})", o.reason, o.http_status),
            )
        }
        None => (None, OUTCOME_NOT_RECORDED.to_owned()),
    };
    let purposes = purposes(r);

    let mut agents = Vec::new();
    let user_agent = match r.user {
        Some(u) => AuditEventAgent {
            type_: Some(concept(
                vec![coding(SECURITY_ROLE_TYPE, "humanuser", "human user")],
                None,
            )),
            role: text(&u.role)
                .map(|role| concept(Vec::new(), Some(&role)))
                .into_iter()
                .collect(),
            who: Some(Reference {
                identifier: text(&u.sub).map(|sub| Identifier {
                    system: u.issuer.as_deref().and_then(uri),
                    value: Some(sub),
                    ..Default::default()
                }),
                display: text(&u.name).or_else(|| Some("user with no name given".into())),
                ..Default::default()
            }),
            name: text(&u.name),
            requestor: Some(true),
            purpose_of_use: purposes.clone(),
            ..Default::default()
        },
        None => AuditEventAgent {
            type_: Some(concept(
                vec![coding(SECURITY_ROLE_TYPE, "humanuser", "human user")],
                None,
            )),
            who: Some(Reference {
                display: Some("caller not identified".into()),
                ..Default::default()
            }),
            requestor: Some(true),
            ..Default::default()
        },
    };
    agents.push(user_agent);
    if let Some(u) = r.user {
        agents.push(AuditEventAgent {
            type_: Some(concept(
                vec![coding(ROLE_CLASS, "PROV", "healthcare provider")],
                Some("the user's organisation"),
            )),
            who: Some(Reference {
                type_: Some("Organization".into()),
                identifier: Some(Identifier {
                    system: Some(ODS_ORGANISATION_SYSTEM.into()),
                    value: Some(u.org.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            }),
            requestor: Some(false),
            ..Default::default()
        });
    }
    if let Some(system) = r.calling_system {
        agents.push(AuditEventAgent {
            type_: Some(concept(
                vec![coding(DICOM, "110153", "Source Role ID")],
                Some("the calling system (TLS client certificate)"),
            )),
            who: Some(Reference {
                type_: Some("Device".into()),
                display: text(system).or_else(|| Some("unnamed calling system".into())),
                ..Default::default()
            }),
            requestor: Some(false),
            ..Default::default()
        });
    }

    let mut details = vec![detail("request-id", r.request_id)];
    if let Some(basis) = r.basis {
        details.push(detail("basis", basis.as_str()));
    }
    if let Some(reason) = r.break_glass_reason {
        details.push(detail("break-glass-reason", reason));
    }
    details.push(detail(
        "sections-requested",
        &r.sections_requested.to_string(),
    ));
    match outcome {
        Some(o) => {
            details.push(detail(
                "sections-released",
                &o.sections_released.to_string(),
            ));
            details.push(detail("items-released", &o.items_released.to_string()));
            details.push(detail("items-withheld", &o.items_withheld.to_string()));
            if !o.sources.is_empty() {
                let sources: Vec<String> = o
                    .sources
                    .iter()
                    .map(|s| format!("{}={}", s.source, s.status.as_str()))
                    .collect();
                details.push(detail("sources", &sources.join(",")));
            }
            let omitted: Vec<String> = o
                .shown
                .sources()
                .iter()
                .filter(|s| s.omitted() > 0)
                .map(|s| format!("{}={}", s.source(), s.omitted()))
                .collect();
            if !omitted.is_empty() {
                details.push(detail("shown-not-listed", &omitted.join(",")));
            }
        }
        None => details.push(detail("outcome", "not-recorded")),
    }
    let patient = AuditEventEntity {
        what: Some(match &r.nhs_number {
            Some(nhs) => Reference {
                type_: Some("Patient".into()),
                identifier: Some(Identifier {
                    system: Some(NHS_NUMBER_SYSTEM.into()),
                    value: Some(nhs.to_string()),
                    ..Default::default()
                }),
                ..Default::default()
            },
            None => Reference {
                display: Some("no valid NHS number given".into()),
                ..Default::default()
            },
        }),
        type_: Some(coding(ENTITY_TYPE, "1", "Person")),
        role: Some(coding(OBJECT_ROLE, "1", "Patient")),
        detail: details,
        ..Default::default()
    };

    AuditEvent {
        id: Some(format!("icr-audit-{}", access.id())),
        type_: Some(coding(AUDIT_EVENT_TYPE, "rest", "RESTful Operation")),
        subtype: vec![subtype],
        action: Some("R".into()),
        recorded: Some(r.time.to_rfc3339()),
        outcome: outcome_code,
        outcome_desc: Some(outcome_desc),
        purpose_of_event: purposes,
        agent: agents,
        source: Some(AuditEventSource {
            site: observer.organisation.as_ref().map(ToString::to_string),
            observer: Some(Reference {
                type_: Some("Device".into()),
                display: text(&observer.name).or_else(|| Some("ICR gateway".into())),
                ..Default::default()
            }),
            type_: vec![coding(SOURCE_TYPE, "4", "Application Server")],
        }),
        entity: std::iter::once(patient)
            .chain(outcome.into_iter().flat_map(shown_entities))
            .collect(),
        ..Default::default()
    }
}

/// `s` as a sentence: its first letter capitalised, a full stop at the end.
fn sentence(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => format!("{}{}.", first.to_uppercase(), c.as_str()),
        None => String::new(),
    }
}

/// One entity per source record the access released (what the user was
/// shown): a system object in the role of a domain resource, identified
/// as the gateway's FHIR Provenances identify it (system
/// `urn:icr:source:{source}`, value the source's own id).
fn shown_entities(record: &AuditRecord) -> impl Iterator<Item = AuditEventEntity> + '_ {
    record.shown.sources().iter().flat_map(|s| {
        let system = format!("{SOURCE_RECORD_SYSTEM}{}", s.source());
        s.ids().map(move |id| AuditEventEntity {
            // An id FHIR cannot carry as a string (all whitespace) is
            // named, quoted, in the display instead.
            what: Some(Reference {
                identifier: Some(Identifier {
                    system: Some(system.clone()),
                    value: text(id),
                    ..Default::default()
                }),
                display: text(id).is_none().then(|| format!("record id {id:?}")),
                ..Default::default()
            }),
            type_: Some(coding(ENTITY_TYPE, "2", "System Object")),
            role: Some(coding(OBJECT_ROLE, "4", "Domain Resource")),
            ..Default::default()
        })
    })
}

/// A page of the accesses to one patient's record as a searchset Bundle of
/// AuditEvents, most recent first (serialize it as [`Resource::Bundle`] so
/// that it carries its `resourceType`), `total` counting every page, and a
/// `next` link to `next_url` when there are older accesses. When the trail
/// may be incomplete — the log failing verification, or older accesses
/// left out with no link to them — an OperationOutcome says so, so that an
/// incomplete audit trail never looks complete.
pub fn audit_bundle(page: &AccessPage, observer: &Observer, next_url: Option<&str>) -> Bundle {
    let mut entry: Vec<BundleEntry> = page
        .records
        .iter()
        .map(|a| BundleEntry {
            full_url: Some(format!("urn:icr:audit:{}", a.id())),
            resource: Resource::AuditEvent(audit_event(a, observer)),
            search: Some(BundleSearch {
                mode: Some("match".into()),
            }),
        })
        .collect();
    let mut issues = Vec::new();
    if let Some(p) = &page.problem {
        let file = p
            .file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        issues.push(OperationOutcomeIssue {
            severity: Some("error".into()),
            code: Some("incomplete".into()),
            diagnostics: Some(format!(
                "The audit log fails verification at {file} line {}: {}. Accesses recorded after that point are not shown.",
                p.line, p.kind
            )),
            ..Default::default()
        });
    }
    for gap in &page.incomplete {
        issues.push(OperationOutcomeIssue {
            severity: Some("warning".into()),
            code: Some("incomplete".into()),
            diagnostics: Some(sentence(&gap.to_string())),
            ..Default::default()
        });
    }
    let link = match (page.next, next_url) {
        (Some(_), Some(url)) => vec![BundleLink {
            relation: Some("next".into()),
            url: Some(url.to_owned()),
        }],
        (Some(_), None) => {
            issues.push(OperationOutcomeIssue {
                severity: Some("warning".into()),
                code: Some("too-costly".into()),
                diagnostics: Some(format!(
                    "{} older accesses are not shown: only the most recent {} are returned.",
                    page.older,
                    page.records.len()
                )),
                ..Default::default()
            });
            Vec::new()
        }
        (None, _) => Vec::new(),
    };
    if !issues.is_empty() {
        entry.push(BundleEntry {
            full_url: Some("urn:icr:audit:outcome".into()),
            resource: Resource::OperationOutcome(OperationOutcome {
                issue: issues,
                ..Default::default()
            }),
            search: Some(BundleSearch {
                mode: Some("outcome".into()),
            }),
        });
    }
    Bundle {
        type_: "searchset".into(),
        timestamp: Some(Timestamp::now().to_rfc3339()),
        total: Some(page.total),
        link,
        entry,
        ..Default::default()
    }
}
