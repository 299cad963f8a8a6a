//! The adapter against real HTTP servers on loopback: a hyper server that
//! answers by the NHS number in the request it parses back, and a
//! hand-written one for slow and oversize bodies.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use icr_adapter_sdk::{
    BuildError, FetchRequest, Registry, RequestContext, Requester, SourceAdapter, SourceError,
    SourceSpec,
};
use icr_adapter_soap_xml::KIND;
use icr_adapter_soap_xml::xml::{Element, Limits, Ns, parse};
use icr_model::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::time::Instant;

const CORRELATION: &str = "5f0c8a52-4d1e-4b7a-9a53-2f9a8c1d7e01";
const PATH: &str = "/PersonSummaryService/v1";

fn schema_file(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema")
        .join(name);
    std::fs::read_to_string(path).unwrap()
}

/// The people the test server knows, by what it answers for them.
#[derive(Clone, Copy)]
struct People {
    main: NhsNumber,
    unknown: NhsNumber,
    denied: NhsNumber,
    maintenance: NhsNumber,
    internal: NhsNumber,
    bare_503: NhsNumber,
    garbage: NhsNumber,
    truncated: NhsNumber,
    wrong_person: NhsNumber,
    fault_200: NhsNumber,
}

fn people() -> People {
    let main = NhsNumber::parse("9990000018").unwrap();
    let mut n = (999_000_002..).filter_map(NhsNumber::from_first_nine);
    let mut next = || n.next().unwrap();
    People {
        main,
        unknown: next(),
        denied: next(),
        maintenance: next(),
        internal: next(),
        bare_503: next(),
        garbage: next(),
        truncated: next(),
        wrong_person: next(),
        fault_200: next(),
    }
}

fn fault(class: &str, code: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">
  <soap:Body>
    <soap:Fault>
      <faultcode>soap:{class}</faultcode>
      <faultstring>The council's service refused the request</faultstring>
      <detail><ps:PersonSummaryFault xmlns:ps="urn:icr:socialcare:personsummary:1"><ps:Code>{code}</ps:Code></ps:PersonSummaryFault></detail>
    </soap:Fault>
  </soap:Body>
</soap:Envelope>"#
    )
}

/// What the server saw of one request.
#[derive(Clone, Debug)]
struct Seen {
    method: String,
    path: String,
    soap_action: String,
    content_type: String,
    body: String,
}

/// The NHS number in a request body, read back with the adapter's own reader.
fn requested_number(body: &[u8]) -> Option<String> {
    let root = parse(body, &Limits::default()).ok()?;
    let op = root
        .child(Ns::Soap11, "Body")?
        .child(Ns::PersonSummary, "GetPersonSummary")?;
    Some(
        op.child(Ns::PersonSummary, "NhsNumber")?
            .value()?
            .to_string(),
    )
}

fn answer(p: &People, nhs: &str) -> (u16, String) {
    let is = |n: NhsNumber| n.as_str() == nhs;
    if is(p.main) {
        (200, schema_file("GetPersonSummary-response.xml"))
    } else if is(p.unknown) {
        (500, schema_file("fault.xml"))
    } else if is(p.denied) {
        (500, fault("Client", "AccessDenied"))
    } else if is(p.maintenance) {
        (500, fault("Server", "ServiceUnavailable"))
    } else if is(p.internal) {
        (500, fault("Server", "InternalError"))
    } else if is(p.bare_503) {
        (503, String::new())
    } else if is(p.garbage) {
        (200, "<html><body>Gateway says hello</body></html>".into())
    } else if is(p.truncated) {
        let full = schema_file("GetPersonSummary-response.xml");
        (200, full[..full.len() / 2].to_string())
    } else if is(p.wrong_person) {
        (200, schema_file("GetPersonSummary-response.xml"))
    } else if is(p.fault_200) {
        (200, fault("Client", "PersonNotKnown"))
    } else {
        (500, fault("Client", "InvalidRequest"))
    }
}

