//! The adapter against a real HTTP registry and document server on
//! loopback: documents read, refused and failing one by one; unknown
//! people; hostile URLs; slowness; too many documents.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use icr_adapter_cda::{KIND, build};
use icr_adapter_sdk::{FetchRequest, Registry, SourceAdapter, SourceError};
use icr_model::*;
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::time::Instant;

mod common;
use common::*;

/// The people the test registry knows, by scenario.
#[derive(Clone, Copy)]
struct People {
    main: NhsNumber,
    other: NhsNumber,
    empty: NhsNumber,
    unknown_404: NhsNumber,
    unknown_outcome: NhsNumber,
    plain_404: NhsNumber,
    slow: NhsNumber,
    many: NhsNumber,
    all_fail: NhsNumber,
    paged: NhsNumber,
    garbage_registry: NhsNumber,
    mixed_document: NhsNumber,
    mixed_entry: NhsNumber,
}

fn people() -> People {
    let mut n = (999_100_001..).filter_map(NhsNumber::from_first_nine);
    let mut next = || n.next().unwrap();
    People {
        main: next(),
        other: next(),
        empty: next(),
        unknown_404: next(),
        unknown_outcome: next(),
        plain_404: next(),
        slow: next(),
        many: next(),
        all_fail: next(),
        paged: next(),
        garbage_registry: next(),
        mixed_document: next(),
        mixed_entry: next(),
    }
}

struct Reply {
    status: u16,
    content_type: &'static str,
    body: String,
    delay: Duration,
}

fn json_reply(status: u16, v: Value) -> Reply {
    Reply {
        status,
        content_type: "application/fhir+json",
        body: v.to_string(),
        delay: Duration::ZERO,
    }
}

fn xml_reply(body: String) -> Reply {
    Reply {
        status: 200,
        content_type: "application/hl7-v3+xml",
        body,
        delay: Duration::ZERO,
    }
}

fn not_found_outcome() -> Value {
    json!({"resourceType": "OperationOutcome", "issue": [{"severity": "error", "code": "not-found", "diagnostics": "No record for Alex Testperson"}]})
}

