//! Every way a GP practice can say "I failed" through GP Connect — an
//! OperationOutcome instead of the structured record, an error beside
//! the record, a Spine code with an unexpected HTTP status — and the
//! outcome it must have. Only `PATIENT_NOT_FOUND` (with a status that is
//! not a server failure, and with no other error) is `not_found`; only
//! `NO_PATIENT_CONSENT` is `withheld`. One loopback practice per row.

use std::sync::Arc;
use std::time::Duration;

use icr_adapter_gp_connect::answer::withheld;
use icr_adapter_sdk::{FetchRequest, SourceError, SourceSpec};
use icr_fhir_stu3::render::{Practice, RecordInput, RecordItem, structured_record};
use icr_fhir_stu3::{Parameters, StructuredRequest};
use icr_model::*;
use icr_testkit::Mismatches;
use icr_testkit::serve::{self, Asked, Canned};
use serde_json::{Value, json};
use tokio::time::Instant;

const SPINE: &str = "https://fhir.nhs.uk/STU3/CodeSystem/Spine-ErrorOrWarningCode-1";

/// One issue: severity, FHIR issue type, Spine code, diagnostics.
fn issue(severity: &str, code: &str, spine: Option<&str>, diagnostics: &str) -> Value {
    let mut i = json!({"severity": severity, "code": code, "diagnostics": diagnostics});
    if let Some(s) = spine {
        i["details"] = json!({"coding": [{"system": SPINE, "code": s}]});
    }
    i
}

fn outcome(issues: Vec<Value>) -> Value {
    json!({"resourceType": "OperationOutcome", "issue": issues})
}

/// The practice's structured record for the request it was sent: a
/// Patient and an allergy, with every requested area's List.
fn record_for(asked: &Asked) -> Value {
    let text = std::str::from_utf8(&asked.body).unwrap();
    let (params, _) = icr_fhir_stu3::read::<Parameters>("Parameters", text).unwrap();
    let request = StructuredRequest::from_parameters(&params).unwrap();
    let demographics = Demographics {
        nhs_number: Some(request.nhs_number),
        names: vec![HumanName {
            family: Some("Testperson".into()),
            given: vec!["Alex".into()],
            ..Default::default()
        }],
        ..Default::default()
    };
    let allergy = Entry::Allergy(Allergy {
        code: Concept::coded(Coding::new(
            CodeSystem::Snomed,
            "91936005",
            "Allergy to penicillin",
        )),
        clinical_status: Some(AllergyClinicalStatus::Active),
        ..Default::default()
    });
    let ods = OdsCode::parse("Y90001").unwrap();
    let input = RecordInput {
        patient_id: "p1",
        demographics: &demographics,
        patient_last_updated: None,
        practice: Practice {
            ods: &ods,
            name: "Test Surgery",
        },
        items: vec![RecordItem {
            id: "a1",
            entry: &allergy,
            last_updated: None,
        }],
        warnings: Vec::new(),
    };
    serde_json::to_value(structured_record(&input, &request)).unwrap()
}

/// The record with `resource` added as one more entry.
fn record_with(asked: &Asked, resource: Value) -> Value {
    let mut bundle = record_for(asked);
    bundle["entry"]
        .as_array_mut()
        .unwrap()
        .push(json!({"resource": resource}));
    bundle
}

/// What a row expects.
#[derive(Debug)]
enum Expect {
    Fails(SourceError),
    /// The record's items are kept, with this issue (one that loses data)
    /// among its issues.
    Partial {
        items: usize,
        issue: SourceIssue,
    },
}

impl Expect {
    fn matches(&self, got: &Result<SourceRecord, SourceError>) -> bool {
        match (got, self) {
            (Err(e), Expect::Fails(x)) => e == x,
            (Ok(r), Expect::Partial { items, issue }) => {
                r.items.len() == *items && r.issues.contains(issue) && issue.loses_data()
            }
            _ => false,
        }
    }
}

type Answer = Arc<dyn Fn(&Asked) -> Canned + Send + Sync>;