struct Server {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let p = people();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let log = Arc::clone(&log);
            tokio::spawn(async move {
                let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                    let log = Arc::clone(&log);
                    async move {
                        let header = |name: &str| {
                            req.headers()
                                .get(name)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or("")
                                .to_string()
                        };
                        let method = req.method().to_string();
                        let path = req.uri().path().to_string();
                        let soap_action = header("soapaction");
                        let content_type = header("content-type");
                        let body = req.into_body().collect().await.unwrap().to_bytes();
                        log.lock().unwrap().push(Seen {
                            method,
                            path,
                            soap_action,
                            content_type,
                            body: String::from_utf8_lossy(&body).into_owned(),
                        });
                        let nhs = requested_number(&body).unwrap_or_default();
                        let (status, text) = answer(&p, &nhs);
                        let response = Response::builder()
                            .status(status)
                            .header("content-type", "text/xml; charset=utf-8")
                            .body(Full::new(Bytes::from(text)))
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
    Server { addr, seen }
}

/// A hand-written server that reads a request and answers `head` then
/// `body`, then waits `hold` before closing.
async fn raw(head: String, body: Vec<u8>, hold: Duration) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let head = head.clone();
            let body = body.clone();
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65536];
                let _ = sock.read(&mut buf).await;
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(&body).await;
                let _ = sock.flush().await;
                tokio::time::sleep(hold).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    addr
}

fn spec_text(addr: SocketAddr, extra: &str, options: &str) -> String {
    format!(
        r#"id = "wiltshire-asc"
organisation = "Wiltshire Council"
ods_code = "E06000054"
kind = "soap-xml"
system = "Adult social care (SOAP)"
endpoint = "http://{addr}{PATH}"
sections = ["demographics", "contacts", "care_team", "alerts", "documents", "appointments"]
timeout_ms = 3000
{extra}
[options]
{options}
"#
    )
}

fn build_adapter(text: &str) -> Result<Arc<dyn SourceAdapter>, BuildError> {
    let spec: SourceSpec = toml::from_str(text).unwrap();
    let mut registry = Registry::new();
    registry.register(&KIND);
    registry.build(&spec)
}

fn adapter(addr: SocketAddr) -> Arc<dyn SourceAdapter> {
    build_adapter(&spec_text(addr, "", "")).unwrap()
}

fn context() -> Arc<RequestContext> {
    Arc::new(RequestContext {
        trace_id: CORRELATION.into(),
        requester: Requester {
            user_id: "555021935107".into(),
            name: "Dr Alex Morgan".into(),
            role: "R8000".into(),
            organisation: OdsCode::parse("RN3").unwrap(),
            purpose: "directcare".into(),
        },
    })
}

fn request(nhs: NhsNumber, sections: SectionSet, within: Duration) -> FetchRequest {
    FetchRequest {
        nhs_number: nhs,
        sections,
        deadline: Instant::now() + within,
        context: context(),
    }
}

async fn fetch(
    source: &Arc<dyn SourceAdapter>,
    nhs: NhsNumber,
) -> Result<SourceRecord, SourceError> {
    source
        .fetch(&request(nhs, SectionSet::all(), Duration::from_secs(5)))
        .await
}

#[tokio::test]
async fn fetches_a_summary_and_sends_the_contract_request() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let record = fetch(&source, p.main).await.unwrap();

    let patient = record.patient.as_ref().unwrap();
    assert_eq!(patient.demographics.nhs_number, Some(p.main));
    assert_eq!(
        patient.provenance.record.to_string(),
        "wiltshire-asc:Person/P-204117"
    );
    assert_eq!(patient.provenance.origin.system, "Adult social care (SOAP)");
    assert_eq!(record.items.len(), 15);
    assert_eq!(
        record.items[0].provenance.record.to_string(),
        "wiltshire-asc:Allocation/AL-88213"
    );
    assert_eq!(record.issues.len(), 1);
    assert_eq!(record.issues[0].kind, IssueKind::Withheld);

    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1);
    let s = &seen[0];
    assert_eq!(s.method, "POST");
    assert_eq!(s.path, PATH);
    assert_eq!(
        s.soap_action,
        "\"urn:icr:socialcare:personsummary:1/GetPersonSummary\""
    );
    assert_eq!(s.content_type, "text/xml; charset=utf-8");
    // the request body, exactly the contract's example
    assert_eq!(s.body, schema_file("GetPersonSummary-request.xml"));
}

