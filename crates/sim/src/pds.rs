//! The Personal Demographics Service module (kind `pds`): a simulated
//! PDS FHIR R4 API answering `GET {base}/Patient/{nhs number}` under
//! [`BASE_PATH`], as the gateway asks it first for every request.
//!
//! What it serves, after the PDS FHIR API (`GET /Patient/{id}`):
//!
//! - `200` with a UK Core / PDS-style Patient: `id` is the NHS number; the
//!   NHS number identifier with its verification status; name, gender,
//!   birth date, address and telecom; `generalPractitioner` naming the
//!   registered practice by ODS code
//!   (`https://fhir.nhs.uk/Id/ods-organization-code`); `meta.versionId`
//!   (also the weak `ETag`); and `meta.security`, a confidentiality label
//!   from `http://terminology.hl7.org/CodeSystem/v3-Confidentiality`:
//!   `U` (unrestricted), or `R` (restricted) for a sensitive record, whose
//!   address and telecom PDS leaves out. (The real PDS also leaves out
//!   `generalPractitioner` for a restricted record, and writes its labels
//!   under a different system URL; this simulator keeps the practice so
//!   the gateway can route to it.)
//! - `404` `RESOURCE_NOT_FOUND` for a valid NHS number PDS does not know;
//!   `400` `INVALID_RESOURCE_ID` for an invalid one.
//! - `400` `MISSING_VALUE` / `INVALID_VALUE` when the `X-Request-ID`
//!   header (a UUID, as PDS requires) is missing or not a UUID; it is
//!   echoed back, as is `X-Correlation-ID`.
//! - `405` for any other method, `404` for any other path.
//!
//! Errors are OperationOutcomes whose details carry the Spine error code
//! (`https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode`); their
//! diagnostics never contain patient data or the request's values.

use icr_fhir::render;
use icr_model::NhsNumber;
use serde_json::{Value, json};

use crate::fhir::FHIR_JSON;
use crate::org::Org;
use crate::population::Population;
use crate::protocol::{Answer, HttpModule, HttpRequest, SourceCtx};

/// The path the simulated PDS serves under.
pub const BASE_PATH: &str = "/personal-demographics/FHIR/R4";

/// The code system of confidentiality labels in `meta.security`.
pub const CONFIDENTIALITY_SYSTEM: &str = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality";

/// The code system of Spine error codes in OperationOutcome details.
pub const SPINE_ERROR_SYSTEM: &str = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode";

/// The extension carrying an NHS number's verification status.
pub const NHS_NUMBER_VERIFICATION_EXTENSION: &str =
    "https://fhir.hl7.org.uk/StructureDefinition/Extension-UKCore-NHSNumberVerificationStatus";

/// The code system of NHS number verification statuses.
pub const NHS_NUMBER_VERIFICATION_SYSTEM: &str =
    "https://fhir.hl7.org.uk/CodeSystem/UKCore-NHSNumberVerificationStatusEngland";

/// The request header PDS requires on every request.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// The optional correlation header PDS echoes.
pub const CORRELATION_ID_HEADER: &str = "x-correlation-id";

/// The PDS protocol module.
#[derive(Clone, Copy, Debug, Default)]
pub struct Pds;

impl HttpModule for Pds {
    fn base_path(&self, _org: Org) -> String {
        BASE_PATH.to_string()
    }

    fn respond(&self, ctx: &SourceCtx, req: &HttpRequest<'_>) -> Answer {
        let answer = respond(
            ctx.population(),
            req.method,
            req.path,
            req.header(REQUEST_ID_HEADER),
        );
        // Echo the request's ids, as PDS does, when they are well formed.
        let mut answer = answer;
        if let Some(id) = req.header(REQUEST_ID_HEADER).filter(|v| is_uuid(v)) {
            answer = answer.with_header("X-Request-ID", id);
        }
        if let Some(id) = req
            .header(CORRELATION_ID_HEADER)
            .filter(|v| (1..=128).contains(&v.len()) && v.bytes().all(|b| b.is_ascii_graphic()))
        {
            answer = answer.with_header("X-Correlation-ID", id);
        }
        answer
    }

