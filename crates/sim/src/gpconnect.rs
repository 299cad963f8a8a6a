//! The GP Connect Access Record: Structured module (kind `gp-connect`):
//! every GP practice of the region on one listener, each under its own
//! FHIR service root `/{ODS}/STU3/1/gpconnect/structured/fhir`, answering
//! `POST {root}/Patient/$gpc.getstructuredrecord` from the person's
//! holding at that practice, as a GP Connect 1.6 provider behind the Spine
//! Secure Proxy would.
//!
//! What it checks, in order, and answers when a check fails (every error
//! is a GP Connect OperationOutcome with a Spine error code; diagnostics
//! name headers and parameters, never their values):
//!
//! | check | answer |
//! |---|---|
//! | the path names a practice served here and the operation | `404` |
//! | the method is `POST` | `405` |
//! | `Ssp-TraceID` (a UUID), `Ssp-From`, `Ssp-To` (ASIDs) and `Ssp-InteractionID` present | `400` `BAD_REQUEST` |
//! | `Ssp-InteractionID` is the operation's, `Ssp-To` is the practice's ASID ([`provider_asid`]) | `403` `ACCESS_DENIED` |
//! | `Authorization: Bearer` present | `401` (`WWW-Authenticate: Bearer`) |
//! | the token is an unsigned JWT with GP Connect's claim set, `aud` this practice's service root, `exp` 5 minutes after `iat` | `400` `BAD_REQUEST` / `401` (`invalid_token`) |
//! | `Content-Type` is `application/fhir+json` | `415` |
//! | the body is a Parameters resource | `422` `INVALID_RESOURCE` |
//! | the parameters pass a provider's checks ([`StructuredRequest::from_parameters`]) | `400` `INVALID_NHS_NUMBER`, `422` `INVALID_PARAMETER`, … |
//! | the person is registered at this practice and not sensitive | `404` `PATIENT_NOT_FOUND` |
//!
//! (The simulator has no clock: a token's lifetime is checked to be 5
//! minutes, not against the time.)
//!
//! The answer is the structured Bundle [`icr_fhir_stu3::render`] writes
//! from the holding, honouring the include parameters and their filters;
//! parameters 1.6 does not define get a `NOT_IMPLEMENTED` warning in the
//! Bundle, as providers answer them.
//!
//! Two behaviours of real practices are simulated deterministically:
//!
//! - **confidential items**: for about one person in eleven (never a
//!   story patient), the practice withholds their most recently recorded
//!   problem, and the problems List carries the `confidential-items`
//!   warning ([`withholds_a_problem`]);
//! - **dissent** (`NO_PATIENT_CONSENT`, `403`): answered for about one
//!   person in 97 (never a story patient), who has dissented from sharing
//!   their GP record ([`dissents`]).

use icr_fhir_stu3::gpc::{FHIR_JSON, INTERACTION_ID, SpineCode, WarningCode};
use icr_fhir_stu3::jwt::{self, ClaimError, TokenError};
use icr_fhir_stu3::render::{Practice, RecordInput, RecordItem, structured_record};
use icr_fhir_stu3::{ClinicalArea, Parameters, Resource, StructuredRequest, outcome};
use icr_model::{Entry, NhsNumber};

use crate::org::Org;
use crate::population::{Patient, Population};
use crate::protocol::{Answer, HttpModule, HttpRequest, SourceCtx};

/// The path of a practice's FHIR service root after its ODS code.
pub const FHIR_ROOT: &str = "/STU3/1/gpconnect/structured/fhir";

/// The operation's path under the service root (`$` may be
/// percent-encoded).
const OPERATION: [&str; 2] = [
    "/Patient/$gpc.getstructuredrecord",
    "/Patient/%24gpc.getstructuredrecord",
];

/// The content type of every answer.
const CONTENT_TYPE: &str = "application/fhir+json;charset=utf-8";

/// The GP Connect protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct GpConnect;

/// A practice's FHIR service root on the listener.
pub fn base_path(org: Org) -> String {
    format!("/{}{FHIR_ROOT}", org.ods_code())
}