/// The test server's answers. `elsewhere` is another server's base URL.
fn route(p: &People, base: &str, elsewhere: &str, path: &str, query: &[(String, String)]) -> Reply {
    let q = |k: &str| {
        query
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
    };
    let d = |name: &str| format!("{base}/fhir/Binary/{name}");
    if path == "/fhir/DocumentReference" {
        let number = q("patient.identifier")
            .and_then(|v| v.strip_prefix(&format!("{NHS_SYSTEM}|")))
            .unwrap_or("");
        let Ok(nhs) = NhsNumber::parse(number) else {
            return json_reply(400, json!({"resourceType": "OperationOutcome"}));
        };
        let main = by_nhs(p.main);
        return match nhs {
            n if n == p.main => json_reply(
                200,
                searchset(
                    vec![
                        // relative URL, the document names the patient
                        docref(
                            "a",
                            "Binary/a",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-15",
                        ),
                        // absolute URL on this server; no NHS number in the document, vouched
                        docref("b", &d("b"), main.clone(), "text/xml", "2024-03-14"),
                        docref(
                            "c",
                            "Binary/missing",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-13",
                        ),
                        docref(
                            "e",
                            "Binary/garbage",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-11",
                        ),
                        docref(
                            "f",
                            "Binary/doctype",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-10",
                        ),
                        // another origin: never fetched
                        docref(
                            "g",
                            &format!("{elsewhere}/fhir/Binary/a"),
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-09",
                        ),
                        docref(
                            "g2",
                            "//203.0.113.9/fhir/Binary/a",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-09",
                        ),
                        // not a CDA document
                        docref(
                            "h",
                            "Binary/h.pdf",
                            main.clone(),
                            "application/pdf",
                            "2024-03-08",
                        ),
                        // subject by reference only, and no NHS number in the document
                        docref(
                            "i",
                            "Binary/b",
                            json!({"reference": "Patient/77"}),
                            "application/hl7-v3+xml",
                            "2024-03-07",
                        ),
                        // marked restricted
                        docref(
                            "j",
                            "Binary/restricted",
                            main.clone(),
                            "application/hl7-v3+xml",
                            "2024-03-06",
                        ),
                        json!({"resource": {"resourceType": "DocumentReference", "id": "old", "status": "superseded",
                               "content": [{"attachment": {"contentType": "text/xml", "url": "Binary/a"}}]}}),
                        json!({"resource": {"resourceType": "OperationOutcome", "issue": [
                            {"severity": "warning", "code": "informational", "diagnostics": "Alex Testperson"}]},
                               "search": {"mode": "outcome"}}),
                    ],
                    None,
                ),
            ),
            // Listed for this person, but the document is someone else's.
            n if n == p.mixed_document => json_reply(
                200,
                searchset(
                    vec![docref(
                        "m",
                        "Binary/other",
                        by_nhs(p.mixed_document),
                        "application/hl7-v3+xml",
                        "2024-03-12",
                    )],
                    None,
                ),
            ),
            // The registry's answer includes another person's entry.
            n if n == p.mixed_entry => json_reply(
                200,
                searchset(
                    vec![
                        docref(
                            "n1",
                            "Binary/b",
                            by_nhs(p.mixed_entry),
                            "text/xml",
                            "2024-03-14",
                        ),
                        docref(
                            "n2",
                            "Binary/a",
                            by_nhs(p.other),
                            "application/hl7-v3+xml",
                            "2024-03-05",
                        ),
                    ],
                    None,
                ),
            ),
            n if n == p.empty => json_reply(200, searchset(vec![], None)),
            n if n == p.unknown_404 => json_reply(404, not_found_outcome()),
            n if n == p.unknown_outcome => json_reply(
                200,
                searchset(
                    vec![json!({"resource": not_found_outcome(), "search": {"mode": "outcome"}})],
                    None,
                ),
            ),
            n if n == p.plain_404 => Reply {
                status: 404,
                content_type: "text/html",
                body: "<html>Not Found</html>".into(),
                delay: Duration::ZERO,
            },
            n if n == p.garbage_registry => Reply {
                status: 200,
                content_type: "application/fhir+json",
                body: "{\"resourceType\": \"Bundle\", \"entry\": [".into(),
                delay: Duration::ZERO,
            },
            n if n == p.slow => json_reply(
                200,
                searchset(
                    vec![
                        docref(
                            "s1",
                            "Binary/slow-ok",
                            by_nhs(p.slow),
                            "text/xml",
                            "2024-03-02",
                        ),
                        docref(
                            "s2",
                            "Binary/slow",
                            by_nhs(p.slow),
                            "text/xml",
                            "2024-03-01",
                        ),
                    ],
                    None,
                ),
            ),
            n if n == p.many => json_reply(
                200,
                searchset(
                    (1..=7)
                        .map(|i| {
                            docref(
                                &format!("m{i}"),
                                &format!("Binary/many-{i}"),
                                by_nhs(p.many),
                                "text/xml",
                                &format!("2024-01-0{i}"),
                            )
                        })
                        .collect(),
                    None,
                ),
            ),
            n if n == p.all_fail => json_reply(
                200,
                searchset(
                    vec![
                        docref(
                            "x1",
                            "Binary/fail",
                            by_nhs(p.all_fail),
                            "text/xml",
                            "2024-01-01",
                        ),
                        docref(
                            "x2",
                            "Binary/fail?2",
                            by_nhs(p.all_fail),
                            "text/xml",
                            "2024-01-02",
                        ),
                    ],
                    None,
                ),
            ),
            n if n == p.paged => {
                let page: u32 = q("page").and_then(|s| s.parse().ok()).unwrap_or(1);
                let next = match page {
                    1 => Some(format!(
                        "{base}/fhir/DocumentReference?page=2&patient.identifier={NHS_SYSTEM}|{n}"
                    )),
                    // a hostile next link: another server
                    2 => Some(format!("{elsewhere}/fhir/DocumentReference?page=3")),
                    _ => None,
                };
                json_reply(
                    200,
                    searchset(
                        vec![docref(
                            &format!("p{page}"),
                            &format!("Binary/paged-{page}"),
                            by_nhs(p.paged),
                            "text/xml",
                            "2024-02-01",
                        )],
                        next,
                    ),
                )
            }
            _ => json_reply(200, searchset(vec![], None)),
        };
    }
    let Some(name) = path.strip_prefix("/fhir/Binary/") else {
        return json_reply(404, json!({}));
    };
    let when = "20240315031500+0000";
    match name {
        "a" => xml_reply(cda(Some(p.main), "Report A", "N", when)),
        "b" => xml_reply(cda(None, "Report B", "N", "20240314031500+0000")),
        "other" => xml_reply(cda(Some(p.other), "Someone else's report", "N", when)),
        "garbage" => xml_reply("this is not XML at all".into()),
        "doctype" => xml_reply(format!(
            "<!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>{}",
            cda(Some(p.main), "&e;", "N", when)
        )),
        "restricted" => xml_reply(cda(Some(p.main), "Restricted", "R", when)),
        "slow-ok" => xml_reply(cda(Some(p.slow), "Quick", "N", when)),
        "slow" => Reply {
            delay: Duration::from_secs(10),
            ..xml_reply(cda(Some(p.slow), "Slow", "N", when))
        },
        "fail" => json_reply(500, json!({})),
        n if n.starts_with("many-") => xml_reply(cda(
            Some(p.many),
            &format!("Report {n}"),
            "N",
            &format!("2024010{}0900+0000", &n[5..]),
        )),
        n if n.starts_with("paged-") => xml_reply(cda(Some(p.paged), n, "N", when)),
        _ => Reply {
            status: 404,
            content_type: "text/plain",
            body: "no such document".into(),
            delay: Duration::ZERO,
        },
    }
}