    fn error(&self, status: u16, message: &str) -> Answer {
        let (code, spine) = match status {
            408 => ("timeout", "UNABLE_TO_CALL_SERVICE"),
            413 => ("too-costly", "INVALID_VALUE"),
            400..=499 => ("invalid", "INVALID_VALUE"),
            _ => ("exception", "SERVICE_UNAVAILABLE"),
        };
        outcome(status, code, spine, message)
    }
}

/// An OperationOutcome with one issue: FHIR issue `code`, Spine error code
/// `spine` in its details, and `diagnostics` (never patient data).
pub fn outcome(status: u16, code: &str, spine: &str, diagnostics: &str) -> Answer {
    let body = json!({
        "resourceType": "OperationOutcome",
        "issue": [{
            "severity": if status >= 500 { "fatal" } else { "error" },
            "code": code,
            "details": {
                "coding": [{
                    "system": SPINE_ERROR_SYSTEM,
                    "version": "1",
                    "code": spine,
                    "display": spine_display(spine),
                }]
            },
            "diagnostics": diagnostics,
        }]
    });
    json_answer(status, &body)
}

fn spine_display(code: &str) -> &'static str {
    match code {
        "INVALID_RESOURCE_ID" => "Resource Id is invalid",
        "RESOURCE_NOT_FOUND" => "Resource not found",
        "MISSING_VALUE" => "Required value is missing",
        "INVALID_VALUE" => "Provided value is invalid",
        "UNSUPPORTED_SERVICE" => "Unsupported Service",
        "UNABLE_TO_CALL_SERVICE" => "Unable to call service",
        "INVALID_METHOD" => "Method not allowed",
        _ => "Service unavailable",
    }
}