#[tokio::test]
async fn the_request_asks_only_for_the_lists_wanted() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let record = source
        .fetch(&request(
            p.main,
            [Section::Alerts, Section::Medications]
                .into_iter()
                .collect(),
            Duration::from_secs(5),
        ))
        .await
        .unwrap();
    assert!(record.patient.is_none());
    assert!(
        record
            .items
            .iter()
            .all(|i| i.entry.section() == Section::Alerts)
    );
    let seen = server.seen.lock().unwrap().clone();
    let root = parse(seen[0].body.as_bytes(), &Limits::default()).unwrap();
    let op = root
        .child(Ns::Soap11, "Body")
        .and_then(|b| b.child(Ns::PersonSummary, "GetPersonSummary"))
        .unwrap();
    let includes: Vec<&str> = op
        .children_named(Ns::PersonSummary, "Include")
        .filter_map(Element::value)
        .collect();
    assert_eq!(includes, ["Person", "Alerts"]);
    let by = op.child(Ns::PersonSummary, "RequestedBy").unwrap();
    assert_eq!(
        by.child(Ns::PersonSummary, "Organisation")
            .and_then(Element::value),
        Some("RN3")
    );
    assert_eq!(
        op.child(Ns::PersonSummary, "CorrelationId")
            .and_then(Element::value),
        Some(CORRELATION)
    );

    // nothing this source offers is wanted: no request at all
    let record = source
        .fetch(&request(
            p.main,
            [Section::Medications].into_iter().collect(),
            Duration::from_secs(5),
        ))
        .await
        .unwrap();
    assert_eq!(record, SourceRecord::default());
    assert_eq!(server.seen.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn faults_and_failures_are_statuses() {
    let server = start().await;
    let p = people();
    let source = adapter(server.addr);
    let malformed = |m: &str| SourceError::Malformed(m.into());
    let cases = [
        (p.unknown, SourceError::PatientNotFound),
        (p.fault_200, SourceError::PatientNotFound),
        (
            p.denied,
            SourceError::HttpStatus {
                status: 500,
                what: "GetPersonSummary: access denied to this requester (SOAP fault Client/AccessDenied): the source said \"The council's service refused the request\"".into(),
            },
        ),
        (
            p.maintenance,
            SourceError::Unavailable(
                "GetPersonSummary: the service reports itself unavailable (SOAP fault Server/ServiceUnavailable): the source said \"The council's service refused the request\"".into(),
            ),
        ),
        (
            p.internal,
            SourceError::HttpStatus {
                status: 500,
                what: "GetPersonSummary (SOAP fault Server/InternalError): the source said \"The council's service refused the request\"".into(),
            },
        ),
        (
            p.bare_503,
            SourceError::HttpStatus {
                status: 503,
                what: "GetPersonSummary".into(),
            },
        ),
        (
            p.garbage,
            malformed("the answer is not a SOAP 1.1 envelope"),
        ),
        (
            p.truncated,
            malformed("GetPersonSummary answer: the XML ends before the document is complete (truncated)"),
        ),
        (
            p.wrong_person,
            SourceError::IdentityMismatch(
                "the answer's Person has another NHS number than the one asked for".into(),
            ),
        ),
    ];
    // A fault's faultstring is quoted to the caller; nothing else of an
    // answer is.
    for (nhs, expected) in cases {
        let got = fetch(&source, nhs).await;
        assert_eq!(got, Err(expected.clone()), "{nhs}");
        let message = got.unwrap_err().to_string();
        assert!(
            !message.contains("Ashdown") && !message.contains(nhs.as_str()),
            "{message}"
        );
    }
    // every request carried its own number
    let seen = server.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 9);
}

