//! The adapter against a real HTTP server on loopback: the Patient search,
//! paged searches, failures of one search, hostile next links, unknown
//! patients, garbage and slowness.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use icr_adapter_fhir_r4::{KIND, build};
use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError, SourceSpec};
use icr_model::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

struct Reply {
    status: u16,
    body: String,
    delay: Duration,
}

fn ok(v: Value) -> Reply {
    Reply {
        status: 200,
        body: v.to_string(),
        delay: Duration::ZERO,
    }
}

fn status(code: u16, body: &str) -> Reply {
    Reply {
        status: code,
        body: body.into(),
        delay: Duration::ZERO,
    }
}

fn bundle(entries: Vec<Value>, next: Option<String>) -> Value {
    let mut b = json!({"resourceType": "Bundle", "type": "searchset", "entry": entries});
    if let Some(n) = next {
        b["link"] = json!([{"relation": "self", "url": "x"}, {"relation": "next", "url": n}]);
    }
    b
}

fn matched(resource: Value) -> Value {
    json!({"resource": resource, "search": {"mode": "match"}})
}

/// The NHS numbers the test server knows, by scenario.
struct People {
    main: NhsNumber,
    unknown: NhsNumber,
    not_found_404: NhsNumber,
    plain_404: NhsNumber,
    twins: NhsNumber,
    garbage: NhsNumber,
    all_fail: NhsNumber,
    mismatch: NhsNumber,
    mixed: NhsNumber,
}

fn people() -> People {
    let mut n = (999_000_001..).filter_map(NhsNumber::from_first_nine);
    let mut next = || n.next().unwrap();
    People {
        main: next(),
        unknown: next(),
        not_found_404: next(),
        plain_404: next(),
        twins: next(),
        garbage: next(),
        all_fail: next(),
        mismatch: next(),
        mixed: next(),
    }
}

fn patient(id: &str, nhs: NhsNumber) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": {"lastUpdated": "2024-05-01T10:00:00Z"},
        "identifier": [{"system": "https://fhir.nhs.uk/Id/nhs-number", "value": nhs.as_str()}],
        "name": [{"use": "official", "family": "Testperson", "given": ["Alex"]}],
        "birthDate": "1980-02-03",
        "contact": [{
            "relationship": [{"text": "Next of kin"}],
            "name": {"text": "Sam Testperson"},
            "telecom": [{"system": "phone", "value": "0113 496 0001"}]
        }]
    })
}

fn allergy(id: &str, code: &str) -> Value {
    json!({
        "resourceType": "AllergyIntolerance", "id": id,
        "patient": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]}
    })
}