/// The ASID of a practice's GP system (the `Ssp-To` it expects; the
/// gateway's `provider_asid` for that practice): `918` followed by the ODS
/// code's digits, padded to nine. Synthetic, like the ODS codes.
pub fn provider_asid(org: Org) -> String {
    let digits: String = org
        .ods_code()
        .chars()
        .filter(char::is_ascii_digit)
        .collect();
    let n: u64 = digits.parse().unwrap_or(0) % 1_000_000_000;
    format!("918{n:09}")
}

impl HttpModule for GpConnect {
    fn base_path(&self, org: Org) -> String {
        base_path(org)
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        let Some((org, rest)) = route(ctx, req.path) else {
            return error(404, "no GP Connect service at this path");
        };
        if !OPERATION.contains(&rest) {
            return error(404, "this provider serves $gpc.getstructuredrecord only");
        }
        if req.method != "POST" {
            return error(405, "$gpc.getstructuredrecord is POST only")
                .with_header("Allow", "POST");
        }
        let audience = format!("{}{}", req.origin, base_path(org));
        let headers = Headers {
            trace_id: req.header("ssp-traceid"),
            from: req.header("ssp-from"),
            to: req.header("ssp-to"),
            interaction: req.header("ssp-interactionid"),
            authorization: req.header("authorization"),
            content_type: req.header("content-type"),
        };
        if let Err(a) = headers.check(org, &audience) {
            return a;
        }
        answer(ctx.population(), org, req.body, dissents)
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        error(status, message)
    }
}

/// The practice a path is for, and the path after its service root.
fn route<'p>(ctx: &SourceCtx, path: &'p str) -> Option<(Org, &'p str)> {
    let rest = path.strip_prefix('/')?;
    let (ods, rest) = rest.split_once('/')?;
    let org = ctx.org_by_ods(ods)?;
    let rest = rest.strip_prefix(FHIR_ROOT.strip_prefix('/')?)?;
    Some((org, rest))
}

/// The Spine headers and the token of one request.
struct Headers<'a> {
    trace_id: Option<&'a str>,
    from: Option<&'a str>,
    to: Option<&'a str>,
    interaction: Option<&'a str>,
    authorization: Option<&'a str>,
    content_type: Option<&'a str>,
}

fn is_asid(s: &str) -> bool {
    (1..=20).contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit())
}

impl Headers<'_> {
    fn check(&self, org: Org, audience: &str) -> Result<(), Answer> {
        let bad = |m: &str| Err(outcome_answer(400, SpineCode::BadRequest, m));
        if !self.trace_id.is_some_and(crate::pds::is_uuid) {
            return bad("Ssp-TraceID is missing or not a UUID");
        }
        if !self.from.is_some_and(is_asid) {
            return bad("Ssp-From is missing or not an ASID");
        }
        let Some(to) = self.to.filter(|t| is_asid(t)) else {
            return bad("Ssp-To is missing or not an ASID");
        };
        let Some(interaction) = self.interaction else {
            return bad("Ssp-InteractionID is missing");
        };
        if interaction != INTERACTION_ID {
            return Err(outcome_answer(
                403,
                SpineCode::AccessDenied,
                "Ssp-InteractionID is not an interaction this endpoint serves",
            ));
        }
        if to != provider_asid(org) {
            return Err(outcome_answer(
                403,
                SpineCode::AccessDenied,
                "Ssp-To is not this practice's ASID",
            ));
        }
        let Some(token) = self
            .authorization
            .and_then(|a| a.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
        else {
            return Err(
                outcome_answer(401, SpineCode::BadRequest, "a Bearer token is required")
                    .with_header("WWW-Authenticate", "Bearer realm=\"gpconnect\""),
            );
        };
        let claims = jwt::decode(token).map_err(|e| {
            let what = match e {
                TokenError::Parts | TokenError::Base64 => "the token is not a JWT",
                TokenError::Header | TokenError::Signature => "the token is not an unsigned JWT",
                TokenError::Claims => "the token's claims are not GP Connect's claim set",
            };
            outcome_answer(400, SpineCode::BadRequest, what).with_header(
                "WWW-Authenticate",
                "Bearer realm=\"gpconnect\", error=\"invalid_request\"",
            )
        })?;
        // No clock here: the lifetime is checked, not the time.
        if let Err(e) = jwt::check(&claims, audience, claims.iat, 0) {
            let (status, what) = match e {
                ClaimError::Expired | ClaimError::NotYetValid => {
                    (401, "the token's lifetime is not 5 minutes")
                }
                ClaimError::Audience => (401, "the token's audience is not this practice"),
                ClaimError::Scope => (400, "the token's reason or scope is not allowed"),
                ClaimError::Requester => (400, "the token's requesting resources are incomplete"),
            };
            let mut a = outcome_answer(status, SpineCode::BadRequest, what);
            if status == 401 {
                a = a.with_header(
                    "WWW-Authenticate",
                    "Bearer realm=\"gpconnect\", error=\"invalid_token\"",
                );
            }
            return Err(a);
        }
        let fhir_json = self.content_type.is_some_and(|c| {
            c.split(';')
                .next()
                .is_some_and(|m| m.trim().eq_ignore_ascii_case(FHIR_JSON))
        });
        if !fhir_json {
            return Err(error(415, "the body must be application/fhir+json"));
        }
        Ok(())
    }
}