fn json_answer(status: u16, value: &Value) -> Answer {
    match serde_json::to_vec(value) {
        Ok(body) => Answer::new(status, FHIR_JSON, body),
        Err(_) => Answer::new(500, FHIR_JSON, br#"{"resourceType":"OperationOutcome","issue":[{"severity":"fatal","code":"exception","diagnostics":"could not write the answer"}]}"#.to_vec()),
    }
}

/// Whether `s` is a UUID in its canonical 8-4-4-4-12 hexadecimal form.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// Answers one request (pure). `request_id` is the `X-Request-ID` header.
pub fn respond(pop: &Population, method: &str, path: &str, request_id: Option<&str>) -> Answer {
    let Some(id) = path
        .strip_prefix(BASE_PATH)
        .and_then(|rest| rest.strip_prefix("/Patient/"))
    else {
        return outcome(
            404,
            "not-found",
            "UNSUPPORTED_SERVICE",
            &format!("unknown path; this server answers GET {BASE_PATH}/Patient/{{NHS number}}"),
        );
    };
    if method != "GET" {
        return outcome(
            405,
            "not-supported",
            "INVALID_METHOD",
            "this simulated service only answers GET",
        );
    }
    match request_id {
        None => {
            return outcome(
                400,
                "required",
                "MISSING_VALUE",
                "Invalid request with error - X-Request-ID header must be supplied to access this resource",
            );
        }
        Some(v) if !is_uuid(v) => {
            return outcome(
                400,
                "value",
                "INVALID_VALUE",
                "Invalid value - X-Request-ID header must be a UUID",
            );
        }
        Some(_) => {}
    }
    let Ok(nhs) = NhsNumber::parse(id) else {
        return outcome(
            400,
            "value",
            "INVALID_RESOURCE_ID",
            "Invalid resource ID: expected a 10-digit NHS number with a valid check digit",
        );
    };
    match patient(pop, nhs) {
        Some((body, version)) => {
            json_answer(200, &body).with_header("ETag", format!("W/\"{version}\""))
        }
        None => outcome(
            404,
            "not-found",
            "RESOURCE_NOT_FOUND",
            "Patient does not exist for given NHS number.",
        ),
    }
}

/// The Patient PDS serves for `nhs`, and its version, if PDS knows them.
pub fn patient(pop: &Population, nhs: NhsNumber) -> Option<(Value, u32)> {
    let person = pop.get(&nhs)?;
    let record = person.holding(Org::PDS)?;
    let d = &record.demographics;
    let mut resource = render::patient(nhs.as_str(), nhs, d);
    if d.sensitive {
        // A restricted record: PDS leaves out where the person can be found.
        resource.address.clear();
        resource.telecom.clear();
    }
    let mut v = serde_json::to_value(icr_fhir::Resource::Patient(resource)).ok()?;
    let (label, display) = if d.sensitive {
        ("R", "restricted")
    } else {
        ("U", "unrestricted")
    };
    v["meta"] = json!({
        "versionId": record.version.to_string(),
        "security": [{
            "system": CONFIDENTIALITY_SYSTEM,
            "code": label,
            "display": display,
        }]
    });
    if let Some(identifier) = v["identifier"].get_mut(0) {
        identifier["extension"] = json!([{
            "url": NHS_NUMBER_VERIFICATION_EXTENSION,
            "valueCodeableConcept": {
                "coding": [{
                    "system": NHS_NUMBER_VERIFICATION_SYSTEM,
                    "code": "01",
                    "display": "Number present and verified",
                }]
            }
        }]);
    }
    Some((v, record.version))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REQUEST: &str = "60a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e7";

    fn pop() -> Population {
        Population::generate(1, 40)
    }

    fn get(pop: &Population, path: &str, rid: Option<&str>) -> (u16, Value) {
        let a = respond(pop, "GET", path, rid);
        assert_eq!(a.content_type, FHIR_JSON);
        (a.status, serde_json::from_slice(&a.body).unwrap())
    }

    fn spine_code(v: &Value) -> &str {
        v["issue"][0]["details"]["coding"][0]["code"]
            .as_str()
            .unwrap()
    }

    #[test]
    fn found_unknown_invalid() {
        let pop = pop();
        let (s, v) = get(
            &pop,
            "/personal-demographics/FHIR/R4/Patient/9990000018",
            Some(REQUEST),
        );
        assert_eq!(s, 200);
        assert_eq!(v["resourceType"], "Patient");
        assert_eq!(v["id"], "9990000018");
        let (s, v) = get(
            &pop,
            "/personal-demographics/FHIR/R4/Patient/9990000999",
            Some(REQUEST),
        );
        assert_eq!(s, 404);
        assert_eq!(spine_code(&v), "RESOURCE_NOT_FOUND");
        for bad in ["9990000019", "999000001", "99900000180", "999000001x", ""] {
            let (s, v) = get(&pop, &format!("{BASE_PATH}/Patient/{bad}"), Some(REQUEST));
            assert_eq!(s, 400, "{bad}");
            assert_eq!(spine_code(&v), "INVALID_RESOURCE_ID");
            assert!(!v.to_string().contains(bad) || bad.is_empty());
        }
        let (s, v) = get(&pop, &format!("{BASE_PATH}/Patient/9990000018"), None);
        assert_eq!(s, 400);
        assert_eq!(spine_code(&v), "MISSING_VALUE");
        let (s, v) = get(
            &pop,
            &format!("{BASE_PATH}/Patient/9990000018"),
            Some("abc"),
        );
        assert_eq!(s, 400);
        assert_eq!(spine_code(&v), "INVALID_VALUE");
        for p in [
            "/",
            "/Patient/9990000018",
            "/personal-demographics/FHIR/R4/Patient",
            "/personal-demographics/FHIR/R4/Observation/1",
        ] {
            assert_eq!(get(&pop, p, Some(REQUEST)).0, 404, "{p}");
        }
        let a = respond(
            &pop,
            "DELETE",
            &format!("{BASE_PATH}/Patient/9990000018"),
            Some(REQUEST),
        );
        assert_eq!(a.status, 405);
    }

    #[test]
    fn uuids() {
        assert!(is_uuid(REQUEST));
        assert!(is_uuid(&REQUEST.to_uppercase()));
        for bad in [
            "",
            "60a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e",
            "60a3fd229f4b4b6e8f6b3f0d5c2a11e7aaaa",
            "g0a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e7",
        ] {
            assert!(!is_uuid(bad), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics_on_any_request(
            path in "(/personal-demographics/FHIR/R4/)?(Patient/)?[0-9A-Za-z/%._-]{0,24}",
            method in "(GET|POST|PATCH|HEAD)",
            rid in proptest::option::of("[0-9a-f-]{0,40}"),
        ) {
            let pop = Population::generate(2, 8);
            let a = respond(&pop, &method, &path, rid.as_deref());
            proptest::prop_assert!([200, 400, 404, 405].contains(&a.status));
            let v: Value = serde_json::from_slice(&a.body).unwrap();
            proptest::prop_assert!(v["resourceType"].is_string());
        }
    }
}