/// The test server's answers.
fn route(p: &People, base: &str, path: &str, query: &[(String, String)]) -> Reply {
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let ty = path.strip_prefix("/fhir/").unwrap_or("");
    if ty == "Patient" {
        let Some(ident) = q("identifier") else {
            return status(400, "");
        };
        let number = ident
            .strip_prefix("https://fhir.nhs.uk/Id/nhs-number|")
            .unwrap_or("");
        return match number {
            n if n == p.main.as_str() => ok(bundle(
                vec![
                    matched(patient("p1", p.main)),
                    json!({"resource": {"resourceType": "Organization", "id": "o"}, "search": {"mode": "include"}}),
                ],
                None,
            )),
            n if n == p.all_fail.as_str() => {
                ok(bundle(vec![matched(patient("pf", p.all_fail))], None))
            }
            n if n == p.twins.as_str() => ok(bundle(
                vec![
                    matched(patient("t1", p.twins)),
                    matched(patient("t2", p.twins)),
                ],
                None,
            )),
            n if n == p.mismatch.as_str() => ok(bundle(vec![matched(patient("mm", p.main))], None)),
            n if n == p.mixed.as_str() => ok(bundle(vec![matched(patient("px", p.mixed))], None)),
            n if n == p.not_found_404.as_str() => status(
                404,
                r#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"not-found"}]}"#,
            ),
            n if n == p.plain_404.as_str() => status(404, "<html>Not Found</html>"),
            n if n == p.garbage.as_str() => {
                status(200, "{\"resourceType\": \"Bundle\", \"entry\": [{")
            }
            _ => ok(bundle(vec![], None)),
        };
    }
    if q("patient") == Some("pf") {
        return status(500, "boom");
    }
    // A source that mixes people: its own patient's allergy, and another
    // patient's among them.
    if q("patient") == Some("px") {
        return ok(bundle(
            vec![
                matched(
                    json!({"resourceType": "AllergyIntolerance", "id": "x1", "patient": {"reference": "Patient/px"}, "code": {"text": "Peanut"}}),
                ),
                matched(
                    json!({"resourceType": "AllergyIntolerance", "id": "x2", "patient": {"reference": "Patient/someone-else"}, "code": {"text": "Latex"}}),
                ),
            ],
            None,
        ));
    }
    if q("patient") != Some("p1") {
        return status(400, "");
    }
    let page: u32 = q("page").and_then(|s| s.parse().ok()).unwrap_or(1);
    match ty {
        // three pages, each with a next link
        "AllergyIntolerance" => ok(bundle(
            vec![
                matched(allergy(&format!("a{page}"), &format!("10{page}"))),
                // the same resource on every page: read once
                matched(allergy("dup", "999")),
            ],
            Some(format!(
                "{base}/fhir/AllergyIntolerance?patient=p1&page={}",
                page + 1
            )),
        )),
        "Condition" => status(500, "{\"resourceType\":\"OperationOutcome\"}"),
        "Observation" => ok(bundle(
            vec![
                matched(json!({
                    "resourceType": "Observation", "id": "o1", "status": "final",
                    "subject": {"reference": "Patient/p1"},
                    "code": {"text": "Haemoglobin"},
                    "effectiveDateTime": "not a date",
                    "valueQuantity": {"value": 140, "unit": "g/L"}
                })),
                // wrong shape: skipped and counted
                matched(json!({"resourceType": "Observation", "id": "o2", "code": "Hb"})),
                matched(
                    json!({"resourceType": "Observation", "status": "final", "code": {"text": "No id"}}),
                ),
                json!({"resource": {"resourceType": "OperationOutcome", "issue": [
                    {"severity": "error", "code": "too-costly", "diagnostics": "Query too costly;\n narrow it"},
                    {"severity": "warning", "code": "informational"}
                ]}, "search": {"mode": "outcome"}}),
            ],
            // a hostile next link: another host
            Some("http://203.0.113.9:8080/fhir/Observation?page=2".into()),
        )),
        "DiagnosticReport" => status(200, "this is not json"),
        "MedicationRequest" => ok(bundle(
            vec![
                matched(json!({
                    "resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
                    "subject": {"reference": format!("{base}/fhir/Patient/p1")},
                    "medicationReference": {"reference": "Medication/med1"}
                })),
                json!({"fullUrl": format!("{base}/fhir/Medication/med1"),
                       "resource": {"resourceType": "Medication", "id": "med1",
                                    "code": {"coding": [{"system": "https://dmd.nhs.uk", "code": "39732311000001104", "display": "Amoxicillin 250mg capsules"}]}},
                       "search": {"mode": "include"}}),
            ],
            None,
        )),
        "MedicationStatement" => ok(bundle(vec![], None)),
        "Flag" => Reply {
            delay: Duration::from_secs(10),
            ..ok(bundle(vec![], None))
        },
        _ => ok(bundle(vec![], None)),
    }
}

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let people = Arc::new(people());
    let base = format!("http://{addr}");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            let people = Arc::clone(&people);
            let base = base.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = Arc::clone(&log);
                    let people = Arc::clone(&people);
                    let base = base.clone();
                    async move {
                        let path = req.uri().path().to_string();
                        let raw_query = req.uri().query().unwrap_or("").to_string();
                        let accept = req
                            .headers()
                            .get("accept")
                            .and_then(|v| v.to_str().ok())
                            .unwrap_or("")
                            .to_string();
                        log.lock()
                            .unwrap()
                            .push(format!("{path}?{raw_query} accept={accept}"));
                        let query: Vec<(String, String)> =
                            url::form_urlencoded::parse(raw_query.as_bytes())
                                .into_owned()
                                .collect();
                        let reply = route(&people, &base, &path, &query);
                        tokio::time::sleep(reply.delay).await;
                        let response = Response::builder()
                            .status(reply.status)
                            .header("content-type", "application/fhir+json")
                            .body(Full::new(Bytes::from(reply.body)))
                            .unwrap();
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    Server { addr, requests }
}

