//! The adapter against a real MLLP server on loopback, written here: a
//! normal answer, not found, application errors, another person's answer,
//! silence, a truncated frame, a reset, an oversized frame, garbage, and
//! the connection pool (reuse, no reuse after an error, a bound, an idle
//! timeout, a connection the source dropped).

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use icr_adapter_hl7v2::{Hl7v2Options, Hl7v2Source, KIND, build};
use icr_adapter_sdk::{BuildError, FetchRequest, Registry, SourceAdapter, SourceError};
use icr_hl7v2::mllp::{Deframer, encode_frame};
use icr_hl7v2::{Limits, Message};
use icr_model::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::time::Instant;

/// What the test server was asked.
#[derive(Clone, Debug)]
struct Asked {
    control_id: String,
    tag: String,
    nhs: String,
    /// 1 for the first query on its connection.
    on_connection: usize,
}

/// What the test server does with one query.
enum Reply {
    /// Answer with this message, framed.
    Frame(Vec<u8>),
    /// Write these bytes as they are.
    Raw(Vec<u8>),
    /// Write these bytes, then close.
    RawThenClose(Vec<u8>),
    /// Write these bytes, then reset the connection.
    RawThenReset(Vec<u8>),
    /// Close without answering.
    Close,
    /// Never answer.
    Silence,
    /// Wait, then reply.
    After(Duration, Box<Reply>),
}

struct Server {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    queries: Arc<Mutex<Vec<String>>>,
}

impl Server {
    fn endpoint(&self) -> String {
        format!("mllp://{}", self.addr)
    }

    fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }
}

type Handler = Arc<dyn Fn(&Asked) -> Reply + Send + Sync>;

async fn serve(handler: impl Fn(&Asked) -> Reply + Send + Sync + 'static) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let queries = Arc::new(Mutex::new(Vec::new()));
    let handler: Handler = Arc::new(handler);
    let (a, q) = (Arc::clone(&accepted), Arc::clone(&queries));
    tokio::spawn(async move {
        loop {
            let Ok((sock, _)) = listener.accept().await else {
                return;
            };
            a.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(connection(sock, Arc::clone(&handler), Arc::clone(&q)));
        }
    });
    Server {
        addr,
        accepted,
        queries,
    }
}

async fn connection(mut sock: TcpStream, handler: Handler, queries: Arc<Mutex<Vec<String>>>) {
    let mut deframer = Deframer::new(1 << 20);
    let mut buf = [0u8; 4096];
    let mut on_connection = 0;
    loop {
        let n = match sock.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        if deframer.push(&buf[..n]).is_err() {
            return;
        }
        while let Some(frame) = deframer.next_frame() {
            on_connection += 1;
            let m = Message::parse(&frame, &Limits::default()).unwrap();
            let qpd = m.segment("QPD").unwrap();
            let asked = Asked {
                control_id: m.msh().field(10).text().into_owned(),
                tag: qpd.field(2).text().into_owned(),
                nhs: qpd.field(3).text().into_owned(),
                on_connection,
            };
            queries
                .lock()
                .unwrap()
                .push(String::from_utf8(frame).unwrap());
            let mut reply = handler(&asked);
            while let Reply::After(wait, then) = reply {
                tokio::time::sleep(wait).await;
                reply = *then;
            }
            match reply {
                Reply::Frame(m) => {
                    let _ = sock.write_all(&encode_frame(&m).unwrap()).await;
                }
                Reply::Raw(b) => {
                    let _ = sock.write_all(&b).await;
                }
                Reply::RawThenClose(b) => {
                    let _ = sock.write_all(&b).await;
                    return;
                }
                Reply::RawThenReset(b) => {
                    let _ = sock.write_all(&b).await;
                    let _ = sock.flush().await;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let _ = sock.set_zero_linger();
                    return;
                }
                Reply::Close => return,
                Reply::Silence | Reply::After(..) => {}
            }
        }
    }
}

/// The lab panel answer for whoever was asked about.
fn answer(asked: &Asked, qak2: &str, body: Vec<String>) -> Vec<u8> {
    rsp_for(
        &asked.control_id,
        &asked.tag,
        "20240501101500+0100",
        "AA",
        qak2,
        &body,
    )
}

/// Answers the panel for the NHS number asked about.
fn normal(asked: &Asked) -> Reply {
    let nhs = asked.nhs.clone();
    Reply::Frame(answer(asked, "OK", panel_for(&nhs)))
}