/// The answer of practice `org` to a request body that passed the header
/// checks: the structured record, or the Spine error a provider gives.
/// `dissents` says whether a person has dissented from sharing their GP
/// record (answered `NO_PATIENT_CONSENT`). Pure.
pub fn answer(
    population: &Population,
    org: Org,
    body: &[u8],
    dissents: impl Fn(&Patient) -> bool,
) -> Answer {
    let Ok(text) = std::str::from_utf8(body) else {
        return outcome_answer(
            422,
            SpineCode::InvalidResource,
            "the body is not UTF-8 text",
        );
    };
    let is_parameters = serde_json::from_str::<&serde_json::value::RawValue>(text)
        .ok()
        .and_then(icr_fhir_stu3::peek_resource_type)
        .as_deref()
        == Some("Parameters");
    let parameters = icr_fhir_stu3::read::<Parameters>("Parameters", text);
    let (parameters, _) = match parameters {
        Ok(p) if is_parameters => p,
        _ => {
            return outcome_answer(
                422,
                SpineCode::InvalidResource,
                "the body is not a Parameters resource",
            );
        }
    };
    let request = match StructuredRequest::from_parameters(&parameters) {
        Ok(r) => r,
        Err(e) => return outcome_answer(e.code.http_status(), e.code, &e.message),
    };
    let not_found = || {
        outcome_answer(
            404,
            SpineCode::PatientNotFound,
            "no record for this patient at this practice",
        )
    };
    let Some(patient) = population.get(&request.nhs_number) else {
        return not_found();
    };
    if patient.registered_practice() != Some(org) || patient.is_sensitive() {
        return not_found();
    }
    let Some(holding) = patient.holding(org) else {
        return not_found();
    };
    if dissents(patient) {
        return outcome_answer(
            403,
            SpineCode::NoPatientConsent,
            "the patient has dissented from sharing their record",
        );
    }
    let withheld = withholds_a_problem(patient, org);
    let ods = match icr_model::OdsCode::parse(org.ods_code()) {
        Ok(o) => o,
        Err(_) => return error(500, "the practice has no usable ODS code"),
    };
    let items: Vec<RecordItem<'_>> = holding
        .records
        .iter()
        .filter(|r| withheld.as_deref() != Some(r.id.as_str()))
        .map(|r| RecordItem {
            id: &r.id,
            entry: &r.entry,
            last_updated: Some(r.last_updated),
        })
        .collect();
    let input = RecordInput {
        patient_id: &holding.patient_id,
        demographics: &holding.demographics,
        patient_last_updated: Some(holding.last_updated),
        practice: Practice {
            ods: &ods,
            name: org.name(),
        },
        items,
        warnings: withheld
            .iter()
            .map(|_| (ClinicalArea::Problems, WarningCode::ConfidentialItems))
            .collect(),
    };
    match serde_json::to_vec(&structured_record(&input, &request)) {
        Ok(body) => Answer::new(200, CONTENT_TYPE, body),
        Err(_) => error(500, "the record could not be written"),
    }
}