fn spec(addr: SocketAddr, options: &str) -> SourceSpec {
    toml::from_str(&format!(
        r#"id = "trust-a"
organisation = "Test Trust"
ods_code = "RXX"
kind = "fhir-r4"
system = "Test EPR (FHIR R4)"
endpoint = "http://{addr}/fhir"
sections = ["demographics", "contacts", "allergies", "conditions", "results", "medications", "alerts"]
timeout_ms = 3000
[options]
{options}
"#
    ))
    .unwrap()
}

fn adapter(addr: SocketAddr, options: &str) -> Arc<dyn SourceAdapter> {
    let mut registry = Registry::new();
    registry.register(&KIND);
    registry.build(&spec(addr, options)).unwrap()
}

fn request(nhs: NhsNumber, sections: &[Section], within: Duration) -> FetchRequest {
    FetchRequest::system(
        nhs,
        sections.iter().copied().collect(),
        Instant::now() + within,
    )
}

fn issue(kind: IssueKind, section: Section, message: &str) -> SourceIssue {
    SourceIssue {
        kind,
        section: Some(section),
        message: message.into(),
    }
}

#[tokio::test]
async fn fetches_pages_and_reports_every_problem() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr, "max_pages = 2");
    let started = std::time::Instant::now();
    let record = source
        .fetch(&request(p.main, Section::ALL, Duration::from_millis(1500)))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    // The slow Flag search is cut off, and the answer comes within the deadline.
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(1200), "{elapsed:?}");

    // demographics, with provenance
    let patient = record.patient.as_ref().unwrap();
    assert_eq!(patient.demographics.nhs_number, Some(p.main));
    assert_eq!(
        patient.demographics.names[0].family.as_deref(),
        Some("Testperson")
    );
    assert_eq!(patient.provenance.record.to_string(), "trust-a:Patient/p1");
    assert_eq!(patient.provenance.origin.system, "Test EPR (FHIR R4)");
    assert_eq!(
        patient.provenance.last_updated.map(|t| t.unix_timestamp()),
        Some(1_714_557_600)
    );

    let ids: Vec<String> = record
        .items
        .iter()
        .map(|i| i.provenance.record.local().to_string())
        .collect();
    assert_eq!(
        ids,
        [
            "Patient/p1#contact-1",
            "MedicationRequest/mr1",
            "AllergyIntolerance/a1",
            "AllergyIntolerance/dup",
            "AllergyIntolerance/a2",
            "Observation/o1",
            "Observation/#2",
        ]
    );
    let Entry::Contact(contact) = &record.items[0].entry else {
        panic!()
    };
    assert_eq!(contact.name.text.as_deref(), Some("Sam Testperson"));
    let Entry::Medication(med) = &record.items[1].entry else {
        panic!()
    };
    assert_eq!(med.medication.label(), Some("Amoxicillin 250mg capsules"));

    let mut issues = record.issues.clone();
    let slow = issues.pop().unwrap();
    assert_eq!(
        (slow.kind, slow.section),
        (IssueKind::SectionFailed, Some(Section::Alerts))
    );
    let waited: u64 = slow
        .message
        .strip_prefix("Flag search failed: no answer within ")
        .and_then(|m| m.strip_suffix(" ms"))
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("{}", slow.message));
    assert!((1200..1500).contains(&waited), "{waited}");
    assert_eq!(
        issues,
        vec![
            issue(
                IssueKind::Truncated,
                Section::Allergies,
                // The server ignores the current-items search's filter, and
                // serves the same two pages again.
                "read 3 AllergyIntolerance, not all (the first 3 in the server's order, and 4 active ones; there are more active ones, not read): the search had more than 2 pages"
            ),
            issue(
                IssueKind::SectionFailed,
                Section::Conditions,
                "Condition search failed: HTTP 500 from Condition search"
            ),
            issue(
                IssueKind::Truncated,
                Section::Results,
                "read 2 Observation, not all (the first 2 in the server's order): the next page is on another server and was not read"
            ),
            issue(
                IssueKind::Unreadable,
                Section::Results,
                "1 Observation resource(s) could not be read and were left out (first: Observation: unexpected JSON structure at line 1 column 12)"
            ),
            issue(
                IssueKind::SectionFailed,
                Section::Results,
                "the source reported a problem with the Observation search: error (too-costly): \"Query too costly; narrow it\""
            ),
            issue(
                IssueKind::Note,
                Section::Results,
                "the source warned about the Observation search: warning (informational)"
            ),
            issue(
                IssueKind::Note,
                Section::Results,
                "1 Observation date(s) could not be read and were left out"
            ),
            issue(
                IssueKind::Note,
                Section::Results,
                "1 Observation resource(s) had no id; positional ids were used"
            ),
            issue(
                IssueKind::SectionFailed,
                Section::Results,
                "DiagnosticReport search failed: malformed response: search answer: invalid JSON at line 1 column 2"
            ),
        ]
    );
    // no message carries a URL, or patient data but for the source's own
    // diagnostics, quoted
    for i in &record.issues {
        for secret in ["Testperson", p.main.as_str(), "127.0.0.1", "203.0.113.9"] {
            assert!(!i.message.contains(secret), "{}", i.message);
        }
    }
    assert!(record.wire_bytes > 2000, "{}", record.wire_bytes);

    let log = server.requests.lock().unwrap().clone();
    let get =
        |prefix: &str| -> Vec<&String> { log.iter().filter(|r| r.starts_with(prefix)).collect() };
    assert_eq!(
        get("/fhir/Patient?"),
        [&format!(
            "/fhir/Patient?identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C{} accept=application/fhir+json",
            p.main
        )]
    );
    assert_eq!(
        get("/fhir/AllergyIntolerance?"),
        [
            "/fhir/AllergyIntolerance?patient=p1&_count=100 accept=application/fhir+json",
            "/fhir/AllergyIntolerance?patient=p1&page=2 accept=application/fhir+json",
            "/fhir/AllergyIntolerance?patient=p1&clinical-status=active&_count=100 accept=application/fhir+json",
            "/fhir/AllergyIntolerance?patient=p1&page=2 accept=application/fhir+json",
        ]
    );
    assert_eq!(
        get("/fhir/MedicationRequest?"),
        [
            "/fhir/MedicationRequest?patient=p1&_count=100&_include=MedicationRequest%3Amedication accept=application/fhir+json"
        ]
    );
    assert_eq!(
        get("/fhir/Observation?").len(),
        1,
        "the foreign next link is not followed"
    );
    // every wanted type was searched once or more; appointments etc. were not offered
    for ty in [
        "RelatedPerson",
        "Condition",
        "DiagnosticReport",
        "MedicationStatement",
        "Flag",
    ] {
        assert_eq!(get(&format!("/fhir/{ty}?")).len(), 1, "{ty}");
    }
    assert!(get("/fhir/Appointment").is_empty());
}