fn source(server: &Server, timeout_ms: u64, options: &str) -> Hl7v2Source {
    let spec = spec(&server.endpoint(), timeout_ms, options);
    Hl7v2Source::new(&spec, KIND.check(&spec).unwrap()).unwrap()
}

fn request(ms: u64) -> FetchRequest {
    FetchRequest::system(
        nhs(),
        [Section::Results].into_iter().collect(),
        Instant::now() + Duration::from_millis(ms),
    )
}

#[tokio::test]
async fn a_normal_answer_and_the_query_sent() {
    let server = serve(normal).await;
    let src = source(
        &server,
        3000,
        r#"sending_application = "ICR-GW"
sending_facility = "X26"
receiving_application = "WINPATH"
quantity_limit = 250"#,
    );
    let record = src.fetch(&request(3000)).await.unwrap();
    assert_eq!(record.items.len(), 2);
    assert!(record.issues.is_empty());
    let Entry::Result(obs) = &record.items[1].entry else {
        panic!()
    };
    assert_eq!(
        obs.value.as_ref().and_then(|v| match v {
            ResultValue::Quantity(q) => q.value,
            _ => None,
        }),
        Some(4.1)
    );
    assert_eq!(
        record.items[0].provenance.record.to_string(),
        "lab:report/FL1@WINPATH"
    );

    let queries = server.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 1);
    let q = Message::parse(queries[0].as_bytes(), &Limits::default()).unwrap();
    let ids: Vec<&str> = q.segments().map(|s| s.id()).collect();
    assert_eq!(ids, ["MSH", "QPD", "RCP"]);
    let msh = q.msh();
    assert_eq!(msh.field(3).text(), "ICR-GW");
    assert_eq!(msh.field(4).text(), "X26");
    assert_eq!(msh.field(5).text(), "WINPATH");
    assert_eq!(
        msh.field(6).text(),
        "RD1",
        "the source's ODS code by default"
    );
    assert_eq!(q.message_type(), ["QBP", "Q11", "QBP_Q11"]);
    assert_eq!(msh.field(10).text().len(), 20);
    assert_eq!(msh.field(11).text(), "P");
    assert_eq!(q.version(), "2.5.1");
    assert!(msh.field(7).text().ends_with("+0000"));
    let qpd = q.segment("QPD").unwrap();
    assert_eq!(
        qpd.field(1).raw(),
        "ICR_RESULTS^Results for patient^HL70471"
    );
    assert_eq!(qpd.field(2).text().len(), 20);
    assert_ne!(qpd.field(2).text(), msh.field(10).text());
    assert_eq!(qpd.field(3).raw(), "9990000018^^^NHS^NH");
    assert_eq!(q.segment("RCP").unwrap().field(2).raw(), "250^RD");
    assert_eq!(q.segment("RCP").unwrap().field(1).raw(), "I");
}

#[tokio::test]
async fn not_found() {
    let server = serve(|a| Reply::Frame(answer(a, "NF", vec![]))).await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(err, SourceError::PatientNotFound);
    assert_eq!(err.status_name(), "not_found");
}

#[tokio::test]
async fn application_errors_carry_the_code_and_the_sources_own_words() {
    let server = serve(|a| {
        let msa1 = if a.on_connection == 1 { "AE" } else { "AR" };
        Reply::Frame(rsp_for(
            &a.control_id,
            &a.tag,
            "20240501",
            msa1,
            "AE",
            &[seg(
                "ERR",
                &[
                    (3, "204^Unknown key identifier^HL70357"),
                    (4, "E"),
                    (8, "No patient 9990000018 Testperson"),
                ],
            )],
        ))
    })
    .await;
    let src = source(&server, 3000, "");
    let err = src.fetch(&request(3000)).await.unwrap_err();
    // The words go to the caller who asked about this person (never to a
    // log), bounded and on one line.
    assert_eq!(
        err,
        SourceError::Refused(
            "the source answered with an application error (MSA-1 AE): ERR code 204 (unknown key identifier): the source said \"No patient 9990000018 Testperson\""
                .into()
        )
    );
    assert_eq!(err.status_name(), "error");
}

