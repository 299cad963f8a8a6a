//! Every chaos mode against every simulated protocol, over real sockets:
//! a raw client (HTTP/1.1 by hand, or reqwest, or MLLP by hand) checks
//! exactly what arrives.

mod common;

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use icr_fhir_stu3::jwt::{self, Claims, Device, Organization, Practitioner};
use icr_fhir_stu3::{HumanName, Identifier};
use icr_hl7v2::{Limits, Message};
use icr_model::NhsNumber;
use icr_sim::chaos::{Chaos, answers_in_full, wrong_patient_for};
use icr_sim::{Fault, Org, Population, Sim, SimConfig};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const SIZE: usize = 300;
const NHS_SYSTEM: &str = "https://fhir.nhs.uk/Id/nhs-number";
const UUID: &str = "60a3fd22-9f4b-4b6e-8f6b-3f0d5c2a11e7";
/// How long "no answer" is waited for.
const QUIET: Duration = Duration::from_millis(300);
/// How long any answer may take in these tests.
const BUDGET: Duration = Duration::from_secs(10);

fn population() -> &'static Population {
    static POP: OnceLock<Population> = OnceLock::new();
    POP.get_or_init(|| Population::generate(common::SEED, SIZE))
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Proto {
    FhirR4,
    Pds,
    GpConnect,
    Soap,
    Cda,
    Hl7v2,
}

/// A running simulator serving one organisation of a protocol, and the
/// person the tests ask about.
struct Setup {
    sim: Sim,
    proto: Proto,
    org: Org,
    nhs: NhsNumber,
    addr: SocketAddr,
    endpoint: String,
}

/// A request, independent of the client that sends it.
struct Req {
    method: &'static str,
    path: String,
    headers: Vec<(&'static str, String)>,
    body: Vec<u8>,
}

impl Proto {
    /// The organisation and a person it answers in full.
    fn target(self) -> (Org, NhsNumber) {
        let pop = population();
        let candidates: Vec<Org> = match self {
            Proto::FhirR4 => vec![Org::GWH],
            Proto::Pds => vec![Org::PDS],
            Proto::GpConnect => Org::of_kind(icr_sim::Kind::GpConnect).collect(),
            Proto::Soap => vec![
                Org::WILTSHIRE_COUNCIL,
                Org::SWINDON_COUNCIL,
                Org::BANES_COUNCIL,
            ],
            Proto::Cda => vec![Org::MEDVIVO],
            Proto::Hl7v2 => vec![Org::PATHOLOGY],
        };
        pop.iter()
            .find_map(|p| {
                candidates
                    .iter()
                    .find(|o| answers_in_full(p, **o))
                    .map(|o| (*o, p.nhs_number))
            })
            .expect("someone is answered in full")
    }