/// The id of the problem practice `org` withholds from `patient` as
/// confidential, if it withholds one: the most recently recorded problem
/// of about one person in eleven (by NHS number), never of a story
/// patient, never of someone with no problems.
pub fn withholds_a_problem(patient: &Patient, org: Org) -> Option<String> {
    if patient.story.is_some() || !chosen(patient.nhs_number) {
        return None;
    }
    patient
        .holding(org)?
        .records
        .iter()
        .filter(|r| matches!(r.entry, Entry::Condition(_)))
        .max_by_key(|r| (r.last_updated, r.id.clone()))
        .map(|r| r.id.clone())
}

/// Whether `patient` has dissented from sharing their GP record: about one
/// person in 97 (by NHS number), never a story patient. The practice
/// answers `NO_PATIENT_CONSENT`.
pub fn dissents(patient: &Patient) -> bool {
    let n: u64 = patient.nhs_number.as_str().parse().unwrap_or(0);
    patient.story.is_none() && (n / 10) % 97 == 13
}

fn chosen(nhs: NhsNumber) -> bool {
    let n: u64 = nhs.as_str().parse().unwrap_or(0);
    (n / 10) % 11 == 7
}

/// An OperationOutcome answer with a Spine code.
fn outcome_answer(status: u16, code: SpineCode, diagnostics: &str) -> Answer {
    let oo = outcome::operation_outcome("error", code, Some(diagnostics));
    match serde_json::to_vec(&Resource::OperationOutcome(oo)) {
        Ok(body) => Answer::new(status, CONTENT_TYPE, body),
        Err(_) => Answer::new(status, CONTENT_TYPE, Vec::new()),
    }
}