#[tokio::test]
async fn a_slow_body_is_cut_off_at_the_deadline() {
    let body = schema_file("GetPersonSummary-response.xml");
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml; charset=utf-8\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    // half the body, then nothing for ten seconds
    let addr = raw(
        head,
        body.as_bytes()[..body.len() / 2].to_vec(),
        Duration::from_secs(10),
    )
    .await;
    let source = adapter(addr);
    let started = std::time::Instant::now();
    let err = source
        .fetch(&request(
            people().main,
            SectionSet::all(),
            Duration::from_millis(400),
        ))
        .await
        .unwrap_err();
    assert!(matches!(err, SourceError::Timeout { .. }), "{err:?}");
    assert_eq!(err.status_name(), "timeout");
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(350), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(2), "{elapsed:?}");
}

#[tokio::test]
async fn oversize_bodies_are_refused() {
    // declared
    let addr = raw(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: 200000\r\n\r\n".into(),
        Vec::new(),
        Duration::ZERO,
    )
    .await;
    let source = build_adapter(&spec_text(addr, "max_body_bytes = 65536", "")).unwrap();
    assert_eq!(
        fetch(&source, people().main).await,
        Err(SourceError::TooLarge { limit: 65536 })
    );
    // undeclared: a valid answer padded past the limit, read until the connection closes
    let body = schema_file("GetPersonSummary-response.xml").replace(
        "<ps:Person ",
        &format!("<!--{}--><ps:Person ", "x".repeat(100_000)),
    );
    let addr = raw(
        "HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\nconnection: close\r\n\r\n".into(),
        body.into_bytes(),
        Duration::ZERO,
    )
    .await;
    let source = build_adapter(&spec_text(addr, "max_body_bytes = 65536", "")).unwrap();
    assert_eq!(
        fetch(&source, people().main).await,
        Err(SourceError::TooLarge { limit: 65536 })
    );
}

#[tokio::test]
async fn parser_limits_come_from_the_options() {
    let server = start().await;
    let source = build_adapter(&spec_text(server.addr, "", "max_elements = 100")).unwrap();
    assert_eq!(
        fetch(&source, people().main).await,
        Err(SourceError::Malformed(
            "GetPersonSummary answer: the document has more than the limit of 100 elements".into()
        ))
    );
    let source = build_adapter(&spec_text(server.addr, "", "max_items = 4")).unwrap();
    let record = fetch(&source, people().main).await.unwrap();
    assert_eq!(record.items.len(), 4);
    assert!(record.issues.iter().any(|i| i.kind == IssueKind::Truncated));
}

#[tokio::test]
async fn an_unreachable_service_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = fetch(&adapter(addr), people().main).await.unwrap_err();
    let SourceError::Unavailable(message) = &err else {
        panic!("{err:?}")
    };
    assert!(
        message.starts_with("GetPersonSummary: cannot connect"),
        "{message}"
    );
}

#[test]
fn registrations_are_checked() {
    let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
    let err = |text: &str| build_adapter(text).err().map(|e| e.to_string());
    assert_eq!(err(&spec_text(addr, "", "")), None,);
    assert_eq!(
        err(&spec_text(addr, "", "max_depth = 4")),
        Some("options.max_depth: must be between 8 and 256".into())
    );
    assert_eq!(
        err(&spec_text(addr, "", "soap_action = \"a b\"")),
        Some("options.soap_action: must be 1 to 512 printable ASCII characters, without spaces or quotes".into())
    );
    assert!(
        err(&spec_text(addr, "", "page_size = 3"))
            .unwrap()
            .starts_with("options.page_size: unknown field"),
    );
    let with_medications = spec_text(addr, "", "").replace(
        "sections = [\"demographics\"",
        "sections = [\"medications\", \"demographics\"",
    );
    assert_eq!(
        err(&with_medications),
        Some("sections: a soap-xml person summary provides only demographics,contacts,care_team,documents,appointments,alerts; remove the others".into())
    );
    let ftp = spec_text(addr, "", "").replace("endpoint = \"http://", "endpoint = \"ftp://");
    assert_eq!(
        err(&ftp),
        Some("endpoint: must be an http or https URL".into())
    );
}