struct Server {
    addr: SocketAddr,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn log(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

async fn start(elsewhere: String) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&requests);
    let base = format!("http://{addr}");
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            let base = base.clone();
            let elsewhere = elsewhere.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = Arc::clone(&log);
                    let base = base.clone();
                    let elsewhere = elsewhere.clone();
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
                        let reply = route(&people(), &base, &elsewhere, &path, &query);
                        tokio::time::sleep(reply.delay).await;
                        let response = Response::builder()
                            .status(reply.status)
                            .header("content-type", reply.content_type)
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

/// The registry under test, and another server it must never be made to call.
async fn servers() -> (Server, Server) {
    let elsewhere = start("http://203.0.113.9".into()).await;
    let registry = start(format!("http://{}", elsewhere.addr)).await;
    (registry, elsewhere)
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

fn issue(kind: IssueKind, message: &str) -> SourceIssue {
    SourceIssue {
        kind,
        section: Some(Section::Documents),
        message: message.into(),
    }
}

fn documents(record: &SourceRecord) -> Vec<(&str, &Document)> {
    record
        .items
        .iter()
        .filter_map(|i| match &i.entry {
            Entry::Document(d) => Some((i.provenance.record.local(), d)),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn reads_documents_and_reports_every_one_left_out() {
    let (server, elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "");
    let record = source
        .fetch(&request(
            p.main,
            &[Section::Documents, Section::Appointments],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    let base = format!("http://{}", server.addr);

    let docs = documents(&record);
    assert_eq!(
        docs.iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        [
            "DocumentReference/a",
            "DocumentReference/b",
            "DocumentReference/j"
        ]
    );
    // the document marked restricted is read, and labelled so for the
    // gateway's policy, with its encounter
    let restricted: Vec<(&str, bool)> = record
        .items
        .iter()
        .map(|i| (i.provenance.record.local(), i.provenance.restricted))
        .collect();
    assert_eq!(
        restricted,
        [
            ("DocumentReference/a", false),
            ("DocumentReference/a#encounter", false),
            ("DocumentReference/b", false),
            ("DocumentReference/b#encounter", false),
            ("DocumentReference/j", true),
            ("DocumentReference/j#encounter", true),
        ]
    );
    assert_eq!(docs[2].1.title.as_deref(), Some("Restricted"));
    let (_, a) = docs[0];
    assert_eq!(
        *a,
        Document {
            doc_type: Concept::coded(Coding::new(
                CodeSystem::Snomed,
                "371531000",
                "Report of clinical encounter"
            )),
            category: vec![],
            title: Some("Report A".into()),
            status: Some(DocumentStatus::Current),
            date: Some(PartialDateTime::parse("2024-03-15T03:15:00Z").unwrap()),
            authors: vec!["Dr Amy Clarke".into()],
            content: vec![Attachment {
                content_type: Some("application/hl7-v3+xml".into()),
                url: Some(format!("{base}/fhir/Binary/a")),
                title: None,
                size: Some(cda(Some(p.main), "Report A", "N", "20240315031500+0000").len() as u64),
                inline_content_omitted: false,
            }],
            text: a.text.clone(),
            care_plan: None,
        }
    );
    assert!(
        a.text.as_deref().is_some_and(|t| !t.is_empty()),
        "the narrative comes through as text"
    );
    assert_eq!(docs[1].1.title.as_deref(), Some("Report B"));
    assert_eq!(
        docs[1].1.content[0].content_type.as_deref(),
        Some("text/xml")
    );
    // provenance: the registry's lastUpdated
    let item = &record.items[0];
    assert_eq!(
        item.provenance.record.to_string(),
        "medvivo:DocumentReference/a"
    );
    assert_eq!(
        item.provenance.origin.system,
        "Out-of-hours documents (CDA)"
    );
    assert_eq!(
        item.provenance.last_updated.map(|t| t.unix_timestamp()),
        Some(1_710_475_200)
    );
    // each document's encounter, as an appointment
    let encounters: Vec<(&str, &Appointment)> = record
        .items
        .iter()
        .filter_map(|i| match &i.entry {
            Entry::Appointment(a) => Some((i.provenance.record.local(), a)),
            _ => None,
        })
        .collect();
    assert_eq!(encounters.len(), 3);
    assert_eq!(encounters[0].0, "DocumentReference/a#encounter");
    assert_eq!(
        encounters[0].1.location.as_deref(),
        Some("Treatment centre")
    );
    assert_eq!(encounters[0].1.kind, Some(AppointmentKind::Encounter));

    assert_eq!(
        record.issues,
        vec![
            issue(
                IssueKind::Unreadable,
                "1 registry entry is not for a CDA document and was not read"
            ),
            issue(
                IssueKind::Unreadable,
                "2 registry entries point at another server; their documents were not fetched"
            ),
            issue(
                IssueKind::Note,
                "1 registry entry superseded or entered in error was left out"
            ),
            issue(
                IssueKind::Note,
                "1 registry entry repeats a document already listed; each document was read once"
            ),
            issue(
                IssueKind::Unreadable,
                "1 CDA document could not be fetched and was left out (first: HTTP 404 from CDA document)"
            ),
            issue(
                IssueKind::Unreadable,
                "2 CDA documents could not be read and were left out (first: content outside the root element at byte 0)"
            ),
        ]
    );
    // no message carries patient data or a URL
    for i in &record.issues {
        for secret in [
            "Testperson",
            p.main.as_str(),
            "127.0.0.1",
            "203.0.113.9",
            "Binary",
        ] {
            assert!(!i.message.contains(secret), "{}", i.message);
        }
    }
    assert!(record.wire_bytes > 3000, "{}", record.wire_bytes);

    let log = server.log();
    assert_eq!(
        log[0],
        format!(
            "/fhir/DocumentReference?patient.identifier=https%3A%2F%2Ffhir.nhs.uk%2FId%2Fnhs-number%7C{}&_count=50 accept=application/fhir+json",
            p.main
        )
    );
    let mut fetched: Vec<&str> = log[1..]
        .iter()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    fetched.sort();
    assert_eq!(
        fetched,
        [
            "/fhir/Binary/a?",
            "/fhir/Binary/b?",
            "/fhir/Binary/doctype?",
            "/fhir/Binary/garbage?",
            "/fhir/Binary/missing?",
            "/fhir/Binary/restricted?",
        ]
    );
    assert!(
        log[1].ends_with("accept=application/hl7-v3+xml, text/xml;q=0.9, application/xml;q=0.8")
    );
    assert!(elsewhere.log().is_empty(), "another origin was contacted");
}

#[tokio::test]
async fn a_source_that_mixes_people_shows_nothing() {
    let (server, _elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "");
    for (who, expected) in [
        (
            p.mixed_document,
            "0 registry entries and 1 document(s) are about another patient",
        ),
        (
            p.mixed_entry,
            "1 registry entry and 0 document(s) are about another patient",
        ),
    ] {
        let e = source
            .fetch(&request(who, &[Section::Documents], Duration::from_secs(3)))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, SourceError::IdentityMismatch(m) if m.starts_with(expected)),
            "{e:?}"
        );
    }
}

#[tokio::test]
async fn unvouched_document_without_nhs_number_is_refused() {
    // A registry whose only entry names the patient by reference, for a
    // document that carries no NHS number.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(|req: Request<hyper::body::Incoming>| async move {
                    let body = if req.uri().path() == "/fhir/DocumentReference" {
                        searchset(
                            vec![docref(
                                "u",
                                "Binary/u",
                                json!({"reference": "Patient/77"}),
                                "text/xml",
                                "2024-01-01",
                            )],
                            None,
                        )
                        .to_string()
                    } else {
                        cda(None, "Unnamed", "N", "20240101")
                    };
                    Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(body))))
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    let record = adapter(addr, "")
        .fetch(&request(
            people().main,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert!(record.items.is_empty());
    assert_eq!(
        record.issues,
        vec![issue(
            IssueKind::Unreadable,
            "1 CDA document was refused: the document carries no NHS number and the registry did not confirm the patient"
        )]
    );
}

#[tokio::test]
async fn unknown_people_and_registry_failures() {
    let (server, _elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "");
    let fetch = |n: NhsNumber| {
        let source = Arc::clone(&source);
        async move {
            source
                .fetch(&request(n, &[Section::Documents], Duration::from_secs(3)))
                .await
        }
    };
    // found, nothing recorded: an ok answer with no items and no issues
    let empty = fetch(p.empty).await.unwrap();
    assert_eq!((empty.items.len(), empty.issues.len()), (0, 0));
    // the registry says it does not know the person
    assert_eq!(
        fetch(p.unknown_404).await.unwrap_err(),
        SourceError::PatientNotFound
    );
    assert_eq!(
        fetch(p.unknown_outcome).await.unwrap_err(),
        SourceError::PatientNotFound
    );
    // a 404 that does not say so is an error, not "not found"
    assert_eq!(
        fetch(p.plain_404).await.unwrap_err(),
        SourceError::HttpStatus {
            status: 404,
            what: "registry search".into()
        }
    );
    assert_eq!(
        fetch(p.garbage_registry).await.unwrap_err(),
        SourceError::Malformed("registry search answer: truncated JSON at line 1 column 37".into())
    );
    // every document failing is a failed fetch, not an empty answer
    assert_eq!(
        fetch(p.all_fail).await.unwrap_err(),
        SourceError::HttpStatus {
            status: 500,
            what: "CDA document".into()
        }
    );
    // a registry that is not there
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = listener.local_addr().unwrap();
    drop(listener);
    let err = adapter(gone, "")
        .fetch(&request(
            p.main,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, SourceError::Unavailable(m) if m.starts_with("registry search: cannot connect")),
        "{err:?}"
    );
    // no section of ours wanted: nothing asked
    let before = server.log().len();
    let none = source
        .fetch(&request(
            p.main,
            &[Section::Allergies],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(none, SourceRecord::default());
    assert_eq!(server.log().len(), before);
}

#[tokio::test]
async fn a_slow_document_is_cut_off_at_the_deadline() {
    let (server, _elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "");
    let started = std::time::Instant::now();
    let record = source
        .fetch(&request(
            p.slow,
            &[Section::Documents],
            Duration::from_millis(1000),
        ))
        .await
        .unwrap();
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
    assert!(elapsed >= Duration::from_millis(800), "{elapsed:?}");
    assert_eq!(
        documents(&record)
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        ["DocumentReference/s1"]
    );
    assert_eq!(record.issues.len(), 1);
    let msg = &record.issues[0].message;
    assert!(
        msg.starts_with(
            "1 CDA document could not be fetched and was left out (first: no answer within "
        ),
        "{msg}"
    );
}

#[tokio::test]
async fn too_many_documents_are_truncated_to_the_newest() {
    let (server, _elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "max_documents = 3\nmax_concurrent_fetches = 2");
    let record = source
        .fetch(&request(
            p.many,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(
        documents(&record)
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        [
            "DocumentReference/m7",
            "DocumentReference/m6",
            "DocumentReference/m5"
        ]
    );
    assert_eq!(
        record.issues,
        vec![issue(
            IssueKind::Truncated,
            "the registry lists 7 CDA documents; the 3 most recent were read and the other 4 not fetched"
        )]
    );
    let fetched = server
        .log()
        .iter()
        .filter(|l| l.starts_with("/fhir/Binary/"))
        .count();
    assert_eq!(fetched, 3);
}

#[tokio::test]
async fn registry_pages_are_followed_on_the_same_server_only() {
    let (server, elsewhere) = servers().await;
    let p = people();
    let source = adapter(server.addr, "page_size = 1");
    let record = source
        .fetch(&request(
            p.paged,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(
        documents(&record)
            .iter()
            .map(|(id, _)| *id)
            .collect::<Vec<_>>(),
        ["DocumentReference/p1", "DocumentReference/p2"]
    );
    assert_eq!(
        record.issues,
        vec![issue(
            IssueKind::Truncated,
            "the registry's next page is on another server and was not read"
        )]
    );
    assert!(elsewhere.log().is_empty());

    // no further than needed for max_documents
    let source = adapter(server.addr, "page_size = 1\nmax_documents = 1");
    let record = source
        .fetch(&request(
            p.paged,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(documents(&record).len(), 1);
    assert_eq!(
        record.issues,
        vec![issue(
            IssueKind::Truncated,
            "the registry lists more than 1 CDA document; the 1 most recent of those listed on the pages read were fetched and the rest were not"
        )]
    );

    // and no further than max_registry_pages
    let source = adapter(server.addr, "page_size = 1\nmax_registry_pages = 1");
    let record = source
        .fetch(&request(
            p.paged,
            &[Section::Documents],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(documents(&record).len(), 1);
    assert_eq!(
        record.issues,
        vec![issue(
            IssueKind::Truncated,
            "the registry has more pages than are read; the documents on them were not fetched"
        )]
    );
}

#[tokio::test]
async fn appointments_alone_still_read_the_documents() {
    let (server, _elsewhere) = servers().await;
    let p = people();
    let record = adapter(server.addr, "max_documents = 3")
        .fetch(&request(
            p.many,
            &[Section::Appointments],
            Duration::from_secs(3),
        ))
        .await
        .unwrap();
    assert_eq!(record.items.len(), 3);
    assert!(
        record
            .items
            .iter()
            .all(|i| matches!(i.entry, Entry::Appointment(_)))
    );
    assert_eq!(record.issues[0].section, Some(Section::Appointments));
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
        err("max_registry_pages = 101"),
        "options.max_registry_pages: must be between 1 and 100"
    );
    assert_eq!(
        err("max_documents = 0"),
        "options.max_documents: must be between 1 and 1000"
    );
    assert_eq!(
        err("max_concurrent_fetches = 33"),
        "options.max_concurrent_fetches: must be between 1 and 32"
    );
    assert_eq!(
        err("max_text_chars = 10"),
        "options.max_text_chars: must be between 1000 and 1000000"
    );
    assert!(err("max_docs = 3").starts_with("options.max_docs: unknown field `max_docs`"));
    assert!(build(&spec(addr, "max_documents = 10\nmax_text_chars = 5000")).is_ok());
    let mut s = spec(addr, "");
    s.sections = [Section::Documents, Section::Allergies]
        .into_iter()
        .collect();
    assert_eq!(
        build(&s).err().map(|e| e.to_string()).as_deref(),
        Some("sections: a cda source provides documents and appointments only")
    );
}