#[tokio::test]
async fn a_rejected_query() {
    let server = serve(|a| {
        Reply::Frame(rsp_for(
            &a.control_id,
            &a.tag,
            "20240501",
            "AR",
            "AR",
            &[seg(
                "ERR",
                &[(3, "202^Unsupported processing id^HL70357"), (4, "E")],
            )],
        ))
    })
    .await;
    let err = source(&server, 3000, r#"processing_id = "T""#)
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Refused(
            "the source rejected the query (MSA-1 AR): ERR code 202 (unsupported processing id)"
                .into()
        )
    );
    let q = server.queries.lock().unwrap()[0].clone();
    assert!(
        q.contains("|QBP^Q11^QBP_Q11|") && q.contains("|T|2.5.1"),
        "{q}"
    );
}

#[tokio::test]
async fn another_persons_answer_is_an_identity_mismatch() {
    let server = serve(|a| Reply::Frame(answer(a, "OK", panel_for(other_nhs().as_str())))).await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::IdentityMismatch("the answer's PID is about another NHS number".into())
    );
}

#[tokio::test]
async fn a_server_that_never_answers_is_a_timeout_at_the_deadline() {
    let server = serve(|_| Reply::Silence).await;
    let src = source(&server, 3000, "");
    let started = std::time::Instant::now();
    let err = src.fetch(&request(300)).await.unwrap_err();
    let SourceError::Timeout { after_ms } = err else {
        panic!("{err:?}")
    };
    assert!((250..2000).contains(&after_ms), "{after_ms}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_eq!(
        src.connections_idle(),
        0,
        "a timed-out connection is not kept"
    );
}

#[tokio::test]
async fn a_truncated_frame() {
    let server = serve(|a| {
        let full = encode_frame(&answer(a, "OK", panel_for(&a.nhs))).unwrap();
        Reply::RawThenClose(full[..full.len() / 2].to_vec())
    })
    .await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Unavailable(
            "the connection closed in the middle of the answer (truncated MLLP frame)".into()
        )
    );
}

#[tokio::test]
async fn a_connection_reset_mid_frame() {
    let server = serve(|a| {
        let full = encode_frame(&answer(a, "OK", panel_for(&a.nhs))).unwrap();
        Reply::RawThenReset(full[..full.len() / 2].to_vec())
    })
    .await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Unavailable(
            "the connection failed in the middle of the answer: connection reset".into()
        )
    );
    assert_eq!(err.status_name(), "unavailable");
}

#[tokio::test]
async fn a_closed_connection_before_any_answer() {
    let server = serve(|_| Reply::Close).await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Unavailable("the connection closed before an answer".into())
    );
}

#[tokio::test]
async fn an_oversized_frame() {
    let server = serve(|a| {
        let mut body = panel_for(&a.nhs);
        for i in 0..100 {
            body.push(seg("NTE", &[(1, &i.to_string()), (3, &"x".repeat(100))]));
        }
        Reply::Frame(answer(a, "OK", body))
    })
    .await;
    let err = source(&server, 3000, "max_message_bytes = 2048")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(err, SourceError::TooLarge { limit: 2048 });
}

#[tokio::test]
async fn bytes_outside_a_frame() {
    let server = serve(|_| Reply::Raw(b"HTTP/1.1 400 Bad Request\r\n\r\n".to_vec())).await;
    let err = source(&server, 3000, "")
        .fetch(&request(3000))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        SourceError::Malformed("bytes outside an MLLP frame".into())
    );
}

#[tokio::test]
async fn a_refused_connection_is_unavailable() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let spec = spec(&format!("mllp://{addr}"), 3000, "");
    let settings = Hl7v2Options::default().settings(&spec).unwrap();
    let src = Hl7v2Source::new(&spec, settings).unwrap();
    let err = src.fetch(&request(3000)).await.unwrap_err();
    assert_eq!(
        err,
        SourceError::Unavailable("cannot connect: connection refused".into())
    );
}

#[tokio::test]
async fn two_fetches_share_one_connection() {
    let server = serve(normal).await;
    let src = source(&server, 3000, "");
    for _ in 0..3 {
        assert_eq!(src.fetch(&request(3000)).await.unwrap().items.len(), 2);
    }
    assert_eq!(server.accepted(), 1);
    assert_eq!(src.connections_opened(), 1);
    assert_eq!(src.connections_idle(), 1);
    // not found is a clean answer: the connection is kept
    let nf = serve(|a| Reply::Frame(answer(a, "NF", vec![]))).await;
    let src = source(&nf, 3000, "");
    for _ in 0..2 {
        assert_eq!(
            src.fetch(&request(3000)).await,
            Err(SourceError::PatientNotFound)
        );
    }
    assert_eq!(nf.accepted(), 1);
}