fn always(canned: Canned) -> Answer {
    Arc::new(move |_| canned.clone())
}

fn refused(message: &str) -> Expect {
    Expect::Fails(SourceError::Refused(message.into()))
}

fn http(status: u16, what: &str) -> Expect {
    Expect::Fails(SourceError::HttpStatus {
        status,
        what: what.into(),
    })
}

fn spec(addr: std::net::SocketAddr) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "gp-y90001"
organisation = "Test Surgery"
ods_code = "Y90001"
kind = "gp-connect"
endpoint = "http://{addr}/Y90001/STU3/1/gpconnect/structured/fhir"
sections = ["demographics", "allergies"]
timeout_ms = 3000
routing = "registered-practice"
[options]
consumer_asid = "200000000115"
provider_asid = "918999198738"
issuer = "https://icr.example.nhs.uk/"
"#
    ))
    .unwrap()
}

#[tokio::test]
async fn every_gp_connect_failure_shape_is_a_failure_with_its_words() {
    let internal = || {
        issue(
            "error",
            "exception",
            Some("INTERNAL_SERVER_ERROR"),
            "GP system database\r\nunavailable",
        )
    };
    let not_found = || {
        issue(
            "error",
            "not-found",
            Some("PATIENT_NOT_FOUND"),
            "Patient record not found",
        )
    };
    let no_consent = || {
        issue(
            "error",
            "forbidden",
            Some("NO_PATIENT_CONSENT"),
            "Patient has dissented",
        )
    };
    let rows: Vec<(&str, Answer, Expect)> = vec![
        (
            "200 OperationOutcome INTERNAL_SERVER_ERROR",
            always(Canned::fhir(200, &outcome(vec![internal()]))),
            refused(
                "GP Connect $gpc.getstructuredrecord answered with an OperationOutcome instead of the structured record (INTERNAL_SERVER_ERROR): the source said \"GP system database unavailable\"",
            ),
        ),
        (
            "200 OperationOutcome error without a Spine code",
            always(Canned::fhir(
                200,
                &outcome(vec![issue("error", "processing", None, "Query failed")]),
            )),
            refused(
                "GP Connect $gpc.getstructuredrecord answered with an OperationOutcome instead of the structured record (error: processing): the source said \"Query failed\"",
            ),
        ),
        (
            "200 OperationOutcome of a warning only: still no record",
            always(Canned::fhir(
                200,
                &outcome(vec![issue(
                    "warning",
                    "not-supported",
                    Some("NOT_IMPLEMENTED"),
                    "includeAllergies is not implemented",
                )]),
            )),
            refused(
                "GP Connect $gpc.getstructuredrecord answered with an OperationOutcome instead of the structured record (warning: not-supported (NOT_IMPLEMENTED)): the source said \"includeAllergies is not implemented\"",
            ),
        ),
        (
            "200 OperationOutcome PATIENT_NOT_FOUND",
            always(Canned::fhir(200, &outcome(vec![not_found()]))),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "200 OperationOutcome NO_PATIENT_CONSENT",
            always(Canned::fhir(200, &outcome(vec![no_consent()]))),
            Expect::Fails(withheld()),
        ),
        (
            "200 OperationOutcome PATIENT_NOT_FOUND beside INTERNAL_SERVER_ERROR",
            always(Canned::fhir(200, &outcome(vec![not_found(), internal()]))),
            refused(
                "GP Connect $gpc.getstructuredrecord answered with an OperationOutcome instead of the structured record (PATIENT_NOT_FOUND, INTERNAL_SERVER_ERROR): the source said \"Patient record not found; GP system database unavailable\"",
            ),
        ),
        (
            "400 PATIENT_NOT_FOUND: an unexpected status, a clear code",
            always(Canned::fhir(400, &outcome(vec![not_found()]))),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "500 PATIENT_NOT_FOUND: the practice says it failed",
            always(Canned::fhir(500, &outcome(vec![not_found()]))),
            http(
                500,
                "GP Connect $gpc.getstructuredrecord (PATIENT_NOT_FOUND): the source said \"Patient record not found\"",
            ),
        ),
        (
            "500 NO_PATIENT_CONSENT: the practice says it failed",
            always(Canned::fhir(500, &outcome(vec![no_consent()]))),
            http(
                500,
                "GP Connect $gpc.getstructuredrecord (NO_PATIENT_CONSENT): the source said \"Patient has dissented\"",
            ),
        ),
        (
            "403 NO_PATIENT_CONSENT",
            always(Canned::fhir(403, &outcome(vec![no_consent()]))),
            Expect::Fails(withheld()),
        ),
        (
            "502 INTERNAL_SERVER_ERROR",
            always(Canned::fhir(502, &outcome(vec![internal()]))),
            http(
                502,
                "GP Connect $gpc.getstructuredrecord (INTERNAL_SERVER_ERROR): the source said \"GP system database unavailable\"",
            ),
        ),
        (
            "400 INVALID_NHS_NUMBER",
            always(Canned::fhir(
                400,
                &outcome(vec![issue(
                    "error",
                    "value",
                    Some("INVALID_NHS_NUMBER"),
                    "NHS number invalid",
                )]),
            )),
            http(
                400,
                "GP Connect $gpc.getstructuredrecord (INVALID_NHS_NUMBER): the source said \"NHS number invalid\"",
            ),
        ),
        (
            "404 not-found without a Spine code: maybe a wrong endpoint",
            always(Canned::fhir(
                404,
                &outcome(vec![issue("error", "not-found", None, "Unknown path")]),
            )),
            http(
                404,
                "GP Connect $gpc.getstructuredrecord (error: not-found): the source said \"Unknown path\"",
            ),
        ),
        (
            "200 Bundle of only an error OperationOutcome, no Patient",
            always(Canned::fhir(
                200,
                &json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": outcome(vec![internal()])}]}),
            )),
            refused(
                "GP Connect $gpc.getstructuredrecord answered with a Bundle carrying an OperationOutcome and no Patient (INTERNAL_SERVER_ERROR): the source said \"GP system database unavailable\"",
            ),
        ),
        (
            "200 Bundle of only a PATIENT_NOT_FOUND OperationOutcome",
            always(Canned::fhir(
                200,
                &json!({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": outcome(vec![not_found()])}]}),
            )),
            Expect::Fails(SourceError::PatientNotFound),
        ),
        (
            "200 structured record with an error OperationOutcome beside it",
            Arc::new(|asked: &Asked| {
                Canned::fhir(
                    200,
                    &record_with(
                        asked,
                        outcome(vec![issue(
                            "error",
                            "exception",
                            Some("INTERNAL_SERVER_ERROR"),
                            "Medications could not be retrieved",
                        )]),
                    ),
                )
            }),
            Expect::Partial {
                items: 1,
                issue: SourceIssue {
                    kind: IssueKind::SectionFailed,
                    section: None,
                    message: "the source reported an error beside the record (INTERNAL_SERVER_ERROR): the source said \"Medications could not be retrieved\"".into(),
                },
            },
        ),
        (
            "200 HTML error page",
            always(Canned::new(200, "text/html", "<html>Service unavailable</html>")),
            Expect::Fails(SourceError::Malformed(
                "the structured record cannot be read: Bundle: not a JSON object"
                    .into(),
            )),
        ),
    ];
    let nhs = NhsNumber::parse("9990000018").unwrap();
    let mut wrong = Mismatches::default();
    for (name, answer, expected) in rows {
        let addr = serve::http(move |asked| answer(asked)).await.addr;
        let practice = icr_adapter_gp_connect::build(&spec(addr)).unwrap();
        let got = practice
            .fetch(&FetchRequest::system(
                nhs,
                [Section::Demographics, Section::Allergies]
                    .into_iter()
                    .collect(),
                Instant::now() + Duration::from_secs(5),
            ))
            .await;
        let right = expected.matches(&got);
        wrong.check(
            name,
            right,
            got.map(|r| (r.items.len(), r.issues)),
            expected,
        );
    }
    wrong.assert_none();
}