#[tokio::test]
async fn only_the_wanted_sections_are_fetched() {
    let server = start().await;
    let p = people();
    let source = adapter(
        server.addr,
        "include_medications = false\nuse_medication_statement = false",
    );
    let record = source
        .fetch(&request(
            p.main,
            &[Section::Medications],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(record.patient, None, "demographics were not asked for");
    assert_eq!(record.items.len(), 1);
    let Entry::Medication(med) = &record.items[0].entry else {
        panic!()
    };
    // the Medication is still bundled here, so it still resolves
    assert_eq!(med.medication.label(), Some("Amoxicillin 250mg capsules"));
    assert_eq!(record.issues, vec![]);
    let log = server.requests.lock().unwrap().clone();
    assert_eq!(
        log.iter()
            .filter(|r| !r.starts_with("/fhir/Patient?"))
            .collect::<Vec<_>>(),
        ["/fhir/MedicationRequest?patient=p1&_count=100 accept=application/fhir+json"]
    );
}

#[tokio::test]
async fn patient_search_failures_are_errors() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr, "");
    let fetch = |n: NhsNumber| {
        let source = Arc::clone(&source);
        async move {
            source
                .fetch(&request(n, &[Section::Allergies], Duration::from_secs(3)))
                .await
        }
    };
    assert_eq!(
        fetch(p.unknown).await.unwrap_err(),
        SourceError::PatientNotFound
    );
    assert_eq!(
        fetch(p.not_found_404).await.unwrap_err(),
        SourceError::PatientNotFound
    );
    assert_eq!(
        fetch(p.plain_404).await.unwrap_err(),
        SourceError::HttpStatus {
            status: 404,
            what: "Patient search".into()
        }
    );
    assert_eq!(
        fetch(p.twins).await.unwrap_err(),
        SourceError::Malformed("several patients match".into())
    );
    assert_eq!(
        fetch(p.mismatch).await.unwrap_err(),
        SourceError::IdentityMismatch("the matching Patient has a different NHS number".into())
    );
    // One resource about someone else: the whole answer is dropped.
    assert!(matches!(
        fetch(p.mixed).await.unwrap_err(),
        SourceError::IdentityMismatch(m) if m.starts_with("1 resource(s) in the source's answer are about another patient")
    ));
    assert_eq!(
        fetch(p.garbage).await.unwrap_err(),
        SourceError::Malformed("search answer: truncated JSON at line 1 column 38".into())
    );
    // every search failing is a failed fetch
    assert_eq!(
        source
            .fetch(&request(
                p.all_fail,
                &[
                    Section::Allergies,
                    Section::Conditions,
                    Section::Demographics
                ],
                Duration::from_secs(3)
            ))
            .await
            .unwrap_err(),
        SourceError::HttpStatus {
            status: 500,
            what: "AllergyIntolerance search".into()
        }
    );
    // a source that is not there
    drop(server);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = listener.local_addr().unwrap();
    drop(listener);
    let err = adapter(gone, "")
        .fetch(&request(
            p.main,
            &[Section::Allergies],
            Duration::from_secs(3),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Unavailable(m) if m.starts_with("Patient search: cannot connect")),
        "{err:?}"
    );
}

#[test]
fn options_are_checked() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = |options: &str| match build(&spec(addr, options)) {
        Ok(_) => panic!("accepted {options}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(
        err("page_size = 0"),
        "options.page_size: must be between 1 and 1000"
    );
    assert_eq!(
        err("max_pages = 5000"),
        "options.max_pages: must be between 1 and 1000"
    );
    assert_eq!(
        err("max_concurrent_searches = 0"),
        "options.max_concurrent_searches: must be between 1 and 64"
    );
    assert_eq!(
        err("use_medication_statement = false\nuse_medication_request = false"),
        "options.use_medication_request: the source offers medications, so use_medication_statement or use_medication_request must be true"
    );
    assert!(err("pagesize = 10").starts_with("options.pagesize: unknown field `pagesize`"));
    assert!(err("page_size = \"ten\"").starts_with("options.page_size: invalid type"));
    assert!(build(&spec(addr, "page_size = 50\nmax_pages = 3")).is_ok());
}