/// The module's error answer for a status: an OperationOutcome with the
/// Spine code that fits the status, where one does.
fn error(status: u16, message: &str) -> Answer {
    let code = match status {
        400 | 408 | 413 | 415 => SpineCode::BadRequest,
        401 => SpineCode::BadRequest,
        403 => SpineCode::AccessDenied,
        404 | 405 | 501 => SpineCode::NotImplemented,
        _ => SpineCode::InternalServerError,
    };
    outcome_answer(status, code, message)
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::Arc;

    use icr_fhir_stu3::jwt::{Claims, Device, Organization, Practitioner};
    use icr_fhir_stu3::{HumanName, Identifier};
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::org::Kind;

    const TRACE: &str = "60a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e7";
    const ORIGIN: &str = "http://127.0.0.1:9201";

    fn pop() -> Arc<Population> {
        Arc::new(Population::generate(7, 80))
    }

    fn ctx(pop: Arc<Population>) -> SourceCtx {
        let addr: SocketAddr = "127.0.0.1:9201".parse().unwrap();
        SourceCtx::new(
            "gp",
            Kind::GpConnect,
            Org::of_kind(Kind::GpConnect).collect(),
            addr,
            pop,
            1,
        )
    }

    fn claims(aud: &str) -> Claims {
        Claims {
            iss: "https://icr.example.nhs.uk/".into(),
            sub: "555123456789".into(),
            aud: aud.into(),
            exp: 1_700_000_300,
            iat: 1_700_000_000,
            reason_for_request: "directcare".into(),
            requested_scope: "patient/*.read".into(),
            requesting_device: Device {
                resource_type: "Device".into(),
                identifier: vec![Identifier::new(
                    "https://fhir.nhs.uk/Id/accredited-system",
                    "200000000115",
                )],
                model: "test".into(),
                version: "1".into(),
            },
            requesting_organization: Organization {
                resource_type: "Organization".into(),
                identifier: vec![Identifier::new(
                    "https://fhir.nhs.uk/Id/ods-organization-code",
                    "RN3",
                )],
                name: "RN3".into(),
            },
            requesting_practitioner: Practitioner {
                resource_type: "Practitioner".into(),
                id: "555123456789".into(),
                identifier: vec![Identifier::new(
                    "https://fhir.nhs.uk/Id/sds-user-id",
                    "555123456789",
                )],
                name: vec![HumanName {
                    family: Some("Example".into()),
                    ..Default::default()
                }],
                extension: Vec::new(),
            },
        }
    }

    fn params(nhs: &str, extra: Value) -> Vec<u8> {
        let mut p = json!({
            "resourceType": "Parameters",
            "parameter": [{"name": "patientNHSNumber", "valueIdentifier": {"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs}}]
        });
        if let Value::Array(more) = extra {
            p["parameter"].as_array_mut().unwrap().extend(more);
        }
        serde_json::to_vec(&p).unwrap()
    }

    /// A request to `org` with every header right, then `edit` applied.
    fn post(
        ctx: &SourceCtx,
        org: Org,
        body: &[u8],
        edit: impl FnOnce(&mut http::HeaderMap),
    ) -> (u16, Value, Answer) {
        let path = format!("{}/Patient/$gpc.getstructuredrecord", base_path(org));
        let token = jwt::token(&claims(&format!("{ORIGIN}{}", base_path(org)))).unwrap();
        let mut h = http::HeaderMap::new();
        for (k, v) in [
            ("ssp-traceid", TRACE.to_string()),
            ("ssp-from", "200000000115".to_string()),
            ("ssp-to", provider_asid(org)),
            ("ssp-interactionid", INTERACTION_ID.to_string()),
            ("authorization", format!("Bearer {token}")),
            ("content-type", "application/fhir+json".to_string()),
        ] {
            h.insert(k, v.parse().unwrap());
        }
        edit(&mut h);
        let req = HttpRequest {
            method: "POST",
            path: &path,
            query: None,
            headers: &h,
            body,
            origin: ORIGIN,
        };
        let a = GpConnect.respond(ctx, &req);
        assert_eq!(a.content_type, CONTENT_TYPE);
        let v = serde_json::from_slice(&a.body).unwrap_or(Value::Null);
        (a.status, v, a)
    }

    fn spine(v: &Value) -> &str {
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap_or_default()
    }

    /// A person registered at a practice, not withheld from, with problems.
    fn registered(pop: &Population) -> (&Patient, Org) {
        pop.iter()
            .filter(|p| !p.is_sensitive())
            .find_map(|p| {
                let org = p.registered_practice()?;
                let h = p.holding(org)?;
                let has_problems = h
                    .records
                    .iter()
                    .any(|r| matches!(r.entry, Entry::Condition(_)));
                (has_problems && withholds_a_problem(p, org).is_none()).then_some((p, org))
            })
            .unwrap()
    }

    #[test]
    fn paths_and_asids() {
        let org = Org::from_id("gp-y90001").unwrap();
        assert_eq!(base_path(org), "/Y90001/STU3/1/gpconnect/structured/fhir");
        assert_eq!(provider_asid(org), "918000090001");
        let org = Org::from_id("gp-y90022").unwrap();
        assert_eq!(provider_asid(org), "918000090022");
    }

    #[test]
    fn answers_the_structured_record_of_a_registered_person() {
        let pop = pop();
        let c = ctx(Arc::clone(&pop));
        let (p, org) = registered(&pop);
        let body = params(
            p.nhs_number.as_str(),
            json!([
                {"name": "includeAllergies", "part": [{"name": "includeResolvedAllergies", "valueBoolean": true}]},
                {"name": "includeProblems"},
                {"name": "includeImmunisations"},
                {"name": "includeFutureThings"}
            ]),
        );
        let (status, v, a) = post(&c, org, &body, |_| {});
        assert_eq!(status, 200, "{v}");
        assert_eq!(v["resourceType"], "Bundle");
        assert_eq!(v["type"], "collection");
        let types: Vec<&str> = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["resource"]["resourceType"].as_str().unwrap())
            .collect();
        assert_eq!(types[0], "Patient");
        assert_eq!(types[1], "Organization");
        let lists: Vec<&str> = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["resource"]["resourceType"] == "List")
            .map(|e| e["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
            .collect();
        assert_eq!(
            lists,
            [
                "886921000000105",
                "1103671000000101",
                "717711000000103",
                "1102181000000102"
            ]
        );
        let holding = p.holding(org).unwrap();
        let problems = holding
            .records
            .iter()
            .filter(|r| matches!(r.entry, Entry::Condition(_)))
            .count();
        assert_eq!(
            types.iter().filter(|t| **t == "Condition").count(),
            problems
        );
        assert!(!types.contains(&"MedicationStatement"), "not asked for");
        // The unknown parameter is answered with a warning, not an error.
        let oo = v["entry"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["resource"]["resourceType"] == "OperationOutcome")
            .unwrap();
        assert_eq!(
            oo["resource"]["issue"][0]["diagnostics"],
            "includeFutureThings"
        );
        assert_eq!(oo["resource"]["issue"][0]["severity"], "warning");
        assert!(a.headers.is_empty());
    }

    #[test]
    fn someone_registered_elsewhere_is_not_found() {
        let pop = pop();
        let c = ctx(Arc::clone(&pop));
        let (p, org) = registered(&pop);
        let other = Org::of_kind(Kind::GpConnect).find(|o| *o != org).unwrap();
        let (status, v, _) = post(&c, other, &params(p.nhs_number.as_str(), json!([])), |_| {});
        assert_eq!(status, 404);
        assert_eq!(spine(&v), "PATIENT_NOT_FOUND");
        // Nor is someone the population does not know.
        let (status, v, _) = post(&c, org, &params("9990000999", json!([])), |_| {});
        assert_eq!((status, spine(&v)), (404, "PATIENT_NOT_FOUND"));
    }

    #[test]
    fn a_dissenting_patient_is_withheld() {
        let pop = pop();
        let (p, org) = registered(&pop);
        let a = answer(&pop, org, &params(p.nhs_number.as_str(), json!([])), |x| {
            x.nhs_number == p.nhs_number
        });
        assert_eq!(a.status, 403);
        let v: Value = serde_json::from_slice(&a.body).unwrap();
        assert_eq!(spine(&v), "NO_PATIENT_CONSENT");
        assert_eq!(v["issue"][0]["code"], "forbidden");
        assert!(
            !a.body
                .windows(10)
                .any(|w| w == p.nhs_number.as_str().as_bytes())
        );
    }

    #[test]
    fn confidential_problems_are_withheld_with_a_warning() {
        let pop = Arc::new(Population::generate(7, 400));
        let c = ctx(Arc::clone(&pop));
        let (p, org, withheld) = pop
            .iter()
            .filter(|p| !p.is_sensitive())
            .find_map(|p| {
                let org = p.registered_practice()?;
                Some((p, org, withholds_a_problem(p, org)?))
            })
            .expect("someone in 400 has a problem withheld");
        let body = params(p.nhs_number.as_str(), json!([{"name": "includeProblems"}]));
        let (status, v, _) = post(&c, org, &body, |_| {});
        assert_eq!(status, 200);
        let entries = v["entry"].as_array().unwrap();
        let list = entries
            .iter()
            .find(|e| e["resource"]["resourceType"] == "List")
            .unwrap();
        assert_eq!(
            list["resource"]["extension"][0],
            json!({
                "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-CareConnect-GPC-ListWarningCode-1",
                "valueCode": "confidential-items"
            })
        );
        assert!(
            !entries
                .iter()
                .any(|e| e["resource"]["id"] == withheld.as_str()
                    && e["resource"]["resourceType"] == "Condition")
        );
        // Story patients are never chosen.
        assert!(pop.iter().filter(|p| p.story.is_some()).all(|p| {
            p.registered_practice()
                .is_none_or(|o| withholds_a_problem(p, o).is_none())
        }));
    }

    #[test]
    fn spine_headers_token_and_body_are_checked() {
        let pop = pop();
        let c = ctx(Arc::clone(&pop));
        let (p, org) = registered(&pop);
        let body = params(p.nhs_number.as_str(), json!([]));
        type Edit = Box<dyn FnOnce(&mut http::HeaderMap)>;
        let cases: Vec<(&str, Edit, u16, &str)> = vec![
            (
                "no trace id",
                Box::new(|h| {
                    h.remove("ssp-traceid");
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "trace id not a UUID",
                Box::new(|h| {
                    h.insert("ssp-traceid", "abc".parse().unwrap());
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "no from",
                Box::new(|h| {
                    h.remove("ssp-from");
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "no to",
                Box::new(|h| {
                    h.remove("ssp-to");
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "wrong to",
                Box::new(|h| {
                    h.insert("ssp-to", "918000099999".parse().unwrap());
                }),
                403,
                "ACCESS_DENIED",
            ),
            (
                "no interaction",
                Box::new(|h| {
                    h.remove("ssp-interactionid");
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "wrong interaction",
                Box::new(|h| {
                    h.insert(
                        "ssp-interactionid",
                        "urn:nhs:names:services:gpconnect:fhir:rest:read:metadata-1"
                            .parse()
                            .unwrap(),
                    );
                }),
                403,
                "ACCESS_DENIED",
            ),
            (
                "no token",
                Box::new(|h| {
                    h.remove("authorization");
                }),
                401,
                "BAD_REQUEST",
            ),
            (
                "not a JWT",
                Box::new(|h| {
                    h.insert("authorization", "Bearer abc".parse().unwrap());
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "signed",
                Box::new(|h| {
                    let t = jwt::token(&claims("x")).unwrap();
                    h.insert("authorization", format!("Bearer {t}sig").parse().unwrap());
                }),
                400,
                "BAD_REQUEST",
            ),
            (
                "another audience",
                Box::new(|h| {
                    let t = jwt::token(&claims(
                        "http://127.0.0.1:9201/Y90002/STU3/1/gpconnect/structured/fhir",
                    ))
                    .unwrap();
                    h.insert("authorization", format!("Bearer {t}").parse().unwrap());
                }),
                401,
                "BAD_REQUEST",
            ),
            (
                "not JSON",
                Box::new(|h| {
                    h.insert("content-type", "application/xml".parse().unwrap());
                }),
                415,
                "BAD_REQUEST",
            ),
        ];
        for (name, edit, status, code) in cases {
            let (s, v, a) = post(&c, org, &body, edit);
            assert_eq!((s, spine(&v)), (status, code), "{name}: {v}");
            if s == 401 {
                assert!(
                    a.headers.iter().any(|(n, _)| n == "WWW-Authenticate"),
                    "{name}"
                );
            }
        }
        // The body.
        let (s, v, _) = post(&c, org, b"{\"resourceType\":\"Patient\"}", |_| {});
        assert_eq!((s, spine(&v)), (422, "INVALID_RESOURCE"));
        let (s, v, _) = post(&c, org, b"\xff", |_| {});
        assert_eq!((s, spine(&v)), (422, "INVALID_RESOURCE"));
        let (s, v, _) = post(&c, org, &params("9990000019", json!([])), |_| {});
        assert_eq!((s, spine(&v)), (400, "INVALID_NHS_NUMBER"));
        assert!(!v.to_string().contains("9990000019"));
        let (s, v, _) = post(
            &c,
            org,
            &params(p.nhs_number.as_str(), json!([{"name": "includeAllergies"}])),
            |_| {},
        );
        assert_eq!((s, spine(&v)), (422, "INVALID_PARAMETER"));
        // The method and the path.
        let path = format!("{}/Patient/$gpc.getstructuredrecord", base_path(org));
        let h = http::HeaderMap::new();
        for (method, path, status) in [
            ("GET", path.as_str(), 405),
            (
                "POST",
                "/Y99999/STU3/1/gpconnect/structured/fhir/Patient/$gpc.getstructuredrecord",
                404,
            ),
            (
                "POST",
                "/Y90001/STU3/1/gpconnect/structured/fhir/metadata",
                404,
            ),
            ("POST", "/", 404),
        ] {
            let req = HttpRequest {
                method,
                path,
                query: None,
                headers: &h,
                body: b"",
                origin: ORIGIN,
            };
            assert_eq!(
                GpConnect.respond(&c, &req).status,
                status,
                "{method} {path}"
            );
        }
    }

    #[tokio::test]
    async fn serves_every_practice_on_one_listener_over_http() {
        use crate::config::{Fault, SimConfig, SimSourceConfig};
        let any: SocketAddr = "127.0.0.1:0".parse().unwrap();
        let config = SimConfig {
            seed: 7,
            size: 80,
            as_of: None,
            control_listen: None,
            sources: vec![SimSourceConfig {
                id: "gp".into(),
                kind: Kind::GpConnect,
                orgs: Org::of_kind(Kind::GpConnect).collect(),
                listen: any,
                fault: Fault::default(),
                fhir_search: Default::default(),
            }],
        };
        let sim = crate::Sim::start(config).await.unwrap();
        let (p, org) = registered(sim.population());
        let endpoint = sim.endpoint(org.id()).unwrap();
        let addr = sim.source_addr("gp").unwrap();
        assert_eq!(endpoint, format!("http://{addr}{}", base_path(org)));
        let token = jwt::token(&claims(&endpoint)).unwrap();
        let client = reqwest::Client::new();
        let send = |to: String| {
            client
                .post(format!("{endpoint}/Patient/$gpc.getstructuredrecord"))
                .header("Ssp-TraceID", TRACE)
                .header("Ssp-From", "200000000115")
                .header("Ssp-To", to)
                .header("Ssp-InteractionID", INTERACTION_ID)
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/fhir+json")
                .body(params(
                    p.nhs_number.as_str(),
                    json!([{"name": "includeProblems"}]),
                ))
                .send()
        };
        let r = send(provider_asid(org)).await.unwrap();
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["cache-control"], "no-store");
        let v: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
        assert_eq!(v["entry"][0]["resource"]["resourceType"], "Patient");
        // Another practice's ASID: refused as the proxy refuses it.
        let r = send(provider_asid(Org::from_id("gp-y90022").unwrap()))
            .await
            .unwrap();
        assert_eq!(r.status(), 403);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn respond_never_panics(
            body in proptest::collection::vec(any::<u8>(), 0..256),
            path in prop::sample::select(vec![
                "/Y90001/STU3/1/gpconnect/structured/fhir/Patient/$gpc.getstructuredrecord",
                "/Y90001/STU3/1/gpconnect/structured/fhir/Patient/%24gpc.getstructuredrecord",
                "/y90001/STU3/1/gpconnect/structured/fhir/Patient/$gpc.getstructuredrecord",
                "/Y90001/STU3/1/gpconnect/structured/fhir",
                "//",
                "",
            ]),
            header in "\\PC{0,40}",
        ) {
            static POP: std::sync::LazyLock<Arc<Population>> =
                std::sync::LazyLock::new(|| Arc::new(Population::generate(7, 20)));
            let c = ctx(Arc::clone(&POP));
            let mut h = http::HeaderMap::new();
            if let Ok(v) = header.parse() {
                for name in ["ssp-traceid", "ssp-from", "ssp-to", "ssp-interactionid", "authorization", "content-type"] {
                    h.insert(name, http::HeaderValue::clone(&v));
                }
            }
            let req = HttpRequest { method: "POST", path, query: None, headers: &h, body: &body, origin: ORIGIN };
            let a = GpConnect.respond(&c, &req);
            prop_assert!([400, 401, 403, 404, 405, 415, 422].contains(&a.status), "{}", a.status);
            let org = Org::from_id("gp-y90001").unwrap();
            let a = answer(&POP, org, &body, |_| false);
            prop_assert!([200, 400, 403, 404, 422].contains(&a.status), "{}", a.status);
        }
    }
}
