//! A FHIR R4 source that fails inside a successful answer (HTTP 200, a
//! searchset Bundle holding only an OperationOutcome), through the real
//! adapter and the whole gateway on loopback: both views show the source
//! failed, with the server's own diagnostics — never "no record".

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::*;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use icr_config::{Config, GatewayConfig, LoadedSource, parse_toml};
use tokio::net::TcpListener;

/// A FHIR R4 server whose Patient search answers 200 with a searchset
/// Bundle holding only an error OperationOutcome.
async fn failing_fhir_server() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let service = service_fn(|_req| async {
                    let body = serde_json::json!({
                        "resourceType": "Bundle", "type": "searchset",
                        "entry": [{"search": {"mode": "outcome"}, "resource": {
                            "resourceType": "OperationOutcome",
                            "issue": [{"severity": "error", "code": "processing",
                                       "diagnostics": "Unable to process request: patient index offline"}]
                        }}]
                    });
                    Ok::<_, std::convert::Infallible>(
                        hyper::Response::builder()
                            .header("content-type", "application/fhir+json")
                            .body(Full::new(Bytes::from(body.to_string())))
                            .unwrap(),
                    )
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    format!("http://{addr}/fhir")
}

/// The gateway with one `fhir-r4` source at `endpoint`, built by the real
/// adapter; returns its base URL.
async fn gateway_with_fhir_source(endpoint: &str) -> String {
    let audit_dir =
        std::env::temp_dir().join(format!("icr-gateway-fhir-r4-failed-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&audit_dir);
    let mut gateway: GatewayConfig = parse_toml(
        "listen = \"127.0.0.1:0\"\nrequest_deadline_ms = 3000\n",
        std::path::Path::new("gateway.toml"),
    )
    .unwrap();
    gateway.audit.dir = audit_dir;
    let spec: icr_adapter_sdk::SourceSpec = parse_toml(
        &format!(
            "id = \"trust-a\"\norganisation = \"Test Trust\"\nods_code = \"RXX\"\nkind = \"fhir-r4\"\nendpoint = \"{endpoint}\"\nsections = [\"demographics\", \"allergies\"]\ntimeout_ms = 2000\ncache_ttl_s = 0\n"
        ),
        std::path::Path::new("trust-a.toml"),
    )
    .unwrap();
    let adapter = icr_adapter_fhir_r4::build(&spec).unwrap();
    let policy = std::fs::read_to_string(demo_dir().join("policy.toml")).unwrap();
    let config = Config {
        dir: ".".into(),
        gateway,
        sources: vec![LoadedSource {
            file: "trust-a.toml".into(),
            spec,
            adapter,
        }],
        verifier: Arc::new(icr_auth::Verifier::load(&auth_config(), &demo_dir()).unwrap()),
        policy: Arc::new(icr_policy::Policy::from_toml_str(&policy, "policy.toml").unwrap()),
        objections_file: None,
        objections: Arc::new(icr_policy::Objections::empty()),
        tls: None,
    };
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let gw = icr_gateway::Gateway::new(&config).unwrap();
    tokio::spawn(icr_gateway::serve(listener, gw, std::future::pending()));
    format!("http://{addr}")
}

const SAID: &str = "the source refused or failed the request: Patient search: error (processing): \"Unable to process request: patient index offline\"";

#[tokio::test]
async fn fhir_r4_source_failing_inside_http_200_is_shown_as_error_with_its_diagnostics() {
    let base = gateway_with_fhir_source(&failing_fhir_server().await).await;

    let (status, _, view) =
        get_breaking_glass(&format!("{base}/v1/patients/9990000018/record"), GLASS).await;
    assert_valid_view(&view);
    assert_eq!(view["sources"][0]["source"], "trust-a");
    assert_eq!(view["sources"][0]["status"], "error", "{view}");
    assert_eq!(view["sources"][0]["message"], SAID);
    // Every source failed: a gateway error, not "no record anywhere".
    assert_eq!(status, 502);

    let (status, _, bundle) = get_breaking_glass(
        &format!("{base}/fhir/r4/Patient/9990000018/$everything"),
        GLASS,
    )
    .await;
    assert_eq!(status, 502);
    assert_valid_fhir(&bundle);
    let outcome = bundle["entry"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["resource"])
        .find(|r| r["id"] == "source-trust-a")
        .unwrap_or_else(|| panic!("no OperationOutcome for the source: {bundle}"));
    assert_eq!(outcome["resourceType"], "OperationOutcome");
    let issue = &outcome["issue"][0];
    assert_eq!(issue["severity"], "error");
    assert_eq!(issue["details"]["coding"][0]["code"], "error");
    assert_eq!(issue["details"]["text"], "Test Trust (trust-a, RXX): error");
    assert_eq!(issue["diagnostics"], SAID);
}