    fn is_http(self) -> bool {
        self != Proto::Hl7v2
    }
}

async fn setup(proto: Proto, chaos: Option<Chaos>) -> Setup {
    let (org, nhs) = proto.target();
    let mut config = SimConfig::only(common::SEED, SIZE, &[org]);
    config.as_of = Some(population().as_of());
    let sim = Sim::start(config).await.expect("the simulator starts");
    sim.set_fault(
        org.id(),
        Fault {
            chaos,
            ..Fault::default()
        },
    )
    .await
    .expect("fault set");
    let addr = sim.source_addr(org.id()).expect("address");
    let endpoint = sim.endpoint(org.id()).expect("endpoint");
    Setup {
        sim,
        proto,
        org,
        nhs,
        addr,
        endpoint,
    }
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

impl Setup {
    /// The protocol's request about the setup's person (HTTP modules).
    fn request(&self) -> Req {
        let base = self
            .endpoint
            .strip_prefix(&format!("http://{}", self.addr))
            .unwrap_or_default()
            .to_string();
        let nhs = self.nhs;
        match self.proto {
            Proto::FhirR4 => Req {
                method: "GET",
                path: format!("{base}/Patient?identifier={NHS_SYSTEM}|{nhs}"),
                headers: vec![],
                body: vec![],
            },
            Proto::Pds => Req {
                method: "GET",
                path: format!("{base}/Patient/{nhs}"),
                headers: vec![("X-Request-ID", UUID.into())],
                body: vec![],
            },
            Proto::GpConnect => {
                let aud = format!("http://{}{base}", self.addr);
                let token = jwt::token(&claims(&aud)).expect("token");
                let body = serde_json::json!({
                    "resourceType": "Parameters",
                    "parameter": [{"name": "patientNHSNumber", "valueIdentifier": {"system": NHS_SYSTEM, "value": nhs.as_str()}}]
                });
                Req {
                    method: "POST",
                    path: format!("{base}/Patient/$gpc.getstructuredrecord"),
                    headers: vec![
                        ("Ssp-TraceID", UUID.into()),
                        ("Ssp-From", "200000000115".into()),
                        ("Ssp-To", icr_sim::gpconnect::provider_asid(self.org)),
                        (
                            "Ssp-InteractionID",
                            icr_fhir_stu3::gpc::INTERACTION_ID.into(),
                        ),
                        ("Authorization", format!("Bearer {token}")),
                        ("Content-Type", "application/fhir+json".into()),
                    ],
                    body: serde_json::to_vec(&body).expect("json"),
                }
            }
            Proto::Soap => Req {
                method: "POST",
                path: base,
                headers: vec![
                    ("Content-Type", "text/xml; charset=utf-8".into()),
                    (
                        "SOAPAction",
                        format!("\"{}\"", icr_sim::soap::SOAP_ACTION),
                    ),
                ],
                body: format!(
                    r#"<?xml version="1.0" encoding="utf-8"?>
<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" xmlns:ps="urn:icr:socialcare:personsummary:1">
  <soap:Body>
    <ps:GetPersonSummary>
      <ps:CorrelationId>{UUID}</ps:CorrelationId>
      <ps:RequestedBy><ps:UserId>u1</ps:UserId><ps:Name>Dr A</ps:Name><ps:Role>R8000</ps:Role><ps:Organisation>RN3</ps:Organisation></ps:RequestedBy>
      <ps:Purpose>directcare</ps:Purpose>
      <ps:NhsNumber>{nhs}</ps:NhsNumber>
    </ps:GetPersonSummary>
  </soap:Body>
</soap:Envelope>"#
                )
                .into_bytes(),
            },
            Proto::Cda => Req {
                method: "GET",
                path: format!("{base}/DocumentReference?patient.identifier={NHS_SYSTEM}|{nhs}"),
                headers: vec![],
                body: vec![],
            },
            Proto::Hl7v2 => unreachable!("MLLP has no HTTP request"),
        }
    }

    /// What is written on the wire: the HTTP/1.1 request (closing the
    /// connection after it), or the framed HL7 query.
    fn wire(&self) -> Vec<u8> {
        if !self.proto.is_http() {
            let q = format!(
                "MSH|^~\\&|ICR|ICR|LAB|Y9P01|20251124120000+0000||QBP^Q11^QBP_Q11|C1|P|2.5.1\r\
                 QPD|ICR_RESULTS^Results for patient^HL70471|T1|{}^^^NHS^NH\rRCP|I|50^RD\r",
                self.nhs
            );
            let mut out = vec![0x0B];
            out.extend_from_slice(q.as_bytes());
            out.extend_from_slice(&[0x1C, 0x0D]);
            return out;
        }
        let r = self.request();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
            r.method,
            r.path,
            self.addr,
            r.body.len()
        );
        for (n, v) in &r.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let mut out = head.into_bytes();
        out.extend_from_slice(&r.body);
        out
    }

    /// The same request through reqwest.
    fn reqwest(&self, c: &reqwest::Client) -> reqwest::RequestBuilder {
        let r = self.request();
        let url = format!("http://{}{}", self.addr, r.path);
        let mut b = match r.method {
            "POST" => c.post(url),
            _ => c.get(url),
        };
        for (n, v) in r.headers {
            b = b.header(n, v);
        }
        b.body(r.body)
    }
}

/// How a raw exchange ended.
#[derive(Debug, PartialEq)]
enum End {
    /// The server closed the connection cleanly.
    Eof,
    /// The connection was reset.
    Reset,
    /// Nothing more arrived within the time allowed; still open.
    Quiet,
    /// A whole MLLP frame arrived (the connection stays open).
    Frame,
    /// Another error.
    Other(std::io::ErrorKind),
}

/// Sends the setup's request on a fresh connection and reads until the
/// server closes or resets it, a whole MLLP frame arrives, or `wait`
/// passes with nothing new.
async fn raw(s: &Setup, wait: Duration) -> (Vec<u8>, End, Duration) {
    let mut stream = TcpStream::connect(s.addr).await.expect("connected");
    let start = Instant::now();
    stream.write_all(&s.wire()).await.expect("written");
    let mut got = Vec::new();
    let mut buf = vec![0u8; 64 * 1024];
    let end = loop {
        if start.elapsed() > BUDGET {
            break End::Quiet;
        }
        match tokio::time::timeout(wait, stream.read(&mut buf)).await {
            Err(_) => break End::Quiet,
            Ok(Ok(0)) => break End::Eof,
            Ok(Ok(n)) => {
                got.extend_from_slice(&buf[..n]);
                if !s.proto.is_http() && got.ends_with(&[0x1C, 0x0D]) {
                    break End::Frame;
                }
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionReset => break End::Reset,
            Ok(Err(e)) => break End::Other(e.kind()),
        }
    };
    (got, end, start.elapsed())
}

/// An HTTP/1.1 answer split: status, headers (lower-case names), body.
fn split_http(bytes: &[u8]) -> (u16, Vec<(String, String)>, &[u8]) {
    let at = bytes
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a whole head");
    let head = std::str::from_utf8(&bytes[..at]).expect("ASCII head");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    (status, headers, &bytes[at + 4..])
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}

fn content_length(headers: &[(String, String)]) -> usize {
    header(headers, "content-length")
        .and_then(|v| v.parse().ok())
        .expect("a Content-Length")
}

/// The NHS number a well-formed answer is about; `None` when it does not
/// parse as the protocol's answer.
fn about(proto: Proto, body: &[u8]) -> Option<String> {
    match proto {
        Proto::FhirR4 => {
            let v: Value = serde_json::from_slice(body).ok()?;
            v["entry"][0]["resource"]["identifier"][0]["value"]
                .as_str()
                .map(str::to_string)
        }
        Proto::Pds => {
            let v: Value = serde_json::from_slice(body).ok()?;
            v["id"].as_str().map(str::to_string)
        }
        Proto::GpConnect => {
            let v: Value = serde_json::from_slice(body).ok()?;
            v["entry"].as_array()?.iter().find_map(|e| {
                let r = &e["resource"];
                (r["resourceType"] == "Patient").then(|| {
                    r["identifier"]
                        .as_array()?
                        .iter()
                        .find(|i| i["system"] == NHS_SYSTEM)?["value"]
                        .as_str()
                        .map(str::to_string)
                })?
            })
        }
        Proto::Soap => {
            let text = std::str::from_utf8(body).ok()?;
            let whole = text.starts_with("<?xml") && text.trim_end().ends_with("</soap:Envelope>");
            if !whole || !text.contains("GetPersonSummaryResponse") {
                return None;
            }
            let (_, rest) = text.split_once("<ps:NhsNumber>")?;
            let (nhs, _) = rest.split_once("</ps:NhsNumber>")?;
            Some(nhs.to_string())
        }
        Proto::Cda => {
            let v: Value = serde_json::from_slice(body).ok()?;
            v["entry"][0]["resource"]["subject"]["identifier"]["value"]
                .as_str()
                .map(str::to_string)
        }
        Proto::Hl7v2 => {
            let inner = body.strip_prefix(&[0x0B])?.strip_suffix(&[0x1C, 0x0D])?;
            let m = Message::parse(inner, &Limits::default()).ok()?;
            let pid = m.segment("PID")?;
            Some(pid.field(3).repetition(1).component(1).text().into_owned())
        }
    }
}

/// The healthy answer's body (HTTP: without the head; MLLP: the frame).
async fn healthy(proto: Proto) -> (Vec<u8>, Option<String>) {
    let s = setup(proto, None).await;
    let (bytes, end, _) = raw(&s, BUDGET).await;
    s.sim.shutdown().await;
    if proto.is_http() {
        assert_eq!(end, End::Eof, "{proto:?}");
        let (status, headers, body) = split_http(&bytes);
        assert_eq!(status, 200, "{proto:?}");
        (
            body.to_vec(),
            header(&headers, "content-type").map(str::to_string),
        )
    } else {
        assert_eq!(end, End::Frame);
        (bytes, None)
    }
}

async fn json(r: reqwest::Response) -> Value {
    serde_json::from_slice(&r.bytes().await.expect("body")).expect("JSON")
}

// ---- the modes ----

async fn hang(proto: Proto) {
    let s = setup(proto, Some(Chaos::Hang)).await;
    let (bytes, end, _) = raw(&s, QUIET).await;
    assert!(bytes.is_empty(), "{proto:?}: {} bytes", bytes.len());
    assert_eq!(end, End::Quiet, "{proto:?}");
    s.sim.shutdown().await;
}

async fn silent(proto: Proto) {
    let s = setup(proto, Some(Chaos::Silent)).await;
    let (bytes, end, _) = raw(&s, QUIET).await;
    assert!(bytes.is_empty(), "{proto:?}: {} bytes", bytes.len());
    assert_eq!(end, End::Quiet, "{proto:?}");
    // Stopping the source closes the held connection.
    let mut stream = TcpStream::connect(s.addr).await.expect("connected");
    s.sim.shutdown().await;
    let mut buf = [0u8; 16];
    let r = tokio::time::timeout(BUDGET, stream.read(&mut buf)).await;
    assert!(matches!(r, Ok(Ok(0) | Err(_))), "{proto:?}: {r:?}");
}

async fn reset(proto: Proto) {
    let s = setup(proto, Some(Chaos::Reset)).await;
    let (bytes, end, _) = raw(&s, BUDGET).await;
    assert_eq!(end, End::Reset, "{proto:?}");
    if proto.is_http() {
        let (status, headers, body) = split_http(&bytes);
        assert_eq!(status, 200, "{proto:?}");
        let n = content_length(&headers);
        assert!(
            !body.is_empty() && body.len() <= n / 2,
            "{proto:?}: {} of {n}",
            body.len()
        );
        // And as a client library sees it: the head, then a broken body.
        let c = common::client();
        let r = s.reqwest(&c).send().await.expect("the head arrives");
        assert_eq!(r.status(), 200);
        assert!(r.bytes().await.is_err(), "{proto:?}");
    } else {
        assert_eq!(bytes.first(), Some(&0x0B), "{proto:?}");
        assert!(bytes.len() > 1 && !bytes.contains(&0x1C), "{proto:?}");
    }
    s.sim.shutdown().await;
}

async fn trickle(proto: Proto) {
    let (want, _) = healthy(proto).await;
    let chunk = want.len().div_ceil(4) as u64;
    let interval = 60;
    let s = setup(
        proto,
        Some(Chaos::Trickle {
            bytes: chunk,
            interval_ms: interval,
        }),
    )
    .await;
    let (bytes, end, took) = raw(&s, BUDGET).await;
    let body = if proto.is_http() {
        assert_eq!(end, End::Eof, "{proto:?}");
        let (status, headers, body) = split_http(&bytes);
        assert_eq!(status, 200);
        assert_eq!(content_length(&headers), body.len(), "{proto:?}");
        body.to_vec()
    } else {
        assert_eq!(end, End::Frame, "{proto:?}");
        bytes
    };
    assert_eq!(body.len(), want.len(), "{proto:?}");
    assert_eq!(about(proto, &body), Some(s.nhs.to_string()), "{proto:?}");
    let chunks = (want.len() as u64).div_ceil(chunk);
    assert!(chunks >= 3, "{proto:?}: {chunks}");
    assert!(
        took >= Duration::from_millis((chunks - 1) * interval),
        "{proto:?}: {chunks} chunks in {took:?}"
    );
    s.sim.shutdown().await;
}

async fn truncate(proto: Proto) {
    let s = setup(proto, Some(Chaos::Truncate)).await;
    let (bytes, end, _) = raw(&s, BUDGET).await;
    assert_eq!(end, End::Eof, "{proto:?}: a clean close");
    if proto.is_http() {
        let (status, headers, body) = split_http(&bytes);
        assert_eq!(status, 200);
        let n = content_length(&headers);
        assert_eq!(body.len(), n / 2, "{proto:?}: fewer bytes than announced");
        assert!(body.len() < n);
        assert!(about(proto, body).is_none(), "{proto:?}");
    } else {
        assert_eq!(bytes.first(), Some(&0x0B), "{proto:?}");
        assert!(bytes.len() > 1 && !bytes.contains(&0x1C), "{proto:?}");
    }
    s.sim.shutdown().await;
}

async fn garbage(proto: Proto) {
    let (_, content_type) = healthy(proto).await;
    let s = setup(proto, Some(Chaos::Garbage { bytes: Some(5000) })).await;
    let (bytes, end, _) = raw(&s, BUDGET).await;
    let body = if proto.is_http() {
        assert_eq!(end, End::Eof, "{proto:?}");
        let (status, headers, body) = split_http(&bytes);
        assert_eq!(status, 200, "{proto:?}");
        assert_eq!(
            header(&headers, "content-type").map(str::to_string),
            content_type,
            "{proto:?}"
        );
        assert_eq!(content_length(&headers), 5000);
        assert!(serde_json::from_slice::<Value>(body).is_err());
        assert!(std::str::from_utf8(body).is_err(), "{proto:?}: not text");
        body.to_vec()
    } else {
        assert_eq!(end, End::Frame, "{proto:?}");
        assert_eq!(bytes.len(), 5003);
        let inner = &bytes[1..bytes.len() - 2];
        assert!(!inner.contains(&0x0B) && !inner.contains(&0x1C));
        assert!(Message::parse(inner, &Limits::default()).is_err());
        bytes
    };
    assert!(about(proto, &body).is_none(), "{proto:?}");
    s.sim.shutdown().await;
}

async fn oversize(proto: Proto) {
    const N: u64 = 3 * 1024 * 1024 + 17;
    let s = setup(proto, Some(Chaos::Oversize { bytes: N })).await;
    if proto.is_http() {
        let c = common::client();
        let mut r = s.reqwest(&c).send().await.expect("answered");
        assert_eq!(r.status(), 200, "{proto:?}");
        assert!(r.headers().get("content-length").is_none(), "{proto:?}");
        let mut total = 0u64;
        let mut first = Vec::new();
        while let Some(chunk) = r.chunk().await.expect("streamed") {
            if first.is_empty() {
                first = chunk.to_vec();
            }
            total += chunk.len() as u64;
        }
        assert_eq!(total, N, "{proto:?}");
        assert!(matches!(first.first(), Some(b'{' | b'<')), "{proto:?}");
    } else {
        let (bytes, end, _) = raw(&s, BUDGET).await;
        assert_eq!(end, End::Frame, "{proto:?}");
        assert_eq!(bytes.len() as u64, N);
        assert!(bytes.starts_with(b"\x0bMSH|"));
        assert!(bytes.windows(8).any(|w| w == b"\rNTE|1||"));
    }
    s.sim.shutdown().await;
}

async fn status(proto: Proto) {
    let chaos = Chaos::Status {
        code: 503,
        retry_after_s: Some(7),
    };
    let s = setup(proto, Some(chaos)).await;
    if proto.is_http() {
        let c = common::client();
        let r = s.reqwest(&c).send().await.expect("answered");
        assert_eq!(r.status(), 503, "{proto:?}");
        assert_eq!(r.headers()["retry-after"], "7", "{proto:?}");
        let body = r.bytes().await.expect("body");
        if proto == Proto::Soap {
            let text = String::from_utf8_lossy(&body);
            assert!(text.contains("soap:Fault"), "{text}");
        } else {
            let v: Value = serde_json::from_slice(&body).expect("JSON");
            assert_eq!(v["resourceType"], "OperationOutcome", "{proto:?}");
        }
    } else {
        for (code, ack) in [(503, "AE"), (429, "AR")] {
            s.sim
                .set_fault(
                    s.org.id(),
                    Fault {
                        chaos: Some(Chaos::Status {
                            code,
                            retry_after_s: Some(7),
                        }),
                        ..Fault::default()
                    },
                )
                .await
                .expect("fault");
            let (bytes, end, _) = raw(&s, BUDGET).await;
            assert_eq!(end, End::Frame);
            let m = Message::parse(&bytes[1..bytes.len() - 2], &Limits::default()).expect("HL7");
            let msa = m.segment("MSA").expect("MSA");
            assert_eq!(msa.field(1).text(), ack);
            assert_eq!(msa.field(2).text(), "C1");
            let err = m.segment("ERR").expect("ERR");
            assert_eq!(err.field(5).component(1).text(), code.to_string());
            assert!(err.field(8).text().contains("retry after 7 s"));
            assert!(m.segment("PID").is_none());
        }
    }
    s.sim.shutdown().await;
}

async fn wrong_patient(proto: Proto) {
    let s = setup(proto, Some(Chaos::WrongPatient)).await;
    let other = wrong_patient_for(population(), s.org, s.nhs).expect("someone else");
    assert_ne!(other, s.nhs);
    let (bytes, end, _) = raw(&s, BUDGET).await;
    let body = if proto.is_http() {
        assert_eq!(end, End::Eof, "{proto:?}");
        let (status, _, body) = split_http(&bytes);
        assert_eq!(status, 200, "{proto:?}");
        body.to_vec()
    } else {
        assert_eq!(end, End::Frame, "{proto:?}");
        bytes
    };
    assert_eq!(
        about(proto, &body),
        Some(other.to_string()),
        "{proto:?}: the answer is about the other person"
    );
    let c = common::client();
    match proto {
        // The follow-up search by the logical id returned is the other
        // person's too.
        Proto::FhirR4 => {
            let v: Value = serde_json::from_slice(&body).expect("JSON");
            let id = v["entry"][0]["resource"]["id"].as_str().expect("id");
            let (p, _) = population().by_local_id(s.org, id).expect("known id");
            assert_eq!(p.nhs_number, other);
            let url = format!("{}/Observation?patient={id}", s.endpoint);
            let r = json(c.get(url).send().await.unwrap()).await;
            for e in r["entry"].as_array().into_iter().flatten() {
                assert_eq!(
                    e["resource"]["subject"]["reference"],
                    format!("Patient/{id}")
                );
            }
        }
        // The document the registry points at is the other person's.
        Proto::Cda => {
            let v: Value = serde_json::from_slice(&body).expect("JSON");
            let url = v["entry"][0]["resource"]["content"][0]["attachment"]["url"]
                .as_str()
                .expect("a document link");
            let doc = c.get(url).send().await.unwrap().text().await.unwrap();
            assert!(doc.contains(&format!("extension=\"{other}\"")), "{doc}");
            assert!(!doc.contains(&format!("extension=\"{}\"", s.nhs)));
        }
        _ => {}
    }
    s.sim.shutdown().await;
}

macro_rules! chaos_tests {
    ($($name:ident: $mode:ident, $proto:ident;)*) => {
        $(
            #[tokio::test]
            async fn $name() {
                $mode(Proto::$proto).await;
            }
        )*
    };
}

chaos_tests! {
    hang_fhir_r4: hang, FhirR4;
    hang_pds: hang, Pds;
    hang_gp_connect: hang, GpConnect;
    hang_soap_xml: hang, Soap;
    hang_cda: hang, Cda;
    hang_hl7v2: hang, Hl7v2;
    silent_fhir_r4: silent, FhirR4;
    silent_pds: silent, Pds;
    silent_gp_connect: silent, GpConnect;
    silent_soap_xml: silent, Soap;
    silent_cda: silent, Cda;
    silent_hl7v2: silent, Hl7v2;
    reset_fhir_r4: reset, FhirR4;
    reset_pds: reset, Pds;
    reset_gp_connect: reset, GpConnect;
    reset_soap_xml: reset, Soap;
    reset_cda: reset, Cda;
    reset_hl7v2: reset, Hl7v2;
    trickle_fhir_r4: trickle, FhirR4;
    trickle_pds: trickle, Pds;
    trickle_gp_connect: trickle, GpConnect;
    trickle_soap_xml: trickle, Soap;
    trickle_cda: trickle, Cda;
    trickle_hl7v2: trickle, Hl7v2;
    truncate_fhir_r4: truncate, FhirR4;
    truncate_pds: truncate, Pds;
    truncate_gp_connect: truncate, GpConnect;
    truncate_soap_xml: truncate, Soap;
    truncate_cda: truncate, Cda;
    truncate_hl7v2: truncate, Hl7v2;
    garbage_fhir_r4: garbage, FhirR4;
    garbage_pds: garbage, Pds;
    garbage_gp_connect: garbage, GpConnect;
    garbage_soap_xml: garbage, Soap;
    garbage_cda: garbage, Cda;
    garbage_hl7v2: garbage, Hl7v2;
    oversize_fhir_r4: oversize, FhirR4;
    oversize_pds: oversize, Pds;
    oversize_gp_connect: oversize, GpConnect;
    oversize_soap_xml: oversize, Soap;
    oversize_cda: oversize, Cda;
    oversize_hl7v2: oversize, Hl7v2;
    status_fhir_r4: status, FhirR4;
    status_pds: status, Pds;
    status_gp_connect: status, GpConnect;
    status_soap_xml: status, Soap;
    status_cda: status, Cda;
    status_hl7v2: status, Hl7v2;
    wrong_patient_fhir_r4: wrong_patient, FhirR4;
    wrong_patient_pds: wrong_patient, Pds;
    wrong_patient_gp_connect: wrong_patient, GpConnect;
    wrong_patient_soap_xml: wrong_patient, Soap;
    wrong_patient_cda: wrong_patient, Cda;
    wrong_patient_hl7v2: wrong_patient, Hl7v2;
}

/// The healthy answers the checks above rely on are what they expect.
#[tokio::test]
async fn healthy_answers_are_about_the_person_asked() {
    for proto in [
        Proto::FhirR4,
        Proto::Pds,
        Proto::GpConnect,
        Proto::Soap,
        Proto::Cda,
        Proto::Hl7v2,
    ] {
        let (body, _) = healthy(proto).await;
        let (_, nhs) = proto.target();
        assert_eq!(about(proto, &body), Some(nhs.to_string()), "{proto:?}");
    }
}

/// `chaos_rate` strikes about that share of requests, and the control API
/// takes and shows the chaos fields.
#[tokio::test]
async fn chaos_rate_and_the_control_api() {
    let s = setup(Proto::Pds, None).await;
    let c = common::client();
    let control = format!("http://{}", s.sim.control_addr().expect("control"));
    let r = c
        .put(format!("{control}/sources/pds/fault"))
        .body(
            r#"{"chaos": {"mode": "status", "code": 429, "retry_after_s": 1}, "chaos_rate": 0.5}"#,
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let v = json(r).await;
    assert_eq!(
        v["fault"]["chaos"],
        serde_json::json!({"mode": "status", "code": 429, "retry_after_s": 1})
    );
    assert_eq!(v["fault"]["chaos_rate"], 0.5);
    let all = json(c.get(format!("{control}/sources")).send().await.unwrap()).await;
    assert_eq!(all[0]["fault"]["chaos"]["mode"], "status");

    let mut struck = 0;
    for _ in 0..200 {
        let r = s.reqwest(&c).send().await.unwrap();
        match r.status().as_u16() {
            429 => struck += 1,
            200 => {}
            other => panic!("{other}"),
        }
    }
    assert!((60..=140).contains(&struck), "{struck} of 200");

    for (body, says) in [
        (r#"{"chaos": {"mode": "explode"}}"#, "unknown chaos mode"),
        (
            r#"{"chaos": {"mode": "hang", "bytes": 1}}"#,
            "takes no field",
        ),
        (
            r#"{"chaos": {"mode": "oversize", "bytes": 2000000000}}"#,
            "bytes must be between",
        ),
        (
            r#"{"chaos": {"mode": "hang"}, "chaos_rate": 3}"#,
            "chaos_rate",
        ),
        (
            r#"{"latency_ms": {"median": 500, "p99": 50}}"#,
            "latency median",
        ),
    ] {
        let r = c
            .put(format!("{control}/sources/pds/fault"))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{body}");
        let v = json(r).await;
        assert!(
            v["error"].as_str().unwrap_or("").contains(says),
            "{body}: {v}"
        );
    }
    s.sim.shutdown().await;
}