#[tokio::test]
async fn no_reuse_after_an_error() {
    // query 1: someone else's answer; 3: an application error; others fine
    let count = AtomicUsize::new(0);
    let server = serve(move |a| match count.fetch_add(1, Ordering::SeqCst) + 1 {
        1 => Reply::Frame(answer(a, "OK", panel_for(other_nhs().as_str()))),
        3 => Reply::Frame(rsp_for(&a.control_id, &a.tag, "20240501", "AE", "AE", &[])),
        _ => normal(a),
    })
    .await;
    let src = source(&server, 3000, "");
    let outcomes: Vec<bool> = {
        let mut v = Vec::new();
        for _ in 0..4 {
            v.push(src.fetch(&request(3000)).await.is_ok());
        }
        v
    };
    assert_eq!(outcomes, [false, true, false, true]);
    // 1 on A (closed after the error), 2 and 3 on B (closed after the
    // error), 4 on C
    assert_eq!(server.accepted(), 3);
    assert_eq!(src.connections_idle(), 1);

    // a timeout closes the connection too
    let count = AtomicUsize::new(0);
    let slow_first = serve(move |a| {
        if count.fetch_add(1, Ordering::SeqCst) == 0 {
            Reply::After(Duration::from_millis(600), Box::new(normal(a)))
        } else {
            normal(a)
        }
    })
    .await;
    let src = source(&slow_first, 3000, "");
    assert!(matches!(
        src.fetch(&request(200)).await,
        Err(SourceError::Timeout { .. })
    ));
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(slow_first.accepted(), 2);
}

#[tokio::test]
async fn garbage_after_the_answer_closes_the_connection() {
    let server = serve(|a| {
        let mut bytes = encode_frame(&answer(a, "OK", panel_for(&a.nhs))).unwrap();
        bytes.extend_from_slice(b"\x0bstray");
        Reply::Raw(bytes)
    })
    .await;
    let src = source(&server, 3000, "");
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(src.connections_idle(), 0);
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(server.accepted(), 2);
}

#[tokio::test]
async fn a_connection_the_source_dropped_is_replaced() {
    // closed after answering: found closed before reuse
    let server =
        serve(|a| Reply::RawThenClose(encode_frame(&answer(a, "OK", panel_for(&a.nhs))).unwrap()))
            .await;
    let src = source(&server, 3000, "");
    for _ in 0..2 {
        assert!(src.fetch(&request(3000)).await.is_ok());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server.accepted(), 2);

    // closed when the second query arrives: sent again on a new connection
    let server = serve(|a| {
        if a.on_connection == 1 {
            normal(a)
        } else {
            Reply::Close
        }
    })
    .await;
    let src = source(&server, 3000, "");
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(server.accepted(), 2);
    assert_eq!(server.queries.lock().unwrap().len(), 3);
}

