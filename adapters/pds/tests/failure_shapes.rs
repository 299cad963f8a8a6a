//! Every way PDS can say "I failed" — inside a 200 or beside a 404 — and
//! the outcome it must have: a failure carrying PDS's own words, never
//! `not_found` unless PDS clearly says it does not know the NHS number.
//! One loopback PDS per row, answering that row's shape.

use std::time::Duration;

use icr_adapter_sdk::{FetchRequest, SourceError, SourceSpec};
use icr_model::{NhsNumber, Section};
use icr_testkit::Mismatches;
use icr_testkit::serve::{self, Canned};
use serde_json::{Value, json};
use tokio::time::Instant;

const SPINE: &str = "https://fhir.nhs.uk/R4/CodeSystem/Spine-ErrorOrWarningCode";

/// An OperationOutcome of one issue, with a Spine code when given.
fn outcome(severity: &str, code: &str, spine: Option<&str>, diagnostics: &str) -> Value {
    let mut issue = json!({"severity": severity, "code": code, "diagnostics": diagnostics});
    if let Some(s) = spine {
        issue["details"] = json!({"coding": [{"system": SPINE, "code": s}]});
    }
    json!({"resourceType": "OperationOutcome", "issue": [issue]})
}

fn refused(message: &str) -> SourceError {
    SourceError::Refused(message.into())
}

fn http(status: u16, what: &str) -> SourceError {
    SourceError::HttpStatus {
        status,
        what: what.into(),
    }
}

fn spec(endpoint: &str) -> SourceSpec {
    toml::from_str(&format!(
        "id = \"pds\"\norganisation = \"NHS England (PDS)\"\nods_code = \"X26\"\nkind = \"pds\"\nendpoint = \"{endpoint}\"\nsections = [\"demographics\"]\nrouting = \"demographics\"\ntimeout_ms = 2000\n"
    ))
    .unwrap()
}

#[tokio::test]
async fn every_pds_failure_shape_is_a_failure_with_its_words_and_only_not_known_is_not_found() {
    let rows: Vec<(&str, Canned, SourceError)> = vec![
        (
            "200 OperationOutcome, error",
            Canned::fhir(
                200,
                &outcome(
                    "error",
                    "processing",
                    None,
                    "Unable to reach the\r\nSpine PDS backend",
                ),
            ),
            refused(
                "PDS answered the Patient read with an OperationOutcome instead of a Patient (error: processing): the source said \"Unable to reach the Spine PDS backend\"",
            ),
        ),
        (
            "200 OperationOutcome, fatal, with a Spine code",
            Canned::fhir(
                200,
                &outcome(
                    "fatal",
                    "exception",
                    Some("SERVICE_UNAVAILABLE"),
                    "Service unavailable, retry later",
                ),
            ),
            refused(
                "PDS answered the Patient read with an OperationOutcome instead of a Patient (fatal: exception (SERVICE_UNAVAILABLE)): the source said \"Service unavailable, retry later\"",
            ),
        ),
        (
            "200 OperationOutcome of warnings only: still no Patient",
            Canned::fhir(
                200,
                &outcome("warning", "informational", None, "Record under review"),
            ),
            refused(
                "PDS answered the Patient read with an OperationOutcome instead of a Patient (warning: informational): the source said \"Record under review\"",
            ),
        ),
        (
            "200 Bundle whose only entry is an error OperationOutcome",
            Canned::fhir(
                200,
                &json!({"resourceType": "Bundle", "type": "searchset", "total": 0, "entry": [
                    {"search": {"mode": "outcome"}, "resource": outcome("error", "processing", None, "Query timed out")}
                ]}),
            ),
            refused(
                "PDS answered the Patient read with a Bundle carrying an OperationOutcome instead of a Patient (error: processing): the source said \"Query timed out\"",
            ),
        ),
        (
            "200 Bundle with no Patient and nothing said",
            Canned::fhir(
                200,
                &json!({"resourceType": "Bundle", "type": "searchset", "total": 0}),
            ),
            SourceError::Malformed("PDS answered with something other than a Patient".into()),
        ),
        (
            "200 HTML error page",
            Canned::new(
                200,
                "text/html",
                "<html><body>Service unavailable</body></html>",
            ),
            SourceError::Malformed("PDS Patient: invalid JSON at line 1 column 1".into()),
        ),
        (
            "200 empty body",
            Canned::empty(200),
            SourceError::Malformed("PDS Patient: truncated JSON at line 1 column 0".into()),
        ),
        (
            "404 RESOURCE_NOT_FOUND: PDS does not know the NHS number",
            Canned::fhir(
                404,
                &outcome(
                    "error",
                    "not-found",
                    Some("RESOURCE_NOT_FOUND"),
                    "Patient does not exist for given NHS number.",
                ),
            ),
            SourceError::PatientNotFound,
        ),
        (
            "404 not-found without a Spine code",
            Canned::fhir(404, &outcome("error", "not-found", None, "No such Patient")),
            SourceError::PatientNotFound,
        ),
        (
            "404 UNSUPPORTED_SERVICE: a wrong path, not an unknown person",
            Canned::fhir(
                404,
                &outcome(
                    "error",
                    "not-found",
                    Some("UNSUPPORTED_SERVICE"),
                    "Unknown path",
                ),
            ),
            http(
                404,
                "PDS Patient read (error: not-found (UNSUPPORTED_SERVICE)): the source said \"Unknown path\"",
            ),
        ),
        (
            "404 INVALIDATED_RESOURCE",
            Canned::fhir(
                404,
                &outcome(
                    "error",
                    "not-found",
                    Some("INVALIDATED_RESOURCE"),
                    "Resource that has been marked as invalid was requested",
                ),
            ),
            http(
                404,
                "PDS Patient read (error: not-found (INVALIDATED_RESOURCE)): the source said \"Resource that has been marked as invalid was requested\"",
            ),
        ),
        (
            "404 with a proxy's HTML page",
            Canned::new(404, "text/html", "<html><body>Not Found</body></html>"),
            http(404, "PDS Patient read"),
        ),
        (
            "404 with no body",
            Canned::empty(404),
            http(404, "PDS Patient read"),
        ),
        (
            "400 INVALID_RESOURCE_ID",
            Canned::fhir(
                400,
                &outcome(
                    "error",
                    "value",
                    Some("INVALID_RESOURCE_ID"),
                    "Invalid resource ID",
                ),
            ),
            http(
                400,
                "PDS Patient read (error: value (INVALID_RESOURCE_ID)): the source said \"Invalid resource ID\"",
            ),
        ),
        (
            "503 with an OperationOutcome",
            Canned::fhir(
                503,
                &outcome(
                    "fatal",
                    "exception",
                    Some("SERVICE_UNAVAILABLE"),
                    "Down for maintenance",
                ),
            ),
            http(
                503,
                "PDS Patient read (fatal: exception (SERVICE_UNAVAILABLE)): the source said \"Down for maintenance\"",
            ),
        ),
    ];
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let mut wrong = Mismatches::default();
    for (name, answer, expected) in rows {
        let addr = serve::http(move |_| answer.clone()).await.addr;
        let pds = icr_adapter_pds::build(&spec(&format!(
            "http://{addr}/personal-demographics/FHIR/R4"
        )))
        .unwrap();
        let got = pds
            .fetch(&FetchRequest::system(
                nhs,
                [Section::Demographics].into_iter().collect(),
                Instant::now() + Duration::from_secs(5),
            ))
            .await;
        let right = got.as_ref().err() == Some(&expected);
        wrong.check(name, right, got.map(|r| r.patient.is_some()), expected);
    }
    wrong.assert_none();
}
