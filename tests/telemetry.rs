//! Traces end to end: the demo region with OTLP export pointed at a
//! receiver started here. One record request gives one `request` span and,
//! in the same trace, one `source` span per source asked, with the
//! source's id, kind and outcome and never the NHS number; an HTTP source
//! receives the W3C `traceparent` of that trace.

mod common;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{copy_config, mint, start_demo_with_env};
use http_body_util::{BodyExt, Full};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;
use serde_json::Value;

/// A server that records each request's `traceparent` and body, answering
/// every request with `answer`.
async fn recorder(answer: &'static str) -> (SocketAddr, Arc<Mutex<Vec<(Option<String>, Bytes)>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let store = Arc::clone(&seen);
    tokio::spawn(async move {
        loop {
            let Ok((tcp, _)) = listener.accept().await else {
                return;
            };
            let store = Arc::clone(&store);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        let store = Arc::clone(&store);
                        async move {
                            let traceparent = req
                                .headers()
                                .get("traceparent")
                                .and_then(|v| v.to_str().ok())
                                .map(str::to_owned);
                            let body = req
                                .into_body()
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            store.lock().unwrap().push((traceparent, body));
                            let mut r = hyper::Response::new(Full::new(Bytes::from_static(
                                answer.as_bytes(),
                            )));
                            r.headers_mut()
                                .insert("content-type", "application/fhir+json".parse().unwrap());
                            Ok::<_, std::convert::Infallible>(r)
                        }
                    },
                );
                let _ = hyper_util::server::conn::auto::Builder::new(
                    hyper_util::rt::TokioExecutor::new(),
                )
                .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                .await;
            });
        }
    });
    (addr, seen)
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a Any> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref())
        .and_then(|v| v.value.as_ref())
}

fn text(span: &Span, key: &str) -> Option<String> {
    match attribute(span, key) {
        Some(Any::StringValue(s)) => Some(s.clone()),
        _ => None,
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_record_request_is_one_trace_with_a_span_per_source() {
    let (otlp, exported) = recorder("").await;
    // An extra FHIR source that knows nobody, to see what sources receive.
    let (fhir, received) =
        recorder(r#"{"resourceType":"Bundle","type":"searchset","total":0,"entry":[]}"#).await;
    let dir = copy_config("demo");
    std::fs::write(
        dir.join("sources.d/capture.toml"),
        format!(
            "id = \"capture\"\norganisation = \"A Trust\"\nods_code = \"RTE\"\nkind = \"fhir-r4\"\nendpoint = \"http://{fhir}/fhir\"\nsections = [\"allergies\"]\ncache_ttl_s = 0\n"
        ),
    )
    .unwrap();
    let endpoint = format!("http://{otlp}");
    let demo = start_demo_with_env(
        &dir,
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_BSP_SCHEDULE_DELAY", "100"),
        ],
    );
    let r = reqwest::Client::new()
        .get(format!("{}/v1/patients/9990000050/record", demo.gateway))
        .bearer_auth(mint("R8000", "RN3"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let view: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
    let asked: BTreeSet<String> = view["sources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["source"].as_str().unwrap().to_owned())
        .collect();
    assert!(asked.contains("capture") && asked.len() >= 13, "{asked:?}");

    // Wait for the batch to arrive.
    let started = Instant::now();
    let (request, spans) = loop {
        let spans: Vec<Span> = exported
            .lock()
            .unwrap()
            .iter()
            .filter_map(|(_, body)| ExportTraceServiceRequest::decode(body.as_ref()).ok())
            .flat_map(|e| e.resource_spans)
            .flat_map(|r| r.scope_spans)
            .flat_map(|s| s.spans)
            .collect();
        let request = spans
            .iter()
            .find(|s| s.name == "request" && text(s, "route").as_deref() == Some("record"))
            .cloned();
        if let Some(request) = request {
            let sources = spans
                .iter()
                .filter(|s| s.name == "source" && s.trace_id == request.trace_id)
                .count();
            if sources == asked.len() {
                break (request, spans);
            }
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "no complete trace exported"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let in_trace: Vec<&Span> = spans
        .iter()
        .filter(|s| s.trace_id == request.trace_id)
        .collect();
    let sources: Vec<&&Span> = in_trace.iter().filter(|s| s.name == "source").collect();
    let named: BTreeSet<String> = sources.iter().filter_map(|s| text(s, "source")).collect();
    assert_eq!(named, asked, "one span per source asked");
    for s in &sources {
        assert_eq!(s.parent_span_id, request.span_id, "under the request span");
        assert!(text(s, "kind").is_some() && text(s, "status").is_some());
        assert!(attribute(s, "latency_ms").is_some() && attribute(s, "cache_hit").is_some());
    }
    assert_eq!(
        sources
            .iter()
            .find(|s| text(s, "source").as_deref() == Some("capture"))
            .and_then(|s| text(s, "status"))
            .as_deref(),
        Some("not_found")
    );
    // Nothing in any span names the person.
    for s in &spans {
        for kv in &s.attributes {
            assert!(!format!("{:?}", kv.value).contains("9990000050"), "{kv:?}");
        }
        assert!(!s.name.contains("9990000050"));
    }
    // The source was told the trace: traceparent 00-<trace id>-<span id>-01.
    let traceparents: Vec<String> = received
        .lock()
        .unwrap()
        .iter()
        .filter_map(|(t, _)| t.clone())
        .collect();
    assert!(
        !traceparents.is_empty(),
        "the FHIR source saw no traceparent"
    );
    let trace = hex(&request.trace_id);
    assert!(
        traceparents
            .iter()
            .all(|t| t.starts_with(&format!("00-{trace}-"))),
        "{traceparents:?} not in trace {trace}"
    );
    drop(demo);
    let _ = std::fs::remove_dir_all(&dir);
}