#[tokio::test]
async fn connections_are_bounded() {
    let server = serve(|a| Reply::After(Duration::from_millis(100), Box::new(normal(a)))).await;
    let src = Arc::new(source(&server, 3000, "max_connections = 2"));
    let fetches: Vec<_> = (0..6)
        .map(|_| {
            let src = Arc::clone(&src);
            tokio::spawn(async move { src.fetch(&request(5000)).await })
        })
        .collect();
    for f in fetches {
        assert!(f.await.unwrap().is_ok());
    }
    assert_eq!(server.accepted(), 2);
    assert_eq!(src.connections_opened(), 2);
    // a request that cannot get a connection before its deadline times out
    let busy = serve(|_| Reply::Silence).await;
    let src = Arc::new(source(&busy, 3000, "max_connections = 1"));
    let first = {
        let src = Arc::clone(&src);
        tokio::spawn(async move { src.fetch(&request(1000)).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = src.fetch(&request(200)).await;
    assert!(
        matches!(second, Err(SourceError::Timeout { .. })),
        "{second:?}"
    );
    assert!(first.await.unwrap().is_err());
    assert_eq!(busy.accepted(), 1);
}

#[tokio::test]
async fn idle_connections_are_closed_after_the_idle_timeout() {
    let server = serve(normal).await;
    let src = source(&server, 3000, "idle_timeout_ms = 100");
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(src.connections_idle(), 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(src.connections_idle(), 0);
    assert!(src.fetch(&request(3000)).await.is_ok());
    assert_eq!(server.accepted(), 2);

    let never_kept = source(&server, 3000, "idle_timeout_ms = 0");
    assert!(never_kept.fetch(&request(3000)).await.is_ok());
    assert_eq!(never_kept.connections_idle(), 0);
}

#[tokio::test]
async fn no_query_for_sections_a_lab_does_not_hold() {
    let server = serve(normal).await;
    let src = source(&server, 3000, "");
    let req = FetchRequest::system(
        nhs(),
        [Section::Demographics].into_iter().collect(),
        Instant::now() + Duration::from_secs(3),
    );
    let record = src.fetch(&req).await.unwrap();
    assert!(record.items.is_empty());
    assert_eq!(server.accepted(), 0);
}

#[tokio::test]
async fn through_the_registry() {
    let server = serve(normal).await;
    let mut registry = Registry::new();
    registry.register(&KIND);
    let adapter = registry.build(&spec(&server.endpoint(), 3000, "")).unwrap();
    assert_eq!(adapter.fetch(&request(3000)).await.unwrap().items.len(), 2);
    let tcp = spec(&format!("tcp://{}", server.addr), 3000, "");
    assert!(registry.build(&tcp).is_ok());
}

#[test]
fn bad_registrations_name_the_key() {
    let key = |endpoint: &str, options: &str| match build(&spec(endpoint, 3000, options)) {
        Err(BuildError::Option { key, .. }) => key,
        Err(e) => panic!("{e}"),
        Ok(_) => panic!("accepted {endpoint} {options}"),
    };
    let ok = "mllp://127.0.0.1:2575";
    assert_eq!(key("http://127.0.0.1:2575", ""), "endpoint");
    assert_eq!(key("mllp://127.0.0.1", ""), "endpoint");
    assert_eq!(key(ok, "max_connections = 0"), "options.max_connections");
    assert_eq!(key(ok, "max_connections = 65"), "options.max_connections");
    assert_eq!(
        key(ok, "idle_timeout_ms = 600001"),
        "options.idle_timeout_ms"
    );
    assert_eq!(
        key(ok, "max_message_bytes = 100"),
        "options.max_message_bytes"
    );
    assert_eq!(
        key(ok, "max_message_bytes = 70000"),
        "options.max_message_bytes",
        "over max_body_bytes"
    );
    assert_eq!(key(ok, "quantity_limit = 0"), "options.quantity_limit");
    assert_eq!(key(ok, r#"processing_id = "X""#), "options.processing_id");
    assert_eq!(
        key(ok, r#"local_time_zone = "Mars/Base""#),
        "options.local_time_zone"
    );
    assert_eq!(key(ok, "page_size = 5"), "options.page_size");
    assert_eq!(
        key(ok, "sending_facility = \"a\\rb\""),
        "options.sending_facility"
    );
    assert!(build(&spec(ok, 3000, r#"local_time_zone = "UTC""#)).is_ok());
}

/// The registration proposed for `config/demo/sources.d/pathology.toml`
/// (radiology's differs only in id, names, ODS code Y9R01 and port 9302).
const DEMO_REGISTRATION: &str = r#"# Wiltshire and Bath Pathology Network: laboratory results over HL7 v2 (MLLP).
id = "pathology"
organisation = "Wiltshire and Bath Pathology Network"
ods_code = "Y9P01"
kind = "hl7v2"
system = "Simulated laboratory system (HL7 v2.5.1 over MLLP)"
endpoint = "mllp://127.0.0.1:9301"
sections = ["results"]
timeout_ms = 3000
cache_ttl_s = 60
max_body_bytes = 4194304

[options]
sending_application = "ICR"
sending_facility = "ICR"
receiving_application = "PATHOLOGY"
receiving_facility = "Y9P01"
processing_id = "P"
max_connections = 4
idle_timeout_ms = 30000
max_message_bytes = 4194304
quantity_limit = 500
local_time_zone = "Europe/London"
"#;

#[test]
fn the_demo_registration_builds() {
    let spec: icr_adapter_sdk::SourceSpec = toml::from_str(DEMO_REGISTRATION).unwrap();
    let mut registry = Registry::new();
    registry.register(&KIND);
    assert!(registry.build(&spec).is_ok());
    let options: Hl7v2Options = spec.options().unwrap();
    assert_eq!(options.receiving_application, "PATHOLOGY");
    assert_eq!(options.quantity_limit, 500);
}
